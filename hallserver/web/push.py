"""Socket.IO: rooms, joins, and publishing the core's events after each commit.

Rooms: ``display`` and ``ticket:<track_token>`` are public (the track token is the
secret); ``dashboard`` needs a supervisor or admin token; ``counter:N`` needs a token
that may act for counter N. A join is answered with a ``state`` snapshot (plus the
room's own view) carrying the same ``seq`` as the pushes that follow.
"""

import logging

from flask import request, session
from flask_socketio import join_room

from . import auth, devices, supervision, users
from .app import socketio
from .core import views
from .core.estimates import Estimator
from .errors import Forbidden, HallError, Invalid, NotFound, Unauthorized

log = logging.getLogger(__name__)
PUBLIC_ROOMS = ("display",)
DASHBOARD_REFRESH_SECONDS = 1.0
DASHBOARD_IDLE_REFRESH_SECONDS = 20.0  # waits grow and alerts appear with time alone
_hall = None
_dashboard_stale = False
_raised_alerts = set()


def init_app(app, hall):
    global _hall
    _hall = hall
    hall.subscribe(publish)


def _room_members(room):
    rooms = socketio.server.manager.rooms.get("/", {})
    return bool(rooms.get(room))


def called_payload(event):
    data = event.data
    return {
        "seq": event.seq,
        "call_id": str(event.seq),
        "ticket": {"number": data["number"], "service": event.service},
        "counter": {"number": event.counter, "name": data["counter_name"]},
        "text": data["text"],
        "text_en": data.get("text_en"),
        "clips": data["clips"],
        "recall": data["recall"],
    }


def publish(events, db, config, now):
    """Push what changed to the rooms that care; runs after the transaction committed."""
    global _dashboard_stale
    _dashboard_stale = True
    seq = events[-1].seq
    estimator = Estimator(db, config, now)
    services, counters, tickets = set(), set(), set()
    for event in events:
        if event.service:
            services.add(event.service)
        if event.type == "transferred":
            services.add(event.data["from"])
        if event.counter is not None:
            counters.add(event.counter)
        if event.ticket:
            tickets.add(event.ticket["id"])
        if event.type == "done" and event.counter is not None:
            socketio.emit("rate", {"seq": event.seq, "ticket": {
                "number": event.ticket["number"], "service": event.ticket["service"],
                "service_name": views.service_name(config, event.ticket["service"])}}, to=f"rating:{event.counter}")
        if event.type == "device_fault":
            socketio.emit("alert", {"seq": event.seq, "kind": "device_fault", **event.data}, to="dashboard")
        if event.type in ("called", "recalled"):
            payload = called_payload(event)
            rooms = ["display", "dashboard", f"counter:{event.counter}", f"ticket:{event.ticket['track_token']}"]
            socketio.emit("called", payload, to=rooms)
    # Boards change only for counters an event names (or all of them when the day ends or the
    # hall is reconfigured); desks change whenever one of their services' queues moves.
    boards = set(counters)
    if any(event.type in ("config_changed", "expired") for event in events):
        boards = {counter.number for counter in config.counters}
    desks = boards | {counter.number for counter in config.counters if services & set(counter.services)}
    known_counters = {counter.number for counter in config.counters}

    if any(event.type == "config_changed" for event in events):
        # Names, counters, hours may all have changed: screens and kiosks take a new snapshot.
        socketio.emit("state", views.public_state(db, config, now), to=["display", "dashboard"])
    socketio.emit("queue", {"seq": seq, "services": views.services_summary(db, config, now, estimator)},
                  to=["display", "dashboard"])
    for number in sorted(boards & known_counters):
        socketio.emit("counter", {"seq": seq, "counter": views.public_counter(db, config, number)},
                      to=["display", "dashboard"])
    for number in sorted(desks & known_counters):
        if _room_members(f"counter:{number}"):
            socketio.emit("counter_state", {"seq": seq, "counter": views.counter_state(db, config, number, now,
                                                                                       estimator)},
                          to=f"counter:{number}")
    # Positions move for everyone behind a change, so each followed waiting ticket hears it.
    for token in _followed_tickets():
        rows = list(db.query("SELECT * FROM tickets WHERE track_token = ?", [token]))
        if not rows:
            continue
        ticket = rows[0]
        if ticket["id"] in tickets or (ticket["status"] == "waiting" and ticket["service"] in services):
            socketio.emit("ticket", {"seq": seq, "ticket": views.public_ticket(config, ticket, estimator)},
                          to=f"ticket:{token}")


def push_dashboard():
    """Send the dashboard room a fresh snapshot, and each newly raised alert once."""
    global _dashboard_stale, _raised_alerts
    _dashboard_stale = False
    if not _room_members("dashboard"):
        return None
    snapshot = _hall.read(supervision.dashboard_snapshot)
    socketio.emit("dashboard", snapshot, to="dashboard")
    raised = {alert["key"] for alert in snapshot["alerts"]}
    for alert in snapshot["alerts"]:
        if alert["key"] not in _raised_alerts and alert["kind"] != "device_fault":  # faults are pushed at once
            socketio.emit("alert", {"seq": snapshot["seq"], **alert}, to="dashboard")
    _raised_alerts = raised
    return snapshot


