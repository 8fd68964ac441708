"""The booking check question drawn as a picture: each character on its own tile, sized,
rotated and shifted at random, the whole row bent by a wave, over noise lines and dots.

People read it at a glance; a script has to run OCR against distortion, which costs far
more than reading a number out of the page. Only pixels leave here: the PNG has no text
chunk, no alt text and no file name carrying the question.
"""

import base64
import io
import math
import secrets

from PIL import Image, ImageDraw, ImageFont

from .printing import PrinterError, find_font

WIDTH, HEIGHT = 260, 84
BACKGROUND = (250, 248, 240)
INKS = ((25, 40, 110), (110, 25, 30), (20, 80, 40), (60, 30, 90), (30, 30, 30))


def _uniform(low, high):
    return low + (high - low) * secrets.randbelow(10_001) / 10_000


def _font(size):
    try:
        return ImageFont.truetype(find_font(bold=True), size)
    except (PrinterError, OSError):
        return ImageFont.load_default(size)


def _glyph(char, ink):
    """One character on a transparent tile, rotated by up to 28° (a sign by up to 10°, so
    "+" never reads as "×")."""
    font = _font(round(_uniform(40, 52)))
    left, top, right, bottom = font.getbbox(char)
    tile = Image.new("RGBA", (right - left + 16, bottom - top + 16), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((8 - left, 8 - top), char, font=font, fill=ink + (255,))
    turn = 28 if char.isdigit() else 10
    return tile.rotate(_uniform(-turn, turn), resample=Image.BICUBIC, expand=True)


def _noise(draw, count, width):
    for _ in range(count):
        ink = INKS[secrets.randbelow(len(INKS))]
        points = [(_uniform(-10, WIDTH * 0.3), _uniform(0, HEIGHT))]
        for _ in range(3):
            points.append((points[-1][0] + _uniform(WIDTH * 0.2, WIDTH * 0.4), _uniform(0, HEIGHT)))
        draw.line(points, fill=ink, width=width, joint="curve")


def _wave(image):
    """Bend the row: every column moves up or down along one random sine."""
    amplitude, period, phase = _uniform(3, 6), _uniform(70, 130), _uniform(0, 2 * math.pi)
    bent = Image.new("RGB", image.size, BACKGROUND)
    for x in range(image.width):
        shift = round(amplitude * math.sin(2 * math.pi * x / period + phase))
        bent.paste(image.crop((x, 0, x + 1, image.height)), (x, shift))
    return bent


def render(text):
    """``text`` (e.g. "23 + 5") as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    for _ in range(260):                                     # speckle under the text
        x, y = secrets.randbelow(WIDTH), secrets.randbelow(HEIGHT)
        draw.point((x, y), fill=INKS[secrets.randbelow(len(INKS))])
    _noise(draw, 3, 1)
    tiles = [None if char == " " else _glyph(char, INKS[secrets.randbelow(len(INKS))]) for char in text]
    needed = sum(10 if tile is None else tile.width - 14 for tile in tiles)
    x = max(4, (WIDTH - needed) // 2 + round(_uniform(-10, 10)))
    for tile in tiles:
        if tile is None:
            x += 10
            continue
        y = (HEIGHT - tile.height) // 2 + round(_uniform(-8, 8))
        image.paste(tile, (x, y), tile)
        x += tile.width - 14 - secrets.randbelow(4)           # glyphs touch, so they don't split apart easily
    image = _wave(image)
    _noise(ImageDraw.Draw(image), 3, 2)                      # lines across the glyphs
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def data_url(text):
    """``text`` drawn, as a ``data:image/png;base64,…`` URL for an ``<img>`` or a JSON field."""
    return "data:image/png;base64," + base64.b64encode(render(text)).decode("ascii")
