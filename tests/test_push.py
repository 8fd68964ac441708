"""Socket.IO push through Flask-SocketIO's test client: rooms, joins, events after commit."""

import pytest

from hallserver.core import views
from hallserver.core.estimates import Estimator
from hallserver.web.extensions import socketio
from hallserver.web.push import Changes, FollowedEstimator, followed_rows
from tests.helpers import bearer


@pytest.fixture
def connect(app):
    clients = []

    def connect_client():
        client = socketio.test_client(app, flask_test_client=app.test_client())
        clients.append(client)
        return client

    yield connect_client
    for client in clients:
        if client.is_connected():
            client.disconnect()


def received(client, name=None):
    events = client.get_received()
    return [(event["name"], event["args"][0]) for event in events if name in (None, event["name"])]


def issue(client, tokens, service="HT"):
    return client.post("/api/v1/tickets", json={"service": service}, headers=bearer(tokens["kiosk"])).get_json()


def act(client, tokens, counter=1, action="call-next", **body):
    return client.post(f"/api/v1/counters/{counter}/{action}", json=body, headers=bearer(tokens[f"counter{counter}"]))


def test_display_join_gets_state_then_calls(connect, client, tokens):
    display = connect()
    ack = display.emit("join", {"room": "display"}, callback=True)
    assert ack == {"ok": True, "room": "display", "seq": 0}
    [(name, state)] = received(display)
    assert name == "state" and state["seq"] == 0 and state["hall"]["name"]

    issue(client, tokens)
    act(client, tokens)
    events = received(display)
    names = [name for name, _ in events]
    assert names.count("called") == 1 and "queue" in names and "counter" in names
    called = next(payload for name, payload in events if name == "called")
    assert called["ticket"] == {"number": "1001", "service": "HT"}
    assert called["counter"] == {"number": 1, "name": "Quầy 1"}
    assert called["text"] == "Xin mời công dân có số thứ tự 1001 đến quầy số 1"
    assert called["clips"][0] == "chime" and called["recall"] is False
    assert called["call_id"] == str(called["seq"])
    seqs = [payload["seq"] for _, payload in events]
    assert seqs == sorted(seqs) and seqs[0] > 0


def test_recall_is_pushed_as_a_new_call(connect, client, tokens):
    display = connect()
    display.emit("join", {"room": "display"}, callback=True)
    issue(client, tokens)
    act(client, tokens)
    act(client, tokens, action="recall")
    calls = [payload for name, payload in received(display, "called")]
    assert [call["recall"] for call in calls] == [False, True]
    assert calls[0]["call_id"] != calls[1]["call_id"]


