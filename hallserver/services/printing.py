"""The printed ticket: a 1-bit image of the ticket, sent to an ESC/POS receipt printer.

Vietnamese does not survive ESC/POS code pages, so the whole ticket (text, number, QR
code) is drawn into one image with a TrueType font that has the Vietnamese letters,
and the printer only receives a raster image (``GS v 0``) and a cut.

Printers sit behind one small interface chosen by a configuration string, the value
of the ``HALL_PRINTER`` setting (see :func:`parse_printer_spec`)::

    none                  no printer (the kiosk shows the number only)
    usb:04b8:0202         USB vendor:product ids in hex, as ``lsusb`` prints them
    network:HOST[:PORT]   raw TCP ("JetDirect"), port 9100 by default
    file:/dev/usb/lp0     a device file (or any writable path)
    dummy                 keeps the bytes in memory (python-escpos's Dummy), for tests

Printing never loses a ticket: the number is already issued when we print, so faults
come back as :class:`PrinterError` (or ``(False, message)`` from
:func:`print_ticket_safely`) and the kiosk keeps the number and QR code on screen.

Printing tells the truth. A network printer that accepted the connection has not printed
anything: the bytes may sit in a socket buffer it never reads. Printers that can answer
(network, USB: python-escpos drivers with a ``_read``) are asked their real-time status
(``DLE EOT 1``, ``2`` and ``4``: online, cover, paper) before the job, which is not sent
to a printer that is offline, open or out of paper, and again after it: the printer
answers a real-time query only once it has taken in the bytes before it, so an answer
after the job means the printer read it. No answer within ``status_timeout`` is doubt,
and doubt is reported as not printed. Each fault carries, besides its technical
message for the log, an *alert* in a supervisor's words (``Máy in kiosk không phản hồi
(mạng 192.168.1.50:9100): kiểm tra giấy, nắp và cáp``). One-way devices (``file:``,
``dummy``) cannot be asked; for them a job written without error counts as printed.
"""

import errno
import logging
import socket
import threading
import time
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import segno
from PIL import Image, ImageDraw, ImageFont

from ..errors import HallError

log = logging.getLogger(__name__)

SETTING_NAME = "HALL_PRINTER"
SPEC_FORMS = "none, dummy, usb:VENDOR:PRODUCT, network:HOST[:PORT] or file:PATH"
NETWORK_DEFAULT_PORT = 9100
DEFAULT_TIMEOUT_SECONDS = 5.0
STATUS_TIMEOUT_SECONDS = 3.0  # a printer answers a status query in milliseconds; silence is doubt
# A printer out of paper fails every ticket until someone comes: the supervisor is told once, and
# again after the dashboard has let the alert go (it shows a fault for an hour) if it still lasts.
ALERT_REPEAT_SECONDS = 3600

# ESC/POS real-time status queries (DLE EOT n) and what their answer bytes mean.
STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_PAPER = b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04"
STATUS_FIXED_MASK, STATUS_FIXED_BITS = 0x93, 0x12  # bits 0 and 7 are 0, bits 1 and 4 are 1 in every answer
STATUS_OFFLINE = 0x08         # DLE EOT 1
STATUS_COVER_OPEN = 0x04      # DLE EOT 2
STATUS_PAPER_STOP = 0x20      # DLE EOT 2: printing stopped for lack of paper
STATUS_ERROR = 0x40           # DLE EOT 2: an error (cutter, head temperature...)
STATUS_PAPER_NEAR_END = 0x0C  # DLE EOT 4
STATUS_PAPER_END = 0x60       # DLE EOT 4

# Printable width of common roll widths: 80 mm paper prints 72 mm, 58 mm paper 48 mm.
PRINTABLE_MM = {80: 72, 58: 48}
DEFAULT_DPI = 203

QR_ERROR_LEVEL = "m"  # survives a crumpled ticket better than "l", still a small symbol
QR_BORDER_MODULES = 4  # the quiet zone the QR standard asks for

# First font with every Vietnamese letter wins: DejaVu (fonts-dejavu-core, which run.sh
# installs), then Noto (fonts-noto-core), then Liberation (fonts-liberation).
FONT_CANDIDATES = {
    False: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
    ),
    True: (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
        "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf",
    ),
}
FONT_PACKAGE_HINT = "apt-get install fonts-dejavu-core"

_TONE_MARKS = "\u0300\u0301\u0309\u0303\u0323"  # huyền, sắc, hỏi, ngã, nặng
_VOWELS = "aăâeêioôơuưy"
VIETNAMESE_LETTERS = "".join(
    unicodedata.normalize("NFC", letter)
    for base in _VOWELS + _VOWELS.upper()
    for letter in (base, *(base + mark for mark in _TONE_MARKS))
) + "đĐ"

# A code point no text font maps: whatever it draws is the font's "missing glyph" box.
_MISSING_CODE_POINT = "\U000f0000"


class PrinterError(HallError):
    """The printer could not print the ticket (or did not confirm it); the ticket itself stands.

    ``message`` is technical, for the log; ``alert`` (and ``alert_en``) says it in a
    supervisor's words, for the dashboard: what is wrong, where, and what to check.
    """

    status = 503
    code = "printer_error"

    def __init__(self, reason, reason_en=None, *, alert=None, alert_en=None):
        super().__init__(f"Máy in gặp sự cố: {reason}", f"Printer fault: {reason_en or reason}")
        self.reason = reason
        self.alert = alert or f"Máy in kiosk gặp sự cố: {reason}"
        self.alert_en = alert_en or (f"The kiosk printer has a fault: {reason_en}" if reason_en else self.alert)


