"""Sessions and accounts (issue 13): sign-out and password resets end sessions server-side,
sessions expire (absolute and idle), throttling per account and address with even timing,
revoked tokens and disabled accounts lose their sockets, no self-disable by case, staff
limited to their services on /lich-hen, idempotency keys scoped to requester and request."""

import time

import pytest

from hallserver.errors import Conflict
from hallserver.services import auth, users
from hallserver.web.extensions import socketio
from hallserver.web.pages.admin import CONFIRMED
from tests.helpers import NAME, PASSWORD, PHONE, add_user, bearer, csrf, make_token, run_cli, sign_in, signed_in, text

COOKIE = "hall_session"


@pytest.fixture
def accounts(store):
    add_user(store, "quantri", role="admin")
    add_user(store, "giamsat", role="supervisor")
    add_user(store, "lan", counters=[1])


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s sign-in cookie (a stolen or kept cookie)."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


# -- 1. sessions end server-side; absolute and idle expiry -------------------------------------------

def test_a_copied_cookie_is_dead_after_sign_out(app, client, accounts):
    sign_in(client, "giamsat")
    kept = copy_of(app, client)
    assert kept.get("/dashboard").status_code == 200
    assert client.post("/dang-xuat", data={"csrf_token": csrf(client, "/dashboard")}).status_code == 302
    assert kept.get("/dashboard").status_code == 302          # before: 200, the cookie still opened it
    assert client.get("/dashboard").status_code == 302


