"""Socket.IO push through Flask-SocketIO's test client: rooms, joins, events after commit."""

import json
import queue
import socket
import types

import pytest
import websocket

from hallserver.core import views
from hallserver.core.estimates import Estimator
from hallserver.web.extensions import socketio
from hallserver.web.push import Changes, DirectWire, FollowedEstimator, Unsent, followed_rows, websocket_frame
from tests.helpers import CT, HT, HubProcess, bearer, device_token, init_hall


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


def test_a_round_read_in_slices_reads_what_one_read_does(app, connect, client, tokens):
    """The sender's sliced reads (gevent) give the rows, places and views the one read gives."""
    issued = [issue(client, tokens, service)["ticket"] for service in ("HT", "CT", "HT", "HT", "CT")]
    for ticket in issued[1:]:
        assert connect().emit("join", {"room": f"ticket:{ticket['track_token']}"}, callback=True)["ok"]
    act(client, tokens)
    publisher, hall = app.extensions["publisher"], app.extensions["hall"]
    changes = Changes(services={"HT", "CT"})
    sliced, whole = publisher.read_in_slices(changes), hall.read(publisher.followed, changes)
    assert sliced[0] == whole[0]
    assert sorted(sliced[2], key=lambda row: row["id"]) == sorted(whole[2], key=lambda row: row["id"])
    assert len(sliced[2]) == 4 and {row["line_position"] for row in sliced[2]} == {1, 2}
    config = hall.config
    assert ({row["track_token"]: views.public_ticket(config, row, sliced[1]) for row in sliced[2]}
            == {row["track_token"]: views.public_ticket(config, row, whole[1]) for row in whole[2]})


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



# -- a real hub: a room's frames written straight to each websocket -----------------------------

@pytest.fixture
def calling_hub(tmp_path):
    """A hub process (gevent) whose counter 1 may call back to back; kiosk and counter tokens."""
    db = init_hall(tmp_path, hall={"name": "UBND xã Thử Nghiệm", "timezone": "Asia/Ho_Chi_Minh"},
                   policy={"repeat_guard_seconds": 0, "confirm_arrival_seconds": 0}, services=[HT, CT],
                   counters=[{"number": 1, "services": ["HT", "CT"]}])
    hub = HubProcess(db)
    hub.kiosk, hub.counter = device_token(db, "kiosk"), device_token(db, "counter", 1)
    hub.start()
    yield hub
    hub.stop()


class RawSocket:
    """Engine.IO 4 / Socket.IO 5 spoken by hand over one websocket, joined to ``room``: every
    frame is read as the hub wrote it (a torn or merged frame fails to parse)."""

    def __init__(self, hub, room, receive_buffer=None):
        options = [(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)] if receive_buffer else []
        self.events = []  # (name, payload) of every Socket.IO event, in order
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{hub.port}/socket.io/?EIO=4&transport=websocket",
                                              timeout=20, sockopt=options)
        assert self.ws.recv().startswith("0{")
        self.ws.send("40")
        self.read_until(lambda frame: frame.startswith("40"))
        self.ws.send("421" + json.dumps(["join", {"room": room}]))
        ack = self.read_until(lambda frame: frame.startswith("431"))
        assert json.loads(ack[3:])[0]["ok"] is True

    def read_until(self, done):
        """Read frames (answering pings) until ``done(frame)``; returns that frame."""
        while True:
            frame = self.ws.recv()
            if frame == "2":
                self.ws.send("3")
            elif frame.startswith("42"):
                name, payload = json.loads(frame[2:])
                self.events.append((name, payload))
            if done(frame):
                return frame

    def names(self):
        return [name for name, _ in self.events]

    def close(self):
        self.ws.close()


def called_numbers(events):
    return [payload["ticket"]["number"] for name, payload in events if name == "called"]


@pytest.mark.hub
def test_screens_and_ticket_pages_on_websockets_hear_whole_frames_called_first(calling_hub):
    hub = calling_hub
    first = hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).json()["ticket"]
    second = hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).json()["ticket"]
    screens = [RawSocket(hub, "display") for _ in range(3)]
    page = RawSocket(hub, f"ticket:{second['track_token']}")
    try:
        assert hub.post("/api/v1/counters/1/call-next", hub.counter).status_code == 200
        for screen in screens:
            screen.read_until(lambda frame, screen=screen: {"queue", "counter"} <= set(screen.names()))
            (first_name, snapshot), *later = screen.events
            # the call before anything it changed (a round of the issues before it may still come,
            # at the snapshot's seq: screens get at most one round every SCREEN_ROUND_SECONDS)
            changed = [name for name, payload in later if payload["seq"] > snapshot["seq"]]
            assert first_name == "state" and changed[0] == "called"
            assert called_numbers(screen.events) == [first["number"]]
            seqs = [payload["seq"] for _, payload in screen.events]
            assert seqs == sorted(seqs)
        page.read_until(lambda frame: any(name == "ticket" and payload["seq"] > page.events[0][1]["seq"]
                                          for name, payload in page.events))
        assert page.events[-1][1]["ticket"]["position"] == 1  # the one ahead was called
    finally:
        for client in [*screens, page]:
            client.close()


