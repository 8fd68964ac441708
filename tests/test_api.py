"""The JSON API through the Flask test client: the contract, roles and every error."""

import pytest

from tests.helpers import bearer

STATE_KEYS = {"seq", "day", "hall", "services", "counters", "recent_calls"}
PUBLIC_TICKET_KEYS = {"number", "service", "service_name", "status", "priority", "channel", "position", "ahead",
                      "eta_minutes", "eta_low_minutes", "eta_high_minutes", "eta_at", "eta_after_closure",
                      "near_turn", "counter", "issued_at", "called_at"}


def issue(client, tokens, service="HT", priority=None, token="kiosk"):
    return client.post("/api/v1/tickets", json={"service": service, "priority": priority},
                       headers=bearer(tokens[token]))


def call(client, tokens, counter=1, action="call-next", token=None, **body):
    return client.post(f"/api/v1/counters/{counter}/{action}", json=body,
                       headers=bearer(tokens[token or f"counter{counter}"]))


def test_state_is_public_and_has_the_contract_shape(client, tokens):
    issue(client, tokens)
    call(client, tokens)
    state = client.get("/api/v1/state").get_json()
    assert set(state) == STATE_KEYS
    assert state["hall"]["name"].startswith("Trung tâm")
    assert {"code", "name", "waiting"} <= set(state["services"][0])
    counter = state["counters"][0]
    assert {"number", "name", "status", "current"} <= set(counter)
    assert counter["current"] == {"number": "1001", "service": "HT"}
    assert state["recent_calls"][0]["number"] == "1001" and state["recent_calls"][0]["counter"] == 1
    assert {"number", "counter", "called_at"} <= set(state["recent_calls"][0])


def test_issue_then_track(client, tokens):
    answer = issue(client, tokens, priority="elderly")
    assert answer.status_code == 201
    ticket = answer.get_json()["ticket"]
    assert set(ticket) == PUBLIC_TICKET_KEYS | {"track_token"}
    assert ticket["number"] == "1001" and ticket["status"] == "waiting" and ticket["position"] == 1
    assert ticket["channel"] == "kiosk" and ticket["priority"] == "elderly"
    tracked = client.get(f"/api/v1/tickets/{ticket['track_token']}").get_json()["ticket"]
    assert set(tracked) == PUBLIC_TICKET_KEYS
    assert tracked["counter"] is None
    call(client, tokens)
    assert client.get(f"/api/v1/tickets/{ticket['track_token']}").get_json()["ticket"]["counter"] == 1
    assert client.get("/api/v1/tickets/random-token").status_code == 404


def test_staff_issued_tickets_have_the_staff_channel(client, tokens):
    assert issue(client, tokens, token="counter2").get_json()["ticket"]["channel"] == "staff"
    assert issue(client, tokens, token="supervisor").status_code == 201


def test_call_next_answers_the_ticket_or_null(client, tokens):
    assert call(client, tokens).get_json()["ticket"] is None
    issue(client, tokens)
    answer = call(client, tokens)
    assert answer.status_code == 200
    assert answer.get_json()["ticket"]["number"] == "1001"
    assert answer.get_json()["counter"]["current"]["number"] == "1001"


def test_repeated_request_id_calls_nobody_else(client, tokens):
    for _ in range(2):
        issue(client, tokens)
    first = call(client, tokens, request_id="key-press-17").get_json()
    second = call(client, tokens, request_id="key-press-17").get_json()
    assert first == second
    state = client.get("/api/v1/state").get_json()
    assert state["services"][0]["waiting"] == 1


def test_every_counter_action_answers_the_counters_state(client, tokens):
    issue(client, tokens)
    issue(client, tokens)
    call(client, tokens)
    for action in ("recall", "start", "done", "pause", "resume"):
        answer = call(client, tokens, action=action)
        assert answer.status_code == 200, (action, answer.get_json())
        assert answer.get_json()["counter"]["number"] == 1
    call(client, tokens)
    assert call(client, tokens, action="no-show").get_json()["ticket"]["status"] == "no_show"
    assert call(client, tokens, action="call", number="1002").get_json()["ticket"]["number"] == "1002"
    assert call(client, tokens, action="transfer", service="CT").get_json()["ticket"]["service"] == "CT"
    assert client.get("/api/v1/counters/1", headers=bearer(tokens["counter1"])).get_json()["counter"]["number"] == 1


def test_cancel_through_the_tracking_token(client, tokens):
    token = issue(client, tokens).get_json()["ticket"]["track_token"]
    assert client.post(f"/api/v1/tickets/{token}/cancel").get_json()["ticket"]["status"] == "cancelled"
    assert client.post(f"/api/v1/tickets/{token}/cancel").status_code == 409
    assert client.post("/api/v1/tickets/nope/cancel").status_code == 404


# -- roles ----------------------------------------------------------------------------

@pytest.mark.parametrize("token, status", [
    (None, 401), ("garbage", 401), ("display", 403), ("kiosk", 201), ("counter1", 201), ("supervisor", 201),
])
def test_who_may_issue_tickets(client, tokens, token, status):
    headers = bearer(tokens.get(token, token)) if token else {}
    answer = client.post("/api/v1/tickets", json={"service": "HT"}, headers=headers)
    assert answer.status_code == status
    if status >= 400:
        assert set(answer.get_json()["error"]) >= {"code", "message"}


