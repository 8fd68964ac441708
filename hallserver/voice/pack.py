"""The voice clip pack: build it (espeak-ng, gTTS or recordings), check it, load it, play it.

A pack is a folder of mono 16-bit WAV clips at one sample rate plus ``manifest.json``::

    {"manifest_version": 1, "format": "wav", "sample_rate": 22050, "channels": 1,
     "sample_width": 2, "engine": "espeak-ng", "engine_version": "1.51",
     "voices": {"vi": "vi", "en": "en-us"}, "dialects": [...], "templates": [...],
     "second_languages": ["en"], "templates_en": [...],
     "playback": {"gap_seconds": 0.06, "after_chime_seconds": 0.3},
     "clips": {"num.mu7o7i2": {"file": "num.mu7o7i2.wav", "text": "mười", "language": "vi",
                               "engine": "espeak-ng", "voice": "vi", "sample_rate": 22050,
                               "duration": 0.312}, ...}}

Clip ids and texts come from :mod:`hallserver.voice`. Every clip is trimmed of leading and
trailing silence and loudness-normalised, so clips from any source join evenly; players put
``playback.gap_seconds`` of silence between clips (longer after the chime).

WAV is used because pygame and every browser play it without codecs; clips are short, so
the whole pack stays around a megabyte.
"""

from __future__ import annotations

import abc
import io
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from .announcements import CHIME, Clip

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
SAMPLE_RATE = 22050
SAMPLE_WIDTH = 2
CHANNELS = 1
PLAYBACK = {"gap_seconds": 0.06, "after_chime_seconds": 0.3}

FULL_SCALE = 32767
# Active-speech RMS level every clip is brought to, and the ceiling its peaks must stay under.
TARGET_RMS_DBFS = -20.0
PEAK_CEILING_DBFS = -1.0
# The chime sits a little under the voice: it should catch attention, not startle.
CHIME_RMS_DBFS = -23.0
# Windows quieter than this, relative to the clip's loudest, count as silence when trimming.
SILENCE_BELOW_PEAK_DB = -40.0
# Anything whose loudest window is under this is not speech at all.
SILENT_CLIP_DBFS = -45.0
LEAD_IN_SECONDS = 0.01
TAIL_SECONDS = 0.03


class PackError(Exception):
    """A pack cannot be built, loaded or used."""


class SynthesisError(PackError):
    """An engine gave no usable audio for a clip."""


# ---------------------------------------------------------------------------
# Audio (pure Python on 16-bit mono samples in array("h"))


def _db_to_ratio(db: float) -> float:
    return 10 ** (db / 20)


