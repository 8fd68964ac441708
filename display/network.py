"""The network thread: a Socket.IO client that follows the hub and hands events to a queue.

It never touches pygame or the board. Everything it learns goes into ``inbox`` (a
``queue.Queue``) as ``(kind, payload)``: ``("state", snapshot)``, ``("called" | "queue" |
"counter", push)`` and ``("lost", reason)``; the main loop applies them in that order.

It reconnects with exponential backoff (with jitter, so several screens do not hammer a
restarting hub in step), alternating the websocket transport with polling in case a proxy
blocks websockets. Two details matter for the hall:

- python-engineio hands every incoming message to a new thread, so two pushes can
  overtake each other; our client dispatches them in the read loop, in arrival order,
  so a burst of calls is announced in the order they were made;
- TCP keepalive is tightened on the websocket, so a pulled cable or a dead switch is
  noticed in about 3 s (the hub's Socket.IO pings come every 25 s, too late for the
  "Mất kết nối" state to appear within 5 s). A hub process that dies closes the socket
  and is noticed at once.
"""

from __future__ import annotations

import functools
import logging
import random
import socket
import threading
from dataclasses import dataclass, field

import engineio
import socketio
from engineio import packet

log = logging.getLogger(__name__)

PUSH_EVENTS = ("state", "called", "queue", "counter")
TRANSPORT_CHOICES = (["websocket"], ["polling", "websocket"])


def keepalive_socket_options(idle=1, interval=1, count=2, user_timeout_ms=3000) -> list[tuple]:
    """websocket-client ``sockopt``: declare the peer dead after about idle + interval × count s."""
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    for name, value in (("TCP_KEEPIDLE", idle), ("TCP_KEEPINTVL", interval), ("TCP_KEEPCNT", count),
                        ("TCP_USER_TIMEOUT", user_timeout_ms)):
        if hasattr(socket, name):  # Linux has them all; other systems keep their defaults
            options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
    return options


class OrderedEngineIOClient(engineio.Client):
    """An engine.io client that handles each message in the read loop, in arrival order."""

    def _receive_packet(self, pkt):
        if pkt.packet_type == packet.MESSAGE:
            # Our handlers only put into a queue (or wake a waiting call), so they never block.
            self._trigger_event("message", pkt.data, run_async=False)
        else:
            super()._receive_packet(pkt)


class OrderedClient(socketio.Client):
    def _engineio_client_class(self):
        return OrderedEngineIOClient


@dataclass
class Backoff:
    """Delays between reconnection attempts: initial, doubling, capped, with ± jitter."""

    initial: float = 0.5
    maximum: float = 5.0
    jitter: float = 0.2
    random: object = random.random
    _attempt: int = field(default=0, init=False)

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * 2 ** self._attempt)
        self._attempt += 1
        return delay * (1 + self.jitter * (2 * self.random() - 1))

    def reset(self) -> None:
        self._attempt = 0


class JoinRefused(Exception):
    pass


class HubLink:
    """Keeps one connection to the hub's ``display`` room alive, in its own daemon thread."""

    def __init__(self, url: str, inbox, token: str | None = None, backoff: Backoff | None = None,
                 timeout: float = 5.0):
        self.url = url.rstrip("/")
        self.inbox = inbox
        self.token = token
        self.backoff = backoff or Backoff()
        self.timeout = timeout
        self._stopping = threading.Event()
        self._client = None
        self._thread = None

    def start(self) -> HubLink:
        self._thread = threading.Thread(target=self._run, name="hub-link", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        self._stopping.set()
        client = self._client
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # it may be half-connected; we are leaving anyway
                log.debug("disconnect on stop failed", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the thread -------------------------------------------------------------------

    def _run(self):
        attempt = 0
        while not self._stopping.is_set():
            transports = TRANSPORT_CHOICES[attempt % len(TRANSPORT_CHOICES)]
            disconnected = threading.Event()
            client = self._new_client(disconnected)
            self._client = client
            try:
                self._connect(client, transports)
            except Exception as error:
                self._report_lost(f"cannot reach {self.url} ({', '.join(transports)}): {error}")
                self._discard(client)
                attempt += 1
                self._stopping.wait(self.backoff.next_delay())
                continue
            log.info("joined the display room of %s (%s)", self.url, client.transport())
            attempt = 0
            self.backoff.reset()
            while not disconnected.wait(0.2):
                if self._stopping.is_set():
                    break
            self._discard(client)
            if not self._stopping.is_set():
                self._report_lost(f"disconnected from {self.url}")
                self._stopping.wait(self.backoff.next_delay())

    def _new_client(self, disconnected: threading.Event):
        client = OrderedClient(reconnection=False, logger=False, engineio_logger=False,
                               request_timeout=self.timeout,
                               websocket_extra_options={"sockopt": keepalive_socket_options()})
        for name in PUSH_EVENTS:
            client.on(name, functools.partial(self._forward, name))
        client.on("disconnect", lambda *reason: disconnected.set())
        return client

    def _connect(self, client, transports):
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        client.connect(self.url, headers=headers, transports=transports, wait_timeout=self.timeout)
        join = {"room": "display"}
        if self.token:
            join["token"] = self.token
        # The hub sends the ``state`` snapshot before it answers, so it is queued first.
        ack = client.call("join", join, timeout=self.timeout)
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = (ack or {}).get("error") or {}
            raise JoinRefused(error.get("message_en") or error.get("message") or repr(ack))

    def _forward(self, kind, payload=None):
        if isinstance(payload, dict):
            self.inbox.put((kind, payload))
        else:
            log.warning("ignoring malformed %r event: %r", kind, payload)

    def _report_lost(self, reason: str) -> None:
        log.info("%s", reason)
        self.inbox.put(("lost", reason))

    @staticmethod
    def _discard(client):
        try:
            client.disconnect()
        except Exception:
            log.debug("disconnect of a dead client failed", exc_info=True)