@pytest.mark.parametrize("token, status", [
    (None, 401), ("kiosk", 403), ("display", 403), ("counter2", 403), ("counter1", 200), ("supervisor", 200),
])
def test_only_the_counter_or_a_supervisor_acts_for_counter_1(client, tokens, token, status):
    headers = bearer(tokens[token]) if token else {}
    for action in ("call-next", "pause", "resume"):
        answer = client.post(f"/api/v1/counters/1/{action}", json={}, headers=headers)
        assert answer.status_code == status, action
    assert client.get("/api/v1/counters/1", headers=headers).status_code == status


def test_revoked_tokens_stop_working(client, tokens, store):
    from hallserver.services import auth

    principal = auth.principal_for(store.db, tokens["kiosk"])
    with store.transaction() as db:
        auth.revoke_token(db, principal.token_id, now=0)
    assert issue(client, tokens).status_code == 401


# -- bad input --------------------------------------------------------------------

def post_raw(client, tokens, path, data, token="kiosk", content_type="application/json"):
    return client.post(path, data=data, content_type=content_type, headers=bearer(tokens[token]))


@pytest.mark.parametrize("body, status, code", [
    ("{not json", 400, "malformed_json"),
    ("[1, 2]", 400, "malformed_json"),
    ("\"HT\"", 400, "malformed_json"),
    ("{}", 422, "missing_field"),
    ("{\"service\": 7}", 422, "wrong_type"),
    ("{\"service\": \"\"}", 422, "invalid_value"),
    ("{\"service\": \"ZZ\"}", 422, "unknown_service"),
    ("{\"service\": \"HT\", \"priority\": \"vip\"}", 422, "unknown_priority"),
    ("{\"service\": \"HT\", \"priority\": 3}", 422, "wrong_type"),
    (b"\xff\xfe", 400, "malformed_json"),
])
def test_bad_ticket_bodies(client, tokens, body, status, code):
    answer = post_raw(client, tokens, "/api/v1/tickets", body)
    assert answer.status_code == status
    assert answer.get_json()["error"]["code"] == code
    assert client.get("/api/v1/state").get_json()["seq"] == 0  # nothing changed


def test_oversized_body_is_413(client, tokens):
    answer = post_raw(client, tokens, "/api/v1/tickets", "{\"service\": \"" + "H" * 40_000 + "\"}")
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize("path, body, status, code", [
    ("/api/v1/counters/99/call-next", {}, 404, "unknown_counter"),
    ("/api/v1/counters/1/dance", {}, 404, "unknown_action"),
    ("/api/v1/counters/1/transfer", {}, 422, "missing_field"),
    ("/api/v1/counters/1/transfer", {"service": "ZZ"}, 422, "unknown_service"),
    ("/api/v1/counters/1/transfer", {"service": "CT"}, 409, "no_current_ticket"),
    ("/api/v1/counters/1/call", {"number": 1003}, 422, "wrong_type"),
    ("/api/v1/counters/1/call", {"number": "7777"}, 404, "unknown_ticket"),
    ("/api/v1/counters/1/recall", {}, 409, "no_current_ticket"),
    ("/api/v1/counters/1/call-next", {"request_id": 5}, 422, "wrong_type"),
    ("/api/v1/counters/1/call-next", {"request_id": "x" * 101}, 422, "invalid_value"),
])
def test_bad_counter_requests(client, tokens, path, body, status, code):
    answer = client.post(path, json=body, headers=bearer(tokens["supervisor"]))
    assert answer.status_code == status, answer.get_json()
    assert answer.get_json()["error"]["code"] == code


def test_conflicts_are_409_with_a_vietnamese_message(client, tokens):
    call(client, tokens, action="pause")
    answer = call(client, tokens)
    assert answer.status_code == 409
    assert answer.get_json()["error"] == {
        "code": "counter_paused", "message": "Quầy số 1 đang tạm dừng", "message_en": "Counter 1 is paused"}


def test_unknown_api_paths_and_methods_are_json(client):
    assert client.get("/api/v1/nothing").get_json()["error"]["code"] == "not_found"
    answer = client.delete("/api/v1/state")
    assert answer.status_code == 405 and answer.get_json()["error"]["code"] == "method_not_allowed"


def test_front_page_is_vietnamese_first(client):
    page = client.get("/").get_data(as_text=True)
    assert "Hàng đợi hiện tại" in page and "Hộ tịch" in page


def test_openapi_describes_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {path for path in document["paths"]}
    routes = set()
    from hallserver.hall import COUNTER_ACTIONS

    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = rule.rule.removeprefix("/api/v1").replace("<int:number>", "{number}")
            path = path.replace("<track_token>", "{track_token}")
            if "<action>" in path:
                routes |= {path.replace("<action>", action) for action in COUNTER_ACTIONS}
            else:
                routes.add(path)
    assert routes == documented


def test_a_service_no_counter_serves_takes_no_numbers_and_says_why(store, client, tokens):
    from hallserver.config import demo_mapping, parse_config

    mapping = demo_mapping()
    for counter in mapping["counters"]:   # nobody serves DD today
        counter["services"] = [code for code in counter["services"] if code != "DD"] or ["HT"]
    store.apply_config(parse_config(mapping), source=mapping)
    refused = issue(client, tokens, "DD")
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "no_counter"
    assert "Chưa có quầy nào phục vụ" in refused.get_json()["error"]["message"]
    services = {service["code"]: service for service in client.get("/api/v1/state").get_json()["services"]}
    assert (services["DD"]["available"], services["DD"]["unavailable"]) == (False, "no_counter")
    assert services["DD"]["eta_minutes"] is None and services["HT"]["available"]
    # the page for a number from home says so beside the service, in words
    page = client.get("/lay-so").get_data(as_text=True)
    assert "Chưa có quầy phục vụ" in page