def test_a_form_sent_after_the_session_ended_leads_back_through_sign_in(app, client, accounts):
    """A staff member's session ends while /lich-hen is open; the form they then send is
    answered with the sign-in page and the way back, not raw JSON. A page's script (JSON)
    still gets the JSON refusal it reads."""
    sign_in(client, "lan")
    token = csrf(client, "/lich-hen")
    assert client.post("/dang-xuat", data={"csrf_token": token}).status_code == 302
    sent = client.post("/lich-hen/tiep-nhan", data={"code": "ABCD-EFGH", "csrf_token": token},
                       headers={"Referer": "http://localhost/lich-hen?ngay=2026-11-26"})
    assert sent.status_code == 302
    assert sent.headers["Location"] == "/dang-nhap?next=/lich-hen?ngay%3D2026-11-26"
    elsewhere = client.post("/lich-hen/tiep-nhan", data={"code": "ABCD-EFGH", "csrf_token": token},
                            headers={"Referer": "https://example.com/lich-hen"})
    assert elsewhere.headers["Location"] == "/dang-nhap"          # no way "back" to another site
    scripted = client.post("/lich-hen/tiep-nhan", json={"code": "ABCD-EFGH"},
                           headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert scripted.status_code == 401 and scripted.json["error"]["code"] == "unauthorized"


def test_a_password_reset_ends_every_session(app, client, accounts, store, db_path):
    sign_in(client, "lan")
    assert client.get("/counter/1").status_code == 200
    admin = signed_in(app, "quantri")
    answer = admin.post("/admin/users/lan/password", data={"csrf_token": csrf(admin, "/admin"),
                                                           "password": "mat-khau-moi-2"})
    assert answer.status_code == 302
    assert client.get("/counter/1").status_code == 302        # before: the old session survived
    sign_in(client, "lan", "mat-khau-moi-2")
    assert client.get("/counter/1").status_code == 200
    # and from the command line (another process)
    run_cli("user", "password", "lan", db=db_path, input="mat-khau-moi-3\n")
    assert client.get("/counter/1").status_code == 302
    assert sign_in(client, "lan", "mat-khau-moi-3").status_code == 302


def test_the_cli_password_reset_checks_its_input(db_path, accounts):
    refused = run_cli("user", "password", "lan", db=db_path, input="ngan\n", check=False)
    assert refused.returncode == 2 and "8" in refused.stderr
    unknown = run_cli("user", "password", "khong-co", db=db_path, input="mat-khau-moi-3\n", check=False)
    assert unknown.returncode == 2


def test_sessions_expire_after_idleness(app, client, accounts, clock):
    idle = app.config["HALL_SETTINGS"]["session_idle_minutes"] * 60
    sign_in(client, "giamsat")
    for _ in range(3):                                        # active: each request keeps it alive
        clock.advance(idle - 60)
        assert client.get("/dashboard").status_code == 200
    clock.advance(idle + 1)
    assert client.get("/dashboard").status_code == 302       # before: open for as long as the cookie
    assert sign_in(client, "giamsat").status_code == 302 and client.get("/dashboard").status_code == 200


def test_sessions_expire_at_an_absolute_time_however_active(app, client, accounts, clock):
    hours = app.config["HALL_SETTINGS"]["session_hours"]
    sign_in(client, "giamsat")
    started = clock()
    while clock() + 30 * 60 < started + hours * 3600:
        clock.advance(30 * 60)
        assert client.get("/dashboard").status_code == 200
    clock.advance(30 * 60)
    assert client.get("/dashboard").status_code == 302


# -- 2. throttling per account and address; even timing ----------------------------------------------

def post_sign_in(client, username, password, address):
    return client.post("/dang-nhap", data={"username": username, "password": password,
                                           "csrf_token": csrf(client, "/dang-nhap")},
                       environ_base={"REMOTE_ADDR": address})


def test_a_stranger_cannot_lock_a_colleague_out(app, accounts):
    stranger, colleague = app.test_client(), app.test_client()
    for _ in range(users.MAX_FAILURES_PER_USER):
        assert post_sign_in(stranger, "lan", "sai-mat-khau", "10.0.0.66").status_code == 401
    assert post_sign_in(stranger, "lan", PASSWORD, "10.0.0.66").status_code == 429   # the guesser is paused
    assert post_sign_in(colleague, "lan", PASSWORD, "10.0.0.5").status_code == 302   # before: 429 for 15 min


def test_unknown_and_known_usernames_cost_one_password_check(store, accounts, monkeypatch):
    checks = []
    real = users.check_password_hash
    monkeypatch.setattr(users, "check_password_hash", lambda *args: checks.append(args) or real(*args))

    def timed(username):
        with store.transaction() as db:
            started = time.perf_counter()
            assert users.sign_in(db, username=username, password="sai-mat-khau", address="a",
                                 now=time.time()) is None
            return time.perf_counter() - started

    timed("khong-co-ai")                                      # the dummy hash is made once, first
    known = min(timed("lan") for _ in range(2))
    checks.clear()
    unknown = min(timed("khong-co-ai") for _ in range(2))
    assert len(checks) == 2                                   # before: none for an unknown name
    assert unknown > known / 2, (known, unknown)              # before: ~3 ms against ~110 ms


def test_a_disabled_account_costs_the_same_check(store, accounts, monkeypatch):
    with store.transaction() as db:
        users.set_disabled(db, "lan", True, now=time.time())
    checks = []
    monkeypatch.setattr(users, "check_password_hash", lambda *args: checks.append(args) or True)
    with store.transaction() as db:
        assert users.sign_in(db, username="lan", password=PASSWORD, address="a", now=time.time()) is None
    assert len(checks) == 1


# -- 3. sockets of revoked tokens and disabled accounts ------------------------------------------------

def token_id(store, token):
    return store.db.execute("SELECT id FROM tokens WHERE token_hash = ?", [auth.hash_token(token)]).fetchone()[0]


def joined(app, room, token=None, flask_client=None):
    connection = socketio.test_client(app, flask_test_client=flask_client or app.test_client())
    ack = connection.emit("join", {"room": room, "token": token}, callback=True)
    assert ack["ok"], ack
    connection.get_received()
    return connection


def hears_a_call(client, connection, tokens):
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    client.post("/api/v1/counters/1/call-next", json={}, headers=bearer(tokens["counter1"]))
    return connection.is_connected() and any(event["name"] == "called" for event in connection.get_received())


def test_a_revoked_token_stops_hearing_its_room(app, client, tokens, store, accounts):
    revoked = make_token(store, "counter", 1)
    kept = joined(app, "counter:1", tokens["counter1"])
    dropped = joined(app, "counter:1", revoked)
    hall = app.extensions["hall"]
    hall.revoke_token(token_id(store, revoked), by="quantri")
    assert not dropped.is_connected()                        # before: still connected, still hearing
    assert hears_a_call(client, kept, tokens)
    assert not hears_a_call(client, dropped, tokens)


def test_a_token_revoked_by_another_process_is_dropped_by_the_sweep(app, client, tokens, store):
    connection = joined(app, "dashboard", tokens["supervisor"])
    with store.transaction() as db:                         # no event reaches this hub's publisher
        auth.revoke_token(db, token_id(store, tokens["supervisor"]), now=time.time())
    assert connection.is_connected()
    app.extensions["hall_namespace"].sweep()
    assert not connection.is_connected()


def test_a_disabled_account_stops_hearing_its_rooms(app, client, tokens, store, accounts):
    staff = signed_in(app, "lan")
    supervisor = signed_in(app, "giamsat")
    desk = joined(app, "counter:1", flask_client=staff)
    board = joined(app, "dashboard", flask_client=supervisor)
    other = joined(app, "display")
    app.extensions["hall"].set_user_disabled("lan", True, by="quantri")
    assert not desk.is_connected() and board.is_connected() and other.is_connected()
    assert hears_a_call(client, board, tokens)


def test_signing_out_drops_the_sockets_of_that_session(app, accounts, tokens, client):
    supervisor = signed_in(app, "giamsat")
    board = joined(app, "dashboard", flask_client=supervisor)
    supervisor.post("/dang-xuat", data={"csrf_token": csrf(supervisor, "/dashboard")})
    assert not board.is_connected()


# -- 4. self-disable by case; /lich-hen limited to the account's services; idempotency keys ----------

def test_an_admin_cannot_disable_themselves_by_changing_case(app, accounts, store):
    admin = signed_in(app, "quantri")
    answer = admin.post("/admin/users/QuanTri/disable",
                        data={"csrf_token": csrf(admin, "/admin"), "confirmed": CONFIRMED})
    assert answer.status_code == 409                          # before: the account was disabled
    assert store.db.execute("SELECT disabled FROM users WHERE username = 'quantri'").fetchone()[0] == 0
    with pytest.raises(Conflict):
        app.extensions["hall"].set_user_disabled("QUANTRI", True, by="quantri")


def test_usernames_are_case_insensitive_everywhere(app, accounts, store):
    assert sign_in(app.test_client(), "LAN").status_code == 302
    admin = signed_in(app, "quantri")
    answer = admin.post("/admin/users/Lan/disable",
                        data={"csrf_token": csrf(admin, "/admin"), "confirmed": CONFIRMED})
    assert answer.status_code == 302
    assert store.db.execute("SELECT disabled FROM users WHERE username = 'lan'").fetchone()[0] == 1


@pytest.fixture
def bookings_web(web_app, clock):
    hall = web_app.extensions["hall"]
    add_user(hall.store, "lan", counters=[1])        # counter 1 serves HT only
    ht = hall.book(service="HT", slot="2026-11-26T10:00", name=NAME, phone=PHONE, source="api")["code"]
    dd = hall.book(service="DD", slot="2026-11-26T10:00", name=NAME, phone="0987654321", source="api")["code"]
    return web_app, hall, ht, dd


def test_staff_act_only_on_their_services_bookings(bookings_web, clock):
    from tests.helpers import hall_time

    web_app, hall, ht, dd = bookings_web
    clock.set(hall_time(2026, 11, 26, 9, 50))
    lan = signed_in(web_app, "lan")
    token = csrf(lan, "/lich-hen")
    for path, data in (("/lich-hen/tiep-nhan", {"code": dd}), ("/lich-hen/huy", {"code": dd}),
                       ("/lich-hen/cap-so", {"service": "DD"})):
        answer = lan.post(path, data={**data, "csrf_token": token})
        assert answer.status_code == 403, (path, answer.status_code)    # before: 200
    assert hall.booking(dd)["status"] == "booked"
    assert hall.state()["seq"] == hall.read(lambda db, config, now: db.execute(
        "SELECT MAX(seq) FROM events").fetchone()[0])
    assert not hall.read(lambda db, config, now: db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0])
    checked = lan.post("/lich-hen/tiep-nhan", data={"code": ht, "csrf_token": token})
    assert checked.status_code == 200 and "số thứ tự 1001" in text(checked)
    assert lan.post("/lich-hen/cap-so", data={"service": "HT", "csrf_token": token}).status_code == 200


