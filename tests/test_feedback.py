"""Satisfaction ratings: the counter's tablet (paired device, live prompt) and the
tracking page; one rating per ticket."""


import pytest

from hallserver.web.extensions import socketio
from tests.helpers import bearer, csrf, csrf_in, make_token


def serve_one(client, tokens, counter=1):
    ticket = client.post("/api/v1/tickets", json={"service": "HT"},
                         headers=bearer(tokens["kiosk"])).get_json()["ticket"]
    for action in ("call-next", "done"):
        client.post(f"/api/v1/counters/{counter}/{action}", json={}, headers=bearer(tokens[f"counter{counter}"]))
    return ticket


@pytest.fixture
def tablet(app, store):
    """A browser paired as counter 1's rating tablet."""
    web = app.test_client()
    token = make_token(store, "rating", 1)
    answer = web.post("/danh-gia/1/ghep-noi", data={"token": token, "csrf_token": csrf(web, "/danh-gia/1/ghep-noi")})
    assert answer.headers["Location"].endswith("/danh-gia/1")
    web.token = token
    return web


def test_tablet_needs_its_own_counters_rating_token(app, store, tokens):
    web = app.test_client()
    assert web.get("/danh-gia/1").headers["Location"].endswith("/danh-gia/1/ghep-noi")
    other = make_token(store, "rating", 2)
    for wrong in (other, tokens["kiosk"], tokens["counter1"]):
        answer = web.post("/danh-gia/1/ghep-noi",
                          data={"token": wrong, "csrf_token": csrf(web, "/danh-gia/1/ghep-noi")})
        assert answer.status_code == 400
    assert web.get("/danh-gia/99").status_code == 404


def test_a_paired_tablet_outlives_the_staff_session(app, client, tokens, tablet):
    """The pairing is its own signed cookie for 400 days (renewed whenever the tablet page
    opens), not the session's, which lasts a staff sign-in (HALL_SESSION_HOURS, 12 h)."""
    devices = tablet.get_cookie("hall_devices")
    assert devices is not None and devices.http_only and devices.same_site == "Lax"
    assert devices.max_age >= 300 * 86400
    session = tablet.get_cookie("hall_session")
    assert session is None or session.expires is None  # not a 12-hour permanent session
    # 13 hours later the session cookie (and its CSRF token) is gone: still paired
    tablet.delete_cookie("hall_session")
    page = tablet.get("/danh-gia/1")
    assert page.status_code == 200 and "hall_devices=" in page.headers.get("Set-Cookie", "")
    ticket = serve_one(client, tokens)
    assert tablet.post("/danh-gia/1", json={"number": ticket["number"], "score": 4},
                       headers={"X-CSRFToken": csrf_in(page.get_data(as_text=True))}).status_code == 200
    # a forged or foreign cookie pairs nothing; revoking the token unpairs the tablet
    stranger = app.test_client()
    stranger.set_cookie("hall_devices", devices.value[:-2] + "xx")
    assert stranger.get("/danh-gia/1").status_code == 302
    hall = app.extensions["hall"]
    token_id = hall.principal_for_token(tablet.token).token_id
    hall.revoke_token(token_id)
    assert tablet.get("/danh-gia/1").headers["Location"].endswith("/danh-gia/1/ghep-noi")


def test_done_prompts_the_tablet_which_rates_once(app, client, tokens, tablet):
    live = socketio.test_client(app, flask_test_client=tablet)
    assert live.emit("join", {"room": "rating:1"}, callback=True)["ok"] is True
    ticket = serve_one(client, tokens)
    prompts = [event["args"][0] for event in live.get_received() if event["name"] == "rate"]
    assert [prompt["ticket"]["number"] for prompt in prompts] == [ticket["number"]]
    page = tablet.get("/danh-gia/1").get_data(as_text=True)
    assert "Rất hài lòng" in page and "Không hài lòng" in page and "Chờ lâu" in page
    token = csrf_in(page)
    body = {"number": ticket["number"], "score": 2, "reasons": ["wait_long"], "comment": "Chờ hơi lâu"}
    assert tablet.post("/danh-gia/1", json=body, headers={"X-CSRFToken": token}).status_code == 200
    again = tablet.post("/danh-gia/1", json=body, headers={"X-CSRFToken": token})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_rated"
    row = app.extensions["hall"].store.db.execute(
        "SELECT score, reasons, comment, source, counter FROM ratings").fetchone()
    assert row == (2, '["wait_long"]', "Chờ hơi lâu", "tablet", 1)
    live.disconnect()