@pytest.mark.parametrize("room, token, code", [
    ("dashboard", None, "unauthorized"),
    ("dashboard", "kiosk", "forbidden"),
    ("counter:1", None, "unauthorized"),
    ("counter:1", "counter2", "forbidden"),
    ("counter:1", "display", "forbidden"),
    ("counter:x", "supervisor", "unknown_room"),
    ("ticket:not-a-token", None, "unknown_ticket"),
    ("kitchen", None, "unknown_room"),
])
def test_joins_are_refused_with_an_error_ack(connect, tokens, room, token, code):
    client = connect()
    ack = client.emit("join", {"room": room, "token": tokens.get(token)}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == code
    assert received(client) == []


@pytest.mark.parametrize("payload", [None, "display", {"room": 5}, {}])
def test_malformed_joins_are_refused(connect, payload):
    client = connect()
    ack = client.emit("join", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_join"


def test_refused_clients_hear_nothing(connect, client, tokens):
    outsider = connect()
    outsider.emit("join", {"room": "counter:1", "token": tokens["counter2"]}, callback=True)
    issue(client, tokens)
    act(client, tokens)
    assert received(outsider) == []


def test_counter_room_gets_its_desk(connect, client, tokens):
    desk = connect()
    assert desk.emit("join", {"room": "counter:1", "token": tokens["counter1"]}, callback=True)["ok"]
    names = [name for name, _ in received(desk)]
    assert names == ["state", "counter_state"]
    issue(client, tokens)
    states = [payload for name, payload in received(desk, "counter_state")]
    assert states[-1]["counter"]["waiting"] == [{"service": "HT", "count": 1}]
    assert states[-1]["counter"]["waiting_list"][0]["number"] == "1001"
    act(client, tokens)
    desk_events = received(desk)
    assert "called" in [name for name, _ in desk_events]
    last = [payload for name, payload in desk_events if name == "counter_state"][-1]
    assert last["counter"]["current"]["number"] == "1001"


def test_supervisor_dashboard_hears_everything(connect, client, tokens):
    dashboard = connect()
    assert dashboard.emit("join", {"room": "dashboard", "token": tokens["supervisor"]}, callback=True)["ok"]
    issue(client, tokens, "DD")
    client.post("/api/v1/counters/4/call-next", json={}, headers=bearer(tokens["supervisor"]))
    events = received(dashboard)
    assert {"state", "dashboard", "queue", "counter", "called"} <= {name for name, _ in events}
    assert [payload["counter"]["number"] for name, payload in events if name == "counter"] == [4]


def test_a_new_ticket_redraws_no_counter(connect, client, tokens):
    display = connect()
    display.emit("join", {"room": "display"}, callback=True)
    received(display)
    issue(client, tokens)
    assert [name for name, _ in received(display)] == ["queue"]


def test_ticket_room_follows_position_and_call(connect, client, tokens, clock):
    first = issue(client, tokens)["ticket"]
    second = issue(client, tokens)["ticket"]
    phone = connect()
    assert phone.emit("join", {"room": f"ticket:{second['track_token']}"}, callback=True)["ok"]
    [(_, state), (name, own)] = received(phone)
    assert name == "ticket" and own["ticket"]["position"] == 2 and own["ticket"]["number"] == "1002"
    act(client, tokens)  # calls 1001: 1002 moves up
    [update] = [payload for name, payload in received(phone, "ticket")]
    assert update["ticket"]["position"] == 1
    clock.advance(180)
    act(client, tokens)  # 1001 served; calls 1002
    events = received(phone)
    assert [payload["ticket"]["number"] for name, payload in events if name == "called"] == ["1002"]
    assert [payload["ticket"]["status"] for name, payload in events if name == "ticket"] == ["called"]
    assert first["track_token"] not in str(events)


def test_nothing_is_pushed_when_an_action_fails(connect, client, tokens):
    display = connect()
    display.emit("join", {"room": "display"}, callback=True)
    received(display)
    assert act(client, tokens, action="recall").status_code == 409
    assert client.post("/api/v1/tickets", json={"service": "ZZ"}, headers=bearer(tokens["kiosk"])).status_code == 422
    assert received(display) == []


def test_public_pushes_carry_no_tokens_or_personal_data(connect, client, tokens):
    display = connect()
    display.emit("join", {"room": "display"}, callback=True)
    ticket = issue(client, tokens)["ticket"]
    act(client, tokens)
    events = received(display)
    assert {name for name, _ in events} == {"state", "queue", "counter", "called"}
    assert ticket["track_token"] not in str(events)
    assert "waiting_list" not in str(events)  # the counters' desk view stays in counter rooms


def test_followed_tickets_get_the_estimates_a_single_ticket_gets(hall, clock):
    """One read for every followed ticket (FollowedEstimator, followed_rows) answers what the
    per-ticket path (hall.ticket_by_token) answers: positions, ahead, estimates, for plain,
    priority, requeued and transferred tickets in several services."""
    tickets = []
    for index, (service, priority) in enumerate([("HT", None), ("CT", None), ("HT", "elderly"), ("HT", None),
                                                 ("CT", "disabled"), ("HT", None), ("CT", None), ("HT", "child")]):
        clock.advance(30 + index)
        tickets.append(hall.issue_ticket(service, priority=priority))
    clock.advance(60)
    no_show = hall.counter_action(1, "call-next")["ticket"]["number"]
    clock.advance(60)
    hall.counter_action(1, "no-show")
    hall.counter_action(1, "reinstate", number=no_show)  # requeued at the front
    clock.advance(60)
    hall.counter_action(2, "call-next")
    clock.advance(60)
    hall.counter_action(2, "transfer", service="CT")     # requeued into CT
    tokens = [ticket["track_token"] for ticket in tickets]

    def batch(db, config, now):
        estimator = FollowedEstimator(db, config, now)
        rows = followed_rows(db, config, now, tokens, Changes(services={"HT", "CT"}))
        single = Estimator(db, config, now)
        for row in rows:  # each ticket's own kind, as ticket_estimate asks
            kind = "requeued" if row["requeued_at"] is not None else "priority" if row["priority"] else "normal"
            assert estimator.ahead_of(row, kind) == single.ahead_of(row, kind), (row["number"], kind)
        return {row["track_token"]: views.public_ticket(config, row, estimator) for row in rows}

    together = hall.read(batch)
    assert set(together) == set(tokens)
    kinds = {(ticket["priority"] is not None, ticket["position"]) for ticket in together.values()}
    assert len(kinds) > 4  # the hall above really mixes kinds and places
    for token in tokens:
        assert together[token] == hall.ticket_by_token(token)


def test_a_ticket_page_hears_only_changes_of_its_own_view(connect, client, tokens):
    ahead = issue(client, tokens)["ticket"]
    mine = issue(client, tokens, "CT")["ticket"]
    phone = connect()
    assert phone.emit("join", {"room": f"ticket:{mine['track_token']}"}, callback=True)["ok"]
    received(phone)
    issue(client, tokens, "DD")     # another service's line: nothing for this page
    assert received(phone, "ticket") == []
    act(client, tokens, counter=3)  # counter 3 serves CT first: mine is called
    assert [payload["ticket"]["status"] for _, payload in received(phone, "ticket")] == ["called"]
    assert ahead["track_token"] not in str(received(phone))
