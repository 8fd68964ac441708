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

import bisect
import functools
import gc
import itertools
import json
import logging
import threading
import time

from engineio import packet as eio_packet
from flask import current_app, g, request, session
from flask_socketio import Namespace, join_room, rooms
from socketio import Manager, RedisManager
from socketio import packet as sio_packet

from ..core import ascii_number, views
from ..core.estimates import Estimator
from ..core.tickets import local_day, waiting_order_sql
from ..errors import Forbidden, HallError, Invalid, NotFound, Unauthorized
from ..services import auth, screens, supervision, users
from .access import paired_principal, session_account
from .extensions import socketio
from .inputs import MAX_NUMBER, counter_action_arguments

log = logging.getLogger(__name__)
PUBLIC_ROOMS = ("display",)
SCREENS = ["display", "dashboard"]
DASHBOARD_REFRESH_SECONDS = 1.0
DASHBOARD_IDLE_REFRESH_SECONDS = 20.0  # waits grow and alerts appear with time alone
SWEEP_SECONDS = 5.0  # how soon a change made by another process (the command line) drops sockets
CONFIG_CHECK_SECONDS = 5.0  # how soon a configuration the command line applied reaches the screens
ACCESS_EVENTS = ("token_changed", "user_changed")
SLICE_SECONDS = 0.002  # the longest a ticket-page round holds the event loop between two yields
MAKE_WAY_SECONDS = 0.02  # the longest a round waits, after a slice, for the HTTP requests in progress
ROWS_PER_READ = 100  # followed tickets read in one short read of a round (~2 ms)
ROUND_ATTEMPTS = 3  # sliced reads a round tries before it reads everything in one go (the hall kept changing)
TICKET_ROUND_SECONDS = 1.0  # ticket pages hear a burst of changes as one update (their own call at once)
# Screens and desks: a kiosk burst commits a batch every few milliseconds, and a round for each
# (the summary's estimates, a frame to every screen) cost ~1.3 ms of the loop; nobody reads a
# board's counts faster than this, and the first change after a quiet moment goes at once.
SCREEN_ROUND_SECONDS = 0.05
CHANGES_ROOM = "hall:changes"  # change notices between hub processes; not a room anyone joins
JOIN_SNAPSHOT_SECONDS = 1.0  # a join storm shares one state snapshot per seq for this long
FREEZE_SECONDS = 1.0  # how often the objects that lived through it leave the collector's sight (keep_heap)
FULL_COLLECT_SECONDS = (600.0, 1800.0)  # a full collection after this long at an idle moment, or regardless
FULL_COLLECT_DEPARTED = 1000  # ... or at an idle moment once this many sockets have gone since the last one
# A socket's events being handled at once. A screen, desk or page sends an event at a time and
# waits for its answer: a socket with this many still being handled is flooding, and its
# connection is closed with what was queued for it. Without a bound one script sending 20,000
# joins in 0.3 s and reading nothing took the hub from 90 to 430 MB and held a kiosk's number 7 s.
MAX_EVENTS_IN_FLIGHT = 16


def init_app(app, hall):
    """Publish the hall's committed events and answer its clients, for this app."""
    manager = socketio.server.manager
    shared = isinstance(manager, SharedManager)
    if isinstance(manager, FanOutManager):
        manager.wire = DirectWire.install(socketio.server.eio)
    publisher = Publisher(hall, deferred=socketio.server.eio.async_mode in ("gevent", "eventlet"), shared=shared)
    hall.subscribe(publisher.publish)
    app.extensions["publisher"] = publisher
    if publisher.deferred:  # rounds run beside requests in one event loop: they make way
        app.before_request(publisher.request_started)
        app.teardown_request(publisher.request_ended)
    # One handler object for "/": a new app (tests build many) replaces the last one.
    socketio.namespace_handlers = [handler for handler in socketio.namespace_handlers
                                   if not isinstance(handler, HallNamespace)]
    namespace = HallNamespace("/", hall, session_seconds=app.config["HALL_SETTINGS"]["session_hours"] * 3600)
    pace_messages(socketio.server.eio)
    socketio.on_namespace(namespace)
    hall.subscribe(namespace.access_changed)
    app.extensions["hall_namespace"] = namespace
    publisher.namespace, namespace.publisher = namespace, publisher
    if publisher.deferred:
        socketio.start_background_task(keep_heap, publisher, namespace)
    if shared:
        publisher.relay = manager.notify_others
        manager.on_notice = publisher.changed_elsewhere


def pace_messages(eio):
    """Each message a socket sends is handed on, then its reader lets the events it started run:
    a websocket's reader takes every frame already received without pausing, so a flood's events
    would otherwise all start before any is counted (:meth:`HallNamespace.trigger_event`). The
    messages of a connection that was cut off are dropped. A message that is not Socket.IO at
    all (JSON that does not parse, or nested past Python's limit) closes its connection with one
    line in the log: no screen, desk or page sends one, and each wrote a 30-line traceback (a
    script's 20-byte frames became 2 KB of log each)."""
    handle = eio.handlers["message"]

    def paced(eio_sid, data):
        if eio_sid in eio.sockets:
            try:
                handle(eio_sid, data)
            except (ValueError, RecursionError) as error:
                close_connection(eio, eio_sid, f"not a Socket.IO message ({type(error).__name__})")
        eio.sleep(0)
    eio.on("message", paced)


