"""Administration: only admins; config edits validated like hall files, live, audited;
accounts, device tokens, end of day, daily backups."""

import re

import pytest

from hallserver.services import backups
from hallserver.web.extensions import socketio
from tests.helpers import add_user, bearer, csrf, shown_text, sign_in


@pytest.fixture
def admin_client(app, store):
    add_user(store, "quantri", role="admin")
    add_user(store, "giamsat", role="supervisor")
    add_user(store, "lan", counters=[1])
    web = app.test_client()
    sign_in(web, "quantri")
    return web


def post(web, path, **fields):
    return web.post(path, data={"csrf_token": csrf(web, "/admin"), **fields})


def audit_log(store):
    return [(row[0], row[1]) for row in store.db.execute(
        "SELECT type, json_extract(data, '$.by') FROM events WHERE type IN "
        "('config_changed', 'user_changed', 'token_changed', 'day_closed') ORDER BY seq")]


@pytest.mark.parametrize("who, status", [("giamsat", 403), ("lan", 403)])
def test_only_admins_administer(app, admin_client, who, status):
    web = app.test_client()
    assert web.get("/admin").status_code == 302
    sign_in(web, who)
    assert web.get("/admin").status_code == status
    token = csrf(web, "/dang-nhap")
    assert web.post("/admin/config", data={"csrf_token": token, "section": "hall",
                                           "text:hall.name": "Bị đổi"}).status_code == status


def test_admin_page_lists_everything(admin_client):
    page = admin_client.get("/admin").get_data(as_text=True)
    for part in ("Lĩnh vực", "Quầy số 1", "Diện ưu tiên", "Giờ làm việc", "Tài khoản", "Thiết bị", "Cuối ngày"):
        assert part in page


def test_renaming_a_service_takes_effect_live_and_is_audited(app, admin_client, store, tokens):
    display = socketio.test_client(app)
    display.emit("join", {"room": "display"}, callback=True)
    display.get_received()
    answer = post(admin_client, "/admin/config", section="services", **{"text:services.0.name": "Hộ tịch - Khai sinh"})
    assert answer.status_code == 302
    state = admin_client.get("/api/v1/state").get_json()
    assert state["services"][0]["name"] == "Hộ tịch - Khai sinh"
    pushed = [event["args"][0] for event in display.get_received() if event["name"] == "state"]
    assert pushed and pushed[-1]["services"][0]["name"] == "Hộ tịch - Khai sinh"
    assert audit_log(store) == [("config_changed", "quantri")]
    # the change is kept as the hall's source: a restart reads the same
    assert store.config().services[0].name == "Hộ tịch - Khai sinh"
    display.disconnect()


def test_a_counter_desk_hears_the_new_services_when_one_is_added(app, admin_client, tokens):
    """A keypad offers the hall's services to transfer to from its last snapshot: an admin's
    new service reaches it without a restart (it used to be offered only after reconnecting)."""
    desk = socketio.test_client(app)
    assert desk.emit("join", {"room": "counter:1", "token": tokens["counter1"]}, callback=True)["ok"]
    desk.get_received()
    answer = post(admin_client, "/admin/config", section="services", list="services", add="1",
                  **{"text:new.code": "GD", "text:new.name": "Giáo dục", "text:new.block": "9001-9999"})
    assert answer.status_code == 302
    pushed = [event["args"][0] for event in desk.get_received() if event["name"] == "state"]
    assert pushed and "GD" in [service["code"] for service in pushed[-1]["services"]]
    desk.disconnect()