@pytest.mark.parametrize("body, status, code", [
    ({"number": "1001", "score": 5}, 422, "invalid_score"),
    ({"number": "1001", "score": "4"}, 422, "wrong_type"),
    ({"number": "1001", "score": 4, "reasons": ["noise"]}, 422, "invalid_reason"),
    ({"number": "1001", "score": 4, "comment": "x" * 501}, 422, "invalid_comment"),
    ({"number": "1999", "score": 4}, 404, "unknown_ticket"),
])
def test_tablet_refuses_bad_ratings(client, tokens, tablet, body, status, code):
    serve_one(client, tokens)
    token = csrf(tablet, "/danh-gia/1")
    answer = tablet.post("/danh-gia/1", json=body, headers={"X-CSRFToken": token})
    assert answer.status_code == status and answer.get_json()["error"]["code"] == code


def test_a_tablet_cannot_rate_another_counters_ticket(client, tokens, tablet):
    ticket = serve_one(client, tokens, counter=2)
    token = csrf(tablet, "/danh-gia/1")
    answer = tablet.post("/danh-gia/1", json={"number": ticket["number"], "score": 4}, headers={"X-CSRFToken": token})
    assert answer.status_code == 404


@pytest.mark.parametrize("token_name, room, ok", [
    (None, "rating:1", False), ("kiosk", "rating:1", False), ("counter1", "rating:1", False),
    ("rating2", "rating:1", False), ("rating1", "rating:1", True), ("supervisor", "rating:1", True),
    ("rating1", "rating:9", False),
])
def test_who_may_join_a_rating_room(app, store, tokens, token_name, room, ok):
    tokens = dict(tokens, rating1=make_token(store, "rating", 1), rating2=make_token(store, "rating", 2))
    connection = socketio.test_client(app)
    ack = connection.emit("join", {"room": room, "token": tokens.get(token_name)}, callback=True)
    assert ack["ok"] is ok
    connection.disconnect()


def test_tracking_page_offers_the_rating_once_done(app, client, tokens):
    ticket = serve_one(client, tokens)
    web = app.test_client()
    page = web.get(f"/t/{ticket['track_token']}").get_data(as_text=True)
    assert 'id="rating"' in page and "Bạn có hài lòng" in page
    token = csrf_in(page)
    answer = web.post(f"/t/{ticket['track_token']}/danh-gia", data={"score": "4", "csrf_token": token})
    assert answer.headers["Location"].endswith("danh_gia=ok")
    page = web.get(f"/t/{ticket['track_token']}").get_data(as_text=True)
    assert "Cảm ơn bạn đã đánh giá" in page and 'id="rating"' not in page
    again = web.post(f"/t/{ticket['track_token']}/danh-gia", data={"score": "1", "csrf_token": token})
    assert again.headers["Location"].endswith("danh_gia=already_rated")
    assert web.post("/t/unknown/danh-gia", data={"score": "4", "csrf_token": token}).status_code == 404


def test_a_refused_rating_says_why(app, client, tokens):
    """A too-long comment is not "choose a score": the page says what to change."""
    ticket = serve_one(client, tokens)
    web = app.test_client()
    token = csrf(web, f"/t/{ticket['track_token']}")
    answer = web.post(f"/t/{ticket['track_token']}/danh-gia",
                      data={"score": "4", "comment": "Rất tốt. " * 100, "csrf_token": token}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "góp ý dài tối đa 500 ký tự" in page and "vui lòng chọn một mức hài lòng" not in page
    assert 'maxlength="500"' in page
    unscored = web.post(f"/t/{ticket['track_token']}/danh-gia", data={"csrf_token": token}, follow_redirects=True)
    assert "vui lòng chọn một mức hài lòng" in unscored.get_data(as_text=True)


def test_waiting_tickets_cannot_be_rated(app, client, tokens):
    ticket = client.post("/api/v1/tickets", json={"service": "HT"},
                         headers=bearer(tokens["kiosk"])).get_json()["ticket"]
    web = app.test_client()
    token = csrf(web, f"/t/{ticket['track_token']}")
    answer = web.post(f"/t/{ticket['track_token']}/danh-gia", data={"score": "4", "csrf_token": token})
    assert answer.headers["Location"].endswith("danh_gia=not_done")