@dataclass(frozen=True)
class PrinterStatus:
    """A printer's answers to DLE EOT 1, 2 and 4."""

    offline: bool
    cover_open: bool
    paper_out: bool
    paper_near_end: bool
    error: bool

    @classmethod
    def from_bytes(cls, printer, cause, paper):
        return cls(offline=bool(printer & STATUS_OFFLINE), cover_open=bool(cause & STATUS_COVER_OPEN),
                   paper_out=bool(cause & STATUS_PAPER_STOP) or bool(paper & STATUS_PAPER_END),
                   paper_near_end=bool(paper & STATUS_PAPER_NEAR_END), error=bool(cause & STATUS_ERROR))

    @property
    def ready(self):
        return not (self.offline or self.cover_open or self.paper_out or self.error)


@dataclass(frozen=True)
class PrintResult:
    """How a print job went, never raised.

    ``printed``: the ticket was confirmed by the printer (or written without error to a
    device that cannot be asked). ``confirmed``: True when the printer answered after the
    job, None when it cannot be asked. ``message``: the technical reason it was not
    printed (for the log). ``alert``/``alert_en``: what to tell the supervisor (a fault,
    or a warning such as paper running low on a printed ticket), or None, also when this
    printer raised the same alert within ``ALERT_REPEAT_SECONDS`` and has not printed
    cleanly since (the supervisor already knows).
    """

    printed: bool
    confirmed: bool | None = None
    message: str | None = None
    alert: str | None = None
    alert_en: str | None = None

    @classmethod
    def failed(cls, error):
        return cls(False, False, error.message, error.alert, error.alert_en)


# ---------------------------------------------------------------- inputs


@dataclass(frozen=True)
class TicketInfo:
    """What a ticket shows: the hub's public ticket view, plus the priority's display name."""

    number: str
    service_name: str
    issued_at: str  # ISO 8601, as in the public view
    service: str | None = None
    priority: str | None = None
    priority_name: str | None = None
    position: int | None = None
    ahead: int | None = None
    eta_minutes: int | None = None
    eta_low_minutes: int | None = None
    eta_high_minutes: int | None = None
    eta_at: str | None = None            # local HH:MM the estimate points at
    eta_after_closure: bool | None = None
    track_token: str | None = None

    @classmethod
    def from_view(cls, view, priority_name=None):
        """From ``public_ticket(...)`` (or the API's ``ticket`` object); other keys are ignored."""
        known = {field.name for field in fields(cls)}
        values = {key: value for key, value in view.items() if key in known}
        values.setdefault("service_name", view.get("service", ""))
        if priority_name is not None:
            values["priority_name"] = priority_name
        return cls(**values)


@dataclass(frozen=True)
class HallInfo:
    """The hall's header and footer; ``timezone`` (IANA name or tzinfo) converts ``issued_at``."""

    name: str
    hotline: str | None = None
    timezone: str | tzinfo | None = None

    @classmethod
    def from_view(cls, view):
        """From the ``hall`` object of the public state (other keys are ignored)."""
        return cls(name=view["name"], hotline=view.get("hotline"), timezone=view.get("timezone"))


def _as_ticket(ticket):
    return ticket if isinstance(ticket, TicketInfo) else TicketInfo.from_view(ticket)


def _as_hall(hall):
    return hall if isinstance(hall, HallInfo) else HallInfo.from_view(hall)


# ---------------------------------------------------------------- fonts


def _glyph_mask(font, char):
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def font_has_letters(font, letters=VIETNAMESE_LETTERS):
    """True if every letter draws a real glyph, not the font's missing-glyph box."""
    missing = _glyph_mask(font, _MISSING_CODE_POINT)
    return all(_glyph_mask(font, letter) != missing for letter in letters)


@cache
def find_font(bold=False):
    """Path of the first installed TrueType font with all Vietnamese letters.

    Raises PrinterError naming the package to install when there is none.
    """
    for path in FONT_CANDIDATES[bold]:
        if Path(path).is_file() and font_has_letters(_load_font(path, 24)):
            return path
    style = "đậm" if bold else "thường"
    raise PrinterError(
        f"không tìm thấy phông chữ tiếng Việt ({style}) trong {', '.join(FONT_CANDIDATES[bold])}; "
        f"cài bằng: {FONT_PACKAGE_HINT}",
        f"no TrueType font with Vietnamese letters ({'bold' if bold else 'regular'}) among "
        f"{', '.join(FONT_CANDIDATES[bold])}; install one: {FONT_PACKAGE_HINT}",
        alert=f"Máy chủ thiếu phông chữ tiếng Việt để in phiếu: báo quản trị viên ({FONT_PACKAGE_HINT})",
        alert_en=f"The hub lacks a Vietnamese font to print tickets: tell the administrator ({FONT_PACKAGE_HINT})",
    )


@cache
def _load_font(path, size):
    # The basic layout engine draws the same pixels whether or not libraqm is installed;
    # it needs precomposed (NFC) text, which _nfc guarantees.
    return ImageFont.truetype(path, size, layout_engine=ImageFont.Layout.BASIC)


def ticket_font(size, bold=False):
    return _load_font(find_font(bold), size)


def _nfc(text):
    return unicodedata.normalize("NFC", str(text))