@pytest.mark.parametrize("fields, message", [
    ({"int:services.1.daily_cap": "0"}, "services[1].daily_cap: must be at least 1, got 0"),
    ({"list:counters.0.services": "HT, ZZ"}, "counters[0].services: unknown service 'ZZ'"),
    ({"periods:hours.monday": "8h-11h"}, "hours.monday[0]: expected \"HH:MM-HH:MM\", got '8h-11h'"),
    ({"int:policy.max_recalls": "nhiều"}, "policy.max_recalls: expected a whole number, got 'nhiều'"),
    ({"text:announcement.template": "Mời số {so} tới quầy {counter}"}, "announcement.template:"),
])
def test_wrong_values_are_refused_with_the_key(admin_client, store, fields, message):
    before = store.config()
    answer = post(admin_client, "/admin/config", section="x", **fields)
    assert answer.status_code == 422
    assert message in shown_text(answer)
    assert store.config() == before and audit_log(store) == []


def test_add_and_remove_services_counters_and_priorities(admin_client, store):
    answer = post(admin_client, "/admin/config", section="services", list="services", add="1",
                  **{"text:new.code": "GD", "text:new.name": "Giáo dục", "text:new.block": "9001-9999"})
    assert answer.status_code == 302 and store.config().services[-1].name == "Giáo dục"
    post(admin_client, "/admin/config", section="counters", list="counters", add="1",
         **{"int:new.number": "7", "text:new.name": "Quầy 7", "list:new.services": "GD, HT"})
    assert store.config().counters[-1].services == ("GD", "HT")
    # a removal first asks (nothing changes), and names the counters still serving the service
    asked = post(admin_client, "/admin/config", section="services", list="services", remove="5")
    assert asked.status_code == 200 and "Xóa lĩnh vực «Giáo dục» (GD)?" in shown_text(asked)
    assert 'name="confirmed" value="yes"' in shown_text(asked) and "Quầy 7" in shown_text(asked)
    assert store.config().services[-1].name == "Giáo dục"
    # a service still served by a counter cannot disappear
    refused = post(admin_client, "/admin/config", section="services", list="services", remove="5", confirmed="yes")
    assert refused.status_code == 422 and "unknown service 'GD'" in shown_text(refused)
    post(admin_client, "/admin/config", section="counters", list="counters", remove="6", confirmed="yes")
    assert post(admin_client, "/admin/config", section="services", list="services", remove="5",
                confirmed="yes").status_code == 302
    assert [s.code for s in store.config().services] == ["HT", "CT", "DD", "TP", "XH"]
    post(admin_client, "/admin/config", section="priorities", list="priorities", add="1",
         **{"text:new.code": "veteran", "text:new.name": "Cựu chiến binh"})
    assert store.config().priorities[-1].name == "Cựu chiến binh"


def test_hours_and_ticker_notices(admin_client, store):
    post(admin_client, "/admin/config", section="hours", **{"periods:hours.sunday": "",
                                                            "periods:hours.monday": "07:30-11:30, 13:30-17:00"})
    config = store.config()
    assert config.hours["sunday"] == () and config.hours["monday"] == ((450, 690), (810, 1020))
    post(admin_client, "/admin/config", section="hall", **{"lines:hall.notices": "Nghỉ Tết từ 28/1\nMang CCCD"})
    state = admin_client.get("/api/v1/state").get_json()
    assert state["hall"]["notices"] == ["Nghỉ Tết từ 28/1", "Mang CCCD"]


def test_voice_repeat_and_screen_settings_from_the_admin_page(admin_client, store):
    page = shown_text(admin_client.get("/admin"))
    for label in ("Giọng đọc", "Miền Trung", "Nhắc lại", "Mẫu câu mời lại", "Báo màn hình im lặng sau"):
        assert label in page
    assert post(admin_client, "/admin/config", section="announcement", **{
        "text:announcement.voice": "vi-vn-x-central", "text:announcement.repeat": "once",
        "int:announcement.catchup_seconds": "45"}).status_code == 302
    post(admin_client, "/admin/config", section="hours", **{
        "int:policy.soon_minutes": "15", "int:policy.screen_silent_seconds": "60"})
    config = store.config()
    assert (config.announcement.voice, config.announcement.repeat, config.announcement.catchup_seconds) == (
        "vi-vn-x-central", "once", 45)
    assert (config.policy.soon_minutes, config.policy.screen_silent_seconds) == (15, 60)
    refused = post(admin_client, "/admin/config", section="announcement", **{"text:announcement.voice": "vi-hue"})
    assert refused.status_code == 422 and "announcement.voice" in shown_text(refused)
    assert store.config().announcement.voice == "vi-vn-x-central"