def test_an_idempotency_key_is_scoped_to_its_requester_and_request(tmp_path, clock):
    from tests.helpers import booking_hall

    hall = booking_hall(tmp_path, clock)
    try:
        first = hall.book(service="HT", slot="2026-11-26T10:00", name=NAME, phone=PHONE, source="api",
                          idempotency_key="k-1", requester="public")
        again = hall.book(service="HT", slot="2026-11-26T10:00", name=NAME, phone=PHONE, source="api",
                          idempotency_key="k-1", requester="public")
        assert again == first                                             # a retry: the same booking
        with pytest.raises(Conflict) as refused:                          # before: the first booking
            hall.book(service="HT", slot="2026-11-26T10:30", name="Kẻ Lạ", phone="0987654321", source="api",
                      idempotency_key="k-1", requester="public")
        assert refused.value.code == "idempotency_key_reused"
        other = hall.book(service="HT", slot="2026-11-26T10:00", name="Lê Văn Bình", phone="0911111111",
                          source="staff", idempotency_key="k-1", requester="token:9")   # its own key space
        assert other["code"] != first["code"]
    finally:
        hall.store.close()


def test_the_api_scopes_idempotency_keys_to_the_token(web_app):
    client, store = web_app.test_client(), web_app.extensions["hall"].store
    tokens = {"counter1": make_token(store, "counter", 1), "counter2": make_token(store, "counter", 2)}
    body = {"service": "CT", "slot": "2026-11-26T10:00", "name": NAME, "phone": PHONE, "idempotency_key": "k"}
    first = client.post("/api/v1/bookings", json=body, headers=bearer(tokens["counter1"]))
    assert first.status_code == 201
    same = client.post("/api/v1/bookings", json=body, headers=bearer(tokens["counter1"]))
    assert same.get_json()["booking"]["code"] == first.get_json()["booking"]["code"]
    stranger = client.post("/api/v1/bookings", json=dict(body, phone="0987654321", name="Kẻ Lạ"),
                           headers=bearer(tokens["counter2"]))
    assert stranger.status_code == 201
    assert stranger.get_json()["booking"]["code"] != first.get_json()["booking"]["code"]
    changed = client.post("/api/v1/bookings", json=dict(body, slot="2026-11-26T10:30"),
                          headers=bearer(tokens["counter1"]))
    assert changed.status_code == 409 and changed.get_json()["error"]["code"] == "idempotency_key_reused"


def test_a_running_hub_drops_the_socket_of_a_token_revoked_from_the_command_line(hub, hub_db):
    import socketio as socketio_client

    from tests.helpers import device_token

    token = device_token(hub_db, "supervisor")
    connection = socketio_client.Client(reconnection=False)
    connection.connect(hub.url, transports=["websocket"])
    try:
        assert connection.call("join", {"room": "dashboard", "token": token}, timeout=10)["ok"]
        token_id = run_cli("token", "list", db=hub_db).stdout.split()[0]
        run_cli("token", "revoke", token_id, db=hub_db)
        deadline = time.monotonic() + 15                        # the sweep runs every few seconds
        while connection.connected and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not connection.connected
    finally:
        connection.disconnect()
