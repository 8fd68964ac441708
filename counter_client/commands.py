"""What a key can do, with its Vietnamese and English labels, and the key map."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from .keys import KEY_NAMES, key_label


@dataclass(frozen=True)
class Command:
    name: str
    label_vi: str
    label_en: str

    @property
    def label(self) -> str:
        return f"{self.label_vi} / {self.label_en}"


COMMANDS = {command.name: command for command in (
    Command("call-next", "Gọi tiếp", "Next"),
    Command("recall", "Gọi lại", "Recall"),
    Command("no-show", "Vắng mặt", "No-show"),
    Command("done", "Xong", "Done"),
    Command("start", "Bắt đầu phục vụ", "Start serving"),
    Command("pause-toggle", "Tạm dừng hoặc tiếp tục", "Pause or resume"),
    Command("pause", "Tạm dừng", "Pause"),
    Command("resume", "Tiếp tục", "Resume"),
    Command("transfer", "Chuyển dịch vụ", "Transfer"),
    Command("call-number", "Gọi số", "Call a number"),
    Command("reinstate", "Khôi phục số vắng", "Reinstate a no-show"),
    Command("undo", "Hoàn tác", "Undo"),
    Command("help", "Trợ giúp", "Help"),
    Command("quit", "Thoát", "Quit"),
)}

#: The hub action each command (or prompt) posts; the rest are handled in the client.
HUB_ACTIONS = ("call-next", "call", "recall", "start", "done", "no-show", "transfer", "reinstate", "pause", "resume",
               "undo")
#: Labels of hub actions that are not commands of their own.
ACTION_LABELS = {**COMMANDS, "call": COMMANDS["call-number"]}

#: Answers to "did the citizen come?" (after 409 arrival_unknown): B / V, and on a keypad
#: the keys of the map's "done" (0) and "no-show" (.) commands, which mean the same.
ARRIVAL_ANSWERS = {"b": True, "v": False}
ARRIVAL_COMMANDS = {"done": True, "no-show": False}

#: For a USB numeric keypad: every action is one key, or a prompt opened by one key.
DEFAULT_KEYS = MappingProxyType({
    "enter": "call-next",
    "+": "recall",
    ".": "no-show",
    "0": "done",
    "*": "start",
    "/": "pause-toggle",
    "-": "transfer",
    # undo: Backspace (keyboards, and keypads with a ← key), Z and Ctrl+Z as on the counter
    # page; NumLock, which every keypad has, with --input evdev (a terminal never sees it)
    "backspace": "undo",
    "z": "undo",
    "ctrl-z": "undo",
    "numlock": "undo",
    # typing a number starts "call this number": the digit is its first character
    **{digit: "call-number" for digit in "123456789"},
    "q": "quit",
    "h": "help",
    "?": "help",
})
UNBOUND = ("", "none")


class KeyMapError(ValueError):
    pass


class KeyMap:
    """Key name → command name; the defaults overridden by the config's ``[keys]``."""

    def __init__(self, bindings=DEFAULT_KEYS):
        self.bindings = dict(bindings)

    def keys_for(self, command: str) -> list[str]:
        return sorted(key for key, name in self.bindings.items() if name == command)

    def arrival_answer(self, key: str) -> bool | None:
        """True (came: done), False (never came: no-show) or None for ``key`` in the arrival prompt."""
        if key in ARRIVAL_ANSWERS:
            return ARRIVAL_ANSWERS[key]
        return ARRIVAL_COMMANDS.get(self.bindings.get(key))

    def command_for(self, key: str) -> Command | None:
        name = self.bindings.get(key)
        return COMMANDS.get(name) if name else None

    def with_overrides(self, overrides: dict, where: str = "[keys]") -> KeyMap:
        """A copy with ``overrides`` applied; ``"none"`` or ``""`` unbinds a key."""
        bindings = dict(self.bindings)
        for key, command in overrides.items():
            name = key.lower() if isinstance(key, str) else key
            if name not in KEY_NAMES:
                raise KeyMapError(f"{where}: tên phím không hợp lệ / unknown key name {key!r} "
                                  f"(known: {', '.join(sorted(KEY_NAMES))})")
            if not isinstance(command, str):
                raise KeyMapError(f"{where}: {key!r} phải là tên lệnh / must be a command name, got {command!r}")
            if command.lower() in UNBOUND:
                bindings.pop(name, None)
            elif command in COMMANDS:
                bindings[name] = command
            else:
                raise KeyMapError(f"{where}: {key!r}: lệnh không hợp lệ / unknown command {command!r} "
                                  f"(commands: {', '.join(COMMANDS)})")
        return KeyMap(bindings)

    def help_lines(self) -> list[str]:
        """One line per bound command, in the order of COMMANDS, with its keys."""
        keys_by_command = {}
        for key in sorted(self.bindings):
            keys_by_command.setdefault(self.bindings[key], []).append(key)
        lines = []
        for name, command in COMMANDS.items():
            if name in keys_by_command:
                how = (": gõ số rồi Enter / type the number, then Enter (+ = khôi phục / reinstate)"
                       if name == "call-number" else "")
                lines.append(f"  {_keys_label(keys_by_command[name]):<10} {command.label}{how}")
        came = ",".join(["B", *(key_label(key) for key in self.keys_for("done"))])
        absent = ",".join(["V", *(key_label(key) for key in self.keys_for("no-show"))])
        lines.append(f"  {came} / {absent}  khi hỏi 'đã đến quầy chưa?': đã đến (xong) / vắng mặt; phím khác huỷ "
                     "— when asked whether the citizen came: came (done) / no-show; other keys cancel")
        lines.append(f"  {'Ctrl-C':<10} {COMMANDS['quit'].label}")
        return lines


def _keys_label(keys: list[str]) -> str:
    """``1-9`` for a run of digits, else the keys one by one."""
    digits = "".join(keys)
    if len(keys) > 2 and digits.isdigit() and digits in "0123456789":
        return f"{keys[0]}-{keys[-1]}"
    return ",".join(key_label(key) for key in keys)
