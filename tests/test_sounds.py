"""The voice clip pack: audio processing, builders, the shipped pack (hallserver.voice)."""

import json
import math
import shutil
import subprocess
import threading
import time
from array import array
from pathlib import Path

import pytest
from click.testing import CliRunner

from hallserver.cli.sounds import sounds as sounds_command
from hallserver.voice import CHIME, DIALECTS, Clip, audio, clip_catalogue, compose_announcement, engines
from hallserver.voice import pack as sounds
from hallserver.voice.audio import (
    SAMPLE_RATE,
    PackError,
    SynthesisError,
    chime_samples,
    decode_audio,
    process_clip,
    wav_bytes,
)
from hallserver.voice.engines import EspeakEngine, GTTSEngine, RecordingsEngine
from hallserver.voice.pack import MANIFEST_NAME, build_pack, load_manifest, load_pack, verify_pack

SHIPPED_PACK = Path(__file__).resolve().parent.parent / "sounds"


def tone(seconds, frequency=440.0, level=8000, rate=SAMPLE_RATE):
    return array("h", (round(level * math.sin(2 * math.pi * frequency * n / rate)) for n in range(int(seconds * rate))))


def silence(seconds, rate=SAMPLE_RATE):
    return array("h", bytes(2 * int(seconds * rate)))


def rms_dbfs(samples):
    return 20 * math.log10(math.sqrt(sum(s * s for s in samples) / len(samples)) / 32767)


def sox_encode(samples, kind, rate=SAMPLE_RATE):
    """Encode samples as another format with sox (as gTTS and recorders deliver them)."""
    result = subprocess.run(
        ["sox", "-q", "-t", "wav", "-", "-t", kind, "-"], input=wav_bytes(samples, rate),
        capture_output=True, check=True,
    )
    return result.stdout


@pytest.fixture(scope="module")
def mp3_speech():
    """A short MP3 at gTTS's 24 kHz, standing in for what Google returns."""
    samples = silence(0.2, 24000) + tone(0.4, 300, 6000, 24000) + silence(0.3, 24000)
    return sox_encode(samples, "mp3", 24000)


# ---------------------------------------------------------------------------
# Audio processing


def test_process_clip_trims_silence_and_normalises_loudness():
    quiet = silence(0.5) + tone(0.4, level=800) + silence(0.7)
    processed = process_clip(quiet)
    duration = len(processed) / SAMPLE_RATE
    assert duration == pytest.approx(0.4 + 2 * audio.MARGIN_SECONDS, abs=0.002)
    assert audio.integrated_loudness(processed) == pytest.approx(audio.TARGET_LUFS, abs=0.1)
    # the edges are faded, so joined clips never click
    assert abs(processed[0]) < 200 and abs(processed[-1]) < 200
    # a recording cut right at the sound gets its margin as silence
    assert len(process_clip(tone(0.4, level=800))) == len(processed)


def test_process_clip_keeps_peaks_under_the_ceiling():
    spiky = tone(0.3, level=300) + tone(0.01, level=30000) + tone(0.3, level=300)
    peak = max(abs(s) for s in process_clip(spiky))
    assert peak <= 32767 * 10 ** (audio.PEAK_CEILING_DBFS / 20) + 1


def test_process_clip_refuses_silence():
    with pytest.raises(SynthesisError):
        process_clip(silence(0.5))
    with pytest.raises(SynthesisError):
        process_clip(tone(0.5, level=50))


