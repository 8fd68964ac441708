"""The voice clip pack: build it, check it, load it, play it.

A pack is a folder of mono 16-bit WAV clips at one sample rate plus ``manifest.json``::

    {"manifest_version": 1, "format": "wav", "sample_rate": 22050, "channels": 1,
     "sample_width": 2, "engine": "espeak-ng", "engine_version": "1.51",
     "voices": {"vi": "vi", "en": "en-us"}, "dialects": [...], "templates": [...],
     "second_languages": ["en"], "templates_en": [...],
     "playback": {"gap_seconds": 0.02, "after_chime_seconds": 0.05},
     "clips": {"num.mu7o7i2": {"file": "num.mu7o7i2.wav", "text": "mười", "language": "vi",
                               "engine": "espeak-ng", "voice": "vi", "sample_rate": 22050,
                               "duration": 0.312}, ...}}

Clip ids and texts come from :mod:`hallserver.voice.announcements`; the engines that speak
them are in :mod:`.engines`, the audio clean-up every clip gets in :mod:`.audio`. Players
put ``playback.gap_seconds`` of silence between clips (longer after the chime).
:func:`measure_pack` tells how even a pack sounds (loudness spread, silence margins),
:func:`call_timing` when the number of a call starts; :func:`voice_pack_dir` finds the pack
of a regional voice (``sounds/`` Northern, ``sounds/vi-vn-x-central/``, ``sounds/vi-vn-x-south/``).

WAV is used because pygame and every browser play it without codecs; clips are short, so
a pack stays around two megabytes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .announcements import CHIME, PAUSE, PAUSE_SECONDS, VOICES, Clip
from .audio import (
    CHANNELS,
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    SILENCE_BELOW_PEAK_DB,
    PackError,
    SynthesisError,
    chime_samples,
    decode_audio,
    integrated_loudness,
    pause_samples,
    process_clip,
    read_wav,
    sound_bounds,
    wav_bytes,
)
from .engines import Engine

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
# Every clip already has MARGIN_SECONDS of silence at each end, so a short gap joins words
# at a speaking rhythm; the chime's own ring-out is the pause after it.
PLAYBACK = {"gap_seconds": 0.02, "after_chime_seconds": 0.05}
# The chime and the pause are generated, not spoken: their manifest entries name this
# engine and these voices.
GENERATED_ENGINE = "generated"
GENERATED_VOICES = {CHIME: "ding-dong", PAUSE: "silence"}


# ---------------------------------------------------------------------------
# Building


def _clip_file_name(clip_id: str) -> str:
    return f"{clip_id}.wav"


def render_clip(
    clip: Clip,
    engine: Engine,
    voice: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> array:
    """The processed samples of one clip, retrying the engine with doubling waits.

    A clip that fails, comes back empty, does not decode or is silent on every attempt
    raises SynthesisError; nothing is recorded for it.
    """
    if clip.id == CHIME:
        return chime_samples()
    if clip.id == PAUSE:
        return pause_samples(PAUSE_SECONDS)
    if any(char.isdigit() for char in clip.text):
        # Engines read digits their own way (espeak: 15 → "mười năm"); clips are words.
        raise PackError(f"clip {clip.id} has digits in its text {clip.text!r}")
    problem = ""
    for attempt in range(1, engine.attempts + 1):
        try:
            return process_clip(decode_audio(engine.clip_audio(clip, voice)))
        except Exception as exc:  # any engine, network or decoding failure: try again
            problem = f"{type(exc).__name__}: {exc}"
        if attempt < engine.attempts:
            sleep(engine.retry_delay_seconds * 2 ** (attempt - 1))
    raise SynthesisError(
        f"clip {clip.id} ({clip.text!r}): {engine.name} gave no usable audio "
        f"after {engine.attempts} attempt(s): {problem}"
    )


def build_pack(
    out_dir: str | os.PathLike,
    clips: Mapping[str, Clip],
    engine: Engine,
    voices: Mapping[str, str],
    *,
    settings: Mapping[str, object] | None = None,
    keep_existing: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Build the clips into ``out_dir`` and write its manifest; returns the manifest.

    Clips are rendered into a staging folder and each file is read back before anything in
    ``out_dir`` changes; if any clip fails, ``out_dir`` (and its old manifest) is left as it
    was. ``keep_existing`` keeps clips the old manifest already has and builds only the
    rest (a changed template, a recorded voice completed bit by bit). ``settings`` is
    recorded in the manifest (dialects, templates...). ``progress`` is called with each
    clip id about to be rendered.
    """
    _check_can_build(clips, engine, voices)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    old_clips = _old_clip_entries(out)
    kept = _reusable_entries(out, old_clips, clips) if keep_existing else {}
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    try:
        entries = _render_clips(staging, clips, kept, engine, voices, sleep=sleep, progress=progress)
        _verify_staged_files(staging)
        manifest = _manifest(engine, voices, settings, entries)
        _publish(staging, out, manifest)
        _remove_stale_clips(out, old_clips, entries)
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _check_can_build(clips: Mapping[str, Clip], engine: Engine, voices: Mapping[str, str]) -> None:
    """PackError before anything is written: the engine cannot run, or a language has no voice."""
    engine.check_available()
    languages = {clip.language for clip in clips.values() if clip.id not in GENERATED_VOICES}
    if languages - set(voices):
        raise PackError(f"no voice given for language(s): {', '.join(sorted(languages - set(voices)))}")