def _samples_from_bytes(frames: bytes) -> array:
    samples = array("h")
    samples.frombytes(frames[: len(frames) // 2 * 2])
    if sys.byteorder == "big":  # WAV data is little-endian
        samples.byteswap()
    return samples


def _samples_to_bytes(samples: array) -> bytes:
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def wav_bytes(samples: array, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A mono 16-bit WAV file holding ``samples``."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(_samples_to_bytes(samples))
    return buffer.getvalue()


def _read_pack_wav(data: bytes) -> tuple[array, int]:
    """Samples and rate of a mono 16-bit WAV; PackError for anything else."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
                raise PackError(
                    f"expected mono 16-bit WAV, got {wav.getnchannels()} channel(s) "
                    f"of {8 * wav.getsampwidth()} bits"
                )
            # espeak-ng --stdout writes a placeholder length; read to the end instead.
            return _samples_from_bytes(wav.readframes(wav.getnframes())), wav.getframerate()
    except (wave.Error, EOFError) as exc:
        raise PackError(f"not a readable WAV file: {exc}") from None


def _sox_convert(data: bytes, sample_rate: int) -> bytes:
    """Any audio sox can read (MP3 needs libsox-fmt-mp3) → mono 16-bit WAV at ``sample_rate``."""
    if shutil.which("sox") is None:
        raise PackError("converting this audio needs sox (Debian packages: sox libsox-fmt-mp3)")
    kind = _sniff_audio_type(data)
    command = ["sox", "-q", "-t", kind, "-", "-t", "wav", "-e", "signed-integer", "-b", "16",
               "-c", "1", "-r", str(sample_rate), "-"]
    result = subprocess.run(command, input=data, capture_output=True, timeout=60)
    if result.returncode != 0 or not result.stdout:
        message = result.stderr.decode("utf-8", "replace").strip() or "no output"
        raise PackError(f"sox could not decode the {kind} audio: {message}")
    return result.stdout


def _sniff_audio_type(data: bytes) -> str:
    if data[:4] == b"RIFF":
        return "wav"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:3] == b"ID3" or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "mp3"
    raise PackError("unrecognised audio data (expected WAV, MP3, OGG or FLAC)")


def decode_audio(data: bytes, sample_rate: int = SAMPLE_RATE) -> array:
    """Mono 16-bit samples at ``sample_rate`` from WAV/MP3/OGG/FLAC bytes.

    Mono 16-bit WAV at the right rate (what espeak-ng gives) is read in Python; anything
    else goes through sox.
    """
    if not data:
        raise SynthesisError("empty audio")
    if _sniff_audio_type(data) == "wav":
        try:
            samples, rate = _read_pack_wav(data)
            if rate == sample_rate:
                return samples
        except PackError:
            pass  # another WAV flavour: let sox convert it
    samples, rate = _read_pack_wav(_sox_convert(data, sample_rate))
    return samples


def _window_peaks(samples: array, window: int) -> list[int]:
    return [
        max(max(chunk), -min(chunk)) if (chunk := samples[i:i + window]) else 0
        for i in range(0, len(samples), window)
    ]


def process_clip(samples: array, sample_rate: int = SAMPLE_RATE, rms_dbfs: float = TARGET_RMS_DBFS) -> array:
    """Trim leading/trailing silence, normalise loudness and fade the edges.

    Loudness is the RMS of the active (non-silent) 10 ms windows, brought to ``rms_dbfs``
    but never so far that a peak passes PEAK_CEILING_DBFS. Raises SynthesisError for
    silence.
    """
    window = max(1, sample_rate // 100)
    peaks = _window_peaks(samples, window)
    loudest = max(peaks, default=0)
    if loudest < FULL_SCALE * _db_to_ratio(SILENT_CLIP_DBFS):
        raise SynthesisError("the audio is silent")
    threshold = loudest * _db_to_ratio(SILENCE_BELOW_PEAK_DB)
    active = [i for i, peak in enumerate(peaks) if peak >= threshold]
    start = max(0, active[0] * window - int(LEAD_IN_SECONDS * sample_rate))
    end = min(len(samples), (active[-1] + 1) * window + int(TAIL_SECONDS * sample_rate))
    trimmed = samples[start:end]

    active_samples = [s for i in active for s in samples[i * window:(i + 1) * window]]
    rms = math.sqrt(sum(s * s for s in active_samples) / len(active_samples))
    gain = min(
        FULL_SCALE * _db_to_ratio(rms_dbfs) / rms,
        FULL_SCALE * _db_to_ratio(PEAK_CEILING_DBFS) / loudest,
    )
    fade_in = max(1, int(0.003 * sample_rate))  # short ramps so a cut never clicks
    fade_out = max(1, int(0.01 * sample_rate))
    count = len(trimmed)
    out = array("h", bytes(2 * count))
    for i, sample in enumerate(trimmed):
        ramp = min(1.0, (i + 1) / fade_in, (count - i) / fade_out)
        out[i] = max(-FULL_SCALE, min(FULL_SCALE, round(sample * gain * ramp)))
    return out


def chime_samples(sample_rate: int = SAMPLE_RATE) -> array:
    """A two-tone "ding-dong" (E5 then C5, a falling major third) with a soft bell timbre."""
    # (start, frequency, decay time constant); partials give the bell colour: a bright
    # octave and twelfth that die away faster than the fundamental.
    notes = [(0.0, 659.26, 0.4), (0.45, 523.25, 0.5)]
    partials = [(1.0, 1.0, 1.0), (2.0, 0.35, 0.6), (3.0, 0.12, 0.4), (4.2, 0.05, 0.3)]
    duration = 1.8
    count = int(duration * sample_rate)
    mix = [0.0] * count
    for start, frequency, decay in notes:
        first = int(start * sample_rate)
        attack = 0.01 * sample_rate
        for multiple, amplitude, decay_scale in partials:
            step = 2 * math.pi * frequency * multiple / sample_rate
            tau = decay * decay_scale * sample_rate
            for n in range(count - first):
                envelope = math.exp(-n / tau) * min(1.0, n / attack)
                mix[first + n] += amplitude * envelope * math.sin(step * n)
    release = int(0.4 * sample_rate)  # let the last ring die away instead of stopping
    for n in range(release):
        mix[count - release + n] *= 0.5 + 0.5 * math.cos(math.pi * n / release)
    peak = max(abs(v) for v in mix)
    return process_clip(array("h", (round(v / peak * 16000) for v in mix)), sample_rate, CHIME_RMS_DBFS)


# ---------------------------------------------------------------------------
# Engines


class Engine(abc.ABC):
    """Turns a clip's text into audio bytes (any format ``decode_audio`` reads).

    ``attempts`` is how many times the builder tries one clip before giving up.
    """

    name = "engine"
    attempts = 1
    retry_delay_seconds = 0.0

    def check_available(self) -> None:
        """Raise PackError if the engine cannot run here (checked once, before building)."""

    @abc.abstractmethod
    def clip_audio(self, clip: Clip, voice: str) -> bytes:
        """The audio of one clip in ``voice``."""

    @abc.abstractmethod
    def default_voices(self, dialects: Iterable[str]) -> dict[str, str]:
        """{language: voice} this engine uses when none is given."""

    def version(self) -> str:
        return ""


class SpeechEngine(Engine):
    """An engine that speaks a clip's text (speech synthesis, local or online)."""

    @abc.abstractmethod
    def synthesize(self, text: str, voice: str) -> bytes:
        """The audio of ``text`` spoken by ``voice``."""

    def clip_audio(self, clip: Clip, voice: str) -> bytes:
        return self.synthesize(clip.text, voice)


class EspeakEngine(SpeechEngine):
    """espeak-ng, offline (Debian package ``espeak-ng``).

    Voices: ``vi`` (northern) for the north and for a both-dialect pack, since the Hanoi
    accent is the broadcast standard heard nationwide and one pack should speak with one
    accent; ``vi-vn-x-south`` for a southern-only pack (it says ngàn, lẻ and the southern
    finals). ``vi-vn-x-central`` is left out: a narrower audience. English uses ``en-us``.
    Speed 150 words/minute, a little under espeak's 175, for a reverberant hall.
    """

    name = "espeak-ng"

    def __init__(self, executable: str = "espeak-ng", words_per_minute: int = 150):
        self.executable = executable
        self.words_per_minute = words_per_minute

    def check_available(self) -> None:
        if shutil.which(self.executable) is None:
            raise PackError("espeak-ng is not installed (Debian package: espeak-ng)")

    def synthesize(self, text: str, voice: str) -> bytes:
        command = [self.executable, "-v", voice, "-s", str(self.words_per_minute), "--stdout", text]
        result = subprocess.run(command, capture_output=True, timeout=60)
        if result.returncode != 0:
            raise SynthesisError(result.stderr.decode("utf-8", "replace").strip() or "espeak-ng failed")
        return result.stdout

    def default_voices(self, dialects: Iterable[str]) -> dict[str, str]:
        vietnamese = "vi-vn-x-south" if list(dialects) == ["south"] else "vi"
        return {"vi": vietnamese, "en": "en-us"}

    def version(self) -> str:
        try:
            result = subprocess.run([self.executable, "--version"], capture_output=True, timeout=30)
        except OSError:
            return ""
        match = re.search(rb"text-to-speech:\s*(\S+)", result.stdout)
        return match.group(1).decode() if match else ""


class GTTSEngine(SpeechEngine):
    """Google Translate's speech through gTTS (online; ``pip install 'hall-queue[voice]'``).

    ``tts_class`` defaults to ``gtts.gTTS``; tests pass a fake with the same shape
    (``tts_class(text=..., lang=..., slow=...)`` then ``.write_to_fp(fp)``). Google's service
    fails now and then, so each clip is tried up to 4 times with doubling waits. gTTS has
    one (northern) Vietnamese voice: ``vi``.
    """

    name = "gtts"
    attempts = 4
    retry_delay_seconds = 2.0

    def __init__(self, tts_class=None, slow: bool = False):
        self._tts_class = tts_class
        self.slow = slow

    def _gtts(self):
        if self._tts_class is None:
            try:
                from gtts import gTTS
            except ImportError:
                raise PackError(
                    "gTTS is not installed: pip install 'hall-queue[voice]' (see sounds/README.md)"
                ) from None
            self._tts_class = gTTS
        return self._tts_class

    def check_available(self) -> None:
        self._gtts()

    def synthesize(self, text: str, voice: str) -> bytes:
        buffer = io.BytesIO()
        self._gtts()(text=text, lang=voice, slow=self.slow).write_to_fp(buffer)
        return buffer.getvalue()

    def default_voices(self, dialects: Iterable[str]) -> dict[str, str]:
        return {"vi": "vi", "en": "en"}

    def version(self) -> str:
        try:
            from importlib.metadata import version

            return version("gTTS")
        except Exception:
            return ""


class RecordingsEngine(Engine):
    """A recorded human voice: ``<clip id>.<wav|mp3|ogg|flac>`` files in one folder.

    The recordings go through the same trimming and normalisation as synthesized clips.
    ``voice`` is just a label for the speaker, kept in the manifest.
    """

    name = "recorded"
    EXTENSIONS = (".wav", ".mp3", ".ogg", ".flac")

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def check_available(self) -> None:
        if not self.directory.is_dir():
            raise PackError(f"no recordings folder {self.directory}")

    def recording(self, clip_id: str) -> Path | None:
        for extension in self.EXTENSIONS:
            path = self.directory / f"{clip_id}{extension}"
            if path.is_file():
                return path
        return None

    def clip_audio(self, clip: Clip, voice: str) -> bytes:
        path = self.recording(clip.id)
        if path is None:
            raise SynthesisError(f"no recording {clip.id}.wav (or .mp3/.ogg/.flac) in {self.directory}")
        return path.read_bytes()

    def default_voices(self, dialects: Iterable[str]) -> dict[str, str]:
        return {"vi": "human", "en": "human"}


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
    recorded in the manifest (dialects, templates...).
    """
    engine.check_available()
    languages = {clip.language for clip in clips.values() if clip.id != CHIME}
    if languages - set(voices):
        raise PackError(f"no voice given for language(s): {', '.join(sorted(languages - set(voices)))}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    old_clips: dict = {}
    if (out / MANIFEST_NAME).exists():
        try:
            old_clips = load_manifest(out)["clips"]
        except PackError:
            old_clips = {}  # a broken old manifest is simply replaced
    kept = {
        clip_id: entry
        for clip_id, entry in old_clips.items()
        if keep_existing
        and clip_id in clips
        and entry.get("sample_rate") == SAMPLE_RATE
        and (out / entry["file"]).is_file()
    }
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=out))
    try:
        entries: dict[str, dict] = {}
        for clip_id, clip in clips.items():
            if clip_id in kept:
                entries[clip_id] = kept[clip_id]
                continue
            if progress:
                progress(clip_id)
            is_chime = clip_id == CHIME
            clip_voice = "ding-dong" if is_chime else voices[clip.language]
            samples = render_clip(clip, engine, clip_voice, sleep=sleep)
            file_name = _clip_file_name(clip_id)
            (staging / file_name).write_bytes(wav_bytes(samples))
            entries[clip_id] = {
                "file": file_name,
                "text": clip.text,
                "language": clip.language,
                "engine": "generated" if is_chime else engine.name,
                "voice": clip_voice,
                "sample_rate": SAMPLE_RATE,
                "duration": round(len(samples) / SAMPLE_RATE, 3),
            }
        for file in staging.iterdir():  # every new file must decode before it is published
            problem = _clip_file_problem(file)
            if problem:
                raise PackError(f"{file.name}: {problem}")

        manifest = {
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
        for file in staging.iterdir():
            os.replace(file, out / file.name)
        manifest_tmp = staging / MANIFEST_NAME
        manifest_tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        os.replace(manifest_tmp, out / MANIFEST_NAME)
        for clip_id, entry in old_clips.items():
            stale = out / entry.get("file", "")
            if clip_id not in entries and _is_safe_file_name(entry.get("file")) and stale.is_file():
                stale.unlink()
        return manifest
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
        samples, rate = _read_pack_wav(self.path(clip_id).read_bytes())
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
        playback = {**PLAYBACK, **self.manifest.get("playback", {})}
        joined = array("h")
        for index, clip_id in enumerate(clip_ids):
            if index:
                gap = playback["after_chime_seconds"] if clip_ids[index - 1] == CHIME else playback["gap_seconds"]
                joined.extend(array("h", bytes(2 * int(gap * self.sample_rate))))
            joined.extend(self.samples(clip_id))
        return wav_bytes(joined, self.sample_rate)


def load_pack(directory: str | os.PathLike) -> SoundPack:
    """The pack in ``directory``; PackError if its manifest is missing or malformed."""
    return SoundPack.load(directory)


def _clip_file_problem(path: Path, sample_rate: int = SAMPLE_RATE) -> str | None:
    try:
        samples, rate = _read_pack_wav(path.read_bytes())
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
        problem = _clip_file_problem(pack.path(clip_id), pack.sample_rate)
        if problem:
            problems.append(f"{clip_id} ({pack.manifest['clips'][clip_id]['file']}): {problem}")
    return problems


# ---------------------------------------------------------------------------
# CLI: hallserver sounds ...

ENGINES: dict[str, Callable[..., Engine]] = {
    "espeak": EspeakEngine,
    "gtts": GTTSEngine,
    "recorded": RecordingsEngine,
}
