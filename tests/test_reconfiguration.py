"""The hall changed mid-day: an admin's edit (page or `hallserver init --config`) that would
strand citizens already in the hall is refused, saying why; one that keeps them is applied."""

import pytest
from click.testing import CliRunner

from hallserver.cli import cli
from hallserver.config import demo_mapping
from hallserver.hall import Hall
from tests.helpers import add_user, bearer, csrf, make_token, shown_text, sign_in, toml_text


@pytest.fixture
def admin_client(app, store):
    add_user(store, "quantri", role="admin")
    web = app.test_client()
    sign_in(web, "quantri")
    return web


def edit(web, **fields):
    return web.post("/admin/config", data={"csrf_token": csrf(web, "/admin"), **fields})


def issue(client, tokens, service):
    answer = client.post("/api/v1/tickets", json={"service": service}, headers=bearer(tokens["kiosk"]))
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["ticket"]


def tracked(client, ticket):
    return client.get(f"/api/v1/tickets/{ticket['track_token']}").get_json()["ticket"]


def test_removing_a_service_whose_tickets_wait_is_refused_and_they_keep_their_place(admin_client, client, store,
                                                                                  tokens):
    # the demo hall: XH (position 4) is served by counters 5 and 6
    waiting = [issue(client, tokens, "XH") for _ in range(2)]
    before = store.config()
    for counter in (4, 5):   # the page's advice: take the service off its counters first...
        refused = edit(admin_client, section="counters",
                       **{f"list:counters.{counter}.services": "TP" if counter == 4 else "TP, DD"})
        if counter == 4:
            assert refused.status_code == 302  # ...counter 6 still serves XH: fine
    assert refused.status_code == 422
    assert ("Chưa lưu: không còn quầy nào phục vụ lĩnh vực «Lao động - Bảo trợ xã hội» (XH) trong khi còn 2 số "
            f"({waiting[0]['number']}, {waiting[1]['number']}) đang chờ; họ sẽ không bao giờ được gọi.") \
        in shown_text(refused)
    assert store.config().services == before.services and store.config().counters[5] == before.counters[5]
    ticket = tracked(client, waiting[0])
    assert ticket["status"] == "waiting" and ticket["service_name"] == "Lao động - Bảo trợ xã hội"

    # once they are called, the same edits go through
    counter6 = bearer(make_token(store, "counter", 6))
    for _ in waiting:
        assert client.post("/api/v1/counters/6/call-next", headers=counter6).status_code == 200
        assert client.post("/api/v1/counters/6/done", headers=counter6).status_code == 200
    assert edit(admin_client, section="counters", **{"list:counters.5.services": "TP, DD"}).status_code == 302
    assert edit(admin_client, section="services", list="services", remove="4", confirmed="yes").status_code == 302
    assert "XH" not in {service.code for service in store.config().services}


def test_removing_a_counter_with_a_citizen_at_its_desk_is_refused(admin_client, client, store, tokens):
    ticket = issue(client, tokens, "HT")
    assert client.post("/api/v1/counters/1/call-next", headers=bearer(tokens["counter1"])).status_code == 200
    refused = edit(admin_client, section="counters", list="counters", remove="0", confirmed="yes")
    assert refused.status_code == 422
    assert (f"Chưa lưu: quầy số 1 đang có công dân số {ticket['number']} (đang được mời). Hãy bấm Hoàn thành "
            "hoặc Vắng mặt cho số này trước khi xóa quầy.") in shown_text(refused)
    assert 1 in {counter.number for counter in store.config().counters}
    assert tracked(client, ticket)["counter"] == 1

    assert client.post("/api/v1/counters/1/done", headers=bearer(tokens["counter1"])).status_code == 200
    assert edit(admin_client, section="counters", list="counters", remove="0", confirmed="yes").status_code == 302
    assert 1 not in {counter.number for counter in store.config().counters}


def test_renaming_a_service_with_waiting_tickets_reaches_their_tracking_pages(admin_client, client, tokens):
    ticket = issue(client, tokens, "HT")
    assert edit(admin_client, section="services", **{"text:services.0.name": "Hộ tịch - Khai sinh"}).status_code == 302
    assert tracked(client, ticket)["service_name"] == "Hộ tịch - Khai sinh"


def init_with(db, mapping, tmp_path):
    path = tmp_path / "hall.toml"
    path.write_text(toml_text(mapping), encoding="utf-8")
    return CliRunner().invoke(cli, ["init", "--config", str(path)], env={"HALL_DB": str(db)})