def _old_clip_entries(out: Path) -> dict:
    """The clip entries of the manifest already in ``out``; none if it is missing or broken."""
    if not (out / MANIFEST_NAME).exists():
        return {}
    try:
        return load_manifest(out)["clips"]
    except PackError:
        return {}  # a broken old manifest is simply replaced


def _reusable_entries(out: Path, old_clips: Mapping[str, dict], clips: Mapping[str, Clip]) -> dict[str, dict]:
    """The old entries ``keep_existing`` keeps: still wanted, at the pack's rate, file present."""
    return {
        clip_id: entry
        for clip_id, entry in old_clips.items()
        if clip_id in clips and entry.get("sample_rate") == SAMPLE_RATE and (out / entry["file"]).is_file()
    }


def _render_clips(
    staging: Path,
    clips: Mapping[str, Clip],
    kept: Mapping[str, dict],
    engine: Engine,
    voices: Mapping[str, str],
    *,
    sleep: Callable[[float], None],
    progress: Callable[[str], None] | None,
) -> dict[str, dict]:
    """Every clip's manifest entry: the kept ones as they were, the others rendered into ``staging``."""
    entries: dict[str, dict] = {}
    for clip_id, clip in clips.items():
        if clip_id in kept:
            entries[clip_id] = kept[clip_id]
            continue
        if progress:
            progress(clip_id)
        entries[clip_id] = _stage_clip(staging, clip_id, clip, engine, voices, sleep=sleep)
    return entries


def _stage_clip(
    staging: Path,
    clip_id: str,
    clip: Clip,
    engine: Engine,
    voices: Mapping[str, str],
    *,
    sleep: Callable[[float], None],
) -> dict:
    """Render one clip into a WAV file in ``staging``; its manifest entry."""
    generated = clip_id in GENERATED_VOICES
    clip_voice = GENERATED_VOICES[clip_id] if generated else voices[clip.language]
    samples = render_clip(clip, engine, clip_voice, sleep=sleep)
    file_name = _clip_file_name(clip_id)
    (staging / file_name).write_bytes(wav_bytes(samples))
    return {
        "file": file_name,
        "text": clip.text,
        "language": clip.language,
        "engine": GENERATED_ENGINE if generated else engine.name,
        "voice": clip_voice,
        "sample_rate": SAMPLE_RATE,
        "duration": round(len(samples) / SAMPLE_RATE, 3),
    }


def _verify_staged_files(staging: Path) -> None:
    """PackError unless every new file decodes: nothing is published before that."""
    for file in staging.iterdir():
        problem = clip_file_problem(file)
        if problem:
            raise PackError(f"{file.name}: {problem}")


