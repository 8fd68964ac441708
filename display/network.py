"""The display's link to the hub: a ``hallclient.Link`` joined to the ``display`` room.

It never touches pygame or the board. Everything it learns goes into ``inbox`` (a
``queue.Queue``) as ``(kind, payload)``: ``("state", snapshot)``, ``("called" | "queue" |
"counter", push)``, ``("online", transport)`` once the join is acknowledged and ``("lost",
reason)``; the main loop applies them in that order. :meth:`HubLink.send_status` sends the
screen's health report (``screen_status``) on the joined connection.

Reconnection with backoff, the tight TCP keepalive (a pulled cable shows "Mất kết nối"
within about 3 s), ordered delivery and the seq guard all live in ``hallclient``. A hall
screen never gives up: a refused join is reported as lost and retried like any failure.
"""

from __future__ import annotations

import logging
import threading
import time
from email.utils import parsedate_to_datetime

import requests

from hallclient import Backoff, Keepalive, Link

log = logging.getLogger(__name__)

PUSH_EVENTS = ("state", "called", "queue", "counter")
#: Dead peer declared after about 1 + 1 × 2 s.
KEEPALIVE = Keepalive(idle=1, interval=1, count=2, user_timeout_ms=3000)


class HubLink(Link):
    """Keeps the hub's ``display`` room joined, in its own daemon thread, feeding ``inbox``."""

    def __init__(self, url: str, inbox, token: str | None = None, backoff: Backoff | None = None,
                 timeout: float = 5.0, steady_clock=time.monotonic):
        self.inbox = inbox
        self.steady_clock = steady_clock  # the board's: the hub's time is kept against it, not the wall clock
        super().__init__(url, "display", token=token, events=PUSH_EVENTS, backoff=backoff, timeout=timeout,
                         keepalive=KEEPALIVE, final_refusals=(), name="hub-link",
                         on_event=lambda kind, payload: inbox.put((kind, payload)),
                         on_online=self._joined,
                         on_lost=lambda reason: inbox.put(("lost", reason)))

    def _joined(self, transport):
        self.inbox.put(("online", transport))
        # The screen's own clock may be wrong after a power cut (no RTC, no internet), and jump when a
        # time server sets it: each join also learns the hub's, off the link's thread.
        threading.Thread(target=self._read_hub_clock, name="hub-clock", daemon=True).start()

    def _read_hub_clock(self):
        offset = hub_clock_offset(self.url, self.timeout, now=self.steady_clock)
        if offset is not None:
            self.inbox.put(("hub_clock", offset))

    def send_status(self, status: dict) -> bool:
        """Send ``screen_status``; False while not joined. A refusal is logged (it means a bug)."""
        return self.emit("screen_status", status, callback=_status_ack)


def _status_ack(ack=None):
    if not (isinstance(ack, dict) and ack.get("ok")):
        log.error("the hub refused the screen's status report: %r", ack)


def hub_clock_offset(url: str, timeout: float = 5.0, now=time.monotonic) -> float | None:
    """The hub's wall time less ``now()`` (any clock in seconds), from the ``Date`` of a small answer
    (the icon's redirect), or None when the hub cannot say. Good to a second: a wall clock."""
    sent = now()
    try:
        response = requests.get(f"{url.rstrip('/')}/favicon.ico", allow_redirects=False, timeout=timeout)
        hub = parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (requests.RequestException, KeyError, TypeError, ValueError) as error:
        log.warning("could not read the hub's clock: %s", error)
        return None
    return hub + 0.5 - (sent + now()) / 2  # the Date is whole seconds; the answer came halfway
