"""What the clerk sees: one status line redrawn in place, and log lines above it.

On a terminal the status line is rewritten with ``\\r`` + clear-to-end-of-line, cut to
the terminal's width (a wrapped line could not be redrawn in place), so it works over
SSH and in tmux. Not on a terminal (a systemd journal), each new status is a line.
Labels are Vietnamese first, with English when the line has room.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass, field

CLEAR_LINE = "\r\x1b[K"
TICKET_STATUS = {"called": ("đang gọi", "called"), "serving": ("đang phục vụ", "serving")}
LINK_TEXT = {
    "connecting": ("Đang kết nối…", "connecting"),
    "online": ("Đã kết nối", "online"),
    "lost": ("⚠ MẤT KẾT NỐI", "hub unreachable"),
}
LOST_LINK = "⚠ Mất kết nối / hub unreachable"
ASCII_MARKS = str.maketrans({"✓": "OK", "✗": "X", "⚠": "!!", "»": ">>", "…": "...", "→": "->", "·": "|",
                             "đ": "d", "Đ": "D"})


@dataclass
class CounterView:
    """The counter as last heard from the hub."""

    number: int
    name: str | None = None
    status: str | None = None  # "open" | "paused"; None until the hub has told us
    current: dict | None = None
    waiting: int | None = None
    waiting_numbers: list = field(default_factory=list)
    services: list = field(default_factory=list)  # [(code, name)] of the hall, for transfers
    link: str = "connecting"
    seq: int = -1


def bilingual(vi: str, en: str, short: bool) -> str:
    return vi if short else f"{vi} / {en}"


def status_line(view: CounterView, activity: tuple[str, str] | str, width: int, ascii_only: bool = False) -> str:
    """The status line: counter and ticket, waiting count, link, then ``activity``
    (what is being sent, the open prompt, or the last result) as (vi, en) or plain text.

    A lost link comes first so that no cut ever hides it; English goes when room is short.
    """
    for short in (False, True):
        parts = _status_parts(view, activity, short)
        line = plain(" | ".join(part for part in parts if part), ascii_only)
        if len(line) <= width - 1:
            return line
    return line[:max(width - 2, 0)] + plain("…", ascii_only)[:1]


def _status_parts(view: CounterView, activity, short: bool) -> list[str]:
    counter = f"Quầy {view.number}"
    if view.status == "paused":
        counter += " " + bilingual("TẠM DỪNG", "paused", short)
    current = view.current
    if current:
        state = TICKET_STATUS.get(current.get("status"), (current.get("status", ""), current.get("status", "")))
        ticket = f"Số {current.get('number')} ({current.get('service')}) {bilingual(*state, short)}"
    elif view.status is None:
        ticket = "…"
    else:
        ticket = bilingual("chưa gọi số", "no ticket", short)
    waiting = f"{bilingual('Chờ', 'waiting', short)}: {'?' if view.waiting is None else view.waiting}"
    link = bilingual(*LINK_TEXT[view.link], short)
    if isinstance(activity, tuple):
        activity = bilingual(*activity, short)
    parts = [counter, ticket, waiting, link, activity]
    if view.link == "lost":
        parts.insert(0, parts.pop(3))
    return parts


def plain(text: str, ascii_only: bool) -> str:
    """``text`` in NFC; with ``ascii_only`` without diacritics ("Gọi tiếp" → "Goi tiep")."""
    text = unicodedata.normalize("NFC", text)
    if not ascii_only:
        return text
    stripped = unicodedata.normalize("NFD", text.translate(ASCII_MARKS))
    return "".join(c for c in stripped if not unicodedata.combining(c)).encode("ascii", "replace").decode()


class Screen:
    """Writes the status line and log lines to a text stream."""

    def __init__(self, stream, interactive: bool | None = None, ascii_only: bool = False, width: int | None = None):
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.ascii_only = ascii_only
        self.fixed_width = width
        self._shown = None

    @property
    def width(self) -> int:
        if self.fixed_width:
            return self.fixed_width
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 80
        except (OSError, ValueError, AttributeError):
            return 80

    def log(self, text: str):
        """A line that stays (an action's result, a lost link); the status is redrawn below it."""
        text = plain(text, self.ascii_only)
        if self.interactive:
            self._write(f"{CLEAR_LINE}{text}\n")
            self._shown = None
        else:
            self._write(f"{text}\n")

    def status(self, text: str):
        text = plain(text, self.ascii_only)
        if text == self._shown:
            return
        self._shown = text
        self._write(f"{CLEAR_LINE}{text}" if self.interactive else f"{text}\n")

    def close(self):
        if self.interactive and self._shown is not None:
            self._write("\n")  # leave the last status visible, the shell prompt below it

    def _write(self, data: str):
        try:
            self.stream.write(data)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # the terminal hung up: nobody to show it to