def _manifest(
    engine: Engine, voices: Mapping[str, str], settings: Mapping[str, object] | None, entries: Mapping[str, dict]
) -> dict:
    """The pack's manifest.json content (see the module docstring)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "format": "wav",
        "sample_rate": SAMPLE_RATE,
        "channels": CHANNELS,
        "sample_width": SAMPLE_WIDTH,
        "engine": engine.name,
        "engine_version": engine.version(),
        "voices": dict(voices),
        **dict(settings or {}),
        "playback": PLAYBACK,
        "clips": dict(sorted(entries.items())),
    }


def _publish(staging: Path, out: Path, manifest: dict) -> None:
    """Move the staged clips into ``out``, then swap in the new manifest atomically."""
    for file in staging.iterdir():
        os.replace(file, out / file.name)
    manifest_tmp = staging / MANIFEST_NAME
    manifest_tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(manifest_tmp, out / MANIFEST_NAME)


def _remove_stale_clips(out: Path, old_clips: Mapping[str, dict], entries: Mapping[str, dict]) -> None:
    """Delete the files of old clips the new manifest no longer lists."""
    for clip_id, entry in old_clips.items():
        stale = out / entry.get("file", "")
        if clip_id not in entries and _is_safe_file_name(entry.get("file")) and stale.is_file():
            stale.unlink()


# ---------------------------------------------------------------------------
# Loading and checking (used by the hall screen too)


def _is_safe_file_name(name: object) -> bool:
    return isinstance(name, str) and bool(re.fullmatch(r"[A-Za-z0-9._-]+", name)) and not name.startswith(".")


def load_manifest(directory: str | os.PathLike) -> dict:
    """The parsed ``manifest.json`` of the pack in ``directory``; PackError if unusable."""
    path = Path(directory) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackError(f"no sound pack in {directory}: {MANIFEST_NAME} is missing") from None
    except (OSError, ValueError) as exc:
        raise PackError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != MANIFEST_VERSION:
        raise PackError(f"{path}: not a version {MANIFEST_VERSION} sound pack manifest")
    if manifest.get("format") != "wav" or not isinstance(manifest.get("sample_rate"), int):
        raise PackError(f"{path}: expected format 'wav' and an integer sample_rate")
    clips = manifest.get("clips")
    if not isinstance(clips, dict):
        raise PackError(f"{path}: 'clips' must be an object")
    for clip_id, entry in clips.items():
        if not isinstance(entry, dict) or not _is_safe_file_name(entry.get("file")):
            raise PackError(f"{path}: clip {clip_id!r} needs a plain file name in the pack folder")
    return manifest


@dataclass(frozen=True)
class SoundPack:
    """A loaded pack: where each clip's file is."""

    directory: Path
    manifest: dict

    @classmethod
    def load(cls, directory: str | os.PathLike) -> SoundPack:
        return cls(Path(directory), load_manifest(directory))

    @property
    def sample_rate(self) -> int:
        return self.manifest["sample_rate"]

    def __contains__(self, clip_id: str) -> bool:
        return clip_id in self.manifest["clips"]

    def path(self, clip_id: str) -> Path:
        """The clip's file; KeyError if the pack has no such clip."""
        return self.directory / self.manifest["clips"][clip_id]["file"]

    def missing(self, clip_ids: Iterable[str]) -> list[str]:
        """The ids, in order and without repeats, that this pack cannot play."""
        seen: dict[str, None] = {}
        for clip_id in clip_ids:
            if clip_id not in self or not self.path(clip_id).is_file():
                seen.setdefault(clip_id)
        return list(seen)

    def samples(self, clip_id: str) -> array:
        samples, rate = read_wav(self.path(clip_id).read_bytes())
        if rate != self.sample_rate:
            raise PackError(f"{clip_id}: {rate} Hz, the pack is {self.sample_rate} Hz")
        return samples

    def render(self, clip_ids: Iterable[str]) -> bytes:
        """One WAV file with the clips in order and the pack's playback gaps between them.

        For players that prefer one sound per announcement (a browser, pygame.mixer.Sound).
        Raises PackError naming the missing clips.
        """
        clip_ids = list(clip_ids)
        missing = self.missing(clip_ids)
        if missing:
            raise PackError(f"the sound pack has no clip(s): {', '.join(missing)}")
        joined = array("h")
        for clip_id, gap in zip(clip_ids, self.gaps_before(clip_ids), strict=True):
            joined.extend(array("h", bytes(2 * int(gap * self.sample_rate))))
            joined.extend(self.samples(clip_id))
        return wav_bytes(joined, self.sample_rate)

    def gaps_before(self, clip_ids: list[str]) -> list[float]:
        """The silence players put before each clip, in seconds: none before the first,
        ``after_chime_seconds`` after the chime, ``gap_seconds`` between the others."""
        playback = {**PLAYBACK, **self.manifest.get("playback", {})}
        gaps = [playback["after_chime_seconds"] if previous == CHIME else playback["gap_seconds"]
                for previous in clip_ids[:-1]]
        return [0.0, *gaps] if clip_ids else []


def load_pack(directory: str | os.PathLike) -> SoundPack:
    """The pack in ``directory``; PackError if its manifest is missing or malformed."""
    return SoundPack.load(directory)


def voice_pack_dir(root: str | os.PathLike, voice: str) -> Path:
    """The pack a hall with regional ``voice`` plays, under ``root``.

    ``root/<voice>/`` when it holds a pack (the shipped ``sounds/vi-vn-x-central/``...), else
    ``root`` itself: the shipped ``sounds/`` is the northern ``vi`` pack, and a folder with one
    pack (a recorded human voice) serves whatever voice the hall names.
    """
    if voice not in VOICES:
        raise PackError(f"unknown voice {voice!r}; expected one of {', '.join(VOICES)}")
    regional = Path(root) / voice
    return regional if (regional / MANIFEST_NAME).is_file() else Path(root)