def close_connection(eio, eio_sid, reason):
    """Close an Engine.IO connection at once, without waiting for what is queued for it to be sent
    (a client that floods or sends garbage need not read); what it sends next is dropped unread."""
    connection = eio.sockets.pop(eio_sid, None)
    if connection is None:
        return
    environ = socketio.server.environ.get(eio_sid) or {}
    log.warning("socket from %s closed: %s", environ.get("REMOTE_ADDR", "-"), reason)
    connection.close(wait=False, abort=True)


def local_manager():
    """The Socket.IO client manager of a hub process on its own."""
    return FanOutManager()


def keep_heap(publisher, namespace):
    """Background loop (gevent, eventlet): keep Python's full collections short.

    With 2,000 sockets the hub holds a couple of million objects; a full collection walks all
    of them (0.2-0.6 s here, the event loop stopped) and Python starts one whenever a quarter
    as many again have lived through two younger collections: with ticket-page rounds, every
    ten seconds or so. Every FREEZE_SECONDS the objects alive are moved out of the collector's
    sight (``gc.freeze``); they are still freed when nothing refers to them, only cycles among
    them (a closed socket's objects) wait for the real full collection here: at a moment with
    no push pending once FULL_COLLECT_SECONDS[0] have passed or FULL_COLLECT_DEPARTED sockets
    have gone since the last one, and after FULL_COLLECT_SECONDS[1] regardless."""
    last_full, departed = time.monotonic(), namespace.departed
    while True:
        socketio.sleep(FREEZE_SECONDS)
        since = time.monotonic() - last_full
        due = since >= FULL_COLLECT_SECONDS[0] or namespace.departed - departed >= FULL_COLLECT_DEPARTED
        if since >= FULL_COLLECT_SECONDS[1] or (due and publisher.idle()):
            gc.unfreeze()
            gc.collect()
            last_full, departed = time.monotonic(), namespace.departed
        gc.freeze()


def shared_manager(url, channel="hall-queue"):
    """The Socket.IO client manager over Redis at ``url`` for several hub processes."""
    return SharedManager(url, channel=channel)


def websocket_frame(text):
    """``text`` as one unmasked, final WebSocket text frame (RFC 6455 §5.2), as a server sends it."""
    payload = text.encode("utf-8")
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


class Unsent(bytes):
    """The rest of a frame the kernel took only part of: its socket's writer sends it first, as is."""


class UnsentPacket:
    """Queued for an Engine.IO socket's writer, which sends ``encode()``: an :class:`Unsent`."""

    packet_type = eio_packet.NOOP
    data = None

    def __init__(self, rest):
        self.rest = Unsent(rest)

    def encode(self):
        return self.rest


class DirectWire:
    """Writes a frame encoded once for a room straight to each member's websocket (gevent with
    simple-websocket only).

    python-socketio encodes an event once per emit, but Engine.IO then queues it for each
    socket, wakes that socket's writer greenlet, encodes it again and frames it with wsproto:
    at 200 screens most of a call's CPU, and 2,000 wake-ups behind which an HTTP request waits.
    Here a socket whose queue is empty and whose writer is not waiting to write gets the
    ready-made frame in one non-blocking ``send`` from the emitting greenlet, so frames stay in
    order. Anything else (polling, an upgrade in progress, a compression extension, a full
    kernel buffer, frames still queued) takes Engine.IO's own path. When the kernel takes part
    of a frame, the rest is queued for the socket's writer, before anything sent later.
    """

    def __init__(self, eio):
        self.eio = eio

    @classmethod
    def install(cls, eio):
        """A wire for ``eio`` when its websockets are simple-websocket's under gevent, else None."""
        if eio.async_mode != "gevent":
            return None
        from engineio.async_drivers import gevent as gevent_driver
        base = gevent_driver.WebSocketWSGI
        if getattr(gevent_driver, "SimpleWebSocketWSGI", None) is None or not issubclass(
                base, gevent_driver.SimpleWebSocketWSGI):
            return None  # gevent-websocket: its own socket objects

        class WiredWebSocket(base):
            """engineio's websocket for gevent, remembered by its Engine.IO socket while open."""

            def __init__(self, handler, server):
                super().__init__(handler, server)
                socket = handler.__self__

                def run(websocket):
                    socket.hall_websocket = websocket if cls.writable(websocket) else None
                    try:
                        return handler(websocket)
                    finally:
                        socket.hall_websocket = None

                self.app = run

            def __call__(self, environ, start_response):
                # No permessage-deflate (browsers offer it): the frames are small JSON, and each
                # compressing socket keeps its own zlib state (~300 KB) and compresses every frame
                # again, so a room's frame could not be written once for all.
                environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
                return super().__call__(environ, start_response)

            def send(self, message):
                if type(message) is Unsent:
                    return self.ws.sock.sendall(message)
                return super().send(message)

        eio._async = {**eio._async, "websocket": WiredWebSocket}
        return cls(eio)

    @staticmethod
    def writable(websocket):
        """Whether frames may be written raw: no extension (permessage-deflate) in use, and the
        gevent socket has the parts this relies on."""
        try:
            connection = websocket.ws.ws.connection
            sock = websocket.ws.sock
            extensions = connection._proto.extensions if connection is not None else None
            return (extensions is not None and not any(extension.enabled() for extension in extensions)
                    and hasattr(sock, "_write_event") and hasattr(sock, "_sock"))
        except AttributeError:  # another simple-websocket, wsproto or gevent: Engine.IO's path
            return False

    def send(self, eio_sid, packets, frames):
        """Send ``packets`` (Engine.IO), whose websocket frames are ``frames`` (one after the
        other, in one write), to one socket."""
        socket = self.eio.sockets.get(eio_sid)
        websocket = getattr(socket, "hall_websocket", None)
        if (websocket is None or socket.closing or socket.closed or socket.upgrading or not socket.upgraded
                or socket.queue.qsize() or not websocket.ws.connected
                or websocket.ws.sock._write_event.callback is not None):
            return self.queue(eio_sid, packets)
        if not socket.check_ping_timeout():
            return None  # it stopped answering pings: closed, as Engine.IO's own send does
        try:
            sent = websocket.ws.sock._sock.send(frames)
        except OSError:  # a full buffer (nothing written) or a broken connection
            return self.queue(eio_sid, packets)
        if sent < len(frames):
            socket.queue.put(UnsentPacket(frames[sent:]))
        return None

    def queue(self, eio_sid, packets):
        for packet in packets:
            self.eio.send_packet(eio_sid, packet)


