"""The three shipped regional packs, how even they sound (loudness spread, silence margins),
the loudness measure itself, the hub serving the hall's voice, and a human voice recorded
from the script and imported (hallserver.voice.pack, hallserver.voice.audio, ``hallserver sounds``)."""

import math
import shutil
import subprocess
from array import array
from pathlib import Path

import numpy
import pytest
from click.testing import CliRunner

from hallserver.cli.sounds import sounds as sounds_command
from hallserver.config import parse_config
from hallserver.store import open_store
from hallserver.voice import (
    DEFAULT_RECALL_TEMPLATE,
    DEFAULT_RECALL_TEMPLATE_EN,
    DIALECTS,
    PAUSE,
    REPEATS,
    VOICES,
    clip_catalogue,
    compose_announcement,
)
from hallserver.voice.audio import (
    MARGIN_SECONDS,
    SAMPLE_RATE,
    TARGET_LUFS,
    PackError,
    integrated_loudness,
    read_wav,
    wav_bytes,
)
from hallserver.voice.pack import (
    GENERATED_VOICES,
    call_timing,
    load_manifest,
    load_pack,
    measure_pack,
    verify_pack,
    voice_pack_dir,
)
from tests.helpers import small_hall_mapping

SOUNDS = Path(__file__).resolve().parent.parent / "sounds"
PACKS = {voice: voice_pack_dir(SOUNDS, voice) for voice in VOICES}


def sine(seconds, frequency=997.0, level_dbfs=-20.0, rate=SAMPLE_RATE):
    amplitude = 32767 * 10 ** (level_dbfs / 20)
    return array("h", (round(amplitude * math.sin(2 * math.pi * frequency * n / rate))
                       for n in range(int(seconds * rate))))


def every_clip_a_hall_can_ask_for():
    ids = set()
    for dialect in DIALECTS:
        for reading in ("whole", "digits"):
            for repeat in REPEATS:
                for template, template_en in (((), ()), ((DEFAULT_RECALL_TEMPLATE,), (DEFAULT_RECALL_TEMPLATE_EN,))):
                    options = dict(dialect=dialect, reading=reading, repeat=repeat, second_language="en",
                                   **({"template": template[0], "template_en": template_en[0]} if template else {}))
                    for number in ("1003", "2015", "A012", "Đ7", "99999", "0"):
                        ids.update(compose_announcement(number, 21, **options).clips)
    return ids


# ---------------------------------------------------------------------------
# The loudness measure (ITU-R BS.1770-4)


@pytest.mark.parametrize("rate", [48000, 22050])
def test_a_997_hz_sine_reads_as_bs1770_says(rate):
    # BS.1770: a 0 dBFS 997 Hz sine reads -3.01 LUFS; every dB of level is a LU.
    assert integrated_loudness(sine(2, level_dbfs=0, rate=rate), rate) == pytest.approx(-3.01, abs=0.05)
    assert integrated_loudness(sine(2, level_dbfs=-20, rate=rate), rate) == pytest.approx(-23.01, abs=0.05)


def test_k_weighting_favours_the_presence_band_and_cuts_the_rumble():
    at_1k = integrated_loudness(sine(1, 1000))
    assert integrated_loudness(sine(1, 4000)) - at_1k == pytest.approx(3.3, abs=0.6)  # the +4 dB shelf
    assert integrated_loudness(sine(1, 30)) - at_1k < -1.5  # the high-pass


def test_gating_ignores_silence_and_short_clips_are_one_block():
    tone = sine(1.0)
    padded = array("h", bytes(2 * SAMPLE_RATE)) + tone + array("h", bytes(4 * SAMPLE_RATE))
    # the 4 s of silence are gated out; the 6 blocks over the tone's edges (3/4, 1/2 and 1/4
    # of it) stay beside the 7 within it: 10/13 of the tone's power
    assert integrated_loudness(padded) == pytest.approx(integrated_loudness(tone) + 10 * math.log10(10 / 13), abs=0.05)
    assert integrated_loudness(sine(0.2)) == pytest.approx(integrated_loudness(tone), abs=0.1)
    assert integrated_loudness(array("h", bytes(2000))) == -math.inf