@dataclass(frozen=True)
class PackLoudness:
    """How even a pack sounds: each spoken clip's integrated loudness (LUFS, ITU-R BS.1770)
    and its silence before and after the sound, in seconds."""

    lufs: dict[str, float]
    margins: dict[str, tuple[float, float]]

    @property
    def spread(self) -> float:
        """Loudest minus quietest clip, in LU."""
        return max(self.lufs.values()) - min(self.lufs.values())

    def summary(self) -> str:
        leads = [lead for lead, _ in self.margins.values()]
        tails = [tail for _, tail in self.margins.values()]
        return (f"{len(self.lufs)} spoken clips, integrated loudness {min(self.lufs.values()):.1f} to "
                f"{max(self.lufs.values()):.1f} LUFS (spread {self.spread:.2f} LU); silence before the sound "
                f"{min(leads) * 1000:.0f}-{max(leads) * 1000:.0f} ms, after it "
                f"{min(tails) * 1000:.0f}-{max(tails) * 1000:.0f} ms")


def measure_pack(directory: str | os.PathLike) -> PackLoudness:
    """Measure every spoken clip of the pack (not the generated chime and pause)."""
    pack = load_pack(directory)
    lufs, margins = {}, {}
    for clip_id, entry in pack.manifest["clips"].items():
        if clip_id in GENERATED_VOICES or entry.get("engine") == GENERATED_ENGINE:
            continue
        samples = pack.samples(clip_id)
        # a few dB under the trimming threshold: a sample the trim kept right at the threshold
        # (then scaled, rounded, limited) is still sound here
        bounds = sound_bounds(samples, pack.sample_rate, SILENCE_BELOW_PEAK_DB - 3)
        if bounds is None:
            raise PackError(f"{clip_id}: the clip is silent")
        lufs[clip_id] = integrated_loudness(samples, pack.sample_rate)
        margins[clip_id] = (bounds[0] / pack.sample_rate, (len(samples) - 1 - bounds[1]) / pack.sample_rate)
    if not lufs:
        raise PackError(f"{directory}: the pack has no spoken clip")
    return PackLoudness(lufs, margins)


@dataclass(frozen=True)
class CallTiming:
    """When the ticket number starts in an announcement and how long it lasts, in seconds
    from the start of the chime: ``number_clips_seconds`` adds up the clips before the
    number (chime included); ``number_seconds`` adds the players' gaps too."""

    number_clips_seconds: float
    number_seconds: float
    total_seconds: float


def call_timing(directory: str | os.PathLike, clip_ids: Iterable[str]) -> CallTiming:
    """The timing of ``clip_ids`` played from the pack in ``directory`` (see ``SoundPack.render``)."""
    pack = load_pack(directory)
    clip_ids = list(clip_ids)
    first = next(i for i, clip_id in enumerate(clip_ids) if clip_id.startswith(("num.", "letter.")))
    durations = [len(pack.samples(clip_id)) / pack.sample_rate for clip_id in clip_ids]
    gaps = pack.gaps_before(clip_ids)
    return CallTiming(sum(durations[:first]), sum(durations[:first]) + sum(gaps[:first + 1]),
                      sum(durations) + sum(gaps))


def clip_file_problem(path: Path, sample_rate: int = SAMPLE_RATE) -> str | None:
    """Why the clip file at ``path`` cannot be played (unreadable, not mono 16-bit WAV at
    ``sample_rate``, empty), or None."""
    try:
        samples, rate = read_wav(path.read_bytes())
    except OSError as exc:
        return f"cannot read: {exc}"
    except PackError as exc:
        return str(exc)
    if rate != sample_rate:
        return f"{rate} Hz instead of {sample_rate} Hz"
    if not samples:
        return "no audio"
    return None


def verify_pack(directory: str | os.PathLike, clip_ids: Iterable[str] | None = None) -> list[str]:
    """Problems that would stop the pack playing ``clip_ids`` (default: all its clips).

    An empty list means every clip is listed, its file exists and decodes as mono 16-bit
    WAV at the pack's sample rate.
    """
    try:
        pack = load_pack(directory)
    except PackError as exc:
        return [str(exc)]
    wanted = list(pack.manifest["clips"]) if clip_ids is None else list(dict.fromkeys(clip_ids))
    problems = []
    for clip_id in wanted:
        if clip_id not in pack:
            problems.append(f"{clip_id}: not in the manifest")
            continue
        problem = clip_file_problem(pack.path(clip_id), pack.sample_rate)
        if problem:
            problems.append(f"{clip_id} ({pack.manifest['clips'][clip_id]['file']}): {problem}")
    return problems
