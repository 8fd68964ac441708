"""Drawing the board with pygame: layouts for landscape, portrait and the counter-top screen.

Layouts are named rectangles computed from the surface size, so any size from 1280×720 to
1920×1080 and portrait 1080×1920 works, and tests can look at what is drawn where.
Vietnamese comes first, English second and smaller.
"""

from __future__ import annotations

import time
from datetime import datetime

import pygame

from .fonts import Typeface
from .model import CONNECTING, LOST, Board

THEME = {
    "background": (10, 28, 56),
    "header": (16, 46, 94),
    "panel": (22, 56, 104),
    "row": (18, 44, 84),
    "row_alt": (24, 54, 100),
    "text": (245, 247, 250),
    "muted": (168, 186, 212),
    "accent": (255, 202, 40),
    "highlight": (255, 193, 7),
    "highlight_text": (22, 22, 22),
    "paused": (128, 138, 156),
    "lost": (198, 40, 40),
    "connecting": (70, 96, 140),
    "banner_text": (255, 255, 255),
    "ticker": (6, 18, 38),
}
WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
TICKER_SEPARATOR = "     •     "
TICKER_SPEED = 0.08  # screen widths per second


def _rect(x, y, w, h) -> pygame.Rect:
    return pygame.Rect(round(x), round(y), max(0, round(w)), max(0, round(h)))


def _rows(box: pygame.Rect, fractions) -> list[pygame.Rect]:
    """Split ``box`` top to bottom by height fractions."""
    rects, top = [], box.top
    for fraction in fractions:
        height = box.height * fraction
        rects.append(_rect(box.left, top, box.width, height))
        top += height
    return rects


def _inset(box: pygame.Rect, dx, dy=None) -> pygame.Rect:
    dy = dx if dy is None else dy
    return box.inflate(-2 * round(dx), -2 * round(dy))


def eta_text(service) -> str:
    """A service's expected wait as the waiting strip shows it ("~35 phút"), or "" without one."""
    return f"~{service.eta_minutes} phút" if service.eta_minutes else ""


def hall_layout(width: int, height: int) -> dict[str, pygame.Rect]:
    """The hall board: header, now calling, recent calls, counters, waiting, ticker, banner."""
    margin = round(min(width, height) * 0.015)
    portrait = height > width
    header_h, ticker_h, services_h = (0.075, 0.04, 0.15) if portrait else (0.11, 0.065, 0.17)
    header = _rect(0, 0, width, height * header_h)
    ticker = _rect(0, height - height * ticker_h, width, height * ticker_h)
    services = _rect(margin, ticker.top - margin - height * services_h, width - 2 * margin, height * services_h)
    top, bottom = header.bottom + margin, services.top - margin
    if portrait:
        now_calling = _rect(margin, top, width - 2 * margin, height * 0.24)
        recent = _rect(margin, now_calling.bottom + margin, width - 2 * margin, height * 0.055)
        counters = _rect(margin, recent.bottom + margin, width - 2 * margin, bottom - recent.bottom - margin)
    else:
        left_w = (width - 3 * margin) * 0.54
        content_h = bottom - top
        now_calling = _rect(margin, top, left_w, content_h * 0.76)
        recent = _rect(margin, now_calling.bottom + margin, left_w, bottom - now_calling.bottom - margin)
        counters = _rect(now_calling.right + margin, top, width - left_w - 3 * margin, content_h)
    # Over the waiting strip and the ticker (stale while the hub is away anyway), never over the
    # hall's name, the clock or the counters.
    banner = _rect(0, services.top, width, height - services.top)
    return {"header": header, "now_calling": now_calling, "recent": recent, "counters": counters,
            "services": services, "ticker": ticker, "banner": banner}


def counter_layout(width: int, height: int) -> dict[str, pygame.Rect]:
    """The counter-top screen: the counter's name, its current number, status or banner."""
    header = _rect(0, 0, width, height * 0.18)
    footer = _rect(0, height * 0.84, width, height * 0.16)
    current = _rect(0, header.bottom, width, footer.top - header.bottom)
    return {"header": header, "current": current, "footer": footer, "banner": footer}