class FanOutManager(Manager):
    """Socket.IO's in-process manager; with a :class:`DirectWire` (set by :func:`init_app`) an
    event for a room is encoded once, as its websocket frame too, and written to each member
    directly (see :class:`DirectWire`)."""

    wire = None

    def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        room = to or room
        if self.wire is None or callback is not None or namespace not in self.rooms:
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
        arguments = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, *arguments]).encode()
        if isinstance(encoded, list):  # binary attachments: Engine.IO's own path
            return super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, **kwargs)
        packet = eio_packet.Packet(eio_packet.MESSAGE, encoded)
        self._write([packet], namespace, room, skip_sid)
        return None

    def emit_together(self, events, namespace, room):
        """Emit ``events`` [(event, data)] to ``room`` in this order, each member's in one write
        when they go directly (screens then wake once for a change's frames, not once per frame)."""
        packets = []
        for event, data in events:
            encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event, data]).encode()
            if isinstance(encoded, list) or self.wire is None or namespace not in self.rooms:
                for one_event, one_data in events:
                    self.emit(one_event, one_data, namespace, room=room)
                return
            packets.append(eio_packet.Packet(eio_packet.MESSAGE, encoded))
        self._write(packets, namespace, room, None)

    def _write(self, packets, namespace, room, skip_sid):
        frames = b"".join(websocket_frame(packet.encode()) for packet in packets)
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid not in skip:
                self.wire.send(eio_sid, packets, frames)


class SharedManager(RedisManager, FanOutManager):
    """python-socketio's Redis manager (every emit reaches every hub process's members), also
    carrying change notices between processes (see :class:`Publisher`). A notice travels as an
    emit to ``CHANGES_ROOM``, a room no client can join, so older processes would ignore it."""

    on_notice = None  # on_notice(notice): a change committed by another process

    def notify_others(self, notice):
        self._publish({"method": "emit", "event": "hall_changes", "data": [notice], "binary": False,
                       "namespace": "/", "room": CHANGES_ROOM, "skip_sid": None, "callback": None,
                       "host_id": self.host_id})

    def _handle_emit(self, message):
        if message.get("room") == CHANGES_ROOM:
            if self.on_notice is not None and message.get("host_id") != self.host_id:
                try:
                    self.on_notice(message["data"][0])
                except Exception:  # a bad notice must not end the listener
                    log.exception("change notice failed")
            return
        super()._handle_emit(message)


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
    """What a batch of events touched: services, counters and tickets (and which boards and
    desks that redraws). Batches merge (``|``): the sender builds one round for all of them."""

    def __init__(self, services=(), counters=(), tickets=(), boards=(), desks=(), resnapshot=False, access=False):
        self.services, self.counters, self.tickets = set(services), set(counters), set(tickets)
        self.boards, self.desks = sorted(set(boards)), sorted(set(desks))
        self.resnapshot, self.access = bool(resnapshot), bool(access)

    @classmethod
    def of(cls, events, config):
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
        types = {event.type for event in events}
        known = {counter.number for counter in config.counters}
        # Boards change only for counters an event names (or all of them when the day ends or
        # the hall is reconfigured); desks change whenever one of their services' queues moves.
        boards = known if types & {"config_changed", "expired"} else counters
        desks = set(boards) | {counter.number for counter in config.counters if services & set(counter.services)}
        # Names, counters, hours may all have changed, or a call was undone: screens take a
        # new snapshot (its recent calls no longer hold the undone one).
        return cls(services, counters, tickets, boards & known, desks & known,
                   resnapshot=bool(types & {"config_changed", "undone"}), access=bool(types & set(ACCESS_EVENTS)))

    def __or__(self, other):
        return Changes(self.services | other.services, self.counters | other.counters, self.tickets | other.tickets,
                       set(self.boards) | set(other.boards), set(self.desks) | set(other.desks),
                       self.resnapshot or other.resnapshot, self.access or other.access)

    def notice(self):
        """As JSON, for the other hub processes (``Changes(**notice)`` rebuilds it)."""
        return {"services": sorted(self.services), "counters": sorted(self.counters), "tickets": sorted(self.tickets),
                "boards": self.boards, "desks": self.desks, "resnapshot": self.resnapshot, "access": self.access}


