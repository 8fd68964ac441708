"""The clip pack and the speaker: real output through pygame's mixer, or a fake that records.

The speaker is hardware, so it sits behind a small interface (``play``, ``busy``, ``close``)
with two implementations chosen by name, the way gpiozero picks a pin factory:
``--audio`` or ``HALL_DISPLAY_AUDIO`` = ``pygame`` (default) or ``fake``.

A pack is a directory with ``manifest.json``: ``{"clips": {clip_id: {"file", "duration",
...}}}``, files relative to the manifest. A clip that is not in the manifest, whose file is
missing, or that fails to load is logged once and skipped; an announcement never crashes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import Counter as Tally
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

AUDIO_BACKENDS = ("pygame", "fake")
DEFAULT_SAMPLE_RATE = 22050
FALLBACK_CLIP_SECONDS = 0.5  # when the manifest gives no duration


@dataclass(frozen=True)
class Clip:
    id: str
    path: Path
    duration: float


class ClipLibrary:
    """The clips of one pack, by id."""

    def __init__(self, directory: str | os.PathLike | None):
        self.directory = Path(directory) if directory else None
        self.entries: dict[str, dict] = {}
        self._reported: set[str] = set()
        if self.directory is None:
            log.warning("no clip pack given: announcements will be silent")
            return
        manifest = self.directory / "manifest.json"
        try:
            self.entries = dict(json.loads(manifest.read_text(encoding="utf-8"))["clips"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            log.error("cannot read clip manifest %s (%s): announcements will be silent", manifest, error)

    def sample_rate(self) -> int:
        """The pack's most common sample rate, so the mixer can open at it and not resample."""
        rates = Tally(entry.get("sample_rate") for entry in self.entries.values() if entry.get("sample_rate"))
        return int(rates.most_common(1)[0][0]) if rates else DEFAULT_SAMPLE_RATE

    def resolve(self, clip_ids) -> list[Clip]:
        """The playable clips among ``clip_ids``, in order; missing ones are logged and skipped."""
        clips = []
        for clip_id in clip_ids:
            entry = self.entries.get(clip_id)
            path = self.directory / entry["file"] if entry and self.directory and entry.get("file") else None
            if path is None or not path.is_file():
                self.report_missing(clip_id, "not in the manifest" if entry is None else f"no file {path}")
                continue
            clips.append(Clip(clip_id, path, float(entry.get("duration") or FALLBACK_CLIP_SECONDS)))
        return clips

    def report_missing(self, clip_id: str, why: str) -> None:
        if clip_id not in self._reported:
            self._reported.add(clip_id)
            log.warning("skipping clip %r: %s", clip_id, why)


@dataclass(frozen=True)
class Playback:
    """What a speaker played: one announcement, its clips and when."""

    call_id: str
    clip_ids: tuple[str, ...]
    started_at: float
    ends_at: float


class FakeSpeaker:
    """Records what would play, with timestamps from ``clock``; busy for the clips' duration."""

    def __init__(self, clock=time.monotonic, keep: int | None = None):
        self.clock = clock
        self.keep = keep
        self._lock = threading.Lock()  # tests read ``played`` from another thread
        self._played: list[Playback] = []

    def play(self, call_id: str, clips: list[Clip]) -> float:
        duration = sum(clip.duration for clip in clips)
        start = self.clock()
        with self._lock:
            self._played.append(Playback(call_id, tuple(clip.id for clip in clips), start, start + duration))
            if self.keep is not None:
                del self._played[: -self.keep]
        log.info("speaker (fake): call %s, %d clips, %.2f s", call_id, len(clips), duration)
        return duration

    def busy(self) -> bool:
        with self._lock:
            return bool(self._played) and self.clock() < self._played[-1].ends_at

    @property
    def played(self) -> list[Playback]:
        with self._lock:
            return list(self._played)

    def close(self) -> None:
        pass


class PygameSpeaker:
    """pygame.mixer output: an announcement's clips joined into one Sound on one reserved channel.

    Joining the clips (raw samples in the mixer's format) makes the announcement gapless
    and means one channel plays one announcement; the announcer never starts the next
    before this channel is idle, so two announcements never overlap.
    """

    def __init__(self):
        import pygame

        self._pygame = pygame
        if not pygame.mixer.get_init():
            pygame.mixer.init()
        pygame.mixer.set_reserved(1)
        self.channel = pygame.mixer.Channel(0)
        self._sounds: dict[str, object] = {}
        self._playing = None  # keep the joined Sound alive while it plays

    def _sound(self, clip: Clip):
        if clip.id not in self._sounds:
            try:
                self._sounds[clip.id] = self._pygame.mixer.Sound(str(clip.path))
            except (self._pygame.error, OSError) as error:
                log.warning("skipping clip %r: cannot load %s (%s)", clip.id, clip.path, error)
                self._sounds[clip.id] = None
        return self._sounds[clip.id]

    def play(self, call_id: str, clips: list[Clip]) -> float:
        sounds = [sound for sound in map(self._sound, clips) if sound is not None]
        if not sounds:
            return 0.0
        joined = self._pygame.mixer.Sound(buffer=b"".join(sound.get_raw() for sound in sounds))
        self._playing = joined
        self.channel.play(joined)
        return joined.get_length()

    def busy(self) -> bool:
        return self.channel.get_busy()

    def close(self) -> None:
        self.channel.stop()


def make_speaker(backend: str, clock=time.monotonic):
    """The speaker for ``backend``; if the real mixer cannot open, log it and fall back to fake."""
    if backend not in AUDIO_BACKENDS:
        raise ValueError(f"unknown audio backend {backend!r}; expected one of {', '.join(AUDIO_BACKENDS)}")
    if backend == "pygame":
        try:
            return PygameSpeaker()
        except Exception as error:  # no sound card, no driver: the board still has to work
            log.error("audio output unavailable (%s); announcements will only be logged", error)
    return FakeSpeaker(clock=clock, keep=100)
