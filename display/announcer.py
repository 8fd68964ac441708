"""The announcement player: its own first-in first-out queue in front of one speaker.

``tick()`` is called from the main loop. It starts the next announcement only when the
speaker is idle and the previous slot is over, so a burst of calls plays in order, none
cut off, none dropped, never two at once. Each call gets a slot of at least
``min_slot_seconds`` (the board shows it large meanwhile, even with no sound) plus a short
``gap_seconds`` so consecutive announcements do not run together.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from .audio import ClipLibrary
from .model import Call

log = logging.getLogger(__name__)


class Announcer:
    def __init__(self, speaker, clips: ClipLibrary, clock=time.monotonic, on_start=None, still_due=None,
                 gap_seconds: float = 0.6, min_slot_seconds: float = 3.0):
        self.speaker = speaker
        self.clips = clips
        self.clock = clock
        self.on_start = on_start or (lambda call: None)
        self.still_due = still_due or (lambda call: True)  # asked when a call's turn comes
        self.gap_seconds = gap_seconds
        self.min_slot_seconds = min_slot_seconds
        self.pending: deque[Call] = deque()
        self._free_at = 0.0

    def enqueue(self, call: Call) -> None:
        self.pending.append(call)

    @property
    def idle(self) -> bool:
        return not self.pending and not self.speaker.busy() and self.clock() >= self._free_at

    def tick(self) -> Call | None:
        """Start the next announcement if its turn has come; return it. Calls no longer due when
        their turn comes (``still_due``) are dropped unsaid."""
        if not self.pending or self.clock() < self._free_at or self.speaker.busy():
            return None
        while self.pending:
            call = self.pending.popleft()
            if self.still_due(call):
                break
            log.info("not announcing call %s (%s → quầy %s): no longer due", call.call_id, call.number, call.counter)
        else:
            return None
        clips = self.clips.resolve(call.clips)
        if not clips:
            log.warning("call %s (%s → quầy %s) has no playable clip", call.call_id, call.number, call.counter)
        start = self.clock()
        duration = self.speaker.play(call.call_id, clips) if clips else 0.0
        log.info("announcing call %s: %s → quầy %s%s (%.1f s)", call.call_id, call.number, call.counter,
                 " (recall)" if call.recall else "", duration)
        self._free_at = start + max(duration, self.min_slot_seconds) + self.gap_seconds
        self.on_start(call)
        return call