def k_weighting_response(frequencies):
    """BS.1770's K-weighting from its analogue prototypes (normalised s = jf/f0): the high
    shelf (Vh s² + Vb s/Q + 1)/(s² + s/Q + 1) and the high-pass s²/(s² + s/Q + 1)."""
    s = 1j * frequencies / 1681.974450955533
    high = 10 ** (3.999843853973347 / 20)
    q = 0.7071752369554196
    shelf = (high * s * s + high ** 0.4996667741545416 * s / q + 1) / (s * s + s / q + 1)
    s = 1j * frequencies / 38.13547087613982
    q = 0.5003270373253953
    return shelf * (s * s) / (s * s + s / q + 1)


def numpy_loudness(samples, rate):
    """BS.1770 with numpy: the spectrum weighted by the analogue K-weighting, then the gated
    400 ms blocks every 100 ms (one block for a shorter clip)."""
    signal = numpy.asarray(samples, dtype=float) / 32768
    size = 8 * len(signal)
    spectrum = numpy.fft.rfft(signal, n=size) * k_weighting_response(numpy.fft.rfftfreq(size, 1 / rate))
    squares = numpy.fft.irfft(spectrum, n=size)[:len(signal)] ** 2
    block, step = min(len(signal), round(0.4 * rate)), round(0.1 * rate)
    powers = numpy.array([squares[i:i + block].mean() for i in range(0, len(signal) - block + 1, step)])
    powers = powers[-0.691 + 10 * numpy.log10(powers) > -70]
    powers = powers[-0.691 + 10 * numpy.log10(powers) > -0.691 + 10 * numpy.log10(powers.mean()) - 10]
    return -0.691 + 10 * numpy.log10(powers.mean())


@pytest.mark.parametrize("clip", ["num.sau1", "letter.f", "phrase.d9e6n1_qua6y2_so61",
                                  "phrase.xin_mo7i2_co6ng_da6n_co1_so61_thu71_tu75"])
def test_the_pure_python_measure_agrees_with_an_independent_one(clip):
    samples, rate = read_wav((PACKS["vi-vn-x-central"] / f"{clip}.wav").read_bytes())
    assert integrated_loudness(samples, rate) == pytest.approx(numpy_loudness(samples, rate), abs=0.15)
    quieter = array("h", (round(s * 0.5) for s in samples))
    assert integrated_loudness(quieter, rate) == pytest.approx(integrated_loudness(samples, rate) - 6.02, abs=0.02)


# ---------------------------------------------------------------------------
# The shipped packs


@pytest.mark.parametrize("voice", VOICES)
def test_each_regional_pack_has_every_clip_in_its_own_voice(voice):
    pack_dir = PACKS[voice]
    assert (pack_dir / "manifest.json").is_file()
    manifest = load_manifest(pack_dir)
    assert manifest["voices"]["vi"] == voice
    assert {entry["voice"] for entry in manifest["clips"].values() if entry["language"] == "vi"} == {voice}
    assert set(manifest["clips"]) == set(clip_catalogue())
    assert verify_pack(pack_dir, every_clip_a_hall_can_ask_for()) == []
    on_disk = {p.name for p in pack_dir.glob("*.wav")}
    assert on_disk == {entry["file"] for entry in manifest["clips"].values()}


def test_the_three_packs_are_different_voices():
    clip = "phrase.xin_mo7i2_co6ng_da6n_co1_so61_thu71_tu75.wav"
    recordings = {(PACKS[voice] / clip).read_bytes() for voice in VOICES}
    assert len(recordings) == 3
    assert PACKS["vi"] == SOUNDS  # the default stays where screens already look


@pytest.mark.parametrize("voice", VOICES)
def test_each_pack_sounds_like_one_voice(voice):
    measured = measure_pack(PACKS[voice])
    assert len(measured.lufs) == len(clip_catalogue()) - len(GENERATED_VOICES)
    assert measured.spread <= 1.0
    assert all(abs(lufs - TARGET_LUFS) <= 0.5 for lufs in measured.lufs.values())
    for clip_id, (lead, tail) in measured.margins.items():
        assert lead == pytest.approx(MARGIN_SECONDS, abs=0.0015), clip_id
        assert tail == pytest.approx(MARGIN_SECONDS, abs=0.0015), clip_id


