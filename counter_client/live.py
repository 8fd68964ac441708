"""The live link: a ``hallclient.Link`` joined to the hub's ``counter:N`` room.

It runs in its own daemon thread and only puts messages into the app's inbox:

- ``("link", "online" | "lost", detail)`` when the room is joined or the hub is lost;
- ``("state", snapshot)``, ``("counter_state", push)``, ``("called", push)`` as they come;
- ``("refused", error)`` when the hub refuses the join (wrong token or counter): final.

Reconnection with backoff, keepalive, ordered delivery and the seq guard live in ``hallclient``.
"""

from __future__ import annotations

from hallclient import Keepalive, Link

PUSH_EVENTS = ("state", "counter_state", "called")
#: Dead peer declared after about 2 + 1 × 2 s.
KEEPALIVE = Keepalive(idle=2, interval=1, count=2, user_timeout_ms=4000)


class LiveLink(Link):
    """Keeps ``counter:N`` joined; see the module docstring for what it reports."""

    def __init__(self, hub: str, counter: int, token: str, inbox, timeout: float = 5.0, backoff=None):
        self.hub = hub
        self.inbox = inbox
        super().__init__(hub, f"counter:{counter}", token=token, events=PUSH_EVENTS, backoff=backoff,
                         timeout=timeout, keepalive=KEEPALIVE, name="live-link",
                         on_event=lambda kind, payload: inbox.put((kind, payload)),
                         on_online=lambda transport: inbox.put(("link", "online", transport)),
                         on_lost=lambda detail: inbox.put(("link", "lost", detail)),
                         on_refused=lambda error: inbox.put(("refused", error)))
