"""Key names, and how the two kinds of keyboard produce them.

Every reader turns what it receives into the same small vocabulary of key names
(``"enter"``, ``"0"``…``"9"``, ``"+"``, ``"-"``, ``"*"``, ``"/"``, ``"."``, letters,
``"backspace"``, ``"escape"``, arrows, ...). The keypad's keys and the main keyboard's
keys with the same symbol share a name, so a clerk with a full keyboard uses the same
map as one with a USB numeric keypad.

- ``TerminalDecoder``: the bytes a terminal sends (plain characters, ``ESC O x`` in
  application keypad mode, ``ESC [ ... ~`` for the navigation keys), over SSH and tmux too.
- ``EvdevTranslator``: Linux input key codes (``linux/input-event-codes.h``, a stable
  kernel ABI, so the table needs no python-evdev to be tested).
"""

from __future__ import annotations

import string

#: Reserved: always quits, cannot be rebound.
CTRL_C = "ctrl-c"
#: The input ended (the terminal closed); the client quits.
END_OF_INPUT = "eof"
#: Ctrl+Z (undo on the counter page too); raw mode delivers it as a key, not a suspend.
CTRL_Z = "ctrl-z"

NAVIGATION_KEYS = ("insert", "delete", "home", "end", "pageup", "pagedown", "up", "down", "left", "right", "begin")
NAMED_KEYS = ("enter", "backspace", "escape", "tab", "space", "numlock", CTRL_Z) + NAVIGATION_KEYS + tuple(
    f"f{n}" for n in range(1, 13))
SYMBOL_KEYS = tuple("+-*/.=,?")
#: Every key name a key map may bind.
KEY_NAMES = frozenset(string.digits) | frozenset(string.ascii_lowercase) | frozenset(SYMBOL_KEYS) | frozenset(
    NAMED_KEYS)

#: How the README, the help and the prompts show a key.
KEY_LABELS = {"enter": "Enter", "backspace": "Backspace", "escape": "Esc", "tab": "Tab", "space": "Space",
              "numlock": "NumLock", "pageup": "PgUp", "pagedown": "PgDn", CTRL_Z: "Ctrl-Z"}


def key_label(name: str) -> str:
    return KEY_LABELS.get(name, name.capitalize() if len(name) > 1 else name)


# -- terminals ------------------------------------------------------------------------

#: ``ESC O x``: the keypad in application mode (DECKPAM), and cursor / F1-F4 keys.
SS3_KEYS = {
    "M": "enter", "k": "+", "m": "-", "j": "*", "o": "/", "n": ".", "l": ".", "X": "=",
    **{chr(ord("p") + digit): str(digit) for digit in range(10)},
    "A": "up", "B": "down", "C": "right", "D": "left", "E": "begin", "H": "home", "F": "end",
    "P": "f1", "Q": "f2", "R": "f3", "S": "f4",
}
#: ``ESC [ ... final``: the final byte alone, or ``<number>~``.
CSI_FINAL_KEYS = {"A": "up", "B": "down", "C": "right", "D": "left", "E": "begin", "H": "home", "F": "end",
                  "P": "f1", "Q": "f2", "R": "f3", "S": "f4"}
CSI_TILDE_KEYS = {"1": "home", "2": "insert", "3": "delete", "4": "end", "5": "pageup", "6": "pagedown",
                  "7": "home", "8": "end", "11": "f1", "12": "f2", "13": "f3", "14": "f4", "15": "f5",
                  "17": "f6", "18": "f7", "19": "f8", "20": "f9", "21": "f10", "23": "f11", "24": "f12"}
CONTROL_KEYS = {0x0D: "enter", 0x0A: "enter", 0x7F: "backspace", 0x08: "backspace", 0x09: "tab",
                0x03: CTRL_C, 0x04: END_OF_INPUT, 0x1A: CTRL_Z, 0x20: "space"}
ESC = 0x1B
CSI_LONGEST = 16  # longer than any key sequence: garbage, not a key still arriving