class FollowedEstimator(Estimator):
    """The estimator of a round of pushes, for any number of followed tickets at a constant
    number of queries: places in line come with the rows (``line_position``, see
    :func:`followed_rows`), and who is ahead of each ticket from one pass over today's waiting
    tickets, kept sorted, instead of one query per ticket (the rules of
    :meth:`Estimator.ahead_of`; ``tests/test_push.py`` holds the two to the same answers)."""

    _lines = None

    def position_of(self, ticket, *, newest=False):
        if ticket["status"] == "waiting" and ticket.get("line_position") is not None:
            return ticket["line_position"]
        if ticket["status"] == "waiting" and not newest:
            # ranked once per service for every page that joins at this seq (see ticket_view)
            return self.positions(ticket["service"]).get(ticket["id"])
        return super().position_of(ticket, newest=newest)

    def read_now(self, rows):
        """Read now, in this snapshot, everything the estimates of ``rows`` read lazily (what
        the day learned, arrivals, bookings, who is ahead, the place in line of a waiting
        ticket that came without one): building their views then reads nothing."""
        if not rows:
            return
        for part in self.reads():
            part()
        self.read_positions(rows)

    def reads(self):
        """What :meth:`read_now` reads for any rows, as parts that may each run in a read of
        their own (at the same ``seq``)."""
        return [lambda: self.learned, self.arrivals_ahead, self.appointments, self._waiting_lines]

    def read_positions(self, rows):
        for row in rows:
            if row["status"] == "waiting" and row.get("line_position") is None:
                self.positions(row["service"])

    def _waiting_lines(self):
        """Per service: requeued_at of the requeued; issued_at of the other priority tickets;
        whole seconds of issued_at of the rest; each sorted."""
        if self._lines is None:
            lines = {}
            for service, requeued_at, priority, issued_at in self.db.execute(
                    "SELECT service, requeued_at, priority, issued_at FROM tickets "
                    "WHERE status = 'waiting' AND day = ?",
                    [local_day(self.config, self.now)]).fetchall():
                requeued, priorities, normal = lines.setdefault(service, ([], [], []))
                if requeued_at is not None:
                    requeued.append(requeued_at)
                elif priority is not None:
                    priorities.append(issued_at)
                else:
                    normal.append(int(issued_at))
            for line in lines.values():
                for part in line:
                    part.sort()
            self._lines = lines
        return self._lines

    def ahead_of(self, ticket, kind):
        ahead = {}
        for service, (requeued, priorities, normal) in self._waiting_lines().items():
            if kind == "requeued":
                # a checked-in appointment counts as requeued (due_order "ahead") without a
                # requeued_at: like the SQL rule, nobody goes before it
                count = 0 if ticket["requeued_at"] is None else bisect.bisect_left(requeued, ticket["requeued_at"])
            elif kind == "priority":
                count = len(requeued) + bisect.bisect_left(priorities, ticket["issued_at"])
            else:
                count = len(requeued) + len(priorities) + bisect.bisect_left(normal, int(ticket["issued_at"]))
            if count:
                ahead[service] = count
        return ahead


def line_positions(db, config, now, services):
    """{ticket id: place in its service's line} for today's waiting tickets of ``services``:
    one narrow query in calling order (ids only), numbered here."""
    positions, last, place = {}, None, 0
    for service, ticket_id in db.execute(
            "SELECT service, id FROM tickets WHERE status = 'waiting' AND day = ? "
            f"AND service IN (SELECT value FROM json_each(?)) ORDER BY service, {waiting_order_sql(config, now)}",
            [local_day(config, now), json.dumps(sorted(services))]):
        place = place + 1 if service == last else 1
        last = service
        positions[ticket_id] = place
    return positions


def followed_rows(db, config, now, tokens, changes, positions=None):
    """The followed tickets (``tokens``) a change may have moved: those the events name and
    those waiting in a service whose line moved, each waiting one with its place in its line
    (``line_position``, numbered over the whole line of its service; ``positions`` from
    :func:`line_positions` when the caller read them already). One indexed query for the tokens."""
    if positions is None:
        positions = line_positions(db, config, now, changes.services) if changes.services else {}
    day = local_day(config, now)
    rows = []
    for row in db.query("SELECT * FROM tickets WHERE track_token IN (SELECT value FROM json_each(?))",
                        [json.dumps(tokens)]):
        if row["status"] == "waiting" and row["day"] == day and row["service"] in changes.services:
            row["line_position"] = positions.get(row["id"])
        elif row["id"] in changes.tickets:
            row["line_position"] = None
        else:
            continue
        rows.append(row)
    return rows


