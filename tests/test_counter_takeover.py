"""Who works a counter: opening its page never takes it from someone else; "Nhận quầy" (a
confirmed, CSRF-protected POST) does; until then that account's actions are refused, so
every call is credited to the person actually at the counter. Through the Flask test client
and Socket.IO's test client."""

import pytest

from hallserver.services import reports, users
from hallserver.web.extensions import socketio
from tests.helpers import add_user, bearer, csrf_in, shown_text, signed_in, text


@pytest.fixture
def staff(store):
    add_user(store, "lan", counters=[1], display_name="Nguyễn Thị Lan")
    add_user(store, "minh", counters=[1, 2], display_name="Trần Văn Minh")
    add_user(store, "giamsat", role="supervisor", display_name="Lê Giám Sát")


def workers(store):
    return users.counter_workers(store.db)


def act(client, counter, action, page, body=None):
    return client.post(f"/counter/{counter}/action/{action}", json=body or {},
                       headers={"X-CSRFToken": csrf_in(text(page))})


def called_events(store):
    return store.db.execute("SELECT COUNT(*) FROM events WHERE type = 'called'").fetchone()[0]


def test_opening_a_counter_someone_works_shows_them_and_changes_nothing(app, staff, store, tokens, client):
    lan = signed_in(app, "lan")
    lan_page = lan.get("/counter/1")
    assert workers(store) == {1: "lan"}
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))

    minh = signed_in(app, "minh")
    page = minh.get("/counter/1")
    shown = shown_text(page)
    assert page.status_code == 200 and "Nguyễn Thị Lan" in shown and "Nhận quầy" in shown
    assert workers(store) == {1: "lan"}                                  # only looking
    refused = act(minh, 1, "call-next", page)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "counter_taken"
    assert "Nguyễn Thị Lan" in refused.get_json()["error"]["message"]
    assert called_events(store) == 0

    # the take-over is a POST with the page's CSRF token, nothing else
    assert minh.post("/counter/1/nhan-quay").status_code == 400
    assert workers(store) == {1: "lan"}
    taken = minh.post("/counter/1/nhan-quay", data={"csrf_token": csrf_in(text(page))})
    assert taken.status_code == 302 and taken.headers["Location"].endswith("/counter/1")
    assert workers(store) == {1: "minh"}
    again = minh.get("/counter/1")
    assert "Đã nhận quầy số 1 từ Nguyễn Thị Lan" in shown_text(again)
    assert 'id="held-by" class="held-by" role="alert" hidden' in text(again)
    assert act(minh, 1, "call-next", again).get_json()["ticket"]["number"] == "1001"

    # Lan's page, still open, is now refused with who took it
    refused = act(lan, 1, "recall", lan_page)
    assert refused.status_code == 409 and "Trần Văn Minh" in refused.get_json()["error"]["message"]
    assert workers(store) == {1: "minh"}


def test_take_over_needs_the_right_to_work_the_counter(app, staff, store):
    lan = signed_in(app, "lan")
    page = lan.get("/counter/1")
    assert lan.get("/counter/2").status_code == 403
    assert lan.post("/counter/2/nhan-quay", data={"csrf_token": csrf_in(text(page))}).status_code == 403
    assert lan.post("/counter/99/nhan-quay", data={"csrf_token": csrf_in(text(page))}).status_code == 404
    assert workers(store) == {1: "lan"}


def test_a_supervisor_only_looking_takes_no_free_counter_acting_does(app, staff, store, tokens, client):
    boss = signed_in(app, "giamsat")
    page = boss.get("/counter/2")
    assert page.status_code == 200 and workers(store) == {}
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    assert act(boss, 2, "call-next", page).status_code == 200
    assert workers(store) == {2: "giamsat"}
    # a staff member arriving later sees who works it and takes it over explicitly
    minh = signed_in(app, "minh")
    assert "Lê Giám Sát" in shown_text(minh.get("/counter/2"))
    assert workers(store) == {2: "giamsat"}


def test_a_link_from_another_site_does_not_move_a_clerk_to_another_counter(app, staff, store, tokens, client):
    minh = signed_in(app, "minh")
    minh.get("/counter/1")
    assert workers(store) == {1: "minh"}
    # a link to counter 2 in a mail or chat: the browser says the page was asked for cross-site
    page = minh.get("/counter/2", headers={"Sec-Fetch-Site": "cross-site"})
    assert page.status_code == 200
    assert workers(store) == {1: "minh"}                                 # still at counter 1
    client.post("/api/v1/tickets", json={"service": "CT"}, headers=bearer(tokens["kiosk"]))
    assert act(minh, 2, "call-next", page).status_code == 200              # acting there takes it
    assert workers(store) == {2: "minh"}
    # the hub's own links, a bookmark or a typed address take a free counter at once, as before
    minh.get("/counter/1", headers={"Sec-Fetch-Site": "same-origin"})
    assert workers(store) == {1: "minh"}
    minh.get("/counter/2", headers={"Sec-Fetch-Site": "none"})
    assert workers(store) == {2: "minh"}


def test_a_retry_of_an_accepted_press_still_answers_after_a_take_over(app, staff, store, tokens, client):
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    lan = signed_in(app, "lan")
    page = lan.get("/counter/1")
    first = act(lan, 1, "call-next", page, {"request_id": "r1"})
    minh = signed_in(app, "minh")
    minh_page = minh.get("/counter/1")
    minh.post("/counter/1/nhan-quay", data={"csrf_token": csrf_in(text(minh_page))})
    assert act(lan, 1, "call-next", page, {"request_id": "r1"}).get_json() == first.get_json()


def test_socket_actions_of_a_signed_in_account_follow_the_same_rule(app, staff, store, tokens, client):
    lan = signed_in(app, "lan")
    lan.get("/counter/1")
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    connection = socketio.test_client(app, flask_test_client=signed_in(app, "minh"))
    ack = connection.emit("counter_action", {"counter": 1, "action": "call-next"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "counter_taken"
    # the counter's own device token is the counter: it may act whoever is signed in
    device = connection.emit("counter_action", {"counter": 1, "action": "call-next",
                                                "token": tokens["counter1"]}, callback=True)
    assert device["ok"] and device["ticket"]["number"] == "1001"
    connection.disconnect()


def test_calls_after_a_take_over_are_credited_to_who_took_it(app, staff, store, tokens, client, clock):
    for _ in range(2):
        client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    lan = signed_in(app, "lan")
    page = lan.get("/counter/1")
    clock.advance(60)
    act(lan, 1, "call-next", page)                                   # 1001 by Lan
    minh = signed_in(app, "minh")
    minh_page = minh.get("/counter/1")                               # Minh only looks: still Lan's
    clock.advance(60)
    assert act(minh, 1, "call-next", minh_page).status_code == 409
    clock.advance(60)
    minh.post("/counter/1/nhan-quay", data={"csrf_token": csrf_in(text(minh_page))})
    clock.advance(120)
    assert act(minh, 1, "call-next", minh_page).get_json()["ticket"]["number"] == "1002"
    hall = app.extensions["hall"]
    report = hall.read(lambda db, config, now: reports.build_report(
        db, config, start_day="2026-11-26", end_day="2026-11-26", group_by="staff", now=now))
    # each ticket goes to whoever was signed in at its (last) call
    assert {group.key: group.figures.issued for group in report.groups if group.figures.issued} == \
        {"lan": 1, "minh": 1}
