"""The display's link to the hub: a ``hallclient.Link`` joined to the ``display`` room.

It never touches pygame or the board. Everything it learns goes into ``inbox`` (a
``queue.Queue``) as ``(kind, payload)``: ``("state", snapshot)``, ``("called" | "queue" |
"counter", push)`` and ``("lost", reason)``; the main loop applies them in that order.

Reconnection with backoff, the tight TCP keepalive (a pulled cable shows "Mất kết nối"
within about 3 s), ordered delivery and the seq guard all live in ``hallclient``. A hall
screen never gives up: a refused join is reported as lost and retried like any failure.
"""

from __future__ import annotations

from hallclient import Backoff, Keepalive, Link

PUSH_EVENTS = ("state", "called", "queue", "counter")
#: Dead peer declared after about 1 + 1 × 2 s.
KEEPALIVE = Keepalive(idle=1, interval=1, count=2, user_timeout_ms=3000)


class HubLink(Link):
    """Keeps the hub's ``display`` room joined, in its own daemon thread, feeding ``inbox``."""

    def __init__(self, url: str, inbox, token: str | None = None, backoff: Backoff | None = None,
                 timeout: float = 5.0):
        self.inbox = inbox
        super().__init__(url, "display", token=token, events=PUSH_EVENTS, backoff=backoff, timeout=timeout,
                         keepalive=KEEPALIVE, final_refusals=(), name="hub-link",
                         on_event=lambda kind, payload: inbox.put((kind, payload)),
                         on_lost=lambda reason: inbox.put(("lost", reason)))
