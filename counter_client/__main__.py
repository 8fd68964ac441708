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
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


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
    previous = {number: signal.signal(number, _interrupt) for number in STOP_SIGNALS}
    try:
        return app.run(reader, link)
    except InputUnavailable as error:
        print(f"hall-counter: {error}", file=sys.stderr)
        return USAGE_ERROR
    except (Interrupted, KeyboardInterrupt):
        return 0  # a second Ctrl-C while finishing: run() has restored the terminal already
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _interrupt(signum, frame):
    """Unwind the main loop through its finally blocks, which restore the terminal.

    Only the first signal does: a hang-up often comes twice (from tmux and from the
    kernel), and a second exception raised inside the clean-up would cut it short.
    """
    for number in STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)
    raise Interrupted(signal.Signals(signum).name)


if __name__ == "__main__":
    sys.exit(main())