class TerminalDecoder:
    """Bytes from a terminal in raw mode → key names.

    ``feed`` what arrives; a lone ESC cannot be told from the start of a sequence, so
    the reader calls ``flush`` when nothing more came within a short pause.
    """

    def __init__(self):
        self._buffer = b""

    @property
    def pending(self) -> bool:
        return bool(self._buffer)

    def feed(self, data: bytes) -> list[str]:
        self._buffer += data
        keys = []
        while self._buffer:
            key, used = self._decode_one(self._buffer)
            if used == 0:
                break  # an incomplete sequence: wait for the rest (or for flush)
            self._buffer = self._buffer[used:]
            if key:
                keys.append(key)
        return keys

    def flush(self) -> list[str]:
        """Nothing more came: a buffered ESC was the Esc key, the rest is dropped."""
        buffer, self._buffer = self._buffer, b""
        return ["escape"] if buffer[:1] == bytes([ESC]) else []

    def _decode_one(self, data: bytes) -> tuple[str | None, int]:
        """The first key in ``data`` and the bytes it used; (None, 0) when incomplete."""
        first = data[0]
        if first == ESC:
            return self._decode_escape(data)
        if first == 0x0D and data[1:2] == b"\n":
            return "enter", 2  # a pasted CR LF is one Enter
        if first in CONTROL_KEYS:
            return CONTROL_KEYS[first], 1
        if first < 0x20:
            return None, 1  # other control characters mean nothing here
        if first < 0x80:
            return chr(first).lower(), 1
        return self._decode_utf8(data)

    @staticmethod
    def _decode_escape(data: bytes) -> tuple[str | None, int]:
        if len(data) < 2:
            return None, 0
        introducer = chr(data[1])
        if introducer == "O":
            if len(data) < 3:
                return None, 0
            return SS3_KEYS.get(chr(data[2])), 3
        if introducer == "[":
            for end in range(2, min(len(data), CSI_LONGEST)):
                if 0x40 <= data[end] <= 0x7E:
                    return _csi_key(data[2:end].decode("ascii", "replace"), chr(data[end])), end + 1
            if len(data) >= CSI_LONGEST:
                return None, len(data)
            return None, 0
        # ESC followed by anything else (ESC ESC, Alt+key): the Esc key; the rest is read next.
        return "escape", 1

    @staticmethod
    def _decode_utf8(data: bytes) -> tuple[str | None, int]:
        length = 2 if data[0] >= 0xC0 else 1
        length = 3 if data[0] >= 0xE0 else length
        length = 4 if data[0] >= 0xF0 else length
        if len(data) < length:
            return None, 0
        try:
            return data[:length].decode("utf-8").lower(), length
        except UnicodeDecodeError:
            return None, 1


def _csi_key(parameters: str, final: str) -> str | None:
    if final == "~":
        return CSI_TILDE_KEYS.get(parameters.split(";")[0])
    return CSI_FINAL_KEYS.get(final)  # "1;5A" (Ctrl+Up) is still Up: modifiers do not matter here


# -- Linux input devices ----------------------------------------------------------------

EV_KEY = 1
KEY_UP, KEY_DOWN, KEY_REPEAT = 0, 1, 2

#: Linux input key codes → key names (linux/input-event-codes.h).
LINUX_KEY_CODES = {
    1: "escape", 14: "backspace", 15: "tab", 28: "enter", 57: "space", 69: "numlock",
    **{2 + index: digit for index, digit in enumerate("123456789")}, 11: "0",
    12: "-", 13: "=", 51: ",", 52: ".", 53: "/",
    **{16 + index: letter for index, letter in enumerate("qwertyuiop")},
    **{30 + index: letter for index, letter in enumerate("asdfghjkl")},
    **{44 + index: letter for index, letter in enumerate("zxcvbnm")},
    **{59 + index: f"f{index + 1}" for index in range(10)}, 87: "f11", 88: "f12",
    # the numeric keypad: the kernel reports these whatever the NumLock state
    71: "7", 72: "8", 73: "9", 74: "-", 75: "4", 76: "5", 77: "6", 78: "+",
    79: "1", 80: "2", 81: "3", 82: "0", 83: ".", 55: "*", 96: "enter", 98: "/", 117: "=", 121: ".",
    102: "home", 103: "up", 104: "pageup", 105: "left", 106: "right", 107: "end", 108: "down",
    109: "pagedown", 110: "insert", 111: "delete",
}
KEY_KPENTER = 96
SHIFT_CODES = frozenset({42, 54})
CTRL_CODES = frozenset({29, 97})
KEY_C = 46
KEY_Z = 44
#: What Shift makes of a main-keyboard key (US layout), where it matters to us.
SHIFTED_CODES = {13: "+", 9: "*", 53: "?"}


class EvdevTranslator:
    """Linux key events (code, value) → key names, tracking Shift and Ctrl.

    Only presses count: releases update modifiers, and autorepeat is ignored so a key
    held down does not call a queue of citizens.
    """

    def __init__(self):
        self._shift = set()
        self._ctrl = set()

    def translate(self, code: int, value: int) -> str | None:
        for codes, held in ((SHIFT_CODES, self._shift), (CTRL_CODES, self._ctrl)):
            if code in codes:
                if value == KEY_DOWN:
                    held.add(code)
                elif value == KEY_UP:
                    held.discard(code)
                return None
        if value != KEY_DOWN:
            return None
        if self._ctrl and code == KEY_C:
            return CTRL_C
        if self._ctrl and code == KEY_Z:
            return CTRL_Z
        if self._shift and code in SHIFTED_CODES:
            return SHIFTED_CODES[code]
        return LINUX_KEY_CODES.get(code)
