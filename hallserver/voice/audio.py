"""Audio for the voice clip pack, in pure Python on 16-bit mono samples (``array("h")``).

Decoding (WAV in Python; MP3/OGG/FLAC and other WAV flavours through sox), the clean-up
every clip gets (trimmed of leading and trailing silence, loudness-normalised, faded at the
edges, so clips from any source join evenly), the generated chime, and WAV encoding.
The pack's errors live here too, the lowest layer of the pack: :mod:`.engines` and
:mod:`.pack` raise them as well.
"""

from __future__ import annotations

import io
import math
import shutil
import subprocess
import sys
import wave
from array import array

SAMPLE_RATE = 22050
SAMPLE_WIDTH = 2
CHANNELS = 1

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


def read_wav(data: bytes) -> tuple[array, int]:
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
            samples, rate = read_wav(data)
            if rate == sample_rate:
                return samples
        except PackError:
            pass  # another WAV flavour: let sox convert it
    samples, rate = read_wav(_sox_convert(data, sample_rate))
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
