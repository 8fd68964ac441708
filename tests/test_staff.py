"""Staff accounts, sign-in, CSRF, throttling and who may act for a counter — over HTTP
(API tokens and signed-in pages) and over Socket.IO."""

import time

import pytest

from hallserver.errors import TooManyRequests
from hallserver.services import users
from hallserver.web.extensions import socketio
from tests.helpers import PASSWORD, add_user, bearer, csrf, csrf_in, run_cli, sign_in

ACTIONS = ["call-next", "recall", "start", "done", "no-show", "pause", "resume", "call", "transfer", "reinstate"]
ACTION_BODIES = {"call": {"number": "1001"}, "reinstate": {"number": "1001"}, "transfer": {"service": "CT"}}


@pytest.fixture
def staff(store):
    add_user(store, "lan", counters=[1])
    add_user(store, "minh", counters=[2])
    add_user(store, "giamsat", role="supervisor")


def test_sign_in_page_is_vietnamese_and_sets_a_safe_cookie(client, staff):
    page = client.get("/dang-nhap").get_data(as_text=True)
    assert "Đăng nhập" in page and "Mật khẩu" in page
    answer = sign_in(client, "lan")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/counter")
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # one allowed counter: straight to it
    assert client.get("/counter").headers["Location"].endswith("/counter/1")


def test_wrong_password_is_refused_in_vietnamese(client, staff):
    answer = sign_in(client, "lan", "sai-mat-khau")
    assert answer.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng" in answer.get_data(as_text=True)
    assert client.get("/counter").status_code == 302


def test_sign_in_without_csrf_is_refused(client, staff):
    answer = client.post("/dang-nhap", data={"username": "lan", "password": PASSWORD})
    assert answer.status_code == 400
    assert "mã CSRF" in answer.get_data(as_text=True) or "Phiên đã hết hạn" in answer.get_data(as_text=True)
    assert client.get("/counter").status_code == 302


def test_repeated_failures_are_throttled_even_with_the_right_password(client, staff):
    for _ in range(users.MAX_FAILURES_PER_USER):
        assert sign_in(client, "lan", "sai-mat-khau").status_code == 401
    answer = sign_in(client, "lan")
    assert answer.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in answer.get_data(as_text=True)
    assert sign_in(client, "minh").status_code == 302  # other accounts are not locked out


def test_throttle_window_passes(store, staff):
    now = time.time()
    with store.transaction() as db:
        for _ in range(users.MAX_FAILURES_PER_USER):
            assert users.sign_in(db, username="lan", password="x", address="a", now=now) is None
    with store.transaction() as db, pytest.raises(TooManyRequests):
        users.sign_in(db, username="lan", password=PASSWORD, address="a", now=now + 60)
    with store.transaction() as db:
        assert users.sign_in(db, username="lan", password=PASSWORD, address="a",
                             now=now + users.FAILURE_WINDOW_SECONDS + 1)["username"] == "lan"


def test_next_never_leaves_the_site(client, staff):
    answer = sign_in(client, "lan", next_path="//evil.example/x")
    assert answer.headers["Location"].endswith("/counter")
    answer = sign_in(client, "lan", next_path="/counter/1")
    assert answer.headers["Location"].endswith("/counter/1")


def test_counter_page_records_who_works_where(client, staff, store):
    sign_in(client, "lan")
    page = client.get("/counter/1")
    assert page.status_code == 200 and "Gọi tiếp" in page.get_data(as_text=True)
    assert users.counter_workers(store.db) == {1: "lan"}
    assert client.get("/counter/2").status_code == 403
    token = csrf_in(page.get_data(as_text=True))
    assert client.post("/dang-xuat", data={"csrf_token": token}).status_code == 302
    assert users.counter_workers(store.db) == {}
    rows = list(store.db.query("SELECT counter, ended_at FROM counter_sessions"))
    assert rows[0]["counter"] == 1 and rows[0]["ended_at"] is not None


def test_disabled_accounts_lose_their_session(client, staff, store):
    sign_in(client, "lan")
    assert client.get("/counter/1").status_code == 200
    with store.transaction() as db:
        users.set_disabled(db, "lan", True, now=time.time())
    assert client.get("/counter/1").status_code == 302
    assert sign_in(client, "lan").status_code == 401


def test_page_actions_need_the_csrf_header(client, staff):
    sign_in(client, "lan")
    token = csrf_in(client.get("/counter/1").get_data(as_text=True))
    refused = client.post("/counter/1/action/call-next", json={})
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf"
    allowed = client.post("/counter/1/action/call-next", json={}, headers={"X-CSRFToken": token})
    assert allowed.status_code == 200 and allowed.get_json()["ticket"] is None


