"""Socket.IO: rooms, joins, and publishing the core's events after each commit.

Rooms: ``display`` is public; ``ticket:<track_token>`` is public to whoever holds the
token (the track token is the secret); ``dashboard`` needs a supervisor or admin;
``counter:N`` a token or signed-in account that may act for counter N; ``rating:N`` counter
N's paired rating tablet (or a supervisor). A join is answered with a ``state`` snapshot
(plus the room's own view) carrying the same ``seq`` as the pushes that follow.

:class:`Publisher` turns committed events into pushes; :class:`HallNamespace` answers the
clients' ``join`` and ``counter_action``. Both are created per app in :func:`init_app`.

A join that needed a principal is remembered with it (the device token's id, or the
account with its session nonce and sign-in time): when a token is revoked, an account
disabled, signed out or its password reset, or a session reaches HALL_SESSION_HOURS, the
sockets that joined with it are disconnected (:meth:`HallNamespace.sweep`, run after each
such change committed here and every few seconds for changes made by another process).
"""

import logging

from flask import current_app, request, session
from flask_socketio import Namespace, join_room

from ..core import ascii_number, views
from ..core.estimates import Estimator
from ..errors import Forbidden, HallError, Invalid, NotFound, Unauthorized
from ..services import auth, supervision, users
from .access import paired_principal, session_account
from .extensions import socketio
from .inputs import MAX_NUMBER, counter_action_arguments

log = logging.getLogger(__name__)
PUBLIC_ROOMS = ("display",)
SCREENS = ["display", "dashboard"]
DASHBOARD_REFRESH_SECONDS = 1.0
DASHBOARD_IDLE_REFRESH_SECONDS = 20.0  # waits grow and alerts appear with time alone
SWEEP_SECONDS = 5.0  # how soon a change made by another process (the command line) drops sockets
ACCESS_EVENTS = ("token_changed", "user_changed")


def init_app(app, hall):
    """Publish the hall's committed events and answer its clients, for this app."""
    publisher = Publisher(hall)
    hall.subscribe(publisher.publish)
    app.extensions["publisher"] = publisher
    # One handler object for "/": a new app (tests build many) replaces the last one.
    socketio.namespace_handlers = [handler for handler in socketio.namespace_handlers
                                   if not isinstance(handler, HallNamespace)]
    namespace = HallNamespace("/", hall, session_seconds=app.config["HALL_SETTINGS"]["session_hours"] * 3600)
    socketio.on_namespace(namespace)
    hall.subscribe(namespace.access_changed)
    app.extensions["hall_namespace"] = namespace


def sessions_ended():
    """After an account's sessions ended here (signing out): drop the sockets they joined with."""
    current_app.extensions["hall_namespace"].sweep()


def room_members(room):
    """Whether anyone is in ``room`` right now."""
    rooms = socketio.server.manager.rooms.get("/", {})
    return bool(rooms.get(room))


def followed_tickets():
    """Track tokens whose room has someone in it right now."""
    rooms = socketio.server.manager.rooms.get("/", {})
    return [room.removeprefix("ticket:") for room, members in list(rooms.items())
            if isinstance(room, str) and room.startswith("ticket:") and members]


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


class Changes:
    """What a batch of events touched: services, counters and tickets."""

    def __init__(self, events, config):
        self.services, self.counters, self.tickets = set(), set(), set()
        for event in events:
            if event.service:
                self.services.add(event.service)
            if event.type == "transferred":
                self.services.add(event.data["from"])
            if event.counter is not None:
                self.counters.add(event.counter)
            if event.ticket:
                self.tickets.add(event.ticket["id"])
        types = {event.type for event in events}
        # Names, counters, hours may all have changed, or a call was undone: screens take a
        # new snapshot (its recent calls no longer hold the undone one).
        self.resnapshot = bool(types & {"config_changed", "undone"})
        known = {counter.number for counter in config.counters}
        # Boards change only for counters an event names (or all of them when the day ends or
        # the hall is reconfigured); desks change whenever one of their services' queues moves.
        boards = known if types & {"config_changed", "expired"} else self.counters
        self.boards = sorted(boards & known)
        self.desks = sorted((set(boards) | {counter.number for counter in config.counters
                                            if self.services & set(counter.services)}) & known)


