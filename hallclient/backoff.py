"""Delays between reconnection attempts."""

from __future__ import annotations

import random


class Backoff:
    """Doubling from ``initial`` up to ``maximum``, ± ``jitter`` (a fraction), so several
    clients do not hammer a restarting hub in step. ``rand`` returns a float in [0, 1)."""

    def __init__(self, initial: float = 0.5, maximum: float = 5.0, jitter: float = 0.2, rand=random.random):
        self.initial, self.maximum, self.jitter, self.rand = initial, maximum, jitter, rand
        self.attempt = 0

    def next_delay(self) -> float:
        delay = min(self.maximum, self.initial * 2 ** self.attempt)
        self.attempt += 1
        return delay * (1 + self.jitter * (2 * self.rand() - 1))

    def reset(self) -> None:
        self.attempt = 0