def test_init_with_a_file_that_drops_a_waiting_service_exits_2_naming_the_key(store, db_path, tmp_path):
    hall = Hall(store)  # today by the machine's clock, as the command's
    waiting = hall.issue_ticket("XH")
    mapping = demo_mapping()
    mapping["services"] = [service for service in mapping["services"] if service["code"] != "XH"]
    for counter in mapping["counters"]:
        counter["services"] = [code for code in counter["services"] if code != "XH"]
    result = init_with(db_path, mapping, tmp_path)
    assert result.exit_code == 2
    assert (f"  services: XH is removed while 1 tickets ({waiting['number']}) wait; they would never be called: "
            "call or transfer them, or end the day, first") in result.output.splitlines()
    assert "XH" in {service.code for service in store.config().services}
    assert hall.ticket_by_token(waiting["track_token"])["status"] == "waiting"


def test_moving_the_days_end_to_a_time_already_past_is_refused(admin_client, client, store, tokens, clock):
    """At 11:00 with citizens waiting, close_at = 10:30 would expire them at the next check
    (within 30 s), what "Kết thúc ngày" does only after a typed confirmation."""
    tickets = [issue(client, tokens, "HT") for _ in range(3)]
    clock.advance(2 * 3600)  # 11:00
    sign_in(admin_client, "quantri")  # the morning's sign-in has been idle too long
    assert client.post("/api/v1/counters/1/call-next", headers=bearer(tokens["counter1"])).status_code == 200
    refused = edit(admin_client, section="hours", **{"text:policy.close_at": "10:30"})
    assert refused.status_code == 422
    numbers = ", ".join(ticket["number"] for ticket in tickets[1:])
    assert (f"Chưa lưu: giờ kết thúc ngày 10:30 đã qua: 2 số ({numbers}) đang chờ hôm nay sẽ hết hạn ngay. "
            "Chọn giờ muộn hơn, hoặc dùng «Kết thúc ngày» nếu muốn kết thúc ngay.") in shown_text(refused)
    app_hall = admin_client.application.extensions["hall"]
    assert app_hall.expire() == 0
    assert [tracked(client, ticket)["status"] for ticket in tickets] == ["called", "waiting", "waiting"]

    assert edit(admin_client, section="hours", **{"text:policy.close_at": "17:30"}).status_code == 302
    assert store.config().policy.close_at == 17 * 60 + 30


def test_a_block_moved_after_todays_first_number_is_refused_and_its_end_can_grow(admin_client, client, store,
                                                                              tokens):
    """HT moved from 1001-2999 to 9001-9999 at 09:00 after 1001, 1002: today's numbers went on
    1003, 1004 (outside the new block, and the edit "saved"); the end may still change."""
    numbers = [issue(client, tokens, "HT")["number"] for _ in range(2)]
    refused = edit(admin_client, section="services", **{"text:services.0.block": "9001-9999"})
    assert refused.status_code == 422
    assert (f"Chưa lưu: lĩnh vực «Hộ tịch» (HT) đã cấp số hôm nay (đến số {numbers[-1]}): số bắt đầu và chữ đầu "
            "của dãy số chỉ đổi được sau khi kết thúc ngày") in shown_text(refused)
    assert store.config().services[0].block_start == 1001
    assert edit(admin_client, section="services", **{"text:services.0.block": "1001-2500"}).status_code == 302
    assert store.config().services[0].block_end == 2500
    assert issue(client, tokens, "HT")["number"] == "1003"


@pytest.mark.hub
def test_a_hall_file_applied_while_the_hub_runs_reaches_the_screens(hub_db, tmp_path):
    """``hallserver init --config`` writes the database from another process: the hub notices
    within seconds and the screens take a new snapshot, as after an admin's edit (before, they
    kept the old names until they reconnected)."""
    from tests.helpers import DisplayClient, HubProcess, run_cli

    hub = HubProcess(hub_db).start()
    screen = DisplayClient(hub.url)
    try:
        assert screen.ack["ok"]
        first = screen.wait_for("state")
        assert next(service for service in first["services"] if service["code"] == "HT")["name"] == "Hộ tịch"
        mapping = demo_mapping()
        next(service for service in mapping["services"] if service["code"] == "HT")["name"] = "Hộ tịch – Chứng thực"
        hall_file = tmp_path / "renamed.toml"
        hall_file.write_text(toml_text(mapping), encoding="utf-8")
        run_cli("init", "--config", str(hall_file), db=hub_db)

        renamed = screen.wait_for("state", lambda state: state is not first and any(
            service["name"] == "Hộ tịch – Chứng thực" for service in state["services"]), timeout=20)
        assert renamed["seq"] >= first["seq"]
    finally:
        screen.close()
        hub.stop()