# ---------------------------------------------------------------- rendering


def ticket_width_px(width_mm=80, dpi=DEFAULT_DPI):
    """Dots across the printable width: 576 for 80 mm and 384 for 58 mm paper at 203 dpi."""
    if width_mm not in PRINTABLE_MM:
        raise ValueError(f"paper width must be one of {sorted(PRINTABLE_MM)} mm, got {width_mm!r}")
    # Printers count dots in whole bytes: round to the nearest multiple of 8.
    return round(PRINTABLE_MM[width_mm] * dpi / 25.4 / 8) * 8


def qr_image(url, *, module_px, border=QR_BORDER_MODULES):
    """The QR code of ``url`` as a 1-bit image, ``module_px`` dots per module, with its quiet zone."""
    code = segno.make(url, error=QR_ERROR_LEVEL, micro=False)
    size = code.symbol_size(scale=module_px, border=border)
    dots = bytes(0 if dark else 255 for row in code.matrix_iter(scale=module_px, border=border) for dark in row)
    return Image.frombytes("L", size, dots).convert("1", dither=Image.Dither.NONE)


def qr_module_px(url, width_px):
    """Dots per QR module so the code takes about half the ticket's width (4 to 8 dots)."""
    modules = segno.make(url, error=QR_ERROR_LEVEL, micro=False).symbol_size(scale=1, border=QR_BORDER_MODULES)[0]
    return max(4, min(8, int(width_px * 0.55) // modules))


def format_wait(minutes):
    """The estimated wait in words, Vietnamese and English."""
    if minutes <= 0:
        return "sắp đến lượt", "very soon"
    if minutes < 60:
        return f"khoảng {minutes} phút", f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    if rest == 0:
        return f"khoảng {hours} giờ", f"about {hours} h"
    return f"khoảng {hours} giờ {rest} phút", f"about {hours} h {rest} min"


def format_wait_range(low, high, at=None, after_closure=False):
    """The estimate as a range a person plans with ("khoảng 15–25 phút"); one that crosses the
    hall's closure says so with its clock time ("sau giờ nghỉ trưa, khoảng 13:45")."""
    if after_closure and at:
        return f"sau giờ nghỉ trưa, khoảng {at}", f"after the lunch break, around {at}"
    if high <= 0:
        return format_wait(0)
    return f"khoảng {low}–{high} phút", f"about {low}–{high} min"


def _local_moment(issued_at, timezone=None):
    """``issued_at`` (ISO 8601) in the hall's time zone, or at the timestamp's own offset."""
    moment = datetime.fromisoformat(issued_at)
    if timezone:
        zone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
        moment = moment.replace(tzinfo=zone) if moment.tzinfo is None else moment.astimezone(zone)
    return moment


def format_issued(issued_at, timezone=None):
    """``09:13 ngày 26/11/2026`` in the hall's time zone (or the timestamp's own offset)."""
    moment = _local_moment(issued_at, timezone)
    return f"{moment:%H:%M} ngày {moment:%d/%m/%Y}"


def format_issued_en(issued_at, timezone=None):
    """``09:13, 26/11/2026``: the same moment, for the English line under it."""
    moment = _local_moment(issued_at, timezone)
    return f"{moment:%H:%M}, {moment:%d/%m/%Y}"


class _Sheet:
    """Draws blocks top to bottom on a long white strip, then crops it to what was drawn."""

    MAX_HEIGHT = 4000

    def __init__(self, width, margin):
        self.width = width
        self.margin = margin
        self.image = Image.new("L", (width, self.MAX_HEIGHT), 255)
        self.draw = ImageDraw.Draw(self.image)
        self.y = margin

    @property
    def text_width(self):
        return self.width - 2 * self.margin

    def space(self, dots):
        self.y += dots

    def lines(self, text, font, *, gap=4):
        """Centred text, wrapped at word boundaries to the printable width."""
        ascent, descent = font.getmetrics()
        for line in _wrap(_nfc(text), font, self.text_width):
            self.draw.text((self.width // 2, self.y), line, font=font, fill=0, anchor="ma")
            self.y += ascent + descent + gap

    def field(self, label, value, font, *, gap=4):
        """``label: value`` on one line, or the label over the value when that is too wide."""
        if font.getlength(_nfc(f"{label}: {value}")) <= self.text_width:
            self.lines(f"{label}: {value}", font, gap=gap)
        else:
            self.lines(f"{label}:", font, gap=0)
            self.lines(value, font, gap=gap)

    def banner(self, text, font, *, padding):
        """White text on a black bar: the priority mark, seen at a glance."""
        top = self.y
        ascent, descent = font.getmetrics()
        wrapped = _wrap(_nfc(text), font, self.text_width - 2 * padding)
        height = len(wrapped) * (ascent + descent) + 2 * padding
        self.draw.rectangle((self.margin, top, self.width - self.margin - 1, top + height - 1), fill=0)
        self.y += padding
        for line in wrapped:
            self.draw.text((self.width // 2, self.y), line, font=font, fill=255, anchor="ma")
            self.y += ascent + descent
        self.y = top + height

    def big_number(self, text, bold_size_max):
        """The number as large as fits the width; advances by its ink height."""
        size = bold_size_max
        while True:
            font = ticket_font(size, bold=True)
            left, top, right, bottom = font.getbbox(text, anchor="ls")
            if right - left <= self.text_width or size <= 20:
                break
            size -= 4
        x = (self.width - (right - left)) // 2 - left
        self.draw.text((x, self.y - top), text, font=font, fill=0, anchor="ls")
        self.y += bottom - top

    def rule(self, thickness=2, gap=14):
        self.y += gap
        self.draw.rectangle((self.margin, self.y, self.width - self.margin - 1, self.y + thickness - 1), fill=0)
        self.y += thickness + gap

    def paste_centred(self, image):
        self.image.paste(image.convert("L"), ((self.width - image.width) // 2, self.y))
        self.y += image.height

    def finish(self):
        """The drawn part as a 1-bit image (a plain threshold: dithering would fray the text)."""
        height = min(self.y + 2 * self.margin, self.MAX_HEIGHT)
        return self.image.crop((0, 0, self.width, height)).convert("1", dither=Image.Dither.NONE)


def _wrap(text, font, max_width):
    """Split text into lines no wider than max_width, as even in length as the line count allows.

    Centred lines of similar length read better than a full line over an orphaned word.
    """
    lines = _wrap_greedy(text, font, max_width)
    widest_word = max((font.getlength(word) for word in text.split()), default=0)
    if len(lines) < 2 or widest_word >= max_width:
        return lines
    fits, too_narrow = max_width, widest_word
    while fits - too_narrow > 1:
        width = (fits + too_narrow) / 2
        if len(_wrap_greedy(text, font, width)) == len(lines):
            fits = width
        else:
            too_narrow = width
    return _wrap_greedy(text, font, fits)


def _wrap_greedy(text, font, max_width):
    """As many words per line as fit; a word wider than a line is cut between characters."""
    lines, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.getlength(candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for char in word:
            if font.getlength(current + char) > max_width and current:
                lines.append(current)
                current = ""
            current += char
    if current:
        lines.append(current)
    return lines or [""]


def render_ticket(ticket, hall, *, width_mm=80, dpi=DEFAULT_DPI, track_url=None):
    """The ticket as a 1-bit image, as wide as the paper's printable area.

    ``ticket``: a TicketInfo or the hub's public ticket view (a dict; add ``priority_name``
    for the priority's display name). ``hall``: a HallInfo or a dict with ``name``,
    ``hotline`` and optionally ``timezone``. ``track_url``: the tracking link for the QR code.
    """
    ticket, hall = _as_ticket(ticket), _as_hall(hall)
    width = ticket_width_px(width_mm, dpi)
    # Sizes are set for 80 mm paper and shrink less than the paper does: 58 mm tickets
    # keep text large enough to read without glasses.
    scale = 0.5 + 0.5 * width / 576

    def font(size, bold=False):
        return ticket_font(round(size * scale), bold)

    sheet = _Sheet(width, margin=round(12 * scale))
    sheet.lines(hall.name, font(26, bold=True))
    sheet.rule()
    sheet.lines("SỐ THỨ TỰ", font(36, bold=True), gap=0)
    sheet.lines("Your number", font(20))
    sheet.space(round(16 * scale))
    sheet.big_number(_nfc(ticket.number), bold_size_max=round(0.4 * width))
    sheet.space(round(18 * scale))
    sheet.lines(ticket.service_name, font(32, bold=True))
    if ticket.priority:
        sheet.space(round(6 * scale))
        priority = ticket.priority_name or ticket.priority
        sheet.banner(f"Ưu tiên: {priority}", font(26, bold=True), padding=round(8 * scale))
        sheet.space(round(4 * scale))
        sheet.lines("Priority ticket", font(18), gap=0)
    sheet.rule()
    info, english = font(24), font(18)
    if ticket.ahead is not None:
        sheet.field("Số người đang chờ trước bạn", ticket.ahead, info, gap=0)
        sheet.lines(f"People ahead of you: {ticket.ahead}", english, gap=10)
    if ticket.eta_minutes is not None:
        wait_vi, wait_en = format_wait(ticket.eta_minutes)
        # next in line: "sắp đến lượt", as the kiosk says, not "khoảng 0–3 phút"
        if ticket.eta_minutes > 0 and ticket.eta_low_minutes is not None and ticket.eta_high_minutes is not None:
            wait_vi, wait_en = format_wait_range(ticket.eta_low_minutes, ticket.eta_high_minutes, ticket.eta_at,
                                                 ticket.eta_after_closure)
        sheet.field("Thời gian chờ dự kiến", wait_vi, info, gap=0)
        sheet.lines(f"Estimated wait: {wait_en}", english, gap=10)
    sheet.field("Thời gian lấy số", format_issued(ticket.issued_at, hall.timezone), info, gap=0)
    sheet.lines(f"Issued at {format_issued_en(ticket.issued_at, hall.timezone)}", english)
    if track_url:
        sheet.rule()
        sheet.paste_centred(qr_image(track_url, module_px=qr_module_px(track_url, width)))
        sheet.lines("Quét mã để theo dõi lượt của bạn", font(24, bold=True), gap=0)
        sheet.lines("Scan to follow your turn", english)
    sheet.rule()
    if hall.hotline:
        sheet.field("Đường dây nóng / Hotline", hall.hotline, info)
    sheet.lines("Vui lòng giữ phiếu đến khi được phục vụ", english, gap=0)
    sheet.lines("Please keep this ticket until you are served", english)
    return sheet.finish()


# ---------------------------------------------------------------- configuration


@dataclass(frozen=True)
class PrinterSpec:
    """A parsed ``HALL_PRINTER`` value; ``str()`` gives it back in canonical form."""

    kind: str  # none, dummy, usb, network, file
    vendor_id: int | None = None
    product_id: int | None = None
    host: str | None = None
    port: int | None = None
    path: str | None = None

    def __str__(self):
        if self.kind == "usb":
            return f"usb:{self.vendor_id:04x}:{self.product_id:04x}"
        if self.kind == "network":
            return f"network:{self.host}:{self.port}"
        if self.kind == "file":
            return f"file:{self.path}"
        return self.kind


def _spec_error(problem, raw):
    return ValueError(f"{SETTING_NAME}: {problem}, got {raw!r}")


def parse_printer_spec(spec):
    """Check a ``HALL_PRINTER`` value without touching any hardware.

    Raises ValueError naming ``HALL_PRINTER`` and what is wrong.
    """
    raw = spec
    if not isinstance(spec, str) or not spec.strip():
        raise _spec_error(f"expected {SPEC_FORMS}", raw)
    kind, _, rest = spec.strip().partition(":")
    kind = kind.lower()
    if kind in ("none", "dummy"):
        if rest:
            raise _spec_error(f"{kind!r} takes nothing after it", raw)
        return PrinterSpec(kind)
    if kind == "usb":
        ids = rest.split(":")
        if len(ids) != 2 or not all(len(part) == 4 and _is_hex(part) for part in ids):
            raise _spec_error(
                "expected usb:VENDOR:PRODUCT with two 4-digit hex ids as lsusb shows them, such as usb:04b8:0202", raw
            )
        return PrinterSpec("usb", vendor_id=int(ids[0], 16), product_id=int(ids[1], 16))
    if kind == "network":
        host, colon, port = rest.partition(":")
        if not host or (colon and not port) or ":" in port:
            raise _spec_error("expected network:HOST or network:HOST:PORT, such as network:192.168.1.50:9100", raw)
        if not port:
            return PrinterSpec("network", host=host, port=NETWORK_DEFAULT_PORT)
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise _spec_error(f"the port must be a whole number from 1 to 65535 (not {port!r})", raw)
        return PrinterSpec("network", host=host, port=int(port))
    if kind == "file":
        if not rest:
            raise _spec_error("expected file:PATH, such as file:/dev/usb/lp0", raw)
        return PrinterSpec("file", path=rest)
    raise _spec_error(f"unknown printer kind {kind!r}; expected {SPEC_FORMS}", raw)


def _is_hex(text):
    return all(char in "0123456789abcdefABCDEF" for char in text)


def printer_where(spec):
    """Where a printer is, in words for the supervisor's alert: ``(Vietnamese, English)``."""
    parsed = spec if isinstance(spec, PrinterSpec) else parse_printer_spec(spec)
    if parsed.kind == "network":
        return f"mạng {parsed.host}:{parsed.port}", f"network {parsed.host}:{parsed.port}"
    if parsed.kind == "usb":
        ids = f"{parsed.vendor_id:04x}:{parsed.product_id:04x}"
        return f"USB {ids}", f"USB {ids}"  # vendor:product ids, as lsusb shows them, not a port
    if parsed.kind == "file":
        return f"thiết bị {parsed.path}", f"device {parsed.path}"
    return "máy in thử", "test printer"


def printer_from_config(spec, *, width_mm=80, dpi=DEFAULT_DPI, timeout=DEFAULT_TIMEOUT_SECONDS,
                        status_timeout=STATUS_TIMEOUT_SECONDS):
    """The TicketPrinter for a ``HALL_PRINTER`` value, or None for ``none``.

    Nothing is opened here: each print job connects and disconnects, so a printer
    switched off, unplugged or restarted between tickets is picked up again.
    ``timeout`` bounds each network or USB operation, in seconds; ``status_timeout`` how
    long a status query may go unanswered before the job is in doubt.
    """
    parsed = spec if isinstance(spec, PrinterSpec) else parse_printer_spec(spec)
    if parsed.kind == "none":
        return None
    # python-escpos is imported here, not at module import: it takes a third of a
    # second (it re-reads its printer database) and the hub without a printer never needs it.
    from escpos import printer as escpos_printers

    if parsed.kind == "dummy":
        driver = escpos_printers.Dummy()
    elif parsed.kind == "file":
        driver = escpos_printers.File(parsed.path)
    elif parsed.kind == "network":
        driver = escpos_printers.Network(parsed.host, parsed.port, timeout=timeout)
    else:
        def driver():
            return _usb_printer(parsed.vendor_id, parsed.product_id, timeout)
    return TicketPrinter(driver, name=str(parsed), width_mm=width_mm, dpi=dpi, timeout=timeout,
                         where=printer_where(parsed), status_timeout=status_timeout)


USB_HELP = "pip install pyusb; apt-get install libusb-1.0-0"


def _usb_printer(vendor_id, product_id, timeout):
    """python-escpos's Usb printer, built only once pyusb is known to import.

    (Built without pyusb, its destructor raises on every garbage collection.)
    """
    try:
        import usb.core  # noqa: F401  (pyusb)
    except ImportError:
        raise PrinterError(
            f"in qua USB cần thư viện pyusb và libusb ({USB_HELP})",
            f"printing over USB needs pyusb and libusb ({USB_HELP})",
        ) from None
    from escpos.printer import Usb

    return Usb(vendor_id, product_id, timeout=round(timeout * 1000))  # pyusb counts milliseconds


# ---------------------------------------------------------------- printing


class TicketPrinter:
    """Prints rendered tickets on one ESC/POS printer: init, raster image, feed and cut.

    ``escpos_printer`` is a python-escpos printer, or a function that makes one on the
    first job (for drivers whose construction needs optional libraries, like USB).
    Jobs are serialised: two kiosk requests never interleave their bytes.
    """

    def __init__(self, escpos_printer, *, name="printer", width_mm=80, dpi=DEFAULT_DPI, timeout=None,
                 where=None, status_timeout=STATUS_TIMEOUT_SECONDS, clock=time.monotonic):
        self._make_driver = escpos_printer if callable(escpos_printer) else None
        self._driver = None if callable(escpos_printer) else escpos_printer
        self.name = name
        self.where, self.where_en = where or (name, name)
        self.status_timeout = status_timeout
        self.width_mm = width_mm
        self.dpi = dpi
        self.width_px = ticket_width_px(width_mm, dpi)
        self.timeout = timeout
        self.clock = clock
        self._lock = threading.Lock()
        self._raised = None  # (alert, when) of the last alert raised, until a ticket prints cleanly

    def __repr__(self):
        return f"<TicketPrinter {self.name} {self.width_mm} mm>"

    @property
    def driver(self):
        """The python-escpos printer (made on first use)."""
        if self._driver is None:
            self._driver = self._make_driver()
        return self._driver

    def print_image(self, image):
        """Send one image as a job; raises PrinterError on any printer fault or doubt.

        Returns the printer's status after the job (a PrinterStatus), or None when the
        printer cannot be asked (a one-way device).
        """
        with self._lock:
            started = time.monotonic()
            after = None
            try:
                driver = self.driver
                _set_paper_width(driver, self.width_px)
                # Opened explicitly: python-escpos opens lazily only once, so after a
                # failed open it would never try again.
                driver.open()
                asks = answers_status(driver)
                if asks:
                    self._check(self._status(driver, after=False), after=False)
                driver.hw("INIT")  # a clean state, whatever a failed job left behind
                driver.image(image, impl="bitImageRaster")
                driver.cut()
                if asks:
                    after = self._check(self._status(driver, after=True), after=True)
            except PrinterError:
                raise
            except Exception as exc:
                raise self._explain(exc) from exc
            finally:
                self._close_quietly()
            log.debug("printed %dx%d on %s in %.2f s", image.width, image.height, self.name, time.monotonic() - started)
            return after

    def print_ticket(self, ticket, hall, *, track_url=None):
        """Render and print a ticket; raises PrinterError on a fault or when the printer did not confirm it.

        Returns the printer's status after the job, or None when it cannot be asked.
        """
        return self.print_image(render_ticket(ticket, hall, width_mm=self.width_mm, dpi=self.dpi,
                                              track_url=track_url))

    def print_ticket_checked(self, ticket, hall, *, track_url=None):
        """Print a ticket and say how it went, as a :class:`PrintResult`: never raises."""
        result = self._print_and_judge(ticket, hall, track_url)
        with self._lock:
            return self._alert_once(result)

    def _alert_once(self, result):
        """``result`` without its alert when this printer raised the same one within
        ALERT_REPEAT_SECONDS: one fault, one alert, however many tickets it fails."""
        if result.alert is None:
            if result.printed:
                self._raised = None  # fixed: the next fault is news
            return result
        now = self.clock()
        last_alert, raised_at = self._raised or (None, None)
        if last_alert == result.alert and now - raised_at < ALERT_REPEAT_SECONDS:
            return replace(result, alert=None, alert_en=None)
        self._raised = (result.alert, now)
        return result

    def _print_and_judge(self, ticket, hall, track_url):
        number = _ticket_number(ticket)
        try:
            status = self.print_ticket(ticket, hall, track_url=track_url)
        except PrinterError as exc:
            log.warning("ticket %s not printed on %s: %s", number, self.name, exc.message_en)
            return PrintResult.failed(exc)
        except Exception as exc:  # a bug must not cost the citizen the number on screen either
            log.exception("ticket %s not printed on %s: unexpected error", number, self.name)
            return PrintResult.failed(PrinterError(
                f"lỗi không xác định ({type(exc).__name__})", f"unexpected error ({type(exc).__name__})",
                alert=f"Máy kiosk không in được phiếu ({self.where}): báo quản trị viên xem nhật ký máy chủ",
                alert_en=f"The kiosk could not print a ticket ({self.where_en}): ask the administrator "
                         "to look at the hub's log"))
        if status is not None and status.paper_near_end:
            return PrintResult(True, True, alert=f"Máy in kiosk sắp hết giấy ({self.where}): chuẩn bị cuộn giấy mới",
                               alert_en=f"The kiosk printer is running out of paper ({self.where_en}): "
                                        "have a new roll ready")
        return PrintResult(True, None if status is None else True)

    def _status(self, driver, *, after):
        """The printer's answers to DLE EOT 1, 2 and 4; PrinterError when it does not answer."""
        device = getattr(driver, "_device", None)
        if isinstance(device, socket.socket):
            device.settimeout(self.status_timeout)
        answers = []
        try:
            for query in (STATUS_PRINTER, STATUS_OFFLINE_CAUSE, STATUS_PAPER):
                answers.append(self._ask(driver, query))
                if answers[-1] is None:  # silence once is enough: do not wait three times
                    break
        finally:
            if isinstance(device, socket.socket):
                device.settimeout(self.timeout)
        if None in answers:
            when, when_en = ("sau khi gửi phiếu", "after the ticket was sent") if after else ("", "")
            raise PrinterError(
                f"máy in {self.name} không trả lời câu hỏi trạng thái {when}".strip()
                + f" trong {self.status_timeout:g} giây",
                f"printer {self.name} did not answer the status query {when_en}".strip()
                + f" within {self.status_timeout:g} s",
                alert=(f"Máy in kiosk không xác nhận đã in phiếu ({self.where}): kiểm tra giấy, nắp và cáp"
                       if after else f"Máy in kiosk không phản hồi ({self.where}): kiểm tra giấy, nắp và cáp"),
                alert_en=(f"The kiosk printer did not confirm the ticket ({self.where_en}): "
                          "check paper, cover and cable" if after else
                          f"The kiosk printer does not answer ({self.where_en}): check paper, cover and cable"),
            )
        return PrinterStatus.from_bytes(*answers)

    @staticmethod
    def _ask(driver, query):
        """One status byte, or None for silence, a closed connection or an answer no printer gives."""
        try:
            answer = driver.query_status(query)
        except (OSError, ValueError):  # socket timeouts are OSErrors, pyusb's errors too
            return None
        if not answer or answer[-1] & STATUS_FIXED_MASK != STATUS_FIXED_BITS:
            return None
        return answer[-1]

    def _check(self, status, *, after):
        """Refuse a printer that is not ready; ``after``: it went wrong while printing."""
        if status.ready:
            return status
        where, where_en = self.where, self.where_en
        if status.paper_out:
            problem = ("hết giấy", "is out of paper", "thay cuộn giấy", "put in a new paper roll")
        elif status.cover_open:
            problem = ("đang mở nắp", "has its cover open", "đóng nắp máy in", "close the printer's cover")
        elif status.error:
            problem = ("báo lỗi", "reports an error", "tắt rồi bật lại máy in, kiểm tra dao cắt giấy",
                       "switch the printer off and on, check the paper cutter")
        else:
            problem = ("đang ngoại tuyến", "is offline", "kiểm tra giấy, nắp và nút nạp giấy",
                       "check paper, cover and the feed button")
        vi, en, todo, todo_en = problem
        during, during_en = (" khi đang in", " while printing") if after else ("", "")
        raise PrinterError(
            f"máy in {self.name} {vi}{during}", f"printer {self.name} {en}{during_en}",
            alert=f"Máy in kiosk {vi}{during} ({where}): {todo}",
            alert_en=f"The kiosk printer {en}{during_en} ({where_en}): {todo_en}",
        )

    def print_ticket_safely(self, ticket, hall, *, track_url=None):
        """Print a ticket and return ``(True, None)``, or ``(False, Vietnamese message)``: never raises.

        The ticket is already issued; the kiosk shows the message beside the number and QR code.
        """
        result = self.print_ticket_checked(ticket, hall, track_url=track_url)
        return result.printed, result.message

    def _close_quietly(self):
        # Each job opens its own connection: a printer restarted between tickets is
        # found again, and a raw-TCP printer is free for others between jobs.
        if self._driver is None:
            return
        try:
            self._driver.close()
        except Exception:  # closing a broken connection may fail again; the job already failed or finished
            log.debug("closing %s failed", self.name, exc_info=True)

    def _explain(self, exc):
        """A PrinterError in words a technician can act on, with an alert a supervisor can act on."""
        from escpos.exceptions import DeviceNotFoundError, ImageWidthError

        # python-escpos keeps its own message in .msg; its last line holds the OS's reason.
        text = str(getattr(exc, "msg", exc)).strip()
        detail = text.splitlines()[-1] if text else type(exc).__name__
        where, where_en = self.where, self.where_en
        if _permission_denied(exc):
            # A printer plugged in and switched on that the hub's account may not open: checking
            # the cable, as the other alerts ask, would never fix it.
            return PrinterError(
                f"không có quyền mở máy in {self.name} ({detail})",
                f"no permission to open printer {self.name} ({detail})",
                alert=f"Máy chủ không có quyền mở máy in ({where}): báo quản trị viên cấp quyền cho "
                      "tài khoản chạy máy chủ (README, mục máy in)",
                alert_en=f"The hub may not open the printer ({where_en}): tell the administrator to give "
                         "the hub's account access to it (README, printer)",
            )
        if isinstance(exc, ImageWidthError):
            return PrinterError(
                f"phiếu rộng hơn khổ giấy của máy in {self.name} ({detail} điểm)",
                f"the ticket is wider than {self.name}'s paper ({detail} dots)",
                alert=f"Máy in kiosk dùng giấy hẹp hơn khổ đã cài đặt ({where}): báo quản trị viên",
                alert_en=f"The kiosk printer's paper is narrower than configured ({where_en}): "
                         "tell the administrator",
            )
        if isinstance(exc, DeviceNotFoundError):
            return PrinterError(
                f"không kết nối được máy in {self.name} ({detail})",
                f"cannot open printer {self.name} ({detail})",
                alert=f"Máy kiosk không kết nối được máy in ({where}): kiểm tra máy in đã bật và cáp",
                alert_en=f"The kiosk cannot reach its printer ({where_en}): check it is switched on "
                         "and its cable",
            )
        if isinstance(exc, TimeoutError):
            return PrinterError(
                f"máy in {self.name} không phản hồi" + (f" sau {self.timeout:g} giây" if self.timeout else ""),
                f"printer {self.name} did not answer" + (f" within {self.timeout:g} s" if self.timeout else ""),
                alert=f"Máy in kiosk không phản hồi ({where}): kiểm tra giấy, nắp và cáp",
                alert_en=f"The kiosk printer does not answer ({where_en}): check paper, cover and cable",
            )
        if type(exc).__name__ == "NoBackendError":  # pyusb found no libusb
            return PrinterError(
                f"in qua USB cần thư viện libusb ({USB_HELP})",
                f"printing over USB needs libusb ({USB_HELP})",
                alert=f"Máy kiosk thiếu thư viện in qua USB: báo quản trị viên ({USB_HELP})",
                alert_en=f"The kiosk lacks the USB printing library: tell the administrator ({USB_HELP})",
            )
        if isinstance(exc, OSError):
            return PrinterError(
                f"lỗi khi gửi phiếu tới máy in {self.name} ({detail})",
                f"sending the ticket to {self.name} failed ({detail})",
                alert=f"Máy in kiosk ngắt kết nối khi nhận phiếu ({where}): kiểm tra giấy, nắp và cáp",
                alert_en=f"The kiosk printer dropped the connection while taking a ticket ({where_en}): "
                         "check paper, cover and cable",
            )
        return PrinterError(
            f"lỗi máy in {self.name} ({type(exc).__name__}: {detail})",
            f"printer {self.name} failed ({type(exc).__name__}: {detail})",
            alert=f"Máy in kiosk báo lỗi ({where}): tắt rồi bật lại máy in; nếu vẫn lỗi, báo quản trị viên",
            alert_en=f"The kiosk printer failed ({where_en}): switch it off and on; if it still fails, "
                     "tell the administrator",
        )


def _permission_denied(exc):
    """Whether ``exc``, or the error it was raised from, is the OS refusing access: python-escpos
    reports a device file or USB device it may not open as "not found", with the refusal inside."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "errno", None) == errno.EACCES:  # EPERM is also a local firewall refusing a socket
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def answers_status(driver):
    """Can this python-escpos printer be asked its status? (Network, USB, serial: yes; file, dummy: no.)"""
    from escpos.escpos import Escpos

    return type(driver)._read is not Escpos._read


def _set_paper_width(driver, width_px):
    """Tell python-escpos the paper's width when its printer profile does not know it.

    With an unknown width the library prints a warning on stdout for every image and
    cannot refuse an image wider than the paper. Only this printer's profile changes.
    """
    profile = driver.profile
    media = profile.profile_data.get("media", {})
    if media.get("width", {}).get("pixels", "Unknown") != "Unknown":
        return
    data = dict(profile.profile_data)
    data["media"] = {**media, "width": {**media.get("width", {}), "pixels": width_px}}
    profile.profile_data = data  # an instance attribute: the shared class data stays as it is


def _ticket_number(ticket):
    return ticket.number if isinstance(ticket, TicketInfo) else ticket.get("number", "?")


_shared_printers = {}
_shared_printers_lock = threading.Lock()


def shared_printer(spec, *, width_mm=80, dpi=DEFAULT_DPI, timeout=DEFAULT_TIMEOUT_SECONDS, status_timeout=None):
    """The one TicketPrinter of the process for these settings (None for ``none``).

    Requests that print to the same printer share it, so their jobs queue on its lock.
    ``status_timeout`` defaults to STATUS_TIMEOUT_SECONDS as it is when first asked.
    """
    status_timeout = STATUS_TIMEOUT_SECONDS if status_timeout is None else status_timeout
    key = (str(spec).strip(), width_mm, dpi, timeout, status_timeout)
    with _shared_printers_lock:
        if key not in _shared_printers:
            _shared_printers[key] = printer_from_config(spec, width_mm=width_mm, dpi=dpi, timeout=timeout,
                                                        status_timeout=status_timeout)
        return _shared_printers[key]


def print_ticket_safely(printer, ticket, hall, *, track_url=None, width_mm=80):
    """Print a ticket, never raising: ``(True, None)``; ``(False, Vietnamese message)`` on a
    fault, logged; ``(False, None)`` when there is no printer.

    ``printer`` is a TicketPrinter, None, or a ``HALL_PRINTER`` value (then the
    :func:`shared_printer` for it, on ``width_mm`` paper).
    """
    result = print_ticket_checked(printer, ticket, hall, track_url=track_url, width_mm=width_mm)
    return result.printed, result.message


def print_ticket_checked(printer, ticket, hall, *, track_url=None, width_mm=80):
    """Print a ticket and say how it went (a :class:`PrintResult`), never raising.

    ``printer`` as for :func:`print_ticket_safely`; no printer gives ``PrintResult(False)``
    with no message and no alert.
    """
    if isinstance(printer, (str, PrinterSpec)):
        try:
            printer = shared_printer(printer, width_mm=width_mm)
        except ValueError as exc:
            log.error("ticket %s not printed: %s", _ticket_number(ticket), exc)
            return PrintResult.failed(PrinterError(
                f"cấu hình máy in sai ({exc})", f"wrong printer setting ({exc})",
                alert="Cấu hình máy in của kiosk sai (HALL_PRINTER): báo quản trị viên",
                alert_en="The kiosk's printer setting is wrong (HALL_PRINTER): tell the administrator"))
    if printer is None:
        return PrintResult(False)
    return printer.print_ticket_checked(ticket, hall, track_url=track_url)