class Publisher:
    """Pushes each committed change to the rooms that care, and keeps the dashboard fresh.

    ``publish`` runs right after the commit, under the store's lock: it sends the ``called``
    frames (built from the events alone) and hands the batch on. When ``deferred`` (gevent,
    eventlet) two greenlets take it from there, without the lock: the sender reads what the
    screens' and desks' frames need in one short read on the reader connection, at the latest
    ``seq``, and emits them; the ticket sender does one round for the ticket pages at most
    every TICKET_ROUND_SECONDS, building and emitting their frames YIELD_EVERY at a time, so
    no ping, join or request waits behind a large fan-out. Batches that pile up meanwhile are
    merged into one round. Otherwise (threading: tests) both run inline, in order.

    Frames for every screen (``queue``, ``counter``, ``state``) go through the Socket.IO
    manager, and so through the message queue to every hub process when there is one. Frames
    for rooms whose members only this process knows (counter desks, ticket pages) are built
    by each process for its own members and stay out of the queue: ``relay`` (set with a
    message queue) tells the others what changed. A ticket page gets a frame only when its
    view differs from the last one sent to its room.
    """

    def __init__(self, hall, deferred=False, shared=False):
        self.hall = hall
        self.deferred = deferred
        self.shared = shared  # a message queue links several processes: rooms are not all local
        self.relay = None     # relay(notice): tell the other hub processes what changed
        self.namespace = None  # the HallNamespace, for sweeps another process asks for
        self.dashboard_stale = False
        self.raised_alerts = set()
        self.config_version = hall.store.config_version()  # the configuration the screens were last sent
        self.pending = []   # (changes, broadcast) not yet sent
        self.pending_tickets = []  # changes not yet sent to ticket pages
        self.last_ticket = {}  # track token -> the ticket view last sent to its room
        self._wake = self._wake_tickets = None
        self._sender = None
        self._inline = threading.RLock()
        self.requests = 0  # HTTP requests in progress in this process (ticket-page rounds make way for them)

    def idle(self):
        """Nothing waits to be pushed."""
        return not self.pending and not self.pending_tickets

    def request_started(self):
        g.hall_request_counted = True
        self.requests += 1

    def request_ended(self, error=None):
        if g.pop("hall_request_counted", False):  # not when an earlier hook refused the request
            self.requests -= 1

    def make_way(self):
        """Between two slices of a ticket-page round: the HTTP requests in progress (a counter's
        call-next among them) go first, for up to MAKE_WAY_SECONDS; then a plain yield."""
        waited = 0.0
        while self.requests > 0 and waited < MAKE_WAY_SECONDS:
            socketio.sleep(0.001)
            waited += 0.001
        socketio.sleep(0)

    def publish(self, events, db, config, now):
        """Runs after the transaction committed: the ``called`` frames leave first."""
        self.dashboard_stale = True
        self.send_calls(events)
        self.send_signals(events, config)
        changes = Changes.of(events, config)
        if changes.resnapshot:
            self.config_version = self.hall.store.config_version()
        if self.relay is not None:
            self.relay(changes.notice())
        self.submit(changes, broadcast=True)

    def changed_elsewhere(self, notice):
        """Another hub process committed ``notice``: refresh this process's own desks and ticket pages."""
        self.dashboard_stale = True
        if notice.get("resnapshot"):
            self.config_version = self.hall.store.config_version()
        self.hall.changed_elsewhere()
        if notice.get("access") and self.namespace is not None:
            self.namespace.sweep()  # a token revoked or an account disabled through another process
        self.submit(Changes(**notice), broadcast=False)

    def submit(self, changes, broadcast):
        self.pending.append((changes, broadcast))
        self.pending_tickets.append(changes)
        if not self.deferred:
            with self._inline:  # request threads and the message queue's listener alike
                self.drain()
                self.drain_tickets()
            return
        if self._sender is None:
            self._wake, self._wake_tickets = socketio.server.eio.create_event(), socketio.server.eio.create_event()
            self._sender = socketio.start_background_task(self._send_forever)
            socketio.start_background_task(self._send_tickets_forever)
        self._wake.set()
        self._wake_tickets.set()

    def _send_forever(self):
        """The screens' and desks' rounds (the ``called`` frames went before, at once): at most one
        every SCREEN_ROUND_SECONDS, the changes that come meanwhile merged into the next."""
        while True:
            self._wake.wait()
            self._wake.clear()
            started = time.monotonic()
            try:
                self.drain()
            except Exception:  # a bad round must not end the sender; the next change retries
                log.exception("push failed")
            socketio.sleep(max(0.0, SCREEN_ROUND_SECONDS - (time.monotonic() - started)))

    def _send_tickets_forever(self):
        """Ticket pages, in a greenlet of their own: a round at most every TICKET_ROUND_SECONDS
        (a burst of changes is one round), never in the way of the screens' frames."""
        while True:
            self._wake_tickets.wait()
            self._wake_tickets.clear()
            started = time.monotonic()
            try:
                self.drain_tickets()
            except Exception:  # the next change retries
                log.exception("ticket pages push failed")
            socketio.sleep(max(0.0, TICKET_ROUND_SECONDS - (time.monotonic() - started)))

    def drain(self):
        while self.pending:
            batch, self.pending = self.pending, []
            changes = batch[0][0]
            for more, _ in batch[1:]:
                changes = changes | more
            self.send_round(changes, broadcast=any(broadcast for _, broadcast in batch))

    def drain_tickets(self):
        """One round for every change not yet sent to ticket pages."""
        if not self.pending_tickets:
            return
        batch, self.pending_tickets = self.pending_tickets, []
        changes = batch[0]
        for more in batch[1:]:
            changes = changes | more
        followed = self.read_in_slices(changes) if self.deferred else self.hall.read(self.followed, changes)
        if followed is not None:
            self.send_ticket_frames(*followed)

    def read_in_slices(self, changes):
        """What :meth:`followed` reads, in short reads with a yield between them (the loop is
        never held for long), all at one ``seq``: when the hall changed in between, the round
        starts again (its change comes as the next round anyway); after ROUND_ATTEMPTS, one read."""
        tokens = self.followed_tokens()
        if not tokens or not (changes.tickets or changes.services):
            return None
        for _ in range(ROUND_ATTEMPTS):
            followed = self._read_once_in_slices(changes, tokens)
            if followed is not None:
                return followed
        return self.hall.read(self.followed, changes)

    def _read_once_in_slices(self, changes, tokens):
        """(seq, estimator, rows) read in slices at one seq, or None when the hall changed meanwhile."""
        seq, estimator, positions = self.hall.read(lambda db, config, now: (
            views.current_seq(db), self.hall.estimator(db, config, now, FollowedEstimator),
            line_positions(db, config, now, changes.services) if changes.services else {}))
        rows = []

        def read_rows(chunk):
            rows.extend(followed_rows(estimator.db, estimator.config, estimator.now, chunk, changes, positions))

        chunks = [tokens[start:start + ROWS_PER_READ] for start in range(0, len(tokens), ROWS_PER_READ)]
        parts = [*estimator.reads(), *(functools.partial(read_rows, chunk) for chunk in chunks),
                 lambda: estimator.read_positions(rows)]
        for part in parts:
            self.make_way()
            if not self.hall.read(lambda db, config, now, part=part: views.current_seq(db) == seq and [part()]):
                return None
        return seq, estimator, rows

    def followed_tokens(self):
        """This process's followed tickets (forgetting the last views of those nobody follows any more)."""
        tokens = followed_tickets()
        followed = set(tokens)
        for token in [token for token in self.last_ticket if token not in followed]:
            del self.last_ticket[token]  # nobody follows it here any more
        return tokens

    def send_round(self, changes, broadcast):
        """Read what the frames need in one short read, then emit them outside it."""
        frames = self.hall.read(self.frames, changes, broadcast)
        manager = socketio.server.manager
        if not self.shared and isinstance(manager, FanOutManager) and manager.wire is not None:
            # one process: the screens' frames of this change leave in one write per screen
            for room, group in itertools.groupby(frames, key=lambda frame: frame[2]):
                manager.emit_together([(name, payload) for name, payload, _ in group], "/", room)
                socketio.sleep(0)  # let pings, joins and requests in between
            return
        for name, payload, room in frames:
            # frames for every process's screens go through the message queue (if any); a
            # desk's frame was built for this process's own members
            socketio.emit(name, payload, to=room, ignore_queue=isinstance(room, str) and room.startswith("counter:"))
            socketio.sleep(0)  # let pings, joins and requests in between

    def frames(self, db, config, now, changes, broadcast):
        """The frames of the screens (when ``broadcast``) and of this process's counter desks."""
        seq = views.current_seq(db)
        estimator = self.hall.estimator(db, config, now)
        # the hall reconfigured (names, services, counters) or a call undone: what a join is answered with
        snapshot = views.public_state(db, config, now) if changes.resnapshot else None
        frames = []
        if broadcast:
            if snapshot is not None:
                frames.append(("state", snapshot, SCREENS))
            frames.append(("queue", {"seq": seq, "services": views.services_summary(db, config, now, estimator)},
                           SCREENS))
            for number in changes.boards:
                frames.append(("counter", {"seq": seq, "counter": views.public_counter(db, config, number)}, SCREENS))
        for number in changes.desks:
            room = f"counter:{number}"
            if room_members(room):
                if snapshot is not None:   # a keypad's transfer choices are the snapshot's services
                    frames.append(("state", snapshot, room))
                desk = views.counter_state(db, config, number, now, estimator)
                frames.append(("counter_state", {"seq": seq, "counter": desk}, room))
        return frames

    def followed(self, db, config, now, changes):
        """What this process's ticket pages moved by ``changes`` need: (seq, estimator, rows), or None."""
        tokens = self.followed_tokens()
        if not tokens or not (changes.tickets or changes.services):
            return None
        estimator = self.hall.estimator(db, config, now, FollowedEstimator)
        rows = followed_rows(db, config, now, tokens, changes)
        estimator.read_now(rows)  # the views are built after this read, between yields
        return views.current_seq(db), estimator, rows

    def send_ticket_frames(self, seq, estimator, rows):
        """Positions move for everyone behind a change: each followed ticket whose view changed
        hears it. The views (an estimate each) are built and sent in slices of at most
        SLICE_SECONDS, making way for HTTP requests after each."""
        config = estimator.config
        slice_ends = time.perf_counter() + SLICE_SECONDS
        for row in rows:
            view = views.public_ticket(config, row, estimator)
            token = row["track_token"]
            if self.last_ticket.get(token) != view:
                self.last_ticket[token] = view
                socketio.emit("ticket", {"seq": seq, "ticket": view}, to=f"ticket:{token}", ignore_queue=True)
            if time.perf_counter() >= slice_ends:
                self.make_way()
                slice_ends = time.perf_counter() + SLICE_SECONDS
        socketio.sleep(0)

    def joined_ticket(self, token, view):
        """A ticket page joined with ``view``: if its room has had no frame yet, that is its last one."""
        self.last_ticket.setdefault(token, view)

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

    def push_dashboard(self):
        """Send the dashboard room a fresh snapshot, and each newly raised alert once. With a
        message queue the room may have members on other processes only: it is always sent."""
        self.dashboard_stale = False
        if not self.shared and not room_members("dashboard"):
            return None
        snapshot = self.hall.read(supervision.dashboard_snapshot)
        socketio.emit("dashboard", snapshot, to="dashboard")
        for alert in snapshot["alerts"]:
            if alert["key"] not in self.raised_alerts and alert["kind"] != "device_fault":  # faults went at once
                socketio.emit("alert", {"seq": snapshot["seq"], **alert}, to="dashboard")
        self.raised_alerts = {alert["key"] for alert in snapshot["alerts"]}
        return snapshot

    def follow_configuration(self, turn=None):
        """Background loop (started by ``serve``): a configuration another program wrote
        (``hallserver init --config`` while the hub runs) reaches the screens, boards and desks
        within CONFIG_CHECK_SECONDS, as an admin's edit does at once. ``turn()`` returns once this
        process is the one that checks (``lease.py``); the others hear it as a notice."""
        while True:
            socketio.sleep(CONFIG_CHECK_SECONDS)
            if turn is not None:
                turn()
            try:
                version = self.hall.store.config_version()
                if version != self.config_version:
                    self.config_version = version
                    self.configuration_applied()
            except Exception:  # the next round retries
                log.exception("following the configuration failed")

    def configuration_applied(self):
        """Screens take a new snapshot and every board, desk and ticket page is redrawn, here and
        on the other hub processes: what a ``config_changed`` event does."""
        config = self.hall.config
        numbers = [counter.number for counter in config.counters]
        changes = Changes(services=[service.code for service in config.services], boards=numbers, desks=numbers,
                          resnapshot=True)
        self.dashboard_stale = True
        if self.relay is not None:
            self.relay(changes.notice())
        self.submit(changes, broadcast=True)

    def dashboard_updates(self, turn=None):
        """Background loop (started by ``serve``): coalesce bursts into one snapshot a second.
        ``turn()`` returns once this process is the one that refreshes (see ``lease.py``)."""
        idle = 0.0
        while True:
            socketio.sleep(DASHBOARD_REFRESH_SECONDS)
            if turn is not None:
                turn()
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
        self.publisher = None  # set by init_app: ticket pages' first views
        self._snapshot = None  # the last join snapshot: ((seq, second), config, made at, state)
        self._estimator = None  # the ticket pages' estimator, shared the same way
        self.join_gate = threading.BoundedSemaphore(1)  # cooperative under gevent (monkey-patched)
        self.heartbeats = screens.Heartbeats()  # what this process last wrote for each reporting screen
        self.departed = 0  # sockets gone since the start (keep_heap)
        self.in_flight = {}  # sid -> its events being handled now (MAX_EVENTS_IN_FLIGHT)
        self._in_flight_lock = threading.Lock()

    def trigger_event(self, event, *args):
        """Every client event goes through here (``args[0]`` is its socket): a socket that already
        has MAX_EVENTS_IN_FLIGHT events being handled is flooding, and is cut off instead."""
        if event in ("connect", "disconnect") or not args:
            return super().trigger_event(event, *args)
        sid = args[0]
        with self._in_flight_lock:
            busy = self.in_flight.get(sid, 0)
            if busy < MAX_EVENTS_IN_FLIGHT:
                self.in_flight[sid] = busy + 1
        if busy >= MAX_EVENTS_IN_FLIGHT:
            self.cut_off(sid)
            return None
        try:
            return super().trigger_event(event, *args)
        finally:
            with self._in_flight_lock:
                left = self.in_flight.pop(sid) - 1
                if left:
                    self.in_flight[sid] = left

    def cut_off(self, sid):
        """Close a flooding socket's whole connection (:func:`close_connection`)."""
        eio_sid = socketio.server.manager.eio_sid_from_sid(sid, self.namespace)
        if eio_sid is not None:
            close_connection(socketio.server.eio, eio_sid, f"flooding ({MAX_EVENTS_IN_FLIGHT} events at once)")

    def on_disconnect(self, *reason):
        self.departed += 1
        self.grants.pop(request.sid, None)
        if self.heartbeats.forget(request.sid):  # a hall screen that reported here fell off
            try:
                if self.hall.screen_disconnected(request.sid):
                    current_app.extensions["publisher"].dashboard_stale = True
            except HallError:  # busy: the screen's silence shows after screen_lost_seconds anyway
                log.warning("could not record screen disconnect", exc_info=True)

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
            # One join at a time: in a storm the others wait here, off the event loop's run
            # queue, so pings, pongs and calls are not queued behind thousands of joins.
            with self.join_gate:
                if not socketio.server.manager.is_connected(request.sid, self.namespace):
                    return None  # gone while it waited (closed, or cut off for flooding): nothing to join
                return self._join(room, data.get("token"))
        except HallError as error:
            return error_ack(error)

    def _join(self, room, token):
        try:
            principal = self.principal(token)
            first_view, used = self.authorise(room, principal)
            # Joined before the snapshot is read, without stopping the hall: a change committed
            # after the read reaches this socket; pushes of older changes still on their way
            # carry an older seq than the snapshot (the client drops them) or the same data.
            join_room(room)
            grant = self._grant(used)
            if grant is not None:
                self.grants.setdefault(request.sid, set()).add(grant)
            state = self.join_snapshot()
            # this socket is here: no need to tell the other processes
            socketio.emit("state", state, to=request.sid, ignore_queue=True)
            if first_view:
                socketio.emit(*first_view(), to=request.sid, ignore_queue=True)
            return {"ok": True, "room": room, "seq": state["seq"]}
        finally:
            socketio.sleep(0)  # the next join waits its turn behind what is ready now

    def join_snapshot(self):
        """The ``state`` a join is answered with. The joins of a storm (screens and phones after
        a hub restart) share one: same seq, same configuration, same second of the hall's clock,
        at most JOIN_SNAPSHOT_SECONDS old."""
        seq, config, second = self.hall.read(lambda db, config, now: (views.current_seq(db), config, int(now)))
        cached = self._snapshot
        if (cached is not None and cached[0] == (seq, second) and cached[1] is config
                and time.monotonic() - cached[2] < JOIN_SNAPSHOT_SECONDS):
            return cached[3]
        state = self.hall.state()
        self._snapshot = ((seq, second), config, time.monotonic(), state)
        return state

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

    def on_screen_status(self, data=None):
        """``screen_status {"screen", "kind", "name"?, "sound", "last_announcement", "counters"?}``
        from a socket in ``display`` → ack ``{"ok": true}`` or ``{"ok": false, "error"}``
        (``services.screens``: strict validation; unchanged heartbeats written at most every 20 s)."""
        try:
            if "display" not in rooms():
                raise Forbidden("Màn hình phải vào phòng display trước khi báo trạng thái",
                                "Join the display room before reporting screen status", code="not_joined")
            status = screens.parse_status(data)
            now = self.hall.clock()
            if self.heartbeats.due(request.sid, status, now, every=screens.write_every(self.hall.config.policy)):
                if self.hall.report_screen(status, sid=request.sid, address=request.remote_addr):
                    current_app.extensions["publisher"].dashboard_stale = True
                self.heartbeats.written(request.sid, status, now)
            return {"ok": True}
        except HallError as error:
            return error_ack(error)

    def principal(self, token):
        """A device token from the payload, else the signed-in account of the connection (its
        session as it was when the socket connected: still its account's, not past HALL_SESSION_HOURS)."""
        if token:
            return self.hall.principal_for_token(token) if isinstance(token, str) else None
        user = session_account(session, idle=False)
        return users.principal_for_user(user) if user else None

    def ticket_view(self, token):
        """A ticket page's first view, with the seq of the same read. The pages of a join storm
        share one estimator (same seq, same second, as ``join_snapshot``): a view then costs
        its row and its place in line, not the dozen reads of a fresh estimate."""
        def view(db, config, now):
            seq = views.current_seq(db)
            key = (seq, int(now))
            cached = self._estimator
            if (cached is None or cached[0] != key or cached[1] is not config
                    or time.monotonic() - cached[2] >= JOIN_SNAPSHOT_SECONDS):
                cached = self._estimator = (key, config, time.monotonic(),
                                            self.hall.estimator(db, config, now, FollowedEstimator))
            rows = list(db.query("SELECT * FROM tickets WHERE track_token = ?", [token]))
            return {"seq": seq, "ticket": views.public_ticket(config, rows[0], cached[3]) if rows else None}
        payload = self.hall.read(view)
        if self.publisher is not None and payload["ticket"] is not None:
            self.publisher.joined_ticket(token, payload["ticket"])
        return payload

    def authorise(self, room, principal):
        """Check the join; return a callable giving the room's own first event (or None) and
        the principal the join rests on (None for rooms anyone may join)."""
        hall = self.hall
        if room in PUBLIC_ROOMS:
            return None, None
        if room == "dashboard":
            auth.require(principal, "supervisor", "admin")
            return (lambda: ("dashboard", hall.read(supervision.dashboard_snapshot))), principal
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
            hall.counter_state(number)  # an unknown counter is refused before joining
            return (lambda: ("counter_state", hall.counter_state(number))), principal
        if kind == "ticket" and key:
            if not hall.read(lambda db, config, now: db.execute(
                    "SELECT 1 FROM tickets WHERE track_token = ?", [key]).fetchone()):
                raise NotFound("Không tìm thấy phiếu", "Unknown ticket", code="unknown_ticket")
            return (lambda: ("ticket", self.ticket_view(key))), None
        raise NotFound(f"Không có phòng {room!r}", f"Unknown room {room!r}", code="unknown_room")
