"""The screen's health, reported to the hub: who it is, whether it can speak, what it last said.

After joining ``display`` the screen sends ``screen_status`` (see docs/api.md)::

    {"screen": "pygame-pi-sanh-3fa2c1d0", "kind": "pygame", "name": "Sảnh tầng 1" | null,
     "sound": "ok" | "off" | "failed", "last_announcement": {"call_id", "played_at"} | null,
     "counters": [1, 2, 3]}            # only when the screen shows some counters only

at once after each join, every ``HEARTBEAT_SECONDS``, and at once when its sound changes or
an announcement finishes. The supervisor's dashboard lists the screen and raises an alert
when it loses sound, goes silent or falls off.

- The id is stable across restarts: made once (``pygame-<host>-<random>``) and kept in a
  small file (``$XDG_STATE_HOME/hall-display/screen-id``, by default
  ``~/.local/state/hall-display/screen-id``); where that cannot be written it is derived from
  the machine (``/etc/machine-id``). ``--screen-id`` sets it outright.
- Sound: ``ok`` with the real mixer open; ``off`` with the fake speaker chosen on purpose
  (``--audio fake``: the counter-top screen, a screenshot), which plays nothing by design and
  raises no alert; ``failed`` when the real mixer was asked for but could not open (the
  board then runs on the fake speaker) or has closed since, or when the pack cannot be
  loaded or the last announcement left clips out (missing or broken files: the hall heard
  the call with words missing), until an announcement is heard whole. A pygame screen is
  never ``blocked``: that is a browser's autoplay refusal.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import socket
import time
import uuid
from pathlib import Path

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
SCREEN_ID_MAX = 64
MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def state_directory() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "hall-display"


def _valid_id(text: str) -> bool:
    return 0 < len(text) <= SCREEN_ID_MAX and text.isprintable() and text == text.strip()


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", socket.gethostname()).strip("-")[:30] or "screen"


def screen_id(path: str | os.PathLike | None = None) -> str:
    """This screen's stable id: read from ``path`` (default under :func:`state_directory`),
    made and kept there the first time, or derived from the machine if it cannot be kept."""
    path = Path(path) if path else state_directory() / "screen-id"
    try:
        kept = path.read_text(encoding="utf-8").strip()
        if _valid_id(kept):
            return kept
    except (OSError, UnicodeDecodeError):  # missing, or garbled by a power cut while it was written
        pass
    made = f"pygame-{_host()}-{uuid.uuid4().hex[:8]}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(made + "\n", encoding="utf-8")
        return made
    except OSError as error:
        log.warning("cannot keep the screen id in %s (%s): deriving it from the machine", path, error)
    for name in MACHINE_ID_FILES:
        try:
            machine = Path(name).read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if machine:
            return f"pygame-{_host()}-{hashlib.sha256(machine.encode()).hexdigest()[:8]}"
    return f"pygame-{_host()}"


def sound_state(requested: str, speaker, clips=None) -> str:
    """``ok``, ``off`` (the fake speaker, chosen) or ``failed`` (see the module's notes);
    ``clips`` is the board's ClipLibrary."""
    from .audio import FakeSpeaker

    if isinstance(speaker, FakeSpeaker):
        return "off" if requested == "fake" else "failed"
    import pygame

    if not pygame.mixer.get_init():
        return "failed"
    return "failed" if clips is not None and clips.problem else "ok"


class Health:
    """What the screen tells the hub, and when. ``sound()`` is asked at every :meth:`report`."""

    def __init__(self, screen: str, *, name: str | None = None, counters=None, sound=lambda: "ok",
                 clock=time.monotonic, wall=time.time, heartbeat_seconds: float = HEARTBEAT_SECONDS):
        self.screen, self.name = screen, name
        self.counters = sorted(counters) if counters is not None else None
        self.sound = sound
        self.clock, self.wall = clock, wall
        self.heartbeat_seconds = heartbeat_seconds
        self.last_announcement: dict | None = None
        self._sent_at: float | None = None  # None: report at the next chance
        self._sent_sound: str | None = None

    def status(self, sound: str | None = None) -> dict:
        status = {"screen": self.screen, "kind": "pygame", "name": self.name, "sound": sound or self.sound(),
                  "last_announcement": self.last_announcement}
        if self.counters is not None:
            status["counters"] = self.counters
        return status

    def joined(self) -> None:
        """The screen (re)joined the display room: report at once."""
        self._sent_at = None

    def announced(self, call_id: str) -> None:
        """An announcement finished: remember it, and report at once."""
        self.last_announcement = {"call_id": call_id, "played_at": round(self.wall(), 3)}
        self._sent_at = None

    def report(self, send) -> bool:
        """Call ``send(status)`` if a report is due (joined, heartbeat, sound changed, announced);
        ``send`` returns whether it went out (not while offline). True if sent."""
        sound = self.sound()
        due = (self._sent_at is None or sound != self._sent_sound
               or self.clock() - self._sent_at >= self.heartbeat_seconds)
        if not due or not send(self.status(sound)):
            return False
        self._sent_at, self._sent_sound = self.clock(), sound
        return True
