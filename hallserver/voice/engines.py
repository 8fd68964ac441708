"""The engines that turn a clip's text into audio: espeak-ng (offline), gTTS (online) or a
folder of human recordings. :data:`ENGINES` names them for ``hallserver sounds build``."""

from __future__ import annotations

import abc
import io
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from .announcements import Clip
from .audio import PackError, SynthesisError


class Engine(abc.ABC):
    """Turns a clip's text into audio bytes (any format ``decode_audio`` reads).

    ``attempts`` is how many times the builder tries one clip before giving up.
    """

    name = "engine"
    attempts = 1
    retry_delay_seconds = 0.0

    def check_available(self) -> None:
        """Optional hook: raise PackError if the engine cannot run here.

        The builder calls it once, before rendering any clip. Engines that need a program,
        a package or a folder override it; the base engine needs nothing, so it passes.
        """
        return None

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

    Voices: the regional ``vi`` (northern), ``vi-vn-x-central`` and ``vi-vn-x-south``
    each make one shipped pack (``--voice``); by default ``vi`` for the north and for a
    both-dialect pack (the Hanoi accent is the broadcast standard heard nationwide) and
    ``vi-vn-x-south`` for a southern-only one. English uses ``en-us``.
    Number words and letters at 150 words/minute, a little under espeak's 175, for a
    reverberant hall; the fixed phrases, which listeners know after one call, at 200, so the
    number comes soon after the chime.
    """

    name = "espeak-ng"

    def __init__(self, executable: str = "espeak-ng", words_per_minute: int = 150,
                 phrase_words_per_minute: int = 200):
        self.executable = executable
        self.words_per_minute = words_per_minute
        self.phrase_words_per_minute = phrase_words_per_minute

    def check_available(self) -> None:
        if shutil.which(self.executable) is None:
            raise PackError("espeak-ng is not installed (Debian package: espeak-ng)")

    def clip_audio(self, clip: Clip, voice: str) -> bytes:
        is_phrase = clip.id.split(".")[-2:-1] == ["phrase"]  # phrase.* and en.phrase.*
        return self.synthesize(clip.text, voice, self.phrase_words_per_minute if is_phrase else None)

    def synthesize(self, text: str, voice: str, words_per_minute: int | None = None) -> bytes:
        speed = words_per_minute or self.words_per_minute
        command = [self.executable, "-v", voice, "-s", str(speed), "--stdout", text]
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
    """Google Translate's speech through gTTS (online; the ``voice`` extra: ``pip install -e '.[voice]'``).

    ``tts_class`` defaults to ``gtts.gTTS``; tests pass a fake with the same shape
    (``tts_class(text=..., lang=..., slow=...)`` then ``.write_to_fp(fp)``). Google's service
    fails now and then, so each clip is tried up to 4 times with doubling waits. gTTS sets
    no timeout of its own: a network that swallows requests (a firewall that drops them)
    would hang the build, so a clip with no answer within ``timeout_seconds`` is a failure.
    gTTS has one (northern) Vietnamese voice: ``vi``.
    """

    name = "gtts"
    attempts = 4
    retry_delay_seconds = 2.0

    def __init__(self, tts_class=None, slow: bool = False, timeout_seconds: float = 30.0):
        self._tts_class = tts_class
        self.slow = slow
        self.timeout_seconds = timeout_seconds

    def _gtts(self):
        if self._tts_class is None:
            try:
                from gtts import gTTS
            except ImportError:
                raise PackError(
                    # hall-queue is not on PyPI: the extra is installed from the checkout
                    "gTTS is not installed: .venv/bin/pip install -e '.[voice]' in the checkout "
                    "(see sounds/README.md)"
                ) from None
            self._tts_class = gTTS
        return self._tts_class

    def check_available(self) -> None:
        self._gtts()

    def synthesize(self, text: str, voice: str) -> bytes:
        tts = self._gtts()(text=text, lang=voice, slow=self.slow)
        answer: dict[str, object] = {}

        def fetch():
            buffer = io.BytesIO()
            try:
                tts.write_to_fp(buffer)
                answer["audio"] = buffer.getvalue()
            except Exception as exc:  # handed to the caller, who retries
                answer["error"] = exc

        # A daemon thread: one stuck for ever does not keep the command from ending.
        worker = threading.Thread(target=fetch, name="gtts-request", daemon=True)
        worker.start()
        worker.join(self.timeout_seconds)
        if worker.is_alive():
            raise SynthesisError(f"no answer within {self.timeout_seconds:g} s (is the internet reachable?)")
        if "error" in answer:
            raise answer["error"]
        return answer["audio"]

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


ENGINES: dict[str, Callable[..., Engine]] = {
    "espeak": EspeakEngine,
    "gtts": GTTSEngine,
    "recorded": RecordingsEngine,
}
