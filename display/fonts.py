"""Fonts that draw Vietnamese: found by path, with fallbacks, and text fitted to boxes.

pygame's built-in font has no glyphs for ạ ặ ư ừ ỹ and draws boxes. We look for a TTF
that Debian and Raspberry Pi OS install (DejaVu Sans from ``fonts-dejavu-core`` first; it
is on every Pi OS image because fontconfig depends on it), then Noto Sans
(``fonts-noto-core``), Liberation Sans (``fonts-liberation2``), FreeSans
(``fonts-freefont-ttf``), and the Arial / Segoe UI of a Windows or macOS PC.
``--font`` or ``HALL_DISPLAY_FONT`` names a file (its bold, if any, is found by name).
"""

from __future__ import annotations

import functools
import logging
import os
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)

VIETNAMESE_SAMPLE = "ạặưừỹđĐẮẶỮ"
CACHED_TEXTS = 256  # rendered texts kept for reuse
CACHED_MAX_SIZE = 96  # only texts up to this size are kept

# (regular, bold) candidates, best first.
FONT_CANDIDATES = (
    ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation2/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation2/LiberationSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
     "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf"),
    ("/usr/share/fonts/truetype/freefont/FreeSans.ttf", "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf"),
    ("/usr/share/fonts/TTF/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),  # Arch, Fedora
    ("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf"),
    ("C:/Windows/Fonts/arial.ttf", "C:/Windows/Fonts/arialbd.ttf"),
    ("C:/Windows/Fonts/segoeui.ttf", "C:/Windows/Fonts/segoeuib.ttf"),
    ("/Library/Fonts/Arial Unicode.ttf", "/Library/Fonts/Arial Unicode.ttf"),
    ("/System/Library/Fonts/Supplemental/Arial.ttf", "/System/Library/Fonts/Supplemental/Arial Bold.ttf"),
)
SYSTEM_FONT_NAMES = ("dejavusans", "notosans", "liberationsans", "freesans", "arial")


def _init_freetype():
    import pygame.freetype

    if not pygame.freetype.get_init():
        pygame.freetype.init()
    return pygame.freetype


def covers(path: str | None, text: str = VIETNAMESE_SAMPLE) -> bool:
    """Whether the font at ``path`` (None: pygame's default) has a glyph for every letter of ``text``."""
    freetype = _init_freetype()
    font = freetype.Font(path, 24)
    # get_metrics gives None for a character the font lacks (it would draw .notdef).
    return all(metric is not None for metric in font.get_metrics(text))


def _bold_for(regular: str) -> str | None:
    """A bold face next to ``regular``, by the usual naming conventions."""
    path = Path(regular)
    stem = path.stem
    for name in (stem.replace("-Regular", "-Bold"), f"{stem}-Bold", f"{stem}Bold", f"{stem}bd", f"{stem}b"):
        candidate = path.with_name(name + path.suffix)
        if candidate != path and candidate.is_file():
            return str(candidate)
    return None


def find_font_files(preferred: str | None = None) -> tuple[str | None, str | None]:
    """(regular, bold) font paths that cover Vietnamese; (None, None) if nothing does."""
    candidates = []
    preferred = preferred or os.environ.get("HALL_DISPLAY_FONT")
    if preferred:
        candidates.append((preferred, _bold_for(preferred)))
    candidates.extend(FONT_CANDIDATES)
    for regular, bold in candidates:
        if os.path.isfile(regular) and covers(regular):
            bold = bold if bold and os.path.isfile(bold) and covers(bold) else regular
            return regular, bold
        if regular == preferred:
            log.warning("font %s is missing or lacks Vietnamese letters; trying the defaults", preferred)
    import pygame.font

    for name in SYSTEM_FONT_NAMES:  # fontconfig or the platform's font folders
        regular = pygame.font.match_font(name)
        if regular and covers(regular):
            bold = pygame.font.match_font(name, bold=True)
            return regular, bold if bold and covers(bold) else regular
    log.error("no font with Vietnamese letters found; install fonts-dejavu-core (text will show boxes)")
    return None, None


