"""The ``hall-display`` command (also ``python -m display``)."""

from __future__ import annotations

import argparse
import logging
import os
import queue
import signal
import sys
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before anything imports pygame

from .audio import AUDIO_BACKENDS
from .model import parse_counters
from .screen import SCREEN_BACKENDS

DEFAULT_HUB = "http://127.0.0.1:5000"
DEFAULT_WINDOW = (1280, 720)
DEFAULT_SCREENSHOT = (1920, 1080)


def default_sounds_dir() -> str | None:
    """``HALL_SOUNDS``, else the ``sounds/`` pack next to the package (a source checkout)."""
    if os.environ.get("HALL_SOUNDS"):
        return os.environ["HALL_SOUNDS"]
    shipped = Path(__file__).resolve().parent.parent / "sounds"
    return str(shipped) if (shipped / "manifest.json").is_file() else None


def parse_size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or int(width) < 160 or int(height) < 120:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1920x1080, got {text!r}")
    return int(width), int(height)


def counter_list(text: str):
    try:
        return parse_counters(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hall-display",
        description="Màn hình hội trường / Hall screen: shows and speaks the calls of a Hall Queue hub.")
    parser.add_argument("--hub", default=os.environ.get("HALL_HUB", DEFAULT_HUB),
                        help=f"hub URL (HALL_HUB, default {DEFAULT_HUB})")
    parser.add_argument("--token", default=os.environ.get("HALL_DISPLAY_TOKEN"),
                        help="device token, if the hub wants one (HALL_DISPLAY_TOKEN)")
    parser.add_argument("--fullscreen", action="store_true", help="use the whole screen (a Pi on a TV)")
    parser.add_argument("--size", type=parse_size,
                        help="window or screen size, e.g. 1920x1080 or 1080x1920 (portrait)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--counters", type=counter_list, help="only these counters, e.g. 1-5 or 1,3,7-9")
    which.add_argument("--counter", type=int, help="counter-top screen for this one counter (silent)")
    parser.add_argument("--sounds", default=default_sounds_dir(),
                        help="clip pack directory with manifest.json (HALL_SOUNDS, default: the shipped sounds/)")
    parser.add_argument("--audio", choices=AUDIO_BACKENDS, default=os.environ.get("HALL_DISPLAY_AUDIO"),
                        help="speaker: pygame (default) or fake, which only logs (HALL_DISPLAY_AUDIO); "
                             "the counter-top screen defaults to fake")
    parser.add_argument("--screen", choices=SCREEN_BACKENDS, default=os.environ.get("HALL_DISPLAY_SCREEN", "window"),
                        help="window (default) or offscreen (HALL_DISPLAY_SCREEN)")
    parser.add_argument("--font", default=None, help="a TTF with Vietnamese letters (HALL_DISPLAY_FONT)")
    parser.add_argument("--screenshot", metavar="FILE",
                        help="connect, draw one frame to this PNG and exit (the lost-connection board if no hub)")
    parser.add_argument("--wait", type=float, default=5.0, help="--screenshot: seconds to wait for the hub")
    parser.add_argument("--timezone", type=time_zone, default=os.environ.get("HALL_TIMEZONE"),
                        help="time zone of the clock, e.g. Asia/Ho_Chi_Minh (HALL_TIMEZONE; default: the hall's, "
                             "from the hub)")
    parser.add_argument("--screen-id", default=os.environ.get("HALL_SCREEN_ID"),
                        help="this screen's id on the supervisor's dashboard (HALL_SCREEN_ID; default: made once "
                             "and kept in ~/.local/state/hall-display/screen-id)")
    parser.add_argument("--name", default=os.environ.get("HALL_SCREEN_NAME"),
                        help="this screen's name on the dashboard, e.g. \"Sảnh tầng 1\" (HALL_SCREEN_NAME)")
    parser.add_argument("--highlight-seconds", type=float, default=10.0, help="how long a call stays highlighted")
    parser.add_argument("--fps", type=int, default=25, help="frames per second")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.screenshot:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # no window needed, also over SSH
        app = build_app(args, audio="fake", screen="offscreen", size=args.size or DEFAULT_SCREENSHOT)
        online = app.screenshot(args.screenshot, wait_seconds=args.wait)
        shown = "trạng thái hiện tại / current state" if online else "mất kết nối / connection lost"
        print(f"{args.screenshot}: {shown}")
        return 0
    audio = args.audio or ("fake" if args.counter is not None else "pygame")
    # Fullscreen without --size takes the screen's own resolution.
    size = args.size or (None if args.fullscreen and args.screen == "window" else DEFAULT_WINDOW)
    app = build_app(args, audio=audio, screen=args.screen, size=size)
    signal.signal(signal.SIGTERM, app.stop)
    try:
        app.run(fps=args.fps)
    except KeyboardInterrupt:
        pass
    return 0


def build_app(args, audio: str, screen: str, size):
    """Wire the parts together; pygame's mixer is pre-initialised before ``pygame.init``."""
    import pygame

    from .announcer import Announcer
    from .app import DisplayApp, hall_clock
    from .audio import ClipLibrary, make_speaker
    from .fonts import Typeface, find_font_files
    from .health import Health, screen_id, sound_state
    from .model import Board
    from .network import HubLink
    from .render import BoardRenderer
    from .screen import make_screen

    clips = ClipLibrary(args.sounds)
    if audio == "pygame":
        # Open the mixer at the pack's rate, before anything else starts audio.
        pygame.mixer.pre_init(frequency=clips.sample_rate(), size=-16, channels=2, buffer=1024)
        pygame.init()
    elif screen == "window":
        pygame.display.init()
    counters = frozenset([args.counter]) if args.counter is not None else args.counters
    board = Board(counters_filter=counters, highlight_seconds=args.highlight_seconds)
    speaker = make_speaker(audio)
    announcer = Announcer(speaker, clips)
    health = None if args.screenshot else Health(args.screen_id or screen_id(), name=args.name, counters=counters,
                                                 sound=lambda: sound_state(audio, speaker, clips),
                                                 wall=board.hub_time)
    surface = make_screen(screen, size, fullscreen=args.fullscreen)
    renderer = BoardRenderer(Typeface(*find_font_files(args.font)), counter=args.counter)
    inbox = queue.Queue()
    link = HubLink(args.hub, inbox, token=args.token, steady_clock=board.clock).start()
    return DisplayApp(board, announcer, renderer, surface, inbox=inbox, link=link,
                      wall_clock=hall_clock(board, args.timezone), health=health)


def time_zone(name: str):
    from zoneinfo import ZoneInfo

    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        raise argparse.ArgumentTypeError(f"unknown time zone {name!r}") from None


if __name__ == "__main__":
    sys.exit(main())