def dashboard_updates():
    """Background loop (started by ``serve``): coalesce bursts into one snapshot a second."""
    idle = 0.0
    while True:
        socketio.sleep(DASHBOARD_REFRESH_SECONDS)
        idle += DASHBOARD_REFRESH_SECONDS
        if _dashboard_stale or idle >= DASHBOARD_IDLE_REFRESH_SECONDS:
            idle = 0.0
            try:
                push_dashboard()
            except Exception:  # a bad snapshot must not end the loop; the next one retries
                log.exception("dashboard update failed")


def _followed_tickets():
    """Track tokens whose room has someone in it right now."""
    rooms = socketio.server.manager.rooms.get("/", {})
    return [room.removeprefix("ticket:") for room, members in list(rooms.items())
            if isinstance(room, str) and room.startswith("ticket:") and members]


def _error_ack(error):
    return {"ok": False, "error": {"code": error.code, "message": error.message, "message_en": error.message_en}}


@socketio.on("join")
def on_join(data):
    """``join {"room", "token"}`` → ack ``{"ok": true, "room", "seq"}`` or ``{"ok": false, "error"}``."""
    try:
        if not isinstance(data, dict) or not isinstance(data.get("room"), str):
            raise Invalid("Cần {\"room\": ...}", "Expected {\"room\": ...}", code="invalid_join")
        room = data["room"]
        store = _hall.store
        with store.lock:
            principal = _principal(data.get("token"))
            extra = _authorise(room, principal)
            join_room(room)
            state = _hall.state()
            socketio.emit("state", state, to=request.sid)
            if extra:
                socketio.emit(*extra(), to=request.sid)
        return {"ok": True, "room": room, "seq": state["seq"]}
    except HallError as error:
        return _error_ack(error)


def _principal(token):
    """A device token from the payload, else the signed-in account of the connection."""
    store = _hall.store
    with store.lock:
        if token:
            return auth.principal_for(store.db, token) if isinstance(token, str) else None
        user = users.active_user(store.db, session.get("user_id"))
        return users.principal_for_user(user) if user else None


@socketio.on("counter_action")
def on_counter_action(data):
    """``counter_action {"counter", "action", "request_id", "number"|"service", "token"?}``.

    The same rules and answer as ``POST /api/v1/counters/<n>/<action>``, as an ack:
    ``{"ok": true, "ticket", "counter"}`` or ``{"ok": false, "error"}``.
    """
    from .api import counter_action_arguments

    try:
        if not isinstance(data, dict) or not isinstance(data.get("action"), str) or isinstance(
                data.get("counter"), bool) or not isinstance(data.get("counter"), int):
            raise Invalid("Cần {\"counter\": N, \"action\": ...}", "Expected {\"counter\": N, \"action\": ...}",
                          code="invalid_action")
        counter, action = data["counter"], data["action"]
        auth.require(_principal(data.get("token")), counter=counter)
        arguments, request_id = counter_action_arguments(action, data)
        return {"ok": True, **_hall.counter_action(counter, action, request_id=request_id, **arguments)}
    except HallError as error:
        return _error_ack(error)


def _authorise(room, principal):
    """Check the join; return a callable giving the room's own first event, if any."""
    if room in PUBLIC_ROOMS:
        return None
    if room == "dashboard":
        auth.require(principal, "supervisor", "admin")
        snapshot = _hall.read(supervision.dashboard_snapshot)
        return lambda: ("dashboard", snapshot)
    kind, _, key = room.partition(":")
    if kind == "rating" and key.isdigit() and any(c.number == int(key) for c in _hall.config.counters):
        tablet = principal or devices.paired_principal("rating", int(key))
        if tablet is None:
            raise Unauthorized("Cần token hợp lệ", "A valid token is required")
        if not (tablet.role in ("supervisor", "admin") or (tablet.role == "rating" and tablet.counter == int(key))):
            raise Forbidden(f"Token này không dành cho máy đánh giá quầy {key}",
                            f"This token is not counter {key}'s rating tablet")
        return None
    if kind == "counter" and key.isdigit():
        number = int(key)
        auth.require(principal, counter=number)
        desk = _hall.counter_state(number)
        return lambda: ("counter_state", desk)
    if kind == "ticket" and key:
        ticket = _hall.ticket_by_token(key)
        if ticket is None:
            raise NotFound("Không tìm thấy phiếu", "Unknown ticket", code="unknown_ticket")
        return lambda: ("ticket", {"seq": _hall.read(lambda db, config, now: views.current_seq(db)),
                                   "ticket": ticket})  # read under the join's lock: no change in between
    raise NotFound(f"Không có phòng {room!r}", f"Unknown room {room!r}", code="unknown_room")
