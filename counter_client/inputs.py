"""Where key presses come from, behind one small interface (as gpiozero does for pins).

A reader's ``start(on_key, on_notice)`` begins delivering key names (see ``keys``) to
``on_key`` from its own thread, and notes about the device ("keypad unplugged") to
``on_notice``; ``stop()`` ends that and gives back whatever it took (the terminal's
mode, the device grab).

- ``TerminalReader``: the controlling terminal in raw mode (SSH, tmux, a console);
- ``EvdevReader``: a USB keypad on a headless Linux box, read with python-evdev,
  imported only when chosen;
- ``FakeKeyboard``: tests press keys by hand.
"""

from __future__ import annotations

import errno
import os
import select
import termios
import threading
from collections.abc import Callable

from .keys import END_OF_INPUT, EV_KEY, KEY_KPENTER, EvdevTranslator, TerminalDecoder

ESCAPE_PAUSE = 0.05  # a lone ESC is the Esc key when nothing follows within this
POLL = 0.25  # how often reader threads look at their stop flag


class InputUnavailable(Exception):
    """The chosen input cannot be used; the message says what to do."""


class FakeKeyboard:
    """Keys pressed by a test, delivered at once in the caller's thread."""

    def __init__(self):
        self.on_key = self.on_notice = None
        self.stopped = False

    def start(self, on_key: Callable[[str], None], on_notice: Callable[[str], None]):
        self.on_key, self.on_notice = on_key, on_notice

    def press(self, *keys: str):
        for key in keys:
            self.on_key(key)

    def stop(self):
        self.stopped = True


# -- the terminal --------------------------------------------------------------------

def raw_attributes(attributes: list) -> list:
    """``attributes`` (from tcgetattr) with input made raw: every byte at once, no echo,
    no signals from Ctrl-C / Ctrl-Z (we read them as keys), no flow control.

    Output processing stays on, so a printed newline still returns the carriage.
    """
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = attributes
    iflag &= ~(termios.BRKINT | termios.ICRNL | termios.INPCK | termios.ISTRIP | termios.IXON)
    cflag = (cflag & ~(termios.CSIZE | termios.PARENB)) | termios.CS8
    lflag &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN | termios.ISIG)
    cc = list(cc)
    cc[termios.VMIN], cc[termios.VTIME] = 1, 0
    return [iflag, oflag, cflag, lflag, ispeed, ospeed, cc]


class TerminalReader:
    """Reads keys from a terminal file descriptor in raw mode; ``stop`` restores the mode."""

    def __init__(self, fd: int = 0):
        self.fd = fd
        self._saved = None
        self._stopping = threading.Event()
        self._thread = None

    def start(self, on_key, on_notice):
        if not os.isatty(self.fd):
            raise InputUnavailable("đầu vào không phải terminal / standard input is not a terminal: "
                                   "run in a terminal, or use --input evdev for a USB keypad")
        self._saved = termios.tcgetattr(self.fd)
        termios.tcsetattr(self.fd, termios.TCSANOW, raw_attributes(self._saved))
        self._thread = threading.Thread(target=self._read, args=(on_key,), name="terminal-keys", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        self.restore()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)

    def restore(self):
        """Put the terminal back as we found it (safe to call twice, and from a signal handler)."""
        saved, self._saved = self._saved, None
        if saved is not None:
            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)
            except termios.error:
                pass  # the terminal is gone (SSH hung up): nothing to restore

    def _read(self, on_key):
        decoder = TerminalDecoder()
        while not self._stopping.is_set():
            try:
                ready, _, _ = select.select([self.fd], [], [], ESCAPE_PAUSE if decoder.pending else POLL)
                data = os.read(self.fd, 256) if ready else None
            except OSError:
                data = b""  # EIO: the terminal hung up
            if data == b"":
                on_key(END_OF_INPUT)
                return
            for key in decoder.feed(data) if data else decoder.flush():
                on_key(key)


# -- Linux input devices (python-evdev) -------------------------------------------------

def import_evdev():
    try:
        import evdev
    except ImportError:
        raise InputUnavailable(
            "chưa cài python-evdev / python-evdev is not installed: `pip install evdev` in this venv "
            "(or Debian's python3-evdev with a --system-site-packages venv); "
            "with a keyboard on a terminal use --input terminal") from None
    return evdev


def is_keypad(device) -> bool:
    return KEY_KPENTER in device.capabilities().get(EV_KEY, [])


def list_input_devices(evdev=None) -> list[str]:
    """One line per input device that sends keys: path, name, and whether it has a keypad."""
    evdev = evdev or import_evdev()
    lines = []
    for path in sorted(evdev.list_devices()):
        device = evdev.InputDevice(path)
        try:
            if EV_KEY in device.capabilities():
                lines.append(f"{path}\t{device.name}\t{'keypad' if is_keypad(device) else 'keys'}")
        finally:
            device.close()
    return lines


def find_keypad(evdev) -> str:
    """The first device with a keypad Enter key."""
    for path in sorted(evdev.list_devices()):
        device = evdev.InputDevice(path)
        try:
            if is_keypad(device):
                return path
        finally:
            device.close()
    raise InputUnavailable("không tìm thấy bàn phím số / no keypad found in /dev/input (reading it needs root "
                           "or the 'input' group); name one with --device")


class EvdevReader:
    """Reads a keypad with python-evdev, grabbing it so its keys do not also reach the console.

    An unplugged keypad is reopened (by the same path, or the first keypad found) once a
    second, with notes to ``on_notice``, so plugging it back in is all a clerk has to do.
    """

    REOPEN_EVERY = 1.0

    def __init__(self, device_path: str | None = None, grab: bool = True, evdev=None):
        self.device_path = device_path
        self.grab = grab
        self.evdev = evdev
        self.device = None
        self._stopping = threading.Event()
        self._thread = None

    def start(self, on_key, on_notice):
        self.evdev = self.evdev or import_evdev()
        try:
            self.device = self._open()
        except OSError as error:
            raise InputUnavailable(f"{self.device_path or 'keypad'}: không mở được / cannot open: "
                                   f"{error.strerror or error}") from None
        on_notice(f"Bàn phím / keypad: {self.device.name} ({self.device.path})")
        self._thread = threading.Thread(target=self._read, args=(on_key, on_notice), name="evdev-keys", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(1.0)
        self._close()

    def _open(self):
        device = self.evdev.InputDevice(self.device_path or find_keypad(self.evdev))
        if self.grab:
            device.grab()
        return device

    def _close(self):
        device, self.device = self.device, None
        if device is not None:
            try:
                if self.grab:
                    device.ungrab()
            except OSError:
                pass  # unplugged: nothing to give back
            device.close()

    def _read(self, on_key, on_notice):
        translator = EvdevTranslator()
        while not self._stopping.is_set():
            if self.device is None and not self._reopen(on_notice):
                continue
            try:
                ready, _, _ = select.select([self.device.fd], [], [], POLL)
                for event in self.device.read() if ready else ():
                    if event.type == EV_KEY:
                        key = translator.translate(event.code, event.value)
                        if key:
                            on_key(key)
            except OSError as error:
                if error.errno == errno.EAGAIN:
                    continue
                on_notice("Mất bàn phím / keypad disconnected: cắm lại / plug it back in")
                self._close()
                translator = EvdevTranslator()  # keys held at unplug are released

    def _reopen(self, on_notice) -> bool:
        if self._stopping.wait(self.REOPEN_EVERY):
            return False
        try:
            self.device = self._open()
        except (OSError, InputUnavailable):
            return False
        on_notice(f"Bàn phím đã kết nối / keypad connected: {self.device.name}")
        return True
