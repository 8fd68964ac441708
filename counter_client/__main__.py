"""``hall-counter`` (or ``python -m counter_client``): wire the parts together and run."""

from __future__ import annotations

import os
import signal
import sys

from .app import CounterApp, Interrupted
from .config import ConfigError, build_parser, load_settings
from .inputs import EvdevReader, InputUnavailable, TerminalReader, list_input_devices
from .live import LiveLink
from .screen import Screen
from .transport import HubClient

USAGE_ERROR = 2


def main(argv=None, environ=None) -> int:
    arguments = build_parser().parse_args(argv)
    environ = os.environ if environ is None else environ
    try:
        if arguments.list_devices:
            print("\n".join(list_input_devices()) or "không có thiết bị / no input devices readable")
            return 0
        settings = load_settings(arguments, environ)
    except (ConfigError, InputUnavailable) as error:
        print(f"hall-counter: {error}", file=sys.stderr)
        return USAGE_ERROR
    for warning in settings.warnings:
        print(f"hall-counter: {warning}", file=sys.stderr)

    reader = EvdevReader(settings.device) if settings.input == "evdev" else TerminalReader(sys.stdin.fileno())
    screen = Screen(sys.stdout, ascii_only=settings.ascii)
    client = HubClient(settings.hub, settings.counter, settings.token, timeout=settings.timeout)
    app = CounterApp(settings, client, screen)
    link = LiveLink(settings.hub, settings.counter, settings.token, app.inbox, timeout=settings.timeout)
    previous = {number: signal.signal(number, _interrupt) for number in (signal.SIGTERM, signal.SIGHUP)}
    try:
        return app.run(reader, link)
    except InputUnavailable as error:
        print(f"hall-counter: {error}", file=sys.stderr)
        return USAGE_ERROR
    except (Interrupted, KeyboardInterrupt):
        return 0  # a second signal while finishing: the terminal is restored already
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _interrupt(signum, frame):
    # Unwinds the main loop through its finally blocks: the terminal mode is restored.
    raise Interrupted(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