class Typeface:
    """A regular and a bold face drawn at any size, with text fitted into boxes."""

    def __init__(self, regular: str | None = None, bold: str | None = None):
        freetype = _init_freetype()
        if regular is None and bold is None:
            regular, bold = find_font_files()
        self.paths = {False: regular, True: bold or regular}
        self._faces = {}
        self._cache: OrderedDict = OrderedDict()
        for is_bold, path in self.paths.items():
            face = freetype.Font(path, 24)
            face.origin = True  # positions are baselines, so mixed sizes line up
            face.pad = False
            self._faces[is_bold] = face
        # Line height and ascent as fractions of the size, measured once at a large size.
        self._line = {b: face.get_sized_height(100) / 100 for b, face in self._faces.items()}
        self._ascent = {b: face.get_sized_ascender(100) / 100 for b, face in self._faces.items()}
        # Fitting measures text several times; frames ask the same boxes again and again. The caches
        # are per instance (not lru_cache on the methods, whose class-wide cache would keep every
        # Typeface alive), so a typeface and its cache go away together.
        self.fit_size = functools.lru_cache(maxsize=2048)(self._fit_size)
        self.wrap = functools.lru_cache(maxsize=512)(self._wrap)

    def face(self, bold: bool = False):
        return self._faces[bold]

    def width(self, text: str, size: float, bold: bool = False) -> int:
        return self._faces[bold].get_rect(text, size=size).width if text else 0

    def _fit_size(self, text: str, width: int, height: int, bold: bool = False, max_size: float | None = None) -> int:
        """The largest size at which ``text`` fits in width × height (its line height, not its ink)."""
        size = height / self._line[bold]
        if max_size:
            size = min(size, max_size)
        for _ in range(3):  # widths are not exactly proportional to size (hinting)
            measured = self.width(text, size, bold)
            if measured <= width or size <= 4:
                break
            size *= width / measured * 0.98
        return max(4, int(size))

    def _wrap(self, text: str, width: int, height: int, bold: bool = False, max_lines: int = 2):
        """(size, lines): ``text`` on up to ``max_lines`` balanced lines, as large as fits in the box."""
        words = text.split()
        best = (self.fit_size(text, width, height, bold), (text,))
        if max_lines < 2 or len(words) < 2:
            return best
        splits = []
        for cut in range(1, len(words)):
            lines = (" ".join(words[:cut]), " ".join(words[cut:]))
            splits.append((min(self.fit_size(line, width, height / 2, bold) for line in lines), lines))
        largest = max(splits)
        # "Đất đai - Xây dựng" reads better broken after the dash, if that costs little size.
        natural = [split for split in splits if split[1][0][-1] in "-–,;:" and split[0] >= 0.85 * largest[0]]
        chosen = max(natural) if natural else largest
        return chosen if chosen[0] > best[0] else best

    def draw_wrapped(self, surface, text: str, box, colour, bold: bool = False, align: str = "left",
                     size: int | None = None, max_lines: int = 2):
        """Draw ``text`` on up to two lines filling ``box``; ``size`` caps the size (for even columns)."""
        import pygame

        fitted, lines = self.wrap(text, box.width, box.height, bold, max_lines)
        if size and size <= self.fit_size(text, box.width, box.height, bold):
            lines = (text,)  # at the column's (smaller) size it fits on one line
        size = min(size, fitted) if size else fitted
        line_h = box.height / len(lines)
        for index, line in enumerate(lines):
            line_box = pygame.Rect(box.x, round(box.y + index * line_h), box.width, round(line_h))
            self.draw(surface, line, line_box, colour, bold=bold, align=align, size=size)

    def common_size(self, texts, width: int, height: int, bold: bool = False, max_size: float | None = None) -> int:
        """One size at which every text fits, so a column of names or numbers looks even."""
        sizes = [self.fit_size(text, width, height, bold, max_size) for text in texts if text]
        return min(sizes) if sizes else int(height / self._line[bold])

    def _render(self, text: str, size: int, colour: tuple, bold: bool):
        """Render, keeping small texts (labels, the scrolling ticker) in a bounded cache.

        Large texts (the called number) change with every call and weigh hundreds of KB each,
        so they are not kept; frames are only drawn when something changed anyway.
        """
        key = (text, size, colour, bold)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        rendered = self._faces[bold].render(text, colour, size=size)
        if size <= CACHED_MAX_SIZE:
            self._cache[key] = rendered
            if len(self._cache) > CACHED_TEXTS:
                self._cache.popitem(last=False)
        return rendered

    def draw(self, surface, text: str, box, colour, bold: bool = False, align: str = "left",
             max_size: float | None = None, size: int | None = None):
        """Draw ``text`` fitted into ``box`` (a pygame Rect), vertically centred; return the ink rect."""
        import pygame

        if not text or box.width <= 0 or box.height <= 0:
            return pygame.Rect(box.x, box.y, 0, 0)
        size = size or self.fit_size(text, box.width, box.height, bold, max_size)
        image, rect = self._render(text, size, tuple(colour), bold)
        # rect.x / rect.y are the ink's offsets from the origin (left end of the baseline).
        baseline = box.y + (box.height - self._line[bold] * size) / 2 + self._ascent[bold] * size
        if align == "center":
            left = box.x + (box.width - rect.width) / 2
        elif align == "right":
            left = box.right - rect.width
        else:
            left = box.x
        target = pygame.Rect(round(left), round(baseline - rect.y), rect.width, rect.height)
        surface.blit(image, target)
        return target
