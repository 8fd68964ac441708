"""The link: one room of a hub kept joined, in a daemon thread, reported through callbacks."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable

from .backoff import Backoff
from .wire import TRANSPORTS, Keepalive, OrderedClient

log = logging.getLogger(__name__)

#: Join refusals that retrying cannot cure: the settings (token, room) are wrong.
FINAL_REFUSALS = ("unauthorized", "forbidden", "unknown_counter", "unknown_room", "invalid_join")


class JoinRefused(Exception):
    """The hub answered ``join`` with ``{"ok": false, "error": {...}}`` (or nonsense)."""

    def __init__(self, error: dict):
        super().__init__(error.get("message_en") or error.get("message") or error.get("code"))
        self.error = error

    @property
    def code(self) -> str | None:
        return self.error.get("code")


def event_seq(payload: dict) -> int | None:
    seq = payload.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


class SeqGuard:
    """One connection's ordering rule: a push older than the snapshot is already in it.

    The hub sends the room's snapshot (with its ``seq``) before it answers the join, and
    every push after it carries a ``seq`` at least as high; anything lower is stale and is
    dropped. Each connection gets a new guard, so after a reconnect the new snapshot is the
    truth even if the hub's history restarted lower (a new database).
    """

    def __init__(self):
        self.snapshot_seq: int | None = None
        self.dropped = 0

    def snapshot(self, payload: dict) -> None:
        seq = event_seq(payload)
        if seq is not None:
            self.snapshot_seq = seq

    def admits(self, payload: dict) -> bool:
        seq = event_seq(payload)
        if seq is None or self.snapshot_seq is None or seq >= self.snapshot_seq:
            return True
        self.dropped += 1
        return False


class Link:
    """Keeps ``room`` of the hub at ``url`` joined and reports what happens.

    - ``on_event(kind, payload)`` for each of ``events`` whose payload is a dict and not stale
      (``snapshot_event``, default ``"state"``, is always delivered and resets the guard);
    - ``on_online(transport)`` once the join is acknowledged;
    - ``on_lost(reason)`` when a connection or a join attempt fails or the hub goes away
      (then it waits ``backoff`` and tries again);
    - ``on_refused(error)`` when the hub refuses the join with a code in ``final_refusals``;
      the link then gives up (pass ``final_refusals=()`` to retry for ever).

    Callbacks run in the link's threads (events in the socket's read loop, in arrival
    order) and must not block; an exception in one is logged and ignored.
    """

    def __init__(self, url: str, room: str, *, token: str | None = None, events: Iterable[str] = (),
                 snapshot_event: str | None = "state",
                 on_event: Callable[[str, dict], object] | None = None,
                 on_online: Callable[[str], object] | None = None,
                 on_lost: Callable[[str], object] | None = None,
                 on_refused: Callable[[dict], object] | None = None,
                 final_refusals: Iterable[str] = FINAL_REFUSALS, backoff: Backoff | None = None,
                 timeout: float = 5.0, keepalive: Keepalive | None = None, name: str = "hub-link"):
        self.url = url.rstrip("/")
        self.room = room
        self.token = token
        self.snapshot_event = snapshot_event
        events = tuple(events)
        if snapshot_event and snapshot_event not in events:
            events = (snapshot_event, *events)
        self.events = events
        self.on_event, self.on_online, self.on_lost, self.on_refused = on_event, on_online, on_lost, on_refused
        self.final_refusals = frozenset(final_refusals)
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self.keepalive = keepalive or Keepalive()
        self.name = name
        self.online = False
        self.transport: str | None = None
        self._stopping = threading.Event()
        self._client = None
        self._guard: SeqGuard | None = None  # the current connection's; events of older ones are dropped
        self._thread = None

    @property
    def snapshot_seq(self) -> int | None:
        """The ``seq`` of the current connection's snapshot (None before it arrives)."""
        guard = self._guard
        return guard.snapshot_seq if guard is not None else None

    def start(self):
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Disconnect and end the thread; returns within about 2 × ``timeout`` whatever happens.

        python-engineio waits for its read loop without a limit, and websocket-client's close
        can leave that loop blocked in recv: never let either hold up quitting (their threads
        are daemons). No callback runs once this is called.
        """
        self._stopping.set()
        self._guard = None
        closer = threading.Thread(target=self._discard, args=(self._client,), name=f"{self.name}-close", daemon=True)
        closer.start()
        closer.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    def emit(self, event: str, payload: dict, callback: Callable[[object], object] | None = None) -> bool:
        """Send ``event`` on the joined connection; False (nothing queued) while not joined, so
        the caller sends again after the next ``on_online``. ``callback(ack)`` runs in the link's
        thread and must not block."""
        client = self._client
        if not self.online or client is None or self._stopping.is_set():
            return False
        try:
            client.emit(event, payload, callback=callback)
        except Exception as error:  # the connection is going away; on_lost follows
            log.debug("could not send %r: %s", event, error)
            return False
        return True

    def rejoin(self) -> bool:
        """Join the room again on the joined connection: the hub answers with a fresh snapshot,
        delivered like the first (in order with the pushes). False while not joined."""
        return self.emit("join", self._join_request(), callback=self._rejoined)

    def _rejoined(self, ack=None):
        if not (isinstance(ack, dict) and ack.get("ok")):
            log.warning("%s refused joining %s again: %r", self.url, self.room, ack)

    def _join_request(self) -> dict:
        join = {"room": self.room}
        if self.token:
            join["token"] = self.token
        return join

    # -- the thread -------------------------------------------------------------------

    def _run(self):
        attempt = 0
        while not self._stopping.is_set():
            transports = TRANSPORTS[attempt % len(TRANSPORTS)]
            disconnected = threading.Event()
            guard = SeqGuard()
            client = self._new_client(guard, disconnected)
            self._client, self._guard = client, guard
            try:
                self._connect_and_join(client, guard, transports)
            except JoinRefused as refusal:
                self._discard(client)
                if refusal.code in self.final_refusals:
                    log.warning("%s refused the join of %s: %s", self.url, self.room, refusal)
                    if not self._stopping.is_set():
                        self._report(self.on_refused, refusal.error)
                    return
                self._lost(f"join refused: {refusal}")
                attempt += 1
                continue
            except Exception as error:  # connection errors come in many types; all mean "not now"
                self._discard(client)
                self._lost(f"cannot reach {self.url} ({', '.join(transports)}): {error}")
                attempt += 1
                continue
            attempt = 0
            self.backoff.reset()
            self.online, self.transport = True, client.transport()
            log.info("joined %s of %s (%s)", self.room, self.url, self.transport)
            if not self._stopping.is_set():
                self._report(self.on_online, self.transport)
            while not disconnected.wait(0.2) and not self._stopping.is_set():
                pass
            self.online = False
            self._discard(client)
            self._lost(f"disconnected from {self.url}")

    def _new_client(self, guard: SeqGuard, disconnected: threading.Event):
        client = OrderedClient(reconnection=False, logger=False, engineio_logger=False,
                               request_timeout=self.timeout,
                               websocket_extra_options={"sockopt": self.keepalive.socket_options()})
        for kind in self.events:
            client.on(kind, functools.partial(self._dispatch, guard, kind))
        client.on("disconnect", lambda *reason: disconnected.set())
        return client

    def _connect_and_join(self, client, guard: SeqGuard, transports):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        client.connect(self.url, headers=headers, transports=transports, wait_timeout=self.timeout)
        # The hub sends the room's snapshot before it answers, so it is dispatched first.
        ack = client.call("join", self._join_request(), timeout=self.timeout)
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = ack.get("error") if isinstance(ack, dict) else None
            raise JoinRefused(error if isinstance(error, dict) else {"code": "invalid_ack", "message": repr(ack)})
        if guard.snapshot_seq is None:
            guard.snapshot(ack)  # the ack carries the snapshot's seq too

    def _dispatch(self, guard: SeqGuard, kind: str, payload=None):
        if guard is not self._guard or self._stopping.is_set():
            return  # a late event of a connection already given up, or we are closing
        if not isinstance(payload, dict):
            log.warning("ignoring malformed %r event: %r", kind, payload)
            return
        if kind == self.snapshot_event:
            guard.snapshot(payload)
        elif not guard.admits(payload):
            log.debug("dropping stale %r (seq %s < snapshot %s)", kind, payload.get("seq"), guard.snapshot_seq)
            return
        self._report(self.on_event, kind, payload)

    def _lost(self, reason: str) -> None:
        if self._stopping.is_set():
            return
        log.info("hub lost: %s", reason)
        self._report(self.on_lost, reason)
        self._stopping.wait(self.backoff.next_delay())

    @staticmethod
    def _report(callback, *arguments):
        if callback is None:
            return
        try:
            callback(*arguments)
        except Exception:  # a client's bug must not kill the link
            log.exception("link callback %r failed", callback)

    @staticmethod
    def _discard(client):
        if client is None:
            return
        try:
            client.disconnect()
        except Exception:  # half-connected clients may fail to disconnect; we drop them anyway
            log.debug("disconnect failed", exc_info=True)