@pytest.mark.parametrize("voice", VOICES)
def test_the_chime_is_short_and_the_number_comes_soon(voice):
    pack = load_pack(PACKS[voice])
    assert len(pack.samples("chime")) / pack.sample_rate <= 0.8
    assert len(pack.samples(PAUSE)) / pack.sample_rate == pytest.approx(0.5, abs=0.01)
    assert max(pack.samples(PAUSE)) == 0
    for template in (None, DEFAULT_RECALL_TEMPLATE):
        clips = compose_announcement("1003", 2, repeat="twice", **({"template": template} if template else {})).clips
        timing = call_timing(PACKS[voice], clips)
        # was 4.4 s with the old 1.73 s chime; now about 2 s (the clips before the number)
        assert timing.number_clips_seconds < 2.6
        assert timing.number_seconds > timing.number_clips_seconds
        once = call_timing(PACKS[voice], compose_announcement("1003", 2).clips)
        assert timing.total_seconds > 2 * once.total_seconds - 1


# ---------------------------------------------------------------------------
# The hub serves the hall's voice


@pytest.fixture
def hub_for_voice(tmp_path, clock):
    from hallserver import create_app

    apps = []

    def make(voice, sounds_dir=None):
        path = tmp_path / f"{voice}-{len(apps)}.db"
        store = open_store(path)
        store.apply_config(parse_config(small_hall_mapping(announcement={"voice": voice})))
        store.close()
        settings = {"db": path, "async_mode": "threading", **({"sounds_dir": str(sounds_dir)} if sounds_dir else {})}
        app = create_app(settings, clock=clock)
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["hall"].store.close()


@pytest.mark.parametrize("voice", VOICES)
def test_the_hub_serves_the_pack_of_the_halls_voice(hub_for_voice, voice):
    web = hub_for_voice(voice)
    manifest = web.get("/sounds/manifest.json").get_json()
    assert manifest["voices"]["vi"] == voice
    clip = web.get("/sounds/num.mu7o7i2.wav")
    assert clip.status_code == 200 and clip.data == (PACKS[voice] / "num.mu7o7i2.wav").read_bytes()
    assert web.get("/sounds/../setup.cfg").status_code == 404


def test_a_single_pack_folder_serves_every_voice(hub_for_voice, tmp_path):
    single = tmp_path / "recorded"
    shutil.copytree(PACKS["vi-vn-x-south"], single)
    web = hub_for_voice("vi-vn-x-central", sounds_dir=single)
    assert web.get("/sounds/manifest.json").get_json()["voices"]["vi"] == "vi-vn-x-south"
    with pytest.raises(PackError, match="unknown voice 'central'"):
        voice_pack_dir(SOUNDS, "central")


# ---------------------------------------------------------------------------
# A human voice: the script, then the import of the recordings


CATALOGUE_OPTIONS = ["--dialect", "north", "--no-english"]


def read_script(text):
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