def test_cli_user_add_reads_the_password_from_stdin(hub_db):
    run_cli("user", "add", "Hoa", "--role", "staff", "--counters", "1,2", db=hub_db, input="mot-mat-khau\n")
    listing = run_cli("user", "list", db=hub_db).stdout
    assert "hoa" in listing and "[1, 2]" in listing
    refused = run_cli("user", "add", "hoa", "--role", "staff", db=hub_db, input="mot-mat-khau\n", check=False)
    assert refused.returncode == 2 and "đã có" in refused.stderr
    weak = run_cli("user", "add", "tuan", "--role", "staff", db=hub_db, input="ngan\n", check=False)
    assert weak.returncode == 2 and "ít nhất 8 ký tự" in weak.stderr
    run_cli("user", "disable", "hoa", db=hub_db)
    assert "disabled" in run_cli("user", "list", db=hub_db).stdout
    run_cli("user", "enable", "hoa", db=hub_db)
    assert "active" in run_cli("user", "list", db=hub_db).stdout


# -- the role x action matrix ----------------------------------------------------------

PRINCIPALS = {
    # name: (how it authenticates, allowed for counter 1?)
    "anonymous": ("none", False),
    "kiosk": ("token", False),
    "display": ("token", False),
    "counter2": ("token", False),
    "counter1": ("token", True),
    "supervisor": ("token", True),
    "staff_of_counter_2": ("session", False),
    "staff_of_counter_1": ("session", True),
    "supervisor_account": ("session", True),
}
SESSION_USERS = {"staff_of_counter_2": "minh", "staff_of_counter_1": "lan", "supervisor_account": "giamsat"}


def assert_refused_or_allowed(allowed, status, name, action):
    if allowed:
        assert status not in (401, 403), (name, action, status)
    else:
        assert status in (401, 403), (name, action, status)


@pytest.mark.parametrize("name", PRINCIPALS)
def test_http_matrix_for_counter_1(app, client, tokens, staff, name):
    kind, allowed = PRINCIPALS[name]
    headers = {}
    if kind == "token":
        headers = bearer(tokens[name])
    elif kind == "session":
        sign_in(client, SESSION_USERS[name])
        headers = {"X-CSRFToken": csrf(client, "/counter/2" if name.endswith("2") else "/counter/1")}
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    before = client.get("/api/v1/state").get_json()["seq"]
    for action in ACTIONS:
        path = f"/counter/1/action/{action}" if kind == "session" else f"/api/v1/counters/1/{action}"
        answer = client.post(path, json=ACTION_BODIES.get(action, {}), headers=headers)
        assert_refused_or_allowed(allowed, answer.status_code, name, action)
    if not allowed:
        assert client.get("/api/v1/state").get_json()["seq"] == before  # nothing happened


@pytest.mark.parametrize("name", PRINCIPALS)
def test_socketio_matrix_for_counter_1(app, client, tokens, staff, name):
    kind, allowed = PRINCIPALS[name]
    flask_client = app.test_client()
    if kind == "session":
        sign_in(flask_client, SESSION_USERS[name])
    connection = socketio.test_client(app, flask_test_client=flask_client)
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    token = tokens[name] if kind == "token" else None
    join = connection.emit("join", {"room": "counter:1", "token": token}, callback=True)
    assert join["ok"] is allowed
    for action in ACTIONS:
        ack = connection.emit("counter_action", {"counter": 1, "action": action, "token": token,
                                                 **ACTION_BODIES.get(action, {})}, callback=True)
        if allowed:
            assert ack["ok"] or ack["error"]["code"] not in ("unauthorized", "forbidden"), (name, action, ack)
        else:
            assert ack["ok"] is False and ack["error"]["code"] in ("unauthorized", "forbidden"), (name, action)
    connection.disconnect()


def test_socket_counter_action_answers_like_the_api(app, client, tokens):
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    connection = socketio.test_client(app)
    first = connection.emit("counter_action", {"counter": 1, "action": "call-next", "request_id": "k1",
                                               "token": tokens["counter1"]}, callback=True)
    again = connection.emit("counter_action", {"counter": 1, "action": "call-next", "request_id": "k1",
                                               "token": tokens["counter1"]}, callback=True)
    assert first["ok"] and first["ticket"]["number"] == "1001" and first == again
    bad = connection.emit("counter_action", {"counter": "1", "action": "call-next"}, callback=True)
    assert bad["error"]["code"] == "invalid_action"
    unknown = connection.emit("counter_action", {"counter": 1, "action": "dance", "token": tokens["counter1"]},
                              callback=True)
    assert unknown["error"]["code"] == "unknown_action"
