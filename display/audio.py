"""The clip pack and the speaker: real output through pygame's mixer, or a fake that records.

The speaker is hardware, so it sits behind a small interface (``play``, ``busy``, ``close``)
with two implementations chosen by name, the way gpiozero picks a pin factory:
``--audio`` or ``HALL_DISPLAY_AUDIO`` = ``pygame`` (default) or ``fake``.

A pack is the ``sounds/`` format of ``hallserver.voice.pack``: ``manifest.json`` with
``{"sample_rate", "playback": {"gap_seconds", "after_chime_seconds"}, "clips": {clip_id:
{"file", "duration", ...}}}``. A clip that is not in the manifest, whose file is missing, or
that does not decode is logged once and skipped; an announcement never crashes, and
``ClipLibrary.problem`` says why the last one was not heard whole (the screen then reports its
sound ``failed``, as a browser screen does).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

from hallserver.voice import CHIME
from hallserver.voice.pack import PLAYBACK, PackError, clip_file_problem, load_manifest, voice_pack_dir

log = logging.getLogger(__name__)

AUDIO_BACKENDS = ("pygame", "fake")
DEFAULT_SAMPLE_RATE = 22050
FALLBACK_CLIP_SECONDS = 0.5  # when the manifest gives no duration


@dataclass(frozen=True)
class Clip:
    """A playable clip, and the silence the pack wants after it before the next one."""

    id: str
    path: Path
    duration: float
    pause_after: float = 0.0


class ClipLibrary:
    """The clips of one pack (``hallserver.voice.pack`` format), by id."""

    def __init__(self, directory: str | os.PathLike | None):
        self.root = self.directory = Path(directory) if directory else None
        self.manifest: dict = {"clips": {}}
        self._reported: set[str] = set()
        self._file_problems: dict[str, str | None] = {}  # clip id → why its file cannot play (checked once)
        self._pack_problem: str | None = None
        self.problem: str | None = None  # why the pack, or the last announcement, cannot be heard whole
        if self.directory is None:
            log.warning("no clip pack given: announcements will be silent")
            self.problem = self._pack_problem = "no clip pack given"
            return
        self._load(self.directory)

    def _load(self, directory: Path) -> None:
        self.directory = directory
        self._reported, self._file_problems = set(), {}
        try:
            self.manifest = load_manifest(directory)
            self._pack_problem = None
        except PackError as error:
            self.manifest = {"clips": {}}
            self._pack_problem = str(error)
            log.error("%s: announcements will be silent", error)
        self.problem = self._pack_problem

    def follow_voice(self, voice: str | None) -> None:
        """Play the hall's regional ``voice`` (from the hub's state): ``<pack>/<voice>/`` when
        the given pack folder holds one, else the folder itself (the hub's own rule)."""
        if self.root is None or not voice:
            return
        try:
            directory = voice_pack_dir(self.root, voice)
        except PackError as error:  # a voice this board's hallserver does not know yet
            log.warning("%s: keeping %s", error, self.directory)
            return
        if directory != self.directory:
            log.info("the hall speaks %s: clips from %s", voice, directory)
            self._load(directory)

    @property
    def entries(self) -> dict[str, dict]:
        return self.manifest["clips"]

    def sample_rate(self) -> int:
        """The pack's sample rate, so the mixer can open at it and not resample."""
        return int(self.manifest.get("sample_rate") or DEFAULT_SAMPLE_RATE)

    def resolve(self, clip_ids) -> list[Clip]:
        """The playable clips among ``clip_ids``, in order, with the pack's pauses between them.

        A missing or broken clip is logged (once per id) and skipped; the rest still play,
        and :attr:`problem` names what was left out (None when nothing was).
        """
        playback = {**PLAYBACK, **self.manifest.get("playback", {})}
        clips, lacking = [], []
        for clip_id in clip_ids:
            entry = self.entries.get(clip_id)
            path = self.directory / entry["file"] if entry else None
            why = "not in the manifest" if entry is None else self._file_problem(clip_id, path)
            if why:
                self.report_missing(clip_id, why)
                lacking.append(clip_id)
                continue
            pause = playback["after_chime_seconds"] if clip_id == CHIME else playback["gap_seconds"]
            clips.append(Clip(clip_id, path, float(entry.get("duration") or FALLBACK_CLIP_SECONDS), pause))
        if clips:
            clips[-1] = replace(clips[-1], pause_after=0.0)
        self.problem = self._pack_problem or (
            f"missing or broken clip(s): {', '.join(dict.fromkeys(lacking))}" if lacking else None)
        return clips

    def _file_problem(self, clip_id: str, path: Path) -> str | None:
        """Why the clip's file cannot play (missing, not the pack's WAV), or None; a file is read once."""
        if not path.is_file():
            return f"no file {path}"
        if clip_id not in self._file_problems:
            problem = clip_file_problem(path, self.sample_rate())
            self._file_problems[clip_id] = f"{path}: {problem}" if problem else None
        return self._file_problems[clip_id]

    def report_missing(self, clip_id: str, why: str) -> None:
        if clip_id not in self._reported:
            self._reported.add(clip_id)
            log.warning("skipping clip %r: %s", clip_id, why)


def announcement_seconds(clips: list[Clip]) -> float:
    return sum(clip.duration + clip.pause_after for clip in clips)


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
        duration = announcement_seconds(clips)
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

    def _silence(self, seconds: float) -> bytes:
        frequency, size, channels = self._pygame.mixer.get_init()
        frame = abs(size) // 8 * channels
        return bytes(frame * round(seconds * frequency))  # zero is silence in signed formats

    def play(self, call_id: str, clips: list[Clip]) -> float:
        parts = []
        for clip in clips:
            sound = self._sound(clip)
            if sound is not None:
                parts += [sound.get_raw(), self._silence(clip.pause_after)]
        if not parts:
            return 0.0
        joined = self._pygame.mixer.Sound(buffer=b"".join(parts))
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