def test_the_script_names_every_file_and_its_words(tmp_path):
    result = CliRunner().invoke(sounds_command, ["script", *CATALOGUE_OPTIONS, "--out", str(tmp_path / "script.txt")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "script.txt").read_text(encoding="utf-8")
    lines = read_script(text)
    catalogue = clip_catalogue(dialects=["north"], second_languages=[])
    assert {name for name, _ in lines} == {f"{i}.wav" for i in catalogue if i not in GENERATED_VOICES}
    assert ["phrase.xin_mo7i2_lai5_co6ng_da6n_co1_so61_thu71_tu75.wav", "xin mời lại công dân có số thứ tự"] in lines
    assert ["num.mu7o7i2.wav", "mười"] in lines and ["letter.d9.wav", "đê"] in lines
    assert "hallserver sounds import" in text and "Đọc từng dòng" in text


def record(text, path, gain_db, lead_seconds, tail_seconds, index):
    """A person reading ``text``: espeak-ng's voice at another pitch and speed, with room
    tone, silence before and after and a level of its own, saved as WAV or MP3."""
    spoken = subprocess.run(["espeak-ng", "-v", "vi+f2", "-p", "60", "-s", "130", "--stdout", text],
                            capture_output=True, check=True).stdout
    samples, rate = read_wav(spoken)
    gain = 10 ** (gain_db / 20)
    noise = [round(40 * math.sin(n * 0.37) * math.sin(n * 0.011)) for n in range(int(2 * rate))]  # quiet hum
    body = [round(s * gain) for s in samples]
    lead, tail = [0] * int(lead_seconds * rate), [0] * int(tail_seconds * rate)
    mixed = lead + body + tail
    out = array("h", (max(-32767, min(32767, v + noise[i % len(noise)])) for i, v in enumerate(mixed)))
    data = wav_bytes(out, rate)
    if path.suffix == ".mp3":
        data = subprocess.run(["sox", "-q", "-t", "wav", "-", "-t", "mp3", "-"], input=data,
                              capture_output=True, check=True).stdout
    path.write_bytes(data)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """One file per script line, alternately WAV and MP3, levels from -18 to +0 dB of the
    engine's, 0.1 to 0.9 s of silence before and 0.2 to 1.1 s after."""
    folder = tmp_path_factory.mktemp("recordings")
    script = CliRunner().invoke(sounds_command, ["script", *CATALOGUE_OPTIONS]).output
    for index, (name, text) in enumerate(read_script(script)):
        path = folder / (name if index % 2 else name.replace(".wav", ".mp3"))
        record(text, path, gain_db=-18 + (index * 7) % 19, lead_seconds=0.1 + (index % 5) * 0.2,
               tail_seconds=0.2 + (index % 4) * 0.3, index=index)
    return folder


def test_recordings_import_into_an_even_pack(recordings, tmp_path):
    out = tmp_path / "human"
    result = CliRunner().invoke(sounds_command, ["import", str(recordings), *CATALOGUE_OPTIONS, "--speaker", "Chị Lan",
                                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "spread" in result.output
    manifest = load_manifest(out)
    assert {entry["engine"] for entry in manifest["clips"].values()} == {"recorded", "generated"}
    assert manifest["clips"]["num.mu7o7i2"]["voice"] == "Chị Lan"
    assert verify_pack(out) == []
    # the sources' levels spread over 18 dB; the pack's within 1 LU, every margin 30 ms
    sources = [integrated_loudness(read_wav(subprocess.run(
        ["sox", "-q", str(path), "-t", "wav", "-b", "16", "-c", "1", "-"], capture_output=True, check=True).stdout)[0])
        for path in sorted(recordings.iterdir())[:12]]
    assert max(sources) - min(sources) > 10
    measured = measure_pack(out)
    assert measured.spread <= 1.0
    for clip_id, (lead, tail) in measured.margins.items():
        assert lead == pytest.approx(MARGIN_SECONDS, abs=0.0015), clip_id
        assert tail == pytest.approx(MARGIN_SECONDS, abs=0.0015), clip_id
    # and it plays a whole call
    assert load_pack(out).missing(compose_announcement("1003", 2, repeat="twice").clips) == []


def test_an_import_with_missing_recordings_names_them_and_writes_nothing(recordings, tmp_path):
    partial = tmp_path / "partial"
    shutil.copytree(recordings, partial)
    for clip_id in ("num.ba", "phrase.d9e6n1_qua6y2_so61"):
        next(partial.glob(f"{clip_id}.*")).unlink()
    out = tmp_path / "pack"
    result = CliRunner().invoke(sounds_command, ["import", str(partial), *CATALOGUE_OPTIONS, "--out", str(out)])
    assert result.exit_code == 1
    assert "2 recording(s) missing" in result.output
    assert "num.ba.wav" in result.output and "phrase.d9e6n1_qua6y2_so61.wav" in result.output
    assert "Nothing was written" in result.output
    assert not out.exists() or not any(out.iterdir())
