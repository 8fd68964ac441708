"""The board model: what the hall screen knows, built from the hub's snapshot and pushes.

Pure Python (no pygame, no network), so every rule is testable with plain data and an
injected clock:

- a ``state`` snapshot replaces everything and is authoritative for the new connection;
  pushes with ``seq`` at or below the snapshot's are already in it and are ignored;
- a ``called`` push is new only once: its ``call_id`` is remembered, and the calls listed in
  a snapshot's ``recent_calls`` are history (shown, never announced);
- calls missed while the connection was down arrive in the next snapshot: those at most the
  hall's ``catchup_seconds`` old (``state.hall.catchup_seconds``, by the hub's clock: each
  recent call's ``age_seconds``) are announced once, oldest first, when the screen is back
  from a short cut; older ones are only shown (a late announcement would send citizens to a
  counter that moved on). A screen's first snapshot announces nothing: it cannot know what
  it said before it started;
- the big panel shows a call only while its ticket is still at the counter: a no-show (or
  done, or a transfer) takes it off, and the newest call still in effect takes its place;
- a call undone before its turn on the speaker (while earlier calls were being said) is not
  said: the hub's next snapshot no longer lists it among calls older and newer than it;
- the "now calling" highlight starts when an announcement starts (``start_calling``) and
  lasts ``highlight_seconds``; a lost connection clears it, so a reconnect never shows an old
  call as new. A snapshot while online (the hall reconfigured, an undo) keeps the call being
  announced on the big panel, and calls still waiting for their announcement stay off it;
- a counters filter (one screen per floor) hides other counters, their calls and the
  services only they serve.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

CONNECTING, ONLINE, LOST = "connecting", "online", "lost"
REMEMBERED_CALLS = 2000  # call ids kept for dedupe; a day of a busy hall fits many times


@dataclass(frozen=True)
class Call:
    """One call of a ticket to a counter, as the board shows it and the speaker plays it."""

    call_id: str
    number: str
    counter: int
    counter_name: str = ""
    service: str | None = None
    text: str = ""
    text_en: str | None = None
    clips: tuple[str, ...] = ()
    recall: bool = False
    seq: int = 0

    @classmethod
    def from_push(cls, payload: dict) -> Call:
        ticket, counter = payload["ticket"], payload["counter"]
        return cls(
            call_id=str(payload["call_id"]),
            number=str(ticket["number"]),
            counter=int(counter["number"]),
            counter_name=counter.get("name") or "",
            service=ticket.get("service"),
            text=payload.get("text") or "",
            text_en=payload.get("text_en"),
            clips=tuple(payload.get("clips") or ()),
            recall=bool(payload.get("recall")),
            seq=int(payload.get("seq") or 0),
        )


@dataclass
class Counter:
    number: int
    name: str
    status: str = "open"
    services: tuple[str, ...] = ()
    current: str | None = None  # the ticket number at the desk, if any
    seq: int = 0

    @classmethod
    def from_view(cls, view: dict, seq: int) -> Counter:
        current = view.get("current")
        return cls(
            number=int(view["number"]),
            name=view.get("name") or f"Quầy {view['number']}",
            status=view.get("status") or "open",
            services=tuple(view.get("services") or ()),
            current=str(current["number"]) if current else None,
            seq=seq,
        )


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    name_en: str | None
    waiting: int
    eta_minutes: int | None

    @classmethod
    def from_view(cls, view: dict) -> Service:
        return cls(view["code"], view.get("name") or view["code"], view.get("name_en"),
                   int(view.get("waiting") or 0), view.get("eta_minutes"))


class Board:
    """The hall screen's state. ``counters_filter`` limits it to those counter numbers (None: all)."""

    def __init__(self, counters_filter=None, clock: Callable[[], float] = time.monotonic,
                 highlight_seconds: float = 10.0, recent_limit: int = 8):
        self.counters_filter = frozenset(counters_filter) if counters_filter is not None else None
        self.clock = clock
        self.highlight_seconds = highlight_seconds
        self.recent_limit = recent_limit
        self.status, self.status_since = CONNECTING, clock()
        self.hall: dict = {}
        self.day: str | None = None
        self.seq = 0  # highest seq applied
        # The hub's wall time less this board's steady ``clock``, learnt at each join (None before):
        # the machine's own wall clock may be wrong and may jump when a time server sets it.
        self.clock_offset: float | None = None
        self.snapshot_seq: int | None = None
        self.version = 0  # bumped on every change, so the screen redraws only when needed
        self.counters: dict[int, Counter] = {}
        self.services: list[Service] = []
        self.recent_calls: list[Call] = []  # newest first
        self.now_calling: Call | None = None
        self.highlight_until = 0.0
        self._services_seq = 0
        self._seen_calls: OrderedDict[str, None] = OrderedDict()
        self._pending: set[str] = set()  # received calls whose announcement has not started

    # -- connection ---------------------------------------------------------------

    def connection_lost(self, reason: str = "") -> None:
        """The hub is unreachable: show it, and stop highlighting (it may be stale)."""
        self.version += 1
        if self.status != LOST:
            log.warning("connection lost%s", f": {reason}" if reason else "")
            self.status, self.status_since = LOST, self.clock()
        self.highlight_until = 0.0

    @property
    def online(self) -> bool:
        return self.status == ONLINE

    def hub_time(self, machine_time: Callable[[], float] = time.time) -> float:
        """The hub's wall time now (a Unix timestamp), carried on this board's steady clock since
        the hub last told it; ``machine_time()`` until it has."""
        return machine_time() if self.clock_offset is None else self.clock() + self.clock_offset

    # -- snapshot and pushes ------------------------------------------------------------

    def apply_state(self, state: dict) -> list[Call]:
        """Replace everything with a snapshot; return the calls to announce late (see the
        module's rules: made while a short cut lasted), oldest first. The rest is history."""
        self.version += 1
        speaking = self.now_calling if self.highlighted else None
        seq = int(state.get("seq") or 0)
        had = self.seq if self.snapshot_seq is not None else None  # what we knew before this snapshot
        if seq < self.seq:
            # The hub's history restarted (a new database): old call ids may come back.
            log.warning("hub seq went back from %s to %s; forgetting earlier calls", self.seq, seq)
            self._seen_calls.clear()
            had = None
        self.seq = self.snapshot_seq = seq
        self.day = state.get("day")
        self.hall = dict(state.get("hall") or {})
        self.counters = {}
        for view in state.get("counters") or ():
            counter = Counter.from_view(view, seq)
            if self._shows_counter(counter.number):
                self.counters[counter.number] = counter
        self._services_seq = seq
        self.services = [Service.from_view(view) for view in state.get("services") or ()]
        self.recent_calls, late = [], []
        catchup_seconds = self.hall.get("catchup_seconds") or 0
        listed = state.get("recent_calls") or ()
        withdrawn = self._withdrawn(self._pending, [str(entry["call_id"]) for entry in listed])
        for entry in listed:
            call_id = str(entry["call_id"])
            missed = had is not None and call_id not in self._seen_calls and call_id.isdigit() and int(call_id) > had
            self._remember(call_id)
            if self._shows_counter(int(entry["counter"])):
                call = self._history_call(entry)
                self.recent_calls.append(call)
                age = entry.get("age_seconds")
                if missed and isinstance(age, int | float) and age <= catchup_seconds and call.clips:
                    late.append(call)
        self.recent_calls = self.recent_calls[: self.recent_limit]
        shown = {call.call_id: call for call in self.recent_calls}
        # calls received but not yet announced are still in the announcer's queue
        self._pending = (self._pending - withdrawn) | {call.call_id for call in late}
        self.now_calling = self._in_effect()
        kept = shown.get(speaking.call_id) if speaking is not None else None
        counter = self.counters.get(kept.counter) if kept is not None else None
        if counter is not None and counter.current == kept.number:
            self.now_calling = kept  # still being announced, at its counter: it stays, lit
        else:
            self.highlight_until = 0.0
        if self.status != ONLINE:
            self.status, self.status_since = ONLINE, self.clock()
        if late:
            log.info("back from a cut: announcing %d missed call(s)", len(late))
        return late[::-1]

    def apply_push(self, event: str, payload: dict) -> list[Call]:
        """Apply one push; return the calls that are new and should be announced."""
        seq = int(payload.get("seq") or 0)
        if self.snapshot_seq is not None and seq <= self.snapshot_seq:
            return []  # already part of the snapshot
        self.version += 1
        self.seq = max(self.seq, seq)
        if event == "called":
            return self._apply_called(Call.from_push(payload))
        if event == "queue":
            if seq >= self._services_seq:
                self._services_seq = seq
                self.services = [Service.from_view(view) for view in payload.get("services") or ()]
        elif event == "counter":
            counter = Counter.from_view(payload["counter"], seq)
            known = self.counters.get(counter.number)
            if self._shows_counter(counter.number) and (known is None or seq >= known.seq):
                self.counters[counter.number] = counter
                self.counters = dict(sorted(self.counters.items()))
                shown = self.now_calling
                if shown is not None and shown.counter == counter.number and counter.current != shown.number:
                    # The called ticket left its counter (a no-show, done, a transfer): off the big panel.
                    self.now_calling, self.highlight_until = self._in_effect(), 0.0
        else:
            log.debug("ignoring push %r", event)
        return []

    def _apply_called(self, call: Call) -> list[Call]:
        if call.call_id in self._seen_calls:
            return []
        self._remember(call.call_id)
        if not self._shows_counter(call.counter):
            return []
        self._pending.add(call.call_id)
        self.recent_calls = [call, *self.recent_calls][: self.recent_limit]
        counter = self.counters.get(call.counter)
        if counter is not None and call.seq >= counter.seq:
            counter.current = call.number
        return [call]

    def still_due(self, call: Call) -> bool:
        """Whether ``call`` is still to be said now its turn on the speaker has come: not withdrawn
        by the hub meanwhile (undone while the calls before it were being said)."""
        return call.call_id in self._pending

    def start_calling(self, call: Call) -> None:
        """The announcement of ``call`` starts: show it large and highlighted."""
        self.version += 1
        self._pending.discard(call.call_id)
        self.now_calling = call
        self.highlight_until = self.clock() + self.highlight_seconds

    # -- what the screen shows ----------------------------------------------------------

    @property
    def highlighted(self) -> bool:
        return self.status == ONLINE and self.now_calling is not None and self.clock() < self.highlight_until

    def highlighted_counter(self) -> int | None:
        return self.now_calling.counter if self.highlighted else None

    def visible_services(self) -> list[Service]:
        """All services, or with a counters filter those the shown counters serve."""
        if self.counters_filter is None:
            return list(self.services)
        served = {code for counter in self.counters.values() for code in counter.services}
        return [service for service in self.services if service.code in served]

    def counter_label(self, number: int) -> str:
        counter = self.counters.get(number)
        return counter.name if counter else f"Quầy {number}"

    def ticker_items(self) -> list[tuple[str, str | None]]:
        """(Vietnamese, English) lines for the ticker: the hotline, then any notices."""
        items = []
        hotline = self.hall.get("hotline")
        if hotline:
            items.append((f"Đường dây nóng: {hotline}", f"Hotline: {hotline}"))
        for notice in self.hall.get("notices") or ():
            if isinstance(notice, dict):
                items.append((notice.get("text") or "", notice.get("text_en")))
            elif notice:
                items.append((str(notice), None))
        return items

    # -- helpers ----------------------------------------------------------------------

    def _shows_counter(self, number: int) -> bool:
        return self.counters_filter is None or number in self.counters_filter

    def _remember(self, call_id: str) -> None:
        self._seen_calls[call_id] = None
        self._seen_calls.move_to_end(call_id)
        while len(self._seen_calls) > REMEMBERED_CALLS:
            self._seen_calls.popitem(last=False)

    @staticmethod
    def _withdrawn(pending, listed: list[str]) -> set[str]:
        """The pending calls a snapshot listing ``listed`` (newest first, a limited number, the
        day's) has dropped: those newer than the oldest it lists. An older one may only have
        fallen off the list, or be yesterday's, called just before midnight: still said."""
        oldest = min((int(call_id) for call_id in listed if call_id.isdigit()), default=None)
        return {call_id for call_id in pending if call_id not in listed
                and oldest is not None and call_id.isdigit() and int(call_id) > oldest}

    def _history_call(self, entry: dict) -> Call:
        number = int(entry["counter"])
        call_id = str(entry["call_id"])
        return Call(call_id=call_id, number=str(entry["number"]), counter=number,
                    counter_name=self.counter_label(number), recall=bool(entry.get("recall")),
                    text=entry.get("text") or "", text_en=entry.get("text_en"), clips=tuple(entry.get("clips") or ()),
                    seq=int(call_id) if call_id.isdigit() else 0)

    def _in_effect(self) -> Call | None:
        """The newest announced call whose ticket is still at its counter, or None."""
        for call in self.recent_calls:
            counter = self.counters.get(call.counter)
            if call.call_id not in self._pending and counter is not None and counter.current == call.number:
                return call
        return None


def parse_counters(spec: str) -> frozenset[int]:
    """``"1-5"``, ``"1,3,7-9"`` → the counter numbers; ValueError on anything else."""
    numbers = set()
    for part in spec.replace(" ", "").split(","):
        if not part:
            continue
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"not a counter list: {spec!r} (expected e.g. 1-5 or 1,3,7-9)")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(f"empty counter range {part!r}")
        numbers.update(range(first, last + 1))
    if not numbers:
        raise ValueError(f"no counters in {spec!r}")
    return frozenset(numbers)