class Publisher:
    """Pushes each committed change to the rooms that care, and keeps the dashboard fresh."""

    def __init__(self, hall):
        self.hall = hall
        self.dashboard_stale = False
        self.raised_alerts = set()

    def publish(self, events, db, config, now):
        """Runs after the transaction committed: the ``called`` frames leave first."""
        self.dashboard_stale = True
        seq = events[-1].seq
        self.send_calls(events)
        self.send_signals(events, config)
        changes = Changes(events, config)
        estimator = Estimator(db, config, now)
        if changes.resnapshot:
            socketio.emit("state", views.public_state(db, config, now), to=SCREENS)
        socketio.emit("queue", {"seq": seq, "services": views.services_summary(db, config, now, estimator)},
                      to=SCREENS)
        for number in changes.boards:
            socketio.emit("counter", {"seq": seq, "counter": views.public_counter(db, config, number)}, to=SCREENS)
        for number in changes.desks:
            if room_members(f"counter:{number}"):
                desk = views.counter_state(db, config, number, now, estimator)
                socketio.emit("counter_state", {"seq": seq, "counter": desk}, to=f"counter:{number}")
        self.send_followed_tickets(db, config, seq, changes, estimator)

    def send_calls(self, events):
        for event in events:
            if event.type in ("called", "recalled"):
                rooms = ["display", "dashboard", f"counter:{event.counter}",
                         f"ticket:{event.ticket['track_token']}"]
                socketio.emit("called", called_payload(event), to=rooms)

    def send_signals(self, events, config):
        """A finished service asks its counter's tablet for a rating; device faults alert at once."""
        for event in events:
            if event.type == "done" and event.counter is not None:
                ticket = {"number": event.ticket["number"], "service": event.ticket["service"],
                          "service_name": views.service_name(config, event.ticket["service"])}
                socketio.emit("rate", {"seq": event.seq, "ticket": ticket}, to=f"rating:{event.counter}")
            if event.type == "device_fault":
                socketio.emit("alert", {"seq": event.seq, "kind": "device_fault", **event.data}, to="dashboard")

    def send_followed_tickets(self, db, config, seq, changes, estimator):
        """Positions move for everyone behind a change, so each followed waiting ticket hears it."""
        for token in followed_tickets():
            rows = list(db.query("SELECT * FROM tickets WHERE track_token = ?", [token]))
            if not rows:
                continue
            ticket = rows[0]
            if ticket["id"] in changes.tickets or (ticket["status"] == "waiting"
                                                   and ticket["service"] in changes.services):
                socketio.emit("ticket", {"seq": seq, "ticket": views.public_ticket(config, ticket, estimator)},
                              to=f"ticket:{token}")

    def push_dashboard(self):
        """Send the dashboard room a fresh snapshot, and each newly raised alert once."""
        self.dashboard_stale = False
        if not room_members("dashboard"):
            return None
        snapshot = self.hall.read(supervision.dashboard_snapshot)
        socketio.emit("dashboard", snapshot, to="dashboard")
        for alert in snapshot["alerts"]:
            if alert["key"] not in self.raised_alerts and alert["kind"] != "device_fault":  # faults went at once
                socketio.emit("alert", {"seq": snapshot["seq"], **alert}, to="dashboard")
        self.raised_alerts = {alert["key"] for alert in snapshot["alerts"]}
        return snapshot

    def dashboard_updates(self):
        """Background loop (started by ``serve``): coalesce bursts into one snapshot a second."""
        idle = 0.0
        while True:
            socketio.sleep(DASHBOARD_REFRESH_SECONDS)
            idle += DASHBOARD_REFRESH_SECONDS
            if self.dashboard_stale or idle >= DASHBOARD_IDLE_REFRESH_SECONDS:
                idle = 0.0
                try:
                    self.push_dashboard()
                except Exception:  # a bad snapshot must not end the loop; the next one retries
                    log.exception("dashboard update failed")


def error_ack(error):
    return {"ok": False, "error": {"code": error.code, "message": error.message, "message_en": error.message_en}}


