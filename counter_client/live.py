"""The live link: a Socket.IO client joined to the hub's ``counter:N`` room.

It runs in its own daemon thread and only puts messages into the app's inbox:

- ``("link", "online" | "lost", detail)`` when the room is joined or the hub is lost;
- ``("state", snapshot)``, ``("counter_state", push)``, ``("called", push)`` as they come;
- ``("refused", error)`` when the hub refuses the join (wrong token or counter): final.

It reconnects with exponential backoff and jitter, alternating websocket and polling
in case something between the counter and the hub blocks websockets.
"""

from __future__ import annotations

import functools
import logging
import random
import socket
import threading

import socketio

log = logging.getLogger(__name__)

PUSH_EVENTS = ("state", "counter_state", "called")
TRANSPORTS = (["websocket"], ["polling", "websocket"])
#: Join refusals that retrying cannot cure: the settings are wrong.
FINAL_REFUSALS = ("unauthorized", "forbidden", "unknown_counter", "unknown_room", "invalid_join")


class Backoff:
    """Delays between attempts: doubling from ``initial`` up to ``maximum``, ± ``jitter``."""

    def __init__(self, initial=0.5, maximum=5.0, jitter=0.2, rand=random.random):
        self.initial, self.maximum, self.jitter, self.rand = initial, maximum, jitter, rand
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * 2 ** self.attempt)
        self.attempt += 1
        return delay * (1 + self.jitter * (2 * self.rand() - 1))

    def reset(self):
        self.attempt = 0


def keepalive_options() -> list[tuple]:
    """Socket options so a pulled cable is noticed in seconds, not at the next 25 s ping."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPIDLE", 2), ("TCP_KEEPINTVL", 1), ("TCP_KEEPCNT", 2), ("TCP_USER_TIMEOUT", 4000)):
        if hasattr(socket, name):
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


class JoinRefused(Exception):
    def __init__(self, error: dict):
        super().__init__(error.get("message_en") or error.get("message"))
        self.error = error


class LiveLink:
    """Keeps ``counter:N`` joined; see the module docstring for what it reports."""

    def __init__(self, hub: str, counter: int, token: str, inbox, timeout: float = 5.0, backoff=None):
        self.hub = hub
        self.room = f"counter:{counter}"
        self.token = token
        self.inbox = inbox
        self.timeout = timeout
        self.backoff = backoff or Backoff()
        self._stopping = threading.Event()
        self._client = None
        self._thread = None

    def start(self) -> LiveLink:
        self._thread = threading.Thread(target=self._run, name="live-link", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0):
        self._stopping.set()
        # python-engineio waits for its read loop without a limit, and websocket-client's
        # close swallows a signal's exception and then leaves that loop blocked in recv:
        # never let either hold up quitting (their threads are daemons).
        closer = threading.Thread(target=self._discard, args=(self._client,), name="live-link-close", daemon=True)
        closer.start()
        closer.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self):
        attempt = 0
        while not self._stopping.is_set():
            transports = TRANSPORTS[attempt % len(TRANSPORTS)]
            disconnected = threading.Event()
            client = self._client = self._new_client(disconnected)
            try:
                self._connect_and_join(client, transports)
            except JoinRefused as refusal:
                self._discard(client)
                if refusal.error.get("code") in FINAL_REFUSALS:
                    self.inbox.put(("refused", refusal.error))
                    return
                self._lost(f"join refused: {refusal}")
                attempt += 1
                continue
            except Exception as error:  # connection errors come in many types; all mean "not now"
                self._discard(client)
                self._lost(f"{self.hub}: {error}")
                attempt += 1
                continue
            attempt = 0
            self.backoff.reset()
            self.inbox.put(("link", "online", client.transport()))
            while not disconnected.wait(0.2) and not self._stopping.is_set():
                pass
            self._discard(client)
            if not self._stopping.is_set():
                self._lost("disconnected")

    def _lost(self, detail: str):
        log.info("hub lost: %s", detail)
        self.inbox.put(("link", "lost", detail))
        self._stopping.wait(self.backoff.next_delay())

    def _new_client(self, disconnected: threading.Event):
        client = socketio.Client(reconnection=False, logger=False, engineio_logger=False,
                                 request_timeout=self.timeout,
                                 websocket_extra_options={"sockopt": keepalive_options()})
        for name in PUSH_EVENTS:
            client.on(name, functools.partial(self._forward, name))
        client.on("disconnect", lambda *reason: disconnected.set())
        return client

    def _connect_and_join(self, client, transports):
        client.connect(self.hub, transports=transports, wait_timeout=self.timeout)
        # The hub emits the room's snapshot before it answers the join.
        ack = client.call("join", {"room": self.room, "token": self.token}, timeout=self.timeout)
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = ack.get("error") if isinstance(ack, dict) else None
            raise JoinRefused(error if isinstance(error, dict) else {"code": "invalid_ack", "message": repr(ack)})

    def _forward(self, kind, payload=None):
        if isinstance(payload, dict):
            self.inbox.put((kind, payload))

    @staticmethod
    def _discard(client):
        if client is None:
            return
        try:
            client.disconnect()
        except Exception:  # half-connected clients may fail to disconnect; we drop them anyway
            log.debug("disconnect failed", exc_info=True)
