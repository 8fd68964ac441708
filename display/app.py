"""The display application: the main loop that joins the network, the board, the speaker and the screen.

The network thread (``HubLink``) only fills ``inbox``; everything else runs here, in the
pygame thread: ``step`` drains the inbox into the board, queues new calls (and calls missed
during a short cut) for the announcer, lets it start the next one, notices when one has
finished and sends the screen's health report when one is due; ``render`` draws a frame.
The clock shown is the hall's (its time zone from the hub's ``state``) unless one was chosen.
"""

from __future__ import annotations

import logging
import queue
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from .announcer import Announcer
from .model import CONNECTING, Board

log = logging.getLogger(__name__)

#: While the board's day is behind the hall's date, how often it asks the hub for the new day.
NEW_DAY_RETRY_SECONDS = 60.0


def hall_clock(board: Board, zone=None, now=time.time):
    """The clock the board shows: the hub's time (``board.hub_time``; ``now``, this machine's, until
    the hub has told it) in ``zone`` when one was chosen (``--timezone``), else the hall's time zone from the hub's
    state, else (before the first state, or a zone this machine does not know) the machine's own."""
    known = {}

    def clock() -> datetime:
        chosen = zone
        name = board.hall.get("timezone")
        if chosen is None and isinstance(name, str) and name:
            if name not in known:
                try:
                    known[name] = ZoneInfo(name)
                except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
                    log.error("unknown hall time zone %r: showing the machine's time", name)
                    known[name] = None
            chosen = known[name]
        moment = board.hub_time(now)
        return datetime.fromtimestamp(moment, chosen) if chosen else datetime.fromtimestamp(moment)
    return clock


class DisplayApp:
    def __init__(self, board: Board, announcer: Announcer, renderer=None, screen=None, inbox=None,
                 link=None, wall_clock=None, health=None):
        self.board = board
        self.announcer = announcer
        self.announcer.on_start = self._started
        self.announcer.still_due = board.still_due
        self.renderer = renderer
        self.screen = screen
        self.inbox = inbox if inbox is not None else queue.Queue()
        self.link = link
        self.wall_clock = wall_clock or hall_clock(board)
        self.health = health
        self.running = False
        self._drawn = None  # what the last full frame showed; None forces a redraw
        self._speaking = None  # the call whose announcement is playing
        self._new_day_asked_at = None  # when the board last asked for the new day's snapshot

    # -- one step at a time (the tests drive these) ------------------------------------------

    def handle(self, kind: str, payload) -> None:
        """Apply one item from the network thread."""
        try:
            if kind == "state":
                self.announcer.clips.follow_voice(payload.get("hall", {}).get("voice"))
                for call in self.board.apply_state(payload):  # missed during a short cut
                    self.announcer.enqueue(call)
            elif kind == "online":
                if self.health is not None:
                    self.health.joined()
            elif kind == "lost":
                self.board.connection_lost(payload)
            elif kind == "hub_clock":
                known = self.board.clock_offset
                if known is None or abs(payload - known) >= 1:
                    self.board.clock_offset = float(payload)
                    log.info("showing the hub's clock, %+.0f s from this machine's",
                             self.board.hub_time() - time.time())
            else:
                for call in self.board.apply_push(kind, payload):
                    self.announcer.enqueue(call)
        except (KeyError, TypeError, ValueError) as error:
            # A malformed event must not take the hall screen down.
            log.error("ignoring malformed %r event (%s): %r", kind, error, payload)

    def pump(self) -> int:
        """Apply everything the network thread has handed over; return how many items."""
        count = 0
        while True:
            try:
                kind, payload = self.inbox.get_nowait()
            except queue.Empty:
                return count
            self.handle(kind, payload)
            count += 1

    def step(self) -> None:
        self.pump()
        self.announcer.tick()
        if self._speaking is not None and not self.announcer.speaker.busy():
            self._finished()
        if self.health is not None and self.link is not None:
            self.health.report(self.link.send_status)
        self._follow_the_day()

    def _follow_the_day(self) -> None:
        """Past the hall's midnight, ask the hub for the new day's snapshot: yesterday's calls
        leave the board before today's numbers, which start again from the same block, are
        called (the hub pushes nothing at midnight when no ticket was left to expire). The hub's
        day decides: a screen whose clock runs ahead only asks again every minute."""
        board = self.board
        if self.link is None or not board.online or not board.day:
            return
        if self.wall_clock().date().isoformat() <= board.day:
            self._new_day_asked_at = None
            return
        now = board.clock()
        if self._new_day_asked_at is None or now - self._new_day_asked_at >= NEW_DAY_RETRY_SECONDS:
            if self.link.rejoin():
                log.info("the hall's day is over (%s): asking the hub for the new day", board.day)
                self._new_day_asked_at = now

    def _started(self, call) -> None:
        """An announcement starts: the board shows it; it counts as played once the speaker is done."""
        if self._speaking is not None:
            self._finished()
        self.board.start_calling(call)
        self._speaking = call if self.announcer.speaker.busy() else None  # nothing to hear: not played

    def _finished(self) -> None:
        if self.health is not None:
            self.health.announced(self._speaking.call_id)
        self._speaking = None

    def render(self, force: bool = False) -> bool:
        """Draw a frame if anything shown has changed (or only the scrolling ticker); True if drawn."""
        wall = self.wall_clock()
        board = self.board
        shown = (board.version, board.highlighted, wall.strftime("%Y-%m-%d %H:%M"), self.screen.size)
        if force or shown != self._drawn:
            self.renderer.draw(self.screen.surface, board, wall)
            self.screen.present()
            self._drawn = shown
            return True
        if self.renderer.ticker_scrolls:
            self.screen.present([self.renderer.draw_ticker(self.screen.surface, board)])
            return True
        return False

    # -- whole runs ----------------------------------------------------------------------

    def run(self, fps: int = 25) -> None:
        """The main loop, until the window closes, Esc / q is pressed, or ``stop()``."""
        import pygame

        self.running = True
        ticker = pygame.time.Clock()
        try:
            while self.running:
                if pygame.display.get_init():
                    self._handle_window_events(pygame)
                self.step()
                self.render()
                ticker.tick(fps)
        finally:
            self.close()

    def _handle_window_events(self, pygame):
        for event in pygame.event.get():
            quit_key = event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q)
            if event.type == pygame.QUIT or quit_key:
                self.running = False
            elif event.type == pygame.VIDEORESIZE:
                self.screen.resize(event.size)
                self._drawn = None
            elif event.type == pygame.VIDEOEXPOSE:
                self._drawn = None

    def stop(self, *ignored) -> None:
        self.running = False

    def screenshot(self, path, wait_seconds: float = 5.0, poll_seconds: float = 0.05) -> bool:
        """Wait for the hub's snapshot (or a failure), draw one frame to PNG; True if online."""
        deadline = time.monotonic() + wait_seconds
        while self.board.status == CONNECTING and time.monotonic() < deadline:
            self.pump()
            time.sleep(poll_seconds)
        self.pump()
        if self.board.status == CONNECTING:
            self.board.connection_lost(f"no answer within {wait_seconds:g} s")
        self.renderer.draw(self.screen.surface, self.board, self.wall_clock())
        self.screen.save(path)
        self.close()
        return self.board.online

    def close(self) -> None:
        if self.link is not None:
            self.link.stop()
            self.link = None
        self.announcer.speaker.close()
        if self.screen is not None:
            self.screen.close()
