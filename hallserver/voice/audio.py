"""Audio for the voice clip pack, in pure Python on 16-bit mono samples (``array("h")``).

Decoding (WAV in Python; MP3/OGG/FLAC and other WAV flavours through sox), the clean-up
every clip gets (trimmed to a fixed margin of silence, brought to one integrated loudness
measured as ITU-R BS.1770 / EBU R128 prescribe, faded at the edges, so clips from any source
join evenly and sound like one voice), the generated chime and pause, and WAV encoding.
No numpy: the hub and the command line run without it.
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
# Integrated loudness (ITU-R BS.1770 / EBU R128) every spoken clip is brought to: R128's
# -23 LUFS leaves speech peaks under the ceiling, so every clip reaches it and the pack stays
# within 1 LU. The rare peak that would still pass the ceiling (a plosive in a recording) is
# rounded off by a soft limiter above the knee rather than the whole clip turned down.
TARGET_LUFS = -23.0
PEAK_CEILING_DBFS = -1.0
LIMITER_KNEE_DBFS = -4.0
# The chime sits a little under the voice: it should catch attention, not startle.
CHIME_LUFS = -26.0
# Samples quieter than this, relative to the clip's loudest, count as silence when trimming.
SILENCE_BELOW_PEAK_DB = -40.0
# Anything whose loudest window is under this is not speech at all.
SILENT_CLIP_DBFS = -45.0
# Every clip starts and ends with exactly this much silence around its sound, so clips from
# any source join with the same rhythm (the players add the pack's gap between them).
MARGIN_SECONDS = 0.03


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
    # A header cut short can make the wave module seek outside a chunk: RuntimeError.
    except (wave.Error, EOFError, RuntimeError) as exc:
        raise PackError(f"not a readable WAV file: {exc or type(exc).__name__}") from None


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


def sound_bounds(samples: array, sample_rate: int = SAMPLE_RATE,
                 below_peak_db: float = SILENCE_BELOW_PEAK_DB) -> tuple[int, int] | None:
    """(first, last) index of the samples within ``below_peak_db`` of the loudest, or None
    if the audio is silent (its loudest under SILENT_CLIP_DBFS)."""
    window = max(1, sample_rate // 100)
    peaks = _window_peaks(samples, window)
    loudest = max(peaks, default=0)
    if loudest < FULL_SCALE * _db_to_ratio(SILENT_CLIP_DBFS):
        return None
    threshold = loudest * _db_to_ratio(below_peak_db)
    active = [i for i, peak in enumerate(peaks) if peak >= threshold]
    first_window = active[0] * window
    first = next(i for i in range(first_window, first_window + window) if abs(samples[i]) >= threshold)
    last_window = active[-1] * window
    last = next(i for i in range(min(len(samples), last_window + window) - 1, last_window - 1, -1)
                if abs(samples[i]) >= threshold)
    return first, last


def process_clip(samples: array, sample_rate: int = SAMPLE_RATE, lufs: float = TARGET_LUFS) -> array:
    """Keep the sound between exactly MARGIN_SECONDS of silence, normalise its loudness.

    The sound (see ``sound_bounds``) is kept as it is; what lies outside it (room tone,
    breath, the recorder's hiss, all 40 dB under the peak) becomes digital silence, so every
    clip starts and ends alike whatever its source, and a join never clicks. Its integrated
    loudness is brought to ``lufs``; peaks that would pass LIMITER_KNEE_DBFS are bent under
    PEAK_CEILING_DBFS. Raises SynthesisError for silence.
    """
    bounds = sound_bounds(samples, sample_rate)
    if bounds is None:
        raise SynthesisError("the audio is silent")
    first, last = bounds
    margin = array("h", bytes(2 * round(MARGIN_SECONDS * sample_rate)))
    trimmed = margin + samples[first:last + 1] + margin
    gain = _db_to_ratio(lufs - integrated_loudness(trimmed, sample_rate))
    return array("h", (round(_soft_limit(sample * gain)) for sample in trimmed))


_CEILING = FULL_SCALE * _db_to_ratio(PEAK_CEILING_DBFS)
_KNEE = FULL_SCALE * _db_to_ratio(LIMITER_KNEE_DBFS)


def _soft_limit(value: float) -> float:
    """``value`` unchanged up to the knee, then bent smoothly (slope 1 at the knee) towards the
    ceiling, which it never reaches."""
    size = abs(value)
    if size <= _KNEE:
        return value
    return math.copysign(_KNEE + (_CEILING - _KNEE) * math.tanh((size - _KNEE) / (_CEILING - _KNEE)), value)


# ---------------------------------------------------------------------------
# Loudness: ITU-R BS.1770-4 (the measure of EBU R128), in pure Python

BLOCK_SECONDS = 0.4   # gating blocks of 400 ms...
BLOCK_STEP = 0.1      # ...overlapping by 75 %
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0


def _biquad_coefficients(sample_rate: int) -> list[tuple[float, ...]]:
    """The two K-weighting stages, (b0, b1, b2, a1, a2) each, for ``sample_rate``: a high
    shelf modelling the head (+4 dB above ~1.7 kHz), then the RLB high-pass (~38 Hz). Derived
    from the analogue prototypes as libebur128 does; at 48 kHz they are BS.1770's table."""
    k = math.tan(math.pi * 1681.974450955533 / sample_rate)
    q = 0.7071752369554196
    high = 10 ** (3.999843853973347 / 20)
    band = high ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = ((high + band * k / q + k * k) / a0, 2 * (k * k - high) / a0, (high - band * k / q + k * k) / a0,
             2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    k = math.tan(math.pi * 38.13547087613982 / sample_rate)
    q = 0.5003270373253953
    a0 = 1 + k / q + k * k
    high_pass = (1.0, -2.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0)
    return [shelf, high_pass]


def _k_weighted_squares(samples: array, sample_rate: int) -> list[float]:
    """The squared K-weighted signal (full scale = 1.0)."""
    signal = [s / 32768 for s in samples]
    for b0, b1, b2, a1, a2 in _biquad_coefficients(sample_rate):
        x1 = x2 = y1 = y2 = 0.0
        out = []
        append = out.append
        for x in signal:
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2, x1, y2, y1 = x1, x, y1, y
            append(y)
        signal = out
    return [y * y for y in signal]


def integrated_loudness(samples: array, sample_rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness in LUFS (ITU-R BS.1770-4, mono): K-weighting, 400 ms blocks every
    100 ms, the absolute gate at -70 LUFS and the relative gate 10 LU under the gated mean.

    A clip shorter than one block (a single number word) is measured as one block.
    -inf for digital silence.
    """
    squares = _k_weighted_squares(samples, sample_rate)
    if not squares:
        return -math.inf
    running = [0.0]
    for value in squares:
        running.append(running[-1] + value)
    size = min(len(squares), round(BLOCK_SECONDS * sample_rate))
    step = max(1, round(BLOCK_STEP * sample_rate))
    powers = [(running[i + size] - running[i]) / size for i in range(0, len(squares) - size + 1, step)]

    def loudness(power: float) -> float:
        return -0.691 + 10 * math.log10(power) if power > 0 else -math.inf

    gated = [p for p in powers if loudness(p) > ABSOLUTE_GATE_LUFS]
    if not gated:
        return -math.inf
    relative_gate = loudness(sum(gated) / len(gated)) + RELATIVE_GATE_LU
    gated = [p for p in gated if loudness(p) > relative_gate]
    return loudness(sum(gated) / len(gated))


def chime_samples(sample_rate: int = SAMPLE_RATE) -> array:
    """A quick two-tone "ding-dong" (E5 then C5, a falling major third) with a soft bell
    timbre, half a second with its margins: it catches the ear and gets out of the way of the number."""
    # (start, frequency, decay time constant); partials give the bell colour: a bright
    # octave and twelfth that die away faster than the fundamental.
    notes = [(0.0, 659.26, 0.1), (0.17, 523.25, 0.14)]
    partials = [(1.0, 1.0, 1.0), (2.0, 0.35, 0.6), (3.0, 0.12, 0.4), (4.2, 0.05, 0.3)]
    duration = 0.47
    count = int(duration * sample_rate)
    mix = [0.0] * count
    for start, frequency, decay in notes:
        first = int(start * sample_rate)
        attack = 0.005 * sample_rate
        for multiple, amplitude, decay_scale in partials:
            step = 2 * math.pi * frequency * multiple / sample_rate
            tau = decay * decay_scale * sample_rate
            for n in range(count - first):
                envelope = math.exp(-n / tau) * min(1.0, n / attack)
                mix[first + n] += amplitude * envelope * math.sin(step * n)
    release = int(0.1 * sample_rate)  # let the last ring die away instead of stopping
    for n in range(release):
        mix[count - release + n] *= 0.5 + 0.5 * math.cos(math.pi * n / release)
    peak = max(abs(v) for v in mix)
    return process_clip(array("h", (round(v / peak * 16000) for v in mix)), sample_rate, CHIME_LUFS)


def pause_samples(seconds: float, sample_rate: int = SAMPLE_RATE) -> array:
    """Digital silence: the pause between the two sayings of a call."""
    return array("h", bytes(2 * round(seconds * sample_rate)))