class BoardRenderer:
    """Draws a ``Board`` on a surface. ``counter`` selects the counter-top screen for that counter."""

    def __init__(self, typeface: Typeface | None = None, counter: int | None = None, theme=None):
        self.type = typeface or Typeface()
        self.counter = counter
        self.theme = dict(THEME, **(theme or {}))
        self._layouts = {}
        self.ticker_scrolls = False  # whether the last frame's ticker moves (then it needs redrawing)

    def layout(self, size) -> dict[str, pygame.Rect]:
        if size not in self._layouts:
            build = counter_layout if self.counter is not None else hall_layout
            self._layouts[size] = build(*size)
        return self._layouts[size]

    def draw(self, surface: pygame.Surface, board: Board, wall: datetime | None = None, tick: float | None = None):
        """Draw one frame. ``wall`` is the clock shown; ``tick`` (seconds) drives the ticker."""
        wall = wall or datetime.now()
        tick = time.monotonic() if tick is None else tick
        regions = self.layout(surface.get_size())
        surface.fill(self.theme["background"])
        self.ticker_scrolls = False
        if self.counter is not None:
            self._draw_counter_screen(surface, regions, board, wall)
        else:
            self._draw_header(surface, regions["header"], board, wall)
            self._draw_now_calling(surface, regions["now_calling"], board)
            self._draw_recent(surface, regions["recent"], board)
            self._draw_counters(surface, regions["counters"], board)
            self._draw_services(surface, regions["services"], board)
            self._draw_ticker(surface, regions["ticker"], board, tick)
        if board.status in (LOST, CONNECTING):
            self._draw_connection_banner(surface, regions, board)
        return regions

    # -- parts -------------------------------------------------------------------

    def _text(self, surface, text, box, colour_name, **options):
        return self.type.draw(surface, text, box, self.theme[colour_name], **options)

    def _two_lines(self, surface, box, vietnamese, english, colour="text", english_colour="muted",
                   bold=True, align="left", split=0.6, sizes=(None, None)):
        """Vietnamese above, English below and smaller; ``sizes`` fixes either line's size."""
        top, bottom = _rows(box, (split, 1 - split))
        bottom = _inset(bottom, 0, bottom.height * 0.05)
        size = sizes[0] or self.type.fit_size(vietnamese, top.width, top.height, bold)
        self._text(surface, vietnamese, top, colour, bold=bold, align=align, size=size)
        if english:
            english_size = sizes[1] or min(self.type.fit_size(english, bottom.width, bottom.height), size * 0.8)
            self._text(surface, english, bottom, english_colour, align=align, size=int(english_size))

    def _line_sizes(self, box, pairs, bold=True, split=0.6):
        """Common sizes for a column of (Vietnamese, English) pairs drawn by ``_two_lines`` in ``box``."""
        top, bottom = _rows(box, (split, 1 - split))
        bottom = _inset(bottom, 0, bottom.height * 0.05)
        size = self.type.common_size([vi for vi, _ in pairs], top.width, top.height, bold)
        english = self.type.common_size([en for _, en in pairs], bottom.width, bottom.height)
        return size, int(min(english, size * 0.8))

    def _draw_clock(self, surface, box, wall):
        time_box, date_box = _rows(box, (0.62, 0.38))
        self._text(surface, wall.strftime("%H:%M"), time_box, "text", bold=True, align="right")
        date = f"{WEEKDAYS_VI[wall.weekday()]}, {wall:%d/%m/%Y}"
        self._text(surface, date, date_box, "muted", align="right")

    def _draw_header(self, surface, box, board, wall):
        surface.fill(self.theme["header"], box)
        inner = _inset(box, box.height * 0.25, box.height * 0.12)
        clock_w = inner.width * 0.2
        name_box = _rect(inner.left, inner.top, inner.width - clock_w - inner.height * 0.3, inner.height)
        self._two_lines(surface, name_box, board.hall.get("name") or "Trung tâm Phục vụ hành chính công",
                        board.hall.get("name_en") or "Public Administration Service Center")
        self._draw_clock(surface, _rect(inner.right - clock_w, inner.top, clock_w, inner.height), wall)

    def _draw_now_calling(self, surface, box, board):
        highlighted = board.highlighted
        surface.fill(self.theme["highlight" if highlighted else "panel"], box)
        ink = "highlight_text" if highlighted else "text"
        number_ink = "highlight_text" if highlighted else "accent"
        inner = _inset(box, box.width * 0.04, box.height * 0.04)
        label, number, counter = _rows(inner, (0.17, 0.55, 0.28))
        call = board.now_calling
        if call is None:
            self._two_lines(surface, label, "ĐANG MỜI", "Now calling", colour=ink,
                            english_colour=ink if highlighted else "muted", align="center")
            self._text(surface, "—", number, "muted", bold=True, align="center")
            waiting = ("Xin vui lòng chờ đến lượt", "Please wait for your number") if board.recent_calls else (
                "Chưa có số nào được mời", "No number called yet")
            self._two_lines(surface, counter, *waiting, colour="muted", bold=False, align="center")
            return
        title = ("MỜI LẠI", "Recall") if call.recall else ("ĐANG MỜI", "Now calling")
        self._text(surface, f"{title[0]}  ·  {title[1]}", label, ink, bold=True, align="center")
        self._text(surface, call.number, number, number_ink, bold=True, align="center")
        name = call.counter_name or board.counter_label(call.counter)
        self._two_lines(surface, counter, f"→ {name}", f"Counter {call.counter}", colour=ink,
                        english_colour=ink if highlighted else "muted", align="center", split=0.62)

    def _draw_recent(self, surface, box, board):
        calls = [call for call in board.recent_calls if call is not board.now_calling][:6]
        if box.height <= 0 or not calls:
            return
        label_w = box.width * 0.2
        self._two_lines(surface, _rect(box.left, box.top, label_w, box.height), "Vừa mời", "Recent",
                        colour="muted", bold=True, split=0.58)
        slots = min(len(calls), 4 if box.width < 900 else 5)
        slot_w = (box.width - label_w) / slots
        lines = [(call.number, board.counter_label(call.counter)) for call in calls[:slots]]
        sizes = None
        for index, (number, counter) in enumerate(lines):
            cell = _inset(_rect(box.left + label_w + index * slot_w, box.top, slot_w, box.height),
                          box.height * 0.06, box.height * 0.12)
            surface.fill(self.theme["row"], cell)
            inner = _inset(cell, cell.height * 0.12, cell.height * 0.05)
            sizes = sizes or self._line_sizes(inner, lines)
            self._two_lines(surface, inner, number, counter, align="center", sizes=sizes)

    def _draw_counters(self, surface, box, board):
        counters = list(board.counters.values())
        title, body = _rows(box, (0.09, 0.91)) if box.height > 0 else (box, box)
        self._text(surface, "Quầy  ·  Counter", _inset(title, title.height * 0.3, title.height * 0.15),
                   "muted", bold=True)
        if not counters:
            return
        columns = 1 if len(counters) <= 8 else 2
        per_column = -(-len(counters) // columns)
        row_h = min(body.height / per_column, body.height / 4)
        col_w = body.width / columns
        highlighted = board.highlighted_counter()
        name_sizes = number_size = None
        for index, counter in enumerate(counters):
            column, row = divmod(index, per_column)
            cell = _rect(body.left + column * col_w, body.top + row * row_h, col_w, row_h)
            cell = _inset(cell, row_h * 0.04 if columns > 1 else 0, row_h * 0.04)
            hot = counter.number == highlighted
            surface.fill(self.theme["highlight" if hot else ("row" if row % 2 else "row_alt")], cell)
            inner = _inset(cell, cell.height * 0.25, cell.height * 0.12)
            name_box = _rect(inner.left, inner.top, inner.width * 0.5, inner.height)
            value_box = _inset(_rect(name_box.right, inner.top, inner.width - name_box.width, inner.height),
                               0, inner.height * 0.05)
            if name_sizes is None:  # every row has the same boxes: size the whole column once
                name_sizes = self._line_sizes(name_box, [(c.name, f"Counter {c.number}") for c in counters],
                                              split=0.62)
                number_size = self.type.common_size([c.current or "00000" for c in counters],
                                                    value_box.width, value_box.height, bold=True)
            ink = "highlight_text" if hot else "text"
            self._two_lines(surface, name_box, counter.name, f"Counter {counter.number}", colour=ink,
                            english_colour=ink if hot else "muted", split=0.62, sizes=name_sizes)
            if counter.current and counter.status == "paused":
                # Paused with a citizen at the desk: the number, and that the counter is paused.
                tag_box, number_box = _rect(value_box.left, value_box.top, value_box.width * 0.45,
                                            value_box.height), _rect(value_box.left + value_box.width * 0.45,
                                                                     value_box.top, value_box.width * 0.55,
                                                                     value_box.height)
                self._two_lines(surface, tag_box, "Tạm nghỉ", "Paused", colour="paused", bold=True,
                                english_colour="paused", align="left", split=0.62)
                fit = self.type.fit_size(counter.current, number_box.width, number_box.height, True)
                self._text(surface, counter.current, number_box, "highlight_text" if hot else "accent",
                           bold=True, align="right", size=min(number_size, fit))
            elif counter.current:
                self._text(surface, counter.current, value_box, "highlight_text" if hot else "accent",
                           bold=True, align="right", size=number_size)
            elif counter.status == "paused":
                self._two_lines(surface, value_box, "Tạm nghỉ", "Paused", colour="paused", bold=False,
                                english_colour="paused", align="right", split=0.62, sizes=name_sizes)
            else:
                self._text(surface, "—", value_box, "muted", align="right", size=number_size)

    def _draw_services(self, surface, box, board):
        services = board.visible_services()
        if not services or box.height <= 0:
            return
        title, body = _rows(box, (0.2, 0.8))
        self._text(surface, "Số người đang chờ  ·  Waiting", _inset(title, 0, title.height * 0.08), "muted",
                   bold=True)
        per_row = min(len(services), 5 if box.width >= box.height * 4 else 3)
        rows = -(-len(services) // per_row)
        cell_w, cell_h = body.width / per_row, body.height / rows
        name_size = count_size = None
        for index, service in enumerate(services):
            row, column = divmod(index, per_row)
            cell = _inset(_rect(body.left + column * cell_w, body.top + row * cell_h, cell_w, cell_h),
                          cell_h * 0.04, cell_h * 0.04)
            surface.fill(self.theme["panel"], cell)
            inner = _inset(cell, cell.height * 0.1, cell.height * 0.08)
            names = _rect(inner.left, inner.top, inner.width * 0.72, inner.height)
            name_box, english_box = _rows(names, (0.64, 0.36))
            numbers = _rect(inner.left + inner.width * 0.75, inner.top, inner.width * 0.25, inner.height)
            count_box, eta_box = _rows(numbers, (0.66, 0.34))
            if name_size is None:  # one size per column of names and of counts, so the strip looks even
                name_size = min(self.type.wrap(other.name, name_box.width, name_box.height, True)[0]
                                for other in services)
                english_size = min(self.type.common_size([other.name_en for other in services], english_box.width,
                                                         english_box.height), name_size * 0.8)
                count_size = self.type.common_size([f"{other.waiting:02d}" for other in services], count_box.width,
                                                   count_box.height, bold=True)
                # the wait is sized by its own column, not by the longest English name beside it
                eta_size = self.type.common_size([eta_text(other) for other in services], eta_box.width,
                                                 eta_box.height)
            self.type.draw_wrapped(surface, service.name, name_box, self.theme["text"], bold=True, size=name_size)
            self._text(surface, service.name_en, english_box, "muted", size=int(english_size))
            self._text(surface, str(service.waiting), count_box, "accent", bold=True, align="right",
                       size=count_size)
            if service.eta_minutes:
                self._text(surface, eta_text(service), eta_box, "muted", align="right", size=eta_size)

    def draw_ticker(self, surface, board, tick: float | None = None) -> pygame.Rect:
        """Redraw only the ticker (it scrolls while the rest stands still); return its rectangle."""
        box = self.layout(surface.get_size())["ticker"]
        self._draw_ticker(surface, box, board, time.monotonic() if tick is None else tick)
        return box

    def _draw_ticker(self, surface, box, board, tick):
        surface.fill(self.theme["ticker"], box)
        items = board.ticker_items()
        self.ticker_scrolls = False
        if not items or box.height <= 0:
            return
        text = TICKER_SEPARATOR.join(f"{vi}  ·  {en}" if en else vi for vi, en in items) + TICKER_SEPARATOR
        inner = _inset(box, 0, box.height * 0.18)
        size = int(inner.height / 1.2)
        width = self.type.width(text, size)
        clip = surface.get_clip()
        surface.set_clip(box)
        if width <= box.width * 0.9:
            self._text(surface, text.strip(" •"), inner, "text", align="center", size=size)
        else:
            self.ticker_scrolls = True
            offset = (tick * TICKER_SPEED * box.width) % width
            for start in (box.left - offset, box.left - offset + width):
                self._text(surface, text, _rect(start, inner.top, width + 10, inner.height), "text", size=size)
        surface.set_clip(clip)

    def _draw_counter_screen(self, surface, regions, board, wall):
        number = self.counter
        counter = board.counters.get(number)
        header, current, footer = regions["header"], regions["current"], regions["footer"]
        surface.fill(self.theme["header"], header)
        inner = _inset(header, header.height * 0.3, header.height * 0.12)
        clock_w = inner.width * 0.25
        self._two_lines(surface, _rect(inner.left, inner.top, inner.width - clock_w, inner.height),
                        board.counter_label(number), f"Counter {number}", split=0.62)
        self._text(surface, wall.strftime("%H:%M"), _rect(inner.right - clock_w, inner.top, clock_w, inner.height),
                   "text", bold=True, align="right")
        hot = board.highlighted_counter() == number
        surface.fill(self.theme["highlight" if hot else "background"], current)
        label, value = _rows(_inset(current, current.width * 0.05, current.height * 0.05), (0.2, 0.8))
        ink = "highlight_text" if hot else "muted"
        self._text(surface, "ĐANG PHỤC VỤ  ·  NOW SERVING", label, ink, bold=True, align="center")
        if counter and counter.current:
            self._text(surface, counter.current, value, "highlight_text" if hot else "accent", bold=True,
                       align="center")
        else:
            self._text(surface, "—", value, "muted", bold=True, align="center")
        footer_text = _inset(footer, footer.height * 0.3, footer.height * 0.1)
        if counter and counter.status == "paused":
            self._two_lines(surface, footer_text, "Tạm nghỉ", "Paused", colour="paused", english_colour="paused",
                            align="center")
        elif counter:
            waiting = sum(service.waiting for service in board.services if service.code in counter.services)
            self._text(surface, f"Đang chờ: {waiting}  ·  Waiting: {waiting}", footer_text, "muted",
                       align="center")

    def _draw_connection_banner(self, surface, regions, board):
        lost = board.status == LOST
        banner = regions["banner"]
        if self.counter is None:
            # Dim the (possibly stale) board under the banner.
            shade = pygame.Surface(surface.get_size(), pygame.SRCALPHA)
            shade.fill((0, 0, 0, 110))
            surface.blit(shade, (0, 0))
        surface.fill(self.theme["lost" if lost else "connecting"], banner)
        inner = _inset(banner, banner.height * 0.4, banner.height * 0.1)
        if lost:
            self._two_lines(surface, inner, "MẤT KẾT NỐI  ·  đang kết nối lại…", "Connection lost · reconnecting…",
                            colour="banner_text", english_colour="banner_text", align="center", split=0.6)
        else:
            self._two_lines(surface, inner, "ĐANG KẾT NỐI…", "Connecting…", colour="banner_text",
                            english_colour="banner_text", align="center", split=0.6)