def test_a_template_the_voice_pack_cannot_say_is_saved_with_a_warning_and_the_command(admin_client, store):
    """The screens would chime, then say only the number words: the admin must hear of it."""
    answer = post(admin_client, "/admin/config", section="announcement", **{
        "text:announcement.template": "Mời công dân số {number}, tới quầy {counter}"})
    assert answer.status_code == 302
    assert store.config().announcement.template == "Mời công dân số {number}, tới quầy {counter}"
    page = shown_text(admin_client.get(answer.headers["Location"]))
    assert "Gói giọng đọc chưa có câu: «mời công dân số», «tới quầy»" in page
    assert "The voice pack cannot say: «mời công dân số», «tới quầy»" in page
    assert ('hallserver sounds build --voice vi --template "Mời công dân số {number}, tới quầy {counter}" '
            '--template "Xin mời lại công dân có số thứ tự {number} đến quầy số {counter}"') in page
    answer = post(admin_client, "/admin/config", section="announcement", **{   # back to words the pack has
        "text:announcement.template": "Xin mời công dân có số thứ tự {number} đến quầy số {counter}"})
    assert "Gói giọng đọc" not in shown_text(admin_client.get(answer.headers["Location"]))


def test_accounts_from_the_admin_page(app, admin_client, store):
    answer = post(admin_client, "/admin/users", username="hoa", display_name="Trần Thị Hoa", role="staff",
                  counters="2", password="mat-khau-hoa-1")
    assert answer.status_code == 302
    assert post(admin_client, "/admin/users", username="hoa", role="staff", password="x" * 9).status_code == 422
    assert "Khóa tài khoản hoa (Trần Thị Hoa)?" in shown_text(post(admin_client, "/admin/users/hoa/disable"))
    assert store.db.execute("SELECT disabled FROM users WHERE username = 'hoa'").fetchone()[0] == 0
    post(admin_client, "/admin/users/hoa/disable", confirmed="yes")
    assert store.db.execute("SELECT disabled FROM users WHERE username = 'hoa'").fetchone()[0] == 1
    post(admin_client, "/admin/users/hoa/enable")
    post(admin_client, "/admin/users/hoa/password", password="mat-khau-moi-2")
    web = app.test_client()
    token = csrf(web, "/dang-nhap")
    assert web.post("/dang-nhap", data={"username": "hoa", "password": "mat-khau-moi-2",
                                        "csrf_token": token}).status_code == 302
    assert post(admin_client, "/admin/users/quantri/disable").status_code == 409
    assert [kind for kind, _ in audit_log(store)] == ["user_changed"] * 4


def test_device_tokens_created_once_listed_and_revoked(admin_client, store, client):
    answer = post(admin_client, "/admin/tokens", role="kiosk", label="kiosk cửa chính")
    assert answer.status_code == 201
    token = re.search(r'<code>(hq_[\w-]+)</code>', answer.get_data(as_text=True)).group(1)
    assert client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(token)).status_code == 201
    page = admin_client.get("/admin").get_data(as_text=True)
    assert "kiosk cửa chính" in page and token not in page
    token_id = store.db.execute("SELECT id FROM tokens WHERE label = 'kiosk cửa chính'").fetchone()[0]
    assert "Thu hồi token" in shown_text(post(admin_client, f"/admin/tokens/{token_id}/revoke"))
    assert client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(token)).status_code == 201
    post(admin_client, f"/admin/tokens/{token_id}/revoke", confirmed="yes")
    assert client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(token)).status_code == 401
    assert post(admin_client, "/admin/tokens", role="counter").status_code == 422
    assert post(admin_client, "/admin/tokens", role="counter", counter="99").status_code == 422


