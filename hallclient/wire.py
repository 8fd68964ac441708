"""The Socket.IO client underneath a link: ordered dispatch and a tight TCP keepalive."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import engineio
import socketio
from engineio import packet

#: Tried in turn: websocket alone, then polling upgraded to websocket (a proxy may block websockets).
TRANSPORTS = (["websocket"], ["polling", "websocket"])


@dataclass(frozen=True)
class Keepalive:
    """TCP keepalive for the websocket: the peer is declared dead after about idle + interval × count s.

    The hub's Socket.IO pings come every 5 s and a client waits 15 s for one, too late to show a
    lost hub within seconds; a hub process that dies closes the socket and is noticed at once anyway.
    """

    idle: int = 1
    interval: int = 1
    count: int = 2
    user_timeout_ms: int = 3000

    def socket_options(self) -> list[tuple]:
        """websocket-client ``sockopt``."""
        options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
        for name, value in (("TCP_KEEPIDLE", self.idle), ("TCP_KEEPINTVL", self.interval),
                            ("TCP_KEEPCNT", self.count), ("TCP_USER_TIMEOUT", self.user_timeout_ms)):
            if hasattr(socket, name):  # Linux has them all; other systems keep their defaults
                options.append((socket.IPPROTO_TCP, getattr(socket, name), value))
        return options


class OrderedEngineIOClient(engineio.Client):
    """An engine.io client that handles each message in the read loop, in arrival order.

    python-engineio hands every incoming message to a new thread, so two pushes can overtake
    each other (a burst of calls announced out of order). Handlers here must not block.
    """

    def _receive_packet(self, pkt):
        if pkt.packet_type == packet.MESSAGE:
            self._trigger_event("message", pkt.data, run_async=False)
        else:
            super()._receive_packet(pkt)


class OrderedClient(socketio.Client):
    """A Socket.IO client on :class:`OrderedEngineIOClient`."""

    def _engineio_client_class(self):
        return OrderedEngineIOClient