def test_decode_audio_reads_wav_and_converts_other_formats(mp3_speech):
    samples = tone(0.2)
    assert decode_audio(wav_bytes(samples)) == samples
    resampled = decode_audio(wav_bytes(tone(0.5, rate=24000), 24000))
    assert abs(len(resampled) - SAMPLE_RATE // 2) < 50
    from_mp3 = decode_audio(mp3_speech)
    assert 0.85 < len(from_mp3) / SAMPLE_RATE < 1.0  # 0.9 s plus the MP3 encoder's padding
    with pytest.raises(SynthesisError):
        decode_audio(b"")
    with pytest.raises(PackError):
        decode_audio(b"<html>rate limited</html>")


def test_chime_is_a_two_tone_ding_dong():
    chime = chime_samples()
    assert chime == chime_samples()  # deterministic, so rebuilding the pack changes nothing
    assert 0.4 < len(chime) / SAMPLE_RATE <= 0.8  # short: the number follows soon after
    # the "ding" (E5) then the "dong" (C5): compare each half's strength at both pitches
    def strength(samples, frequency):
        step = 2 * math.pi * frequency / SAMPLE_RATE
        re = sum(s * math.cos(step * n) for n, s in enumerate(samples))
        im = sum(s * math.sin(step * n) for n, s in enumerate(samples))
        return math.hypot(re, im)

    ding = chime[int(0.04 * SAMPLE_RATE):int(0.19 * SAMPLE_RATE)]
    dong = chime[int(0.24 * SAMPLE_RATE):int(0.44 * SAMPLE_RATE)]
    assert strength(ding, 659.26) > 3 * strength(ding, 523.25)
    assert strength(dong, 523.25) > 3 * strength(dong, 659.26)


# ---------------------------------------------------------------------------
# The shipped pack


def composable_clip_ids(second_language):
    """Every clip the composer emits for tickets 0..9999 and counters 1..50."""
    ids = set()
    for dialect in DIALECTS:
        for reading in ("whole", "digits"):
            options = dict(dialect=dialect, reading=reading, second_language=second_language)
            for n in range(10000):
                ids.update(compose_announcement(str(n), 1, **options).clips)
            for counter in range(1, 51):
                ids.update(compose_announcement("A012", counter, **options).clips)
            for letter in "ABCDĐEFGHIJKLMNOPQRSTUVWXYZ":
                ids.update(compose_announcement(f"{letter}7", 1, **options).clips)
    return ids


@pytest.mark.parametrize("second_language", [None, "en"])
def test_shipped_pack_has_every_clip_the_composer_emits(second_language):
    wanted = composable_clip_ids(second_language)
    pack = load_pack(SHIPPED_PACK)
    assert pack.missing(wanted) == []
    assert verify_pack(SHIPPED_PACK, wanted) == []


def test_shipped_pack_matches_the_catalogue_and_decodes():
    manifest = load_manifest(SHIPPED_PACK)
    catalogue = clip_catalogue()
    assert set(manifest["clips"]) == set(catalogue)
    for clip_id, entry in manifest["clips"].items():
        assert entry["text"] == catalogue[clip_id].text  # not stale against the code
        assert not any(char.isdigit() for char in entry["text"])
        assert entry["sample_rate"] == manifest["sample_rate"] == SAMPLE_RATE
        assert entry["duration"] > 0.05
    assert verify_pack(SHIPPED_PACK) == []
    on_disk = {p.name for p in SHIPPED_PACK.glob("*.wav")}
    assert on_disk == {entry["file"] for entry in manifest["clips"].values()}  # no strays


def test_readme_describes_the_shipped_pack():
    readme = (SHIPPED_PACK / "README.md").read_text(encoding="utf-8")
    manifest = load_manifest(SHIPPED_PACK)
    assert f"{len(manifest['clips'])} clips" in readme
    assert f"espeak-ng {manifest['engine_version']}" in readme
    for option in ("--engine", "--dialect", "--template", "--no-english", "--keep-existing", "--recordings"):
        assert option in readme


def test_shipped_pack_is_small():
    total = sum(p.stat().st_size for p in SHIPPED_PACK.glob("*.wav"))
    assert total < 3_000_000


def test_render_joins_clips_with_the_playback_gaps():
    pack = load_pack(SHIPPED_PACK)
    clips = compose_announcement("1003", 3).clips
    rendered = decode_audio(pack.render(clips))
    gaps = sounds.PLAYBACK["after_chime_seconds"] + (len(clips) - 2) * sounds.PLAYBACK["gap_seconds"]
    expected = sum(len(pack.samples(c)) for c in clips) + gaps * SAMPLE_RATE
    assert abs(len(rendered) - expected) <= len(clips)
    with pytest.raises(PackError, match="num.nope"):
        pack.render(["chime", "num.nope"])


# ---------------------------------------------------------------------------
# Building with espeak-ng (for real, on a few clips)

SMALL_CATALOGUE = {
    clip_id: clip
    for clip_id, clip in clip_catalogue().items()
    if clip_id in {CHIME, "num.mu7o7i2", "num.la8m", "letter.l", "en.num.one"}
}


def test_espeak_builds_a_pack(tmp_path):
    engine = EspeakEngine()
    manifest = build_pack(tmp_path, SMALL_CATALOGUE, engine, engine.default_voices(DIALECTS))
    assert set(manifest["clips"]) == set(SMALL_CATALOGUE)
    assert manifest["clips"]["num.la8m"] == {
        "file": "num.la8m.wav",
        "text": "lăm",
        "language": "vi",
        "engine": "espeak-ng",
        "voice": "vi",
        "sample_rate": SAMPLE_RATE,
        "duration": manifest["clips"]["num.la8m"]["duration"],
    }
    assert manifest["clips"]["en.num.one"]["voice"] == "en-us"
    assert manifest["clips"][CHIME]["engine"] == "generated"
    assert 0.1 < manifest["clips"]["num.la8m"]["duration"] < 1.0
    assert verify_pack(tmp_path) == []
    assert json.loads((tmp_path / MANIFEST_NAME).read_text(encoding="utf-8")) == manifest
    assert not list(tmp_path.glob(".build-*"))


def test_espeak_voice_per_dialect():
    engine = EspeakEngine()
    assert engine.default_voices(["north"])["vi"] == "vi"
    assert engine.default_voices(["north", "south"])["vi"] == "vi"
    assert engine.default_voices(["south"])["vi"] == "vi-vn-x-south"


def test_a_clip_text_with_digits_is_refused(tmp_path):
    with pytest.raises(PackError, match="digits"):
        build_pack(tmp_path, {"num.x": Clip("num.x", "15", "vi")}, EspeakEngine(), {"vi": "vi"})


# ---------------------------------------------------------------------------
# Building with gTTS, through a fake transport


class FakeGTTS:
    """Stands in for gtts.gTTS: per text, a script of outcomes ("fail", "empty", "ok")."""

    scripts: dict = {}
    calls: list = []
    audio = b""
    released = threading.Event()

    def __init__(self, text, lang, slow=False):
        self.text, self.lang = text, lang
        FakeGTTS.calls.append((text, lang))

    def write_to_fp(self, fp):
        script = FakeGTTS.scripts.get(self.text, [])
        outcome = script.pop(0) if script else "ok"
        if outcome == "fail":
            raise ConnectionError("Failed to connect. Probable cause: timeout")
        if outcome == "hang":   # a network that swallows the request: gTTS sets no timeout
            FakeGTTS.released.wait()
        if outcome == "ok":
            fp.write(FakeGTTS.audio)


@pytest.fixture
def fake_gtts(mp3_speech, monkeypatch):
    FakeGTTS.scripts = {}
    FakeGTTS.calls = []
    FakeGTTS.audio = mp3_speech
    monkeypatch.setitem(engines.ENGINES, "gtts", lambda: GTTSEngine(tts_class=FakeGTTS))
    return FakeGTTS


def test_gtts_retries_a_failing_clip_with_backoff(tmp_path, fake_gtts):
    fake_gtts.scripts = {"mười": ["fail", "empty", "ok"]}
    waits = []
    engine = GTTSEngine(tts_class=FakeGTTS)
    manifest = build_pack(tmp_path, SMALL_CATALOGUE, engine, engine.default_voices(DIALECTS), sleep=waits.append)
    assert waits == [2.0, 4.0]
    assert [c for c in fake_gtts.calls if c[0] == "mười"] == [("mười", "vi")] * 3
    assert ("one", "en") in fake_gtts.calls
    assert manifest["clips"]["num.mu7o7i2"]["engine"] == "gtts"
    assert verify_pack(tmp_path) == []


def test_gtts_always_empty_clip_aborts_without_writing_anything(tmp_path, fake_gtts):
    fake_gtts.scripts = {"lăm": ["empty"] * 10}
    waits = []
    engine = GTTSEngine(tts_class=FakeGTTS)
    with pytest.raises(SynthesisError, match=r"num\.la8m.*4 attempt"):
        build_pack(tmp_path, SMALL_CATALOGUE, engine, engine.default_voices(DIALECTS), sleep=waits.append)
    assert waits == [2.0, 4.0, 8.0]
    assert list(tmp_path.iterdir()) == []  # no manifest, no clip files, no staging folder


def test_a_failed_build_leaves_the_old_pack_alone(tmp_path, fake_gtts):
    engine = GTTSEngine(tts_class=FakeGTTS)
    voices = engine.default_voices(DIALECTS)
    build_pack(tmp_path, SMALL_CATALOGUE, engine, voices)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    fake_gtts.scripts = {"e-lờ": ["fail"] * 10}
    with pytest.raises(SynthesisError):
        build_pack(tmp_path, SMALL_CATALOGUE, engine, voices, sleep=lambda s: None)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_network_that_never_answers_fails_the_build_in_bounded_time(tmp_path, fake_gtts):
    fake_gtts.scripts = {"mười": ["hang"] * 10}
    fake_gtts.released.clear()
    engine = GTTSEngine(tts_class=FakeGTTS, timeout_seconds=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(SynthesisError, match=r"num\.mu7o7i2.*4 attempt.*no answer within 0\.2 s"):
            build_pack(tmp_path, SMALL_CATALOGUE, engine, engine.default_voices(DIALECTS), sleep=lambda s: None)
    finally:
        fake_gtts.released.set()
    assert time.monotonic() - started < 3
    assert list(tmp_path.iterdir()) == []


def test_gtts_garbage_is_retried_then_refused(tmp_path, fake_gtts):
    fake_gtts.audio = b"<html>429 Too Many Requests</html>"
    engine = GTTSEngine(tts_class=FakeGTTS)
    with pytest.raises(SynthesisError, match="unrecognised audio"):
        build_pack(tmp_path, SMALL_CATALOGUE, engine, engine.default_voices(DIALECTS), sleep=lambda s: None)
    assert not (tmp_path / MANIFEST_NAME).exists()


def test_keep_existing_builds_only_the_missing_clips(tmp_path, fake_gtts):
    engine = GTTSEngine(tts_class=FakeGTTS)
    voices = engine.default_voices(DIALECTS)
    first = dict(list(SMALL_CATALOGUE.items())[:3])
    build_pack(tmp_path, first, engine, voices)
    fake_gtts.calls = []
    manifest = build_pack(tmp_path, SMALL_CATALOGUE, engine, voices, keep_existing=True)
    assert sorted(text for text, lang in fake_gtts.calls) == sorted(
        clip.text for clip_id, clip in SMALL_CATALOGUE.items() if clip_id not in first
    )
    assert set(manifest["clips"]) == set(SMALL_CATALOGUE)
    # and a rebuild for fewer clips removes the files it no longer lists
    build_pack(tmp_path, first, engine, voices)
    assert {p.name for p in tmp_path.glob("*.wav")} == {f"{i}.wav" for i in first}


def test_gtts_missing_package_is_reported_once(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "gtts", None)
    with pytest.raises(PackError, match="voice"):
        build_pack(tmp_path, SMALL_CATALOGUE, GTTSEngine(), {"vi": "vi", "en": "en"})


# ---------------------------------------------------------------------------
# Recorded human voice


def test_recordings_become_a_pack(tmp_path):
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    for clip_id in SMALL_CATALOGUE:
        if clip_id != CHIME:  # a 44.1 kHz stereo-less FLAC, as a recorder might give
            (recordings / f"{clip_id}.flac").write_bytes(
                sox_encode(silence(0.3, 44100) + tone(0.5, 200, 5000, 44100) + silence(0.3, 44100), "flac", 44100)
            )
    out = tmp_path / "pack"
    build_pack(out, SMALL_CATALOGUE, RecordingsEngine(recordings), {"vi": "Chị Lan", "en": "Chị Lan"})
    manifest = load_manifest(out)
    assert manifest["clips"]["letter.l"]["engine"] == "recorded"
    assert manifest["clips"]["letter.l"]["voice"] == "Chị Lan"
    assert manifest["clips"]["letter.l"]["duration"] == pytest.approx(0.54, abs=0.03)
    assert verify_pack(out) == []

    (recordings / "letter.l.flac").unlink()
    with pytest.raises(SynthesisError, match="no recording letter.l"):
        build_pack(tmp_path / "other", SMALL_CATALOGUE, RecordingsEngine(recordings), {"vi": "x", "en": "x"})


# ---------------------------------------------------------------------------
# Loading


def test_load_manifest_refuses_unsafe_or_missing_packs(tmp_path):
    with pytest.raises(PackError, match="missing"):
        load_manifest(tmp_path)
    manifest = {"manifest_version": 1, "format": "wav", "sample_rate": SAMPLE_RATE,
                "clips": {"chime": {"file": "../../etc/passwd"}}}
    (tmp_path / MANIFEST_NAME).write_text(json.dumps(manifest))
    with pytest.raises(PackError, match="plain file name"):
        load_manifest(tmp_path)
    assert "plain file name" in verify_pack(tmp_path)[0]


def test_verify_pack_reports_missing_and_broken_files(tmp_path):
    shutil.copytree(SHIPPED_PACK, tmp_path, dirs_exist_ok=True)
    (tmp_path / "num.ba.wav").unlink()
    (tmp_path / "num.hai.wav").write_bytes(b"not audio")
    problems = verify_pack(tmp_path, ["chime", "num.ba", "num.hai", "num.unknown"])
    assert len(problems) == 3
    assert problems[0].startswith("num.ba")
    assert "not a readable WAV" in problems[1]
    assert problems[2] == "num.unknown: not in the manifest"
    assert load_pack(tmp_path).missing(["num.ba", "chime", "num.ba"]) == ["num.ba"]


def test_a_clip_cut_short_in_its_header_is_named_not_a_crash(tmp_path):
    """A copy that stopped inside a WAV header (a full SD card, a pulled USB stick)."""
    shutil.copytree(SHIPPED_PACK, tmp_path, dirs_exist_ok=True)
    (tmp_path / "num.hai.wav").write_bytes(b"RIFF....WAVE but not really")
    [problem] = verify_pack(tmp_path, ["chime", "num.hai"])
    assert problem.startswith("num.hai (num.hai.wav): not a readable WAV")
    result = CliRunner().invoke(sounds_command, ["check", "--dir", str(tmp_path)])
    assert result.exit_code == 1 and "num.hai (num.hai.wav): not a readable WAV" in result.output


# ---------------------------------------------------------------------------
# CLI


def test_cli_build_check_and_list(tmp_path, fake_gtts):
    runner = CliRunner()
    out = tmp_path / "pack"
    template = "Mời số {number} đến quầy {counter}"
    result = runner.invoke(
        sounds_command,
        ["build", "--engine", "gtts", "--dialect", "south", "--no-english", "--template", template, "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    manifest = load_manifest(out)
    assert manifest["dialects"] == ["south"] and manifest["templates"] == [template]
    assert "num.le3" in manifest["clips"] and "num.linh" not in manifest["clips"]
    assert "phrase.mo7i2_so61" in manifest["clips"]
    assert not any(i.startswith("en.") for i in manifest["clips"])

    check = ["check", "--dir", str(out), "--dialect", "south", "--no-english", "--template", template]
    result = runner.invoke(sounds_command, check)
    assert result.exit_code == 0
    # the timing names the hall's own template; it is not the default recall
    assert f"{template!r} of 1003 to counter 2" in result.output and "a recall" not in result.output
    result = runner.invoke(sounds_command, check[:-2])  # the default template's phrases are missing
    assert result.exit_code == 1
    assert "phrase.xin_mo7i2" in result.output

    listing = runner.invoke(sounds_command, ["list", "--dialect", "north"]).output
    assert "num.mu7o7i2\tvi\tmười" in listing.splitlines()
    assert "en.phrase.ticket_number\ten\tticket number" in listing.splitlines()


def test_cli_build_failure_writes_nothing(tmp_path, fake_gtts, monkeypatch):
    fake_gtts.scripts = {"A": ["fail"] * 10}  # en.letter.a, the first clip after the chime
    monkeypatch.setattr(GTTSEngine, "retry_delay_seconds", 0.0)
    result = CliRunner().invoke(sounds_command, ["build", "--engine", "gtts", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "Nothing was written" in result.output
    assert not (tmp_path / MANIFEST_NAME).exists()


def test_cli_rejects_a_bad_template(tmp_path):
    result = CliRunner().invoke(sounds_command, ["build", "--template", "Mời {foo}", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown placeholder" in result.output