@pytest.mark.hub
def test_a_screen_that_stops_reading_gets_every_frame_whole_once_it_reads_again(calling_hub):
    """A screen that reads nothing while the hub writes 40 calls' frames to it (they wait in
    the kernel's buffers) gets every frame whole and in order when it reads; the other screen
    heard every call meanwhile."""
    hub, calls = calling_hub, 40
    for _ in range(calls):
        assert hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).status_code == 201
    stalled, reading = RawSocket(hub, "display", receive_buffer=2048), RawSocket(hub, "display")
    try:
        numbers = [hub.post("/api/v1/counters/1/call-next", hub.counter).json()["ticket"]["number"]
                   for _ in range(calls)]
        reading.read_until(lambda frame: called_numbers(reading.events) == numbers)
        last = next(payload["seq"] for name, payload in reversed(reading.events) if name == "called")
        stalled.read_until(lambda frame: any(name == "queue" and payload["seq"] >= last
                                             for name, payload in stalled.events))
        assert called_numbers(stalled.events) == numbers
        seqs = [payload["seq"] for _, payload in stalled.events]
        assert seqs == sorted(seqs)
    finally:
        stalled.close()
        reading.close()


class EngineIOSocket:
    """What DirectWire reads of an Engine.IO socket, over one end of a socket pair."""

    def __init__(self, sock):
        self.closing = self.closed = self.upgrading = False
        self.upgraded = True
        self.queue = queue.Queue()
        self.hall_websocket = types.SimpleNamespace(ws=types.SimpleNamespace(connected=True, sock=sock))

    def check_ping_timeout(self):
        return True


def test_a_frame_the_kernel_takes_in_part_is_finished_by_its_writer_before_any_later_frame():
    from gevent import socket as gevent_socket

    hub_end, screen_end = gevent_socket.socketpair()
    hub_end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    queued = []
    engine_socket = EngineIOSocket(hub_end)
    wire = DirectWire(types.SimpleNamespace(sockets={"a": engine_socket},
                                            send_packet=lambda sid, packet: queued.append((sid, packet))))
    small = websocket_frame('42["called",{"seq":1}]')
    wire.send("a", ["called"], small)
    assert screen_end.recv(100) == small and queued == []  # written at once, nothing queued

    large = websocket_frame('42["queue",' + json.dumps({"text": "x" * 200_000}) + "]")
    wire.send("a", ["queue"], large)   # more than the kernel takes now
    wire.send("a", ["counter", "ticket"], small + small)
    rest = engine_socket.queue.get_nowait().encode()
    assert isinstance(rest, Unsent) and engine_socket.queue.empty()
    assert queued == [("a", "counter"), ("a", "ticket")]  # behind the rest, in Engine.IO's own order
    received = b""
    while len(received) < len(large) - len(rest):
        received += screen_end.recv(65536)
    assert received + rest == large
    hub_end.close()
    screen_end.close()


@pytest.mark.hub
def test_the_hub_accepts_websockets_without_compression_even_when_offered(calling_hub):
    """Browsers offer permessage-deflate; the hub answers without it (frames written once per room)."""
    ws = websocket.create_connection(f"ws://127.0.0.1:{calling_hub.port}/socket.io/?EIO=4&transport=websocket",
                                     timeout=20, header=["Sec-WebSocket-Extensions: permessage-deflate"])
    try:
        assert "sec-websocket-extensions" not in {name.lower() for name in ws.getheaders()}
        assert ws.recv().startswith("0{")
    finally:
        ws.close()


def test_the_called_event_is_published_before_the_counters_answer_is_built(hall, monkeypatch):
    """Every screen waits for what comes before its ``called`` frame: the counter's answer
    (its desk, the ticket's estimate) is built after the event is published."""
    order = []
    hall.subscribe(lambda events, db, config, now: order.extend(event.type for event in events))
    desk = views.counter_state
    monkeypatch.setattr(views, "counter_state", lambda *a, **k: order.append("answer") or desk(*a, **k))
    hall.issue_ticket("HT")
    order.clear()

    answer = hall.counter_action(1, "call-next", request_id="press-1")
    assert order == ["called", "answer"]
    assert answer["ticket"]["number"] == "1001" and answer["ticket"]["status"] == "called"
    assert answer["counter"]["current"]["number"] == "1001" and answer["seq"] == hall.state()["seq"]


def test_a_repeat_answers_a_call_whose_answer_was_lost_before_it_was_stored(hall, monkeypatch):
    """The action and its request are one commit; when the answer could not be built after it
    (the process stopped), the repeated request_id calls nobody else: it is answered with the
    ticket the first press called, and every later repeat gets exactly that answer."""
    published = []
    hall.subscribe(lambda events, db, config, now: published.extend(
        event.data["number"] for event in events if event.type == "called"))
    for _ in range(2):
        hall.issue_ticket("HT")
    desk = views.counter_state

    def stops(*arguments, **keywords):
        raise RuntimeError("the hub stopped here")

    monkeypatch.setattr(views, "counter_state", stops)
    with pytest.raises(RuntimeError):
        hall.counter_action(1, "call-next", request_id="press-1")
    assert published == ["1001"]  # committed and on the screens
    monkeypatch.setattr(views, "counter_state", desk)

    again = hall.counter_action(1, "call-next", request_id="press-1")
    assert again["ticket"]["number"] == "1001" and again["counter"]["current"]["number"] == "1001"
    assert hall.counter_action(1, "call-next", request_id="press-1") == again
    assert published == ["1001"]
    hall.clock.advance(300)  # served: the next press is not a double press
    assert hall.counter_action(1, "call-next", request_id="press-2")["ticket"]["number"] == "1002"
    assert hall.counter_action(1, "call-next", request_id="press-1") == again