class HallNamespace(Namespace):
    """The clients' side of the socket: ``join`` a room, act for a counter."""

    def __init__(self, namespace, hall, session_seconds=12 * 3600):
        super().__init__(namespace)
        self.hall = hall
        self.session_seconds = session_seconds
        self.grants = {}  # sid -> {("token", id) or ("user", id, nonce, signed_in_at)}: what its joins rest on

    def on_disconnect(self, *reason):
        self.grants.pop(request.sid, None)

    def _grant(self, principal):
        """What a join rests on, to check again later (None for public rooms)."""
        if principal is None:
            return None
        if principal.token_id is not None:
            return ("token", principal.token_id)
        return ("user", principal.user_id, session.get("nonce"), session.get("signed_in_at"))

    def _holds(self, grant, now):
        if grant[0] == "token":
            return self.hall.principal_for_token_id(grant[1]) is not None
        _, user_id, nonce, signed_in_at = grant
        return (isinstance(signed_in_at, (int, float)) and now < signed_in_at + self.session_seconds
                and self.hall.session_user(user_id, nonce) is not None)

    def sweep(self):
        """Disconnect every socket one of whose joins no longer holds (a revoked token; an
        account disabled, signed out, its password reset; a session past HALL_SESSION_HOURS).
        The client's reconnect and join are then refused. The sockets dropped."""
        now = self.hall.clock()
        verdicts = {}
        dropped = []
        for sid, grants in list(self.grants.items()):
            for grant in grants:
                if grant not in verdicts:
                    verdicts[grant] = self._holds(grant, now)
            if not all(verdicts[grant] for grant in grants):
                self.grants.pop(sid, None)
                dropped.append(sid)
        for sid in dropped:
            socketio.server.disconnect(sid, namespace=self.namespace)
        return dropped

    def access_changed(self, events, db, config, now):
        """A publisher: after a token or account change committed, sweep."""
        if any(event.type in ACCESS_EVENTS for event in events) and self.grants:
            self.sweep()

    def sweep_forever(self):
        """Background loop (started by ``serve``): changes made by another process, expiry."""
        while True:
            socketio.sleep(SWEEP_SECONDS)
            try:
                self.sweep()
            except Exception:  # the next round retries
                log.exception("socket sweep failed")

    def on_join(self, data=None):
        """``join {"room", "token"}`` → ack ``{"ok": true, "room", "seq"}`` or ``{"ok": false, "error"}``."""
        try:
            if not isinstance(data, dict) or not isinstance(data.get("room"), str):
                raise Invalid("Cần {\"room\": ...}", "Expected {\"room\": ...}", code="invalid_join")
            room = data["room"]
            with self.hall.paused():  # no change between the snapshot and the join
                principal = self.principal(data.get("token"))
                first_view, used = self.authorise(room, principal)
                join_room(room)
                grant = self._grant(used)
                if grant is not None:
                    self.grants.setdefault(request.sid, set()).add(grant)
                state = self.hall.state()
                socketio.emit("state", state, to=request.sid)
                if first_view:
                    socketio.emit(*first_view(), to=request.sid)
            return {"ok": True, "room": room, "seq": state["seq"]}
        except HallError as error:
            return error_ack(error)

    def on_counter_action(self, data=None):
        """``counter_action {"counter", "action", "request_id", "number"|"service", "token"?}``.

        The same rules and answer as ``POST /api/v1/counters/<n>/<action>``, as an ack:
        ``{"ok": true, "ticket", "counter"}`` or ``{"ok": false, "error"}``.
        """
        try:
            if not isinstance(data, dict) or not isinstance(data.get("action"), str) or isinstance(
                    data.get("counter"), bool) or not isinstance(data.get("counter"), int) or not (
                    0 <= data["counter"] <= MAX_NUMBER):
                raise Invalid("Cần {\"counter\": N, \"action\": ...}", "Expected {\"counter\": N, \"action\": ...}",
                              code="invalid_action")
            counter, action = data["counter"], data["action"]
            auth.require(self.principal(data.get("token")), counter=counter)
            arguments, request_id = counter_action_arguments(action, data)
            # a signed-in account acts only at a counter it works (or that is free)
            user = None if data.get("token") else session_account(session, idle=False)
            return {"ok": True, **self.hall.counter_action(counter, action, request_id=request_id, user=user,
                                                           **arguments)}
        except HallError as error:
            return error_ack(error)

    def principal(self, token):
        """A device token from the payload, else the signed-in account of the connection (its
        session as it was when the socket connected: still its account's, not past HALL_SESSION_HOURS)."""
        if token:
            return self.hall.principal_for_token(token) if isinstance(token, str) else None
        user = session_account(session, idle=False)
        return users.principal_for_user(user) if user else None

    def authorise(self, room, principal):
        """Check the join; return a callable giving the room's own first event (or None) and
        the principal the join rests on (None for rooms anyone may join)."""
        hall = self.hall
        if room in PUBLIC_ROOMS:
            return None, None
        if room == "dashboard":
            auth.require(principal, "supervisor", "admin")
            snapshot = hall.read(supervision.dashboard_snapshot)
            return (lambda: ("dashboard", snapshot)), principal
        kind, _, key = room.partition(":")
        number = ascii_number(key)
        if kind == "rating" and number is not None and any(c.number == number for c in hall.config.counters):
            tablet = principal or paired_principal("rating", number)
            if tablet is None:
                raise Unauthorized("Cần token hợp lệ", "A valid token is required")
            if not (tablet.role in ("supervisor", "admin") or (tablet.role == "rating" and tablet.counter == number)):
                raise Forbidden(f"Token này không dành cho máy đánh giá quầy {key}",
                                f"This token is not counter {key}'s rating tablet")
            return None, tablet
        if kind == "counter" and number is not None:
            auth.require(principal, counter=number)
            desk = hall.counter_state(number)
            return (lambda: ("counter_state", desk)), principal
        if kind == "ticket" and key:
            ticket = hall.ticket_by_token(key)
            if ticket is None:
                raise NotFound("Không tìm thấy phiếu", "Unknown ticket", code="unknown_ticket")
            return (lambda: ("ticket", {"seq": hall.read(lambda db, config, now: views.current_seq(db)),
                                        "ticket": ticket})), None
        raise NotFound(f"Không có phòng {room!r}", f"Unknown room {room!r}", code="unknown_room")