def test_end_of_day_needs_confirmation(admin_client, client, tokens, store):
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    assert post(admin_client, "/admin/end-of-day", confirm="có").status_code == 422
    assert post(admin_client, "/admin/end-of-day", confirm="kết thúc").status_code == 302
    assert store.db.execute("SELECT status FROM tickets").fetchone()[0] == "expired"
    assert audit_log(store)[-1] == ("day_closed", "quantri")


def test_daily_backups_are_kept_for_n_days(store, tmp_path):
    folder = tmp_path / "backups"
    assert backups.daily_backup(store, folder, today="2026-11-20", keep_days=3) is not None
    assert backups.daily_backup(store, folder, today="2026-11-20", keep_days=3) is None   # once a day
    for day in ("2026-11-21", "2026-11-22", "2026-11-23"):
        backups.daily_backup(store, folder, today=day, keep_days=3)
    assert [day for day, _, _ in backups.list_backups(folder)] == ["2026-11-23", "2026-11-22", "2026-11-21"]
    import sqlite3

    with sqlite3.connect(folder / "hall-2026-11-23.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize("fields, named", [
    ({"text:services.abc.name": "X"}, "services.abc.name"),
    ({"text:services[abc].name": "X"}, "services[abc].name"),
    ({"text:services.999.name": "X"}, "services.999.name: no item 999"),
    ({"text:services[999].name": "X"}, "services[999].name: no item 999"),
    ({"text:services." + "9" * 30 + ".name": "X"}, "no item " + "9" * 30),
    ({"text:counters.-1": "X"}, "counters.-1"),
    ({"text:counters[-1]": "X"}, "counters[-1]"),
    ({"text:hall..name": "X"}, "hall..name"),
    ({"text:services.².name": "X"}, "services.².name"),
    ({"text:hall.name.x": "X"}, "hall.name.x"),
    ({"int:policy.max_recalls.x": "2"}, "policy.max_recalls.x"),
    ({"list:counters.0.services.7": "HT"}, "counters.0.services.7: no item 7"),
    ({"text:hours.monday.0": "07:30-11:30"}, "hours.monday.0"),
    ({"int:policy.max_recalls": "١٢"}, "policy.max_recalls: expected a whole number"),
    ({"list": "hall", "remove": "0", "confirmed": "yes"}, "hall: not an array of tables"),
    ({"list": "hall", "add": "1", "text:new.name": "X"}, "hall: not an array of tables"),
    ({"list": "services", "remove": "-1"}, "remove: expected an item number"),
    ({"list": "services", "remove": "9" * 30, "confirmed": "yes"}, "remove: expected an item number"),
    ({"list": "services", "add": "1", "text:new.0.code": "X"}, "0.code"),
])
def test_malformed_field_paths_are_refused_naming_the_field(admin_client, store, fields, named):
    """Form field paths that do not fit the hall (a key inside a list or a plain value, an item
    that is not there, ``a..b``, a negative or huge index) are a 422 naming the field, never a 500."""
    before = store.config()
    answer = post(admin_client, "/admin/config", section="services", **fields)
    assert answer.status_code == 422
    page = shown_text(answer)
    assert named in page
    assert store.config() == before and audit_log(store) == []


def test_admin_forms_need_the_csrf_token(admin_client, store):
    before = store.config()
    for path, fields in (("/admin/config", {"section": "hall", "text:hall.name": "Bị đổi"}),
                         ("/admin/users", {"username": "x1", "role": "staff", "password": "mat-khau-x1"}),
                         ("/admin/tokens", {"role": "kiosk"}), ("/admin/end-of-day", {"confirm": "KẾT THÚC"})):
        assert admin_client.post(path, data=fields).status_code == 400
    assert store.config() == before and audit_log(store) == []
