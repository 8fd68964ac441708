"""A model-based test of the queue: Hypothesis drives the real ``Hall`` (a SQLite file, the fake
clock) with tickets from every channel, appointments, every counter action (with and without
``request_id``, repeated), the citizens' cancellations and the clock running across lunch,
closing time and midnight, and checks after every step that the hall agrees with a plain
Python model of the documented rules (docs/api.md "The call-next policy", the counter actions,
"Ticket life" in DESIGN.md):

- each ticket's status, service and counter, through its tracking view;
- call-next takes what the policy says; each counter's waiting list is the calling order,
  and a waiting ticket's position is its place in its service's line;
- a counter holds at most one called or serving ticket, and every such ticket is at its desk;
- numbers per service and day are unique and gap-free, and none acknowledged is lost;
- the event log's ``seq`` only grows, every event is published once and in order, and
  replaying the log gives the tickets' and counters' state through legal transitions only;
- a repeated ``request_id`` answers the first answer and changes nothing;
- a plain ticket further back in a line is never told a wait below the range the one ahead
  is told (the estimate itself may be a minute shorter where its split of the other lines
  changes: a known approximation of ``estimates.OldestFirst``).
"""

import copy
import json
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hallserver.config import parse_config
from hallserver.core import current_seq, views
from hallserver.core.estimates import Estimator
from hallserver.errors import HallError
from hallserver.hall import Hall
from hallserver.store import open_store
from tests.helpers import HALL_TZ, Clock, hall_time

SERVICES = ("HT", "CT", "DD")
COUNTERS = {1: ("HT",), 2: ("HT", "CT"), 3: ("CT", "DD"), 4: ("DD", "HT")}
PERIODS = {"default": [(7 * 60 + 30, 11 * 60 + 30), (13 * 60 + 30, 17 * 60)], "saturday": [(7 * 60 + 30, 11 * 60 + 30)],
           "sunday": []}
CLOSE_AT = 17 * 60 + 30
CT_DAILY_CAP = 6
SLOT_MINUTES, BOOKING_CAPACITY = 30, 2
PRIORITY_STREAK, MAX_RECALLS = 2, 2
REPEAT_GUARD, CONFIRM_ARRIVAL, UNDO_SECONDS = 5, 90, 10
LIVE = ("waiting", "called", "serving")
ENDED = ("done", "cancelled", "expired")
# Ticket life (DESIGN.md), with the reversals ``undo`` makes within its few seconds.
LEGAL = {
    "issued": {(None, "waiting")},
    "called": {("waiting", "called")},
    "recalled": {("called", "called")},
    "started": {("called", "serving")},
    "done": {("called", "done"), ("serving", "done")},
    "no_show": {("called", "no_show")},
    "transferred": {("called", "waiting"), ("serving", "waiting")},
    "reinstated": {("no_show", "waiting")},
    "cancelled": {("waiting", "cancelled"), ("called", "cancelled")},
    "expired": {("waiting", "expired"), ("called", "expired"), ("serving", "expired")},
}


def hall_mapping(due_order, remote_order, counters=COUNTERS):
    """Three services, four counters (2, 3 and 4 serve two services each), lunch and a closing
    time, one priority category, bookings."""
    hours = {day: [f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}" for start, end in periods]
             for day, periods in PERIODS.items()}
    return {
        "hall": {"name": "Xã Mô Hình"},
        "hours": hours,
        "policy": {"priority_streak": PRIORITY_STREAK, "max_recalls": MAX_RECALLS, "close_at": "17:30",
                   "remote_order": remote_order, "repeat_guard_seconds": REPEAT_GUARD,
                   "confirm_arrival_seconds": CONFIRM_ARRIVAL, "undo_seconds": UNDO_SECONDS},
        "priorities": [{"code": "elderly", "name": "Người cao tuổi"}],
        "booking": {"capacity": BOOKING_CAPACITY, "slot_minutes": SLOT_MINUTES, "due_order": due_order,
                    "rate_limit": "1000 per minute", "per_phone": 100, "per_phone_per_service": 100},
        "services": [
            {"code": "HT", "name": "Hộ tịch", "block": "1001-1999", "service_minutes": 6},
            {"code": "CT", "name": "Chứng thực", "prefix": "B", "width": 3, "daily_cap": CT_DAILY_CAP,
             "service_minutes": 4},
            {"code": "DD", "name": "Đất đai", "block": "5001-5008", "service_minutes": 10},
        ],
        "counters": [{"number": number, "services": list(services)} for number, services in counters.items()],
    }


class Refused(Exception):
    """The model's refusal: the hall must refuse with this code and change nothing."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


def refuse(code):
    raise Refused(code)


@dataclass
class Ticket:
    order: int            # issue order (the hall's id order)
    token: str
    number: str
    service: str
    origin: str
    day: str
    issued_at: float
    priority: str | None
    channel: str
    due_at: float | None = None
    status: str = "waiting"
    counter: int | None = None
    called_at: float | None = None
    started: bool = False
    requeued_at: float | None = None
    recalls: int = 0
    transferred_from: str | None = None
    version: int = 0      # one more at each event of the ticket: what undo checks
    checked: int = -1     # the version last compared with the hall (an ended one needs it once)


SNAPSHOT = ("status", "service", "counter", "called_at", "started", "requeued_at", "recalls", "transferred_from")


@dataclass
class Desk:
    services: tuple
    status: str = "open"
    current: str | None = None     # the token of its called or serving ticket
    streak: int = 0
    called_on: str | None = None   # the day of its last call
    # what undo reverses: (at, [(token, version after, ticket before)] newest first, desk before each)
    undoable: tuple | None = None


@dataclass
class Model:
    """What the documented rules say the hall holds."""

    due_order: str
    remote_order: str
    tickets: dict = field(default_factory=dict)     # token → Ticket
    desks: dict = field(default_factory=lambda: {number: Desk(services) for number, services in COUNTERS.items()})
    issued: dict = field(default_factory=dict)      # (service, day) → numbers taken (appointments too)
    booked: dict = field(default_factory=dict)      # (service, slot) → bookings held
    next_order: int = 0

    # -- the hall's clock and days

    @staticmethod
    def local(now):
        return datetime.fromtimestamp(now, HALL_TZ)

    def today(self, now):
        return self.local(now).date().isoformat()

    @staticmethod
    def periods(moment):
        day = ("default",) * 5 + ("saturday", "sunday")
        return PERIODS[day[moment.weekday()]]

    def is_open(self, now):
        moment = self.local(now)
        minute = moment.hour * 60 + moment.minute
        return any(start <= minute < end for start, end in self.periods(moment))

    def closing(self, now):
        moment = self.local(now)
        return moment.replace(hour=CLOSE_AT // 60, minute=CLOSE_AT % 60, second=0, microsecond=0).timestamp()

    def stale(self, now):
        """Tickets whose day is over: earlier days', and today's waiting ones once closing time
        has passed (a citizen at a desk is served to the end of the day, in another line too
        when a counter sends them there after closing)."""
        today, closing = self.today(now), self.closing(now)
        return [ticket for ticket in self.tickets.values() if ticket.status in LIVE and (
            ticket.day < today or (ticket.day == today and now >= closing and ticket.status == "waiting"
                                   and ticket.issued_at < closing and (ticket.requeued_at or 0) < closing))]

    # -- the lines

    def is_due(self, ticket, now):
        return ticket.due_at is not None and ticket.due_at <= now

    def age(self, ticket, now):
        key = []
        if self.remote_order == "walk_ins_first":
            key.append(ticket.channel == "online")
        if self.due_order == "after_priority":
            due = self.is_due(ticket, now)
            key += [not due, ticket.due_at if due else float("-inf")]
        return key + [int(ticket.issued_at)]

    def waiting(self, now, services):
        today = self.today(now)
        return [ticket for ticket in self.tickets.values()
                if ticket.status == "waiting" and ticket.day == today and ticket.service in services]

    def position_key(self, ticket, now):
        """A service's line: requeued first, due appointments (``ahead``), priority, then age."""
        key = [ticket.requeued_at is None, ticket.requeued_at or 0.0]
        if self.due_order == "ahead":
            due = self.is_due(ticket, now)
            key += [not due, ticket.due_at if due else float("-inf")]
        return key + [ticket.priority is None] + self.age(ticket, now) + [ticket.order]

    def position(self, ticket, now):
        line = sorted(self.waiting(now, (ticket.service,)), key=lambda other: self.position_key(other, now))
        return line.index(ticket) + 1

    def calling_order(self, counter, now, limit=50):
        """Successive call-nexts at ``counter``: [(ticket, priority pick or None)]."""
        services = self.desks[counter].services
        tickets = self.waiting(now, services)

        def line(condition, key):
            chosen = [ticket for ticket in tickets if condition(ticket)]
            return sorted(chosen, key=lambda ticket: (key(ticket), services.index(ticket.service), ticket.order))

        lines = [
            line(lambda t: t.requeued_at is not None, lambda t: t.requeued_at),
            line(lambda t: t.requeued_at is None and self.is_due(t, now), lambda t: t.due_at)
            if self.due_order == "ahead" else [],
            line(lambda t: t.requeued_at is None and t.priority is not None, lambda t: self.age(t, now)),
            line(lambda t: t.requeued_at is None and t.priority is None, lambda t: self.age(t, now)),
        ]
        streak, order, taken = self.desks[counter].streak, [], set()
        while len(order) < limit:
            requeued, due, priority, normal = (next((t for t in line if t.token not in taken), None) for line in lines)
            if requeued or due:
                pick = (requeued or due, None)
            elif priority is None:
                pick = (normal, False)
            elif streak >= PRIORITY_STREAK and normal and int(normal.issued_at) < int(priority.issued_at):
                pick = (normal, False)
            else:
                pick = (priority, True)
            if pick[0] is None:
                break
            order.append(pick)
            taken.add(pick[0].token)
            if pick[1] is not None:
                streak = streak + 1 if pick[1] else 0
        return order

    # -- changes

    def touch(self, ticket, **values):
        for name, value in values.items():
            setattr(ticket, name, value)
        ticket.version += 1

    def expire(self, now, include_today=False):
        ended = ([t for t in self.tickets.values() if t.status in LIVE and t.day <= self.today(now)]
                 if include_today else self.stale(now))
        for ticket in ended:
            self.touch(ticket, status="expired")
        for desk in self.desks.values():
            if desk.current is not None and self.tickets[desk.current].status not in ("called", "serving"):
                desk.current, desk.streak = None, 0
            if desk.called_on != self.today(now):   # priority calls in a row are the day's
                desk.streak = 0
        return len(ended)

    def expire_if_stale(self, now):
        """What the first action after a day's end does (and nothing before)."""
        if self.stale(now):
            self.expire(now)

    def issue(self, token, service, priority, channel, now, number, due_at=None):
        """Refusals first (nothing changes); the ticket the hall must have made."""
        today = self.today(now)
        if channel != "appointment" and not self.is_open(now):
            raise Refused("outside_hours")
        self.expire_if_stale(now)
        taken = self.issued.get((service, today), 0)
        if channel != "appointment" and service == "CT" and taken >= CT_DAILY_CAP:
            raise Refused("cap_reached")
        if service == "DD" and taken >= 8:
            raise Refused("block_exhausted")
        self.issued[(service, today)] = taken + 1
        ticket = Ticket(self.next_order, token, number, service, service, today, now, priority, channel, due_at)
        self.next_order += 1
        self.tickets[token] = ticket
        return ticket

    def expected_number(self, service, now, format_number):
        start = {"HT": 1001, "CT": 1, "DD": 5001}[service]
        return format_number(start + self.issued.get((service, self.today(now)), 0))

    def by_number(self, number, now):
        today = self.today(now)
        found = [t for t in self.tickets.values() if t.day == today and t.number == number]
        if not found:
            raise Refused("unknown_ticket")
        return found[0]

    def current(self, counter, statuses=("called", "serving")):
        desk = self.desks[counter]
        if desk.current is None:
            raise Refused("no_current_ticket")
        ticket = self.tickets[desk.current]
        if ticket.status not in statuses:
            raise Refused("wrong_status")
        return ticket

    def remember(self, counter, now, changes):
        """``changes``: [(ticket, ticket before, desk before)] oldest first, the action's undoable events."""
        self.desks[counter].undoable = (now, [(t.token, t.version, before, desk) for t, before, desk in changes][::-1])

    def forget(self, counter):
        """An event of the counter that cannot be undone hides the earlier ones from undo."""
        if counter is not None:
            self.desks[counter].undoable = None

    @staticmethod
    def snapshot(ticket):
        return {name: getattr(ticket, name) for name in SNAPSHOT}

    def finish_current(self, counter, now, status):
        desk = self.desks[counter]
        if desk.current is None:
            return []
        ticket = self.tickets[desk.current]
        before, desk_before = self.snapshot(ticket), (desk.current, desk.streak)
        desk.current = None
        self.touch(ticket, status=status)
        return [(ticket, before, desk_before)]

    def call(self, counter, ticket, now, streak_before, changes, before=None):
        desk = self.desks[counter]
        before, desk_before = before or self.snapshot(ticket), (desk.current, streak_before)
        self.touch(ticket, status="called", counter=counter, called_at=now, started=False, requeued_at=None,
                   recalls=0)
        desk.current, desk.called_on = ticket.token, self.today(now)
        self.remember(counter, now, changes + [(ticket, before, desk_before)])
        return ticket

    def open_desk(self, counter):
        if self.desks[counter].status != "open":
            raise Refused("counter_paused")
        return self.desks[counter]

    def call_next(self, counter, now, arrived=None):
        self.expire_if_stale(now)
        desk = self.open_desk(counter)
        if desk.current is not None:
            ticket = self.tickets[desk.current]
            if ticket.status == "serving" and arrived is False:
                raise Refused("wrong_status")   # a citizen being served has come
            if ticket.status == "called":
                if now - ticket.called_at < REPEAT_GUARD:
                    raise Refused("just_called")
                if arrived is None and now - ticket.called_at < CONFIRM_ARRIVAL:
                    raise Refused("arrival_unknown")
        streak = desk.streak
        changes = self.finish_current(counter, now, "no_show" if arrived is False else "done")
        order = self.calling_order(counter, now, limit=1)
        if not order:
            if changes:
                self.remember(counter, now, changes)
            return None
        ticket, priority_pick = order[0]
        if priority_pick is not None:
            desk.streak = streak + 1 if priority_pick else 0
        return self.call(counter, ticket, now, streak, changes)

    def call_number(self, counter, number, now):
        self.expire_if_stale(now)
        desk = self.open_desk(counter)
        ticket = self.by_number(number, now)
        if ticket.status not in ("waiting", "no_show"):
            raise Refused("not_waiting")
        before = self.snapshot(ticket)
        if ticket.status == "no_show":
            self.touch(ticket, status="waiting")   # reinstated on the way
        changes = self.finish_current(counter, now, "done")
        return self.call(counter, ticket, now, desk.streak, changes, before)

    def recall(self, counter, now):
        ticket = self.current(counter, ("called",))
        if ticket.recalls >= MAX_RECALLS:
            raise Refused("recall_limit")
        self.touch(ticket, recalls=ticket.recalls + 1)
        self.forget(counter)
        return ticket

    def start(self, counter, now):
        ticket = self.current(counter, ("called",))
        self.touch(ticket, status="serving", started=True)
        self.forget(counter)
        return ticket

    def finish(self, counter, now, status, statuses):
        ticket = self.current(counter, statuses)
        desk = self.desks[counter]
        changes = [(ticket, self.snapshot(ticket), (desk.current, desk.streak))]
        desk.current = None
        self.touch(ticket, status=status)
        self.remember(counter, now, changes)
        return ticket

    def transfer(self, counter, service, now):
        ticket = self.current(counter)
        if ticket.service == service:
            raise Refused("same_service")
        desk = self.desks[counter]
        changes = [(ticket, self.snapshot(ticket), (desk.current, desk.streak))]
        desk.current = None
        self.touch(ticket, status="waiting", service=service, counter=None, transferred_from=ticket.service,
                   requeued_at=now, started=False)
        self.remember(counter, now, changes)
        return ticket

    def reinstate(self, counter, number, now):
        ticket = self.by_number(number, now)
        if ticket.status != "no_show":
            raise Refused("not_no_show")
        self.touch(ticket, status="waiting", counter=None, requeued_at=now)
        self.forget(counter)
        return ticket

    def set_status(self, counter, now, status, refusal):
        desk = self.desks[counter]
        if desk.status == status:
            raise Refused(refusal)
        desk.status = status
        self.forget(counter)
        return None

    def undo(self, counter, now):
        desk = self.desks[counter]
        if desk.undoable is None or now - desk.undoable[0] > UNDO_SECONDS:
            raise Refused("nothing_to_undo")
        ticket = None
        for token, version, before, desk_before in desk.undoable[1]:
            ticket = self.tickets[token]
            if ticket.version != version:
                raise Refused("cannot_undo")
            self.touch(ticket, **before)
            desk.current, desk.streak = desk_before
        desk.undoable = None
        return self.tickets[desk.current] if desk.current is not None else ticket

    def cancel(self, token, now):
        ticket = self.tickets[token]
        if ticket.status not in ("waiting", "called"):
            raise Refused("not_cancellable")
        for desk in self.desks.values():
            if desk.current == token:
                desk.current = None
        self.forget(ticket.counter)
        self.touch(ticket, status="cancelled")
        return ticket


def slot_starts(moment):
    """Today's slot start minutes, cut from the hours."""
    return [start for begin, end in Model.periods(moment)
            for start in range(begin, end - SLOT_MINUTES + 1, SLOT_MINUTES)]


def board_tickets_and_desks(db, config, now, tokens):
    """At one moment, as the hall shows them: the board, the tracked tickets (``tokens``) and
    every counter's desk (one Estimator for all, as a push round has)."""
    estimator = Estimator(db, config, now)
    rows = {token: next(db.query("SELECT * FROM tickets WHERE track_token = ?", [token])) for token in tokens}
    return (views.public_state(db, config, now, recent=0),
            {token: views.public_ticket(config, row, estimator) for token, row in rows.items()},
            {number: views.counter_state(db, config, number, now, estimator) for number in COUNTERS})


PAUSES = st.sampled_from([0.001, 0.4, 2.0, 6.0, 45.0, 120.0])
COUNTER = st.sampled_from(sorted(COUNTERS))
# (service, priority, channel, seconds before it)
ARRIVALS = st.lists(st.tuples(st.sampled_from(SERVICES), st.sampled_from([None, None, "elderly"]),
                              st.sampled_from(["kiosk", "kiosk", "staff", "online"]), PAUSES), min_size=1, max_size=5)
ACTIONS = ("call-next", "call", "recall", "start", "done", "no-show", "transfer", "reinstate", "pause", "resume",
           "undo")


class HallMachine(RuleBasedStateMachine):
    """The real hall and the model side by side."""

    due_order, remote_order = "ahead", "equal"

    def __init__(self):
        super().__init__()
        self.directory = tempfile.TemporaryDirectory()
        self.store = open_store(f"{self.directory.name}/model.db")
        self.store.apply_config(parse_config(hall_mapping(self.due_order, self.remote_order)))
        self.clock = Clock(hall_time(2026, 11, 26, 7, 25))   # a Thursday, before opening
        self.hall = Hall(self.store, clock=self.clock)
        self.published = []
        self.hall.subscribe(lambda events, db, config, now: self.published.extend(event.seq for event in events))
        self.model = Model(self.due_order, self.remote_order)
        self.requests = []        # (counter, action, request_id, arguments, first answer, when)
        self.phones = 0
        self.replayed = 0
        self.replay = {"tickets": {}, "history": {}, "desks": {n: None for n in COUNTERS}}

    def teardown(self):
        self.store.close()
        self.directory.cleanup()

    # -- doing things on both sides

    def now(self):
        return self.clock()

    def both(self, hall_call, model_call):
        """Run the model's change on a copy; the hall must refuse as the model does, or succeed.
        The model's result (or None when refused)."""
        trial = copy.deepcopy(self.model)
        try:
            expected = model_call(trial)
        except Refused as refusal:
            seq = self.seq()
            try:
                hall_call()
            except HallError as error:
                assert error.code == refusal.code, (error.code, refusal.code)
            else:
                raise AssertionError(f"the hall did not refuse: the model says {refusal.code}")
            assert self.seq() == seq, "a refused action changed the hall"
            return None, None
        answer = hall_call()
        self.model = trial
        return expected, answer

    def seq(self):
        return self.hall.read(lambda db, config, now: current_seq(db))

    def run_timer_if_stale(self):
        """The hub's timer ends a day's leftovers within seconds."""
        if self.model.stale(self.now()):
            self.timer()

    def format_number(self, service):
        return next(s for s in self.hall.config.services if s.code == service).format_number

    # -- rules: the citizens

    def issue_both(self, hall_call, service, channel, priority=None, due_at=None):
        """Issue on both sides: the hall's answer (its ticket) must be the model's, or both refuse."""
        number = self.model.expected_number(service, self.now(), self.format_number(service))
        trial = copy.deepcopy(self.model)
        try:
            ticket = trial.issue(None, service, priority, channel, self.now(), number, due_at)
        except Refused as refusal:
            code = refusal.code
            self.both(hall_call, lambda model: refuse(code))
            return None
        answer = hall_call()
        ticket.token = answer["track_token"]
        trial.tickets[ticket.token] = trial.tickets.pop(None)
        self.model = trial
        assert (answer["number"], answer["status"], answer["service"]) == (number, "waiting", service)
        assert answer["position"] == self.model.position(ticket, self.now())
        return answer

    def issue(self, service, priority, channel, pause):
        self.clock.advance(pause)
        if channel == "online":
            self.phones += 1
            address = f"address-{self.phones}"
            self.issue_both(lambda: self.hall.issue_remote_ticket(service, phone=None, address_hash=address),
                            service, channel)
        else:
            self.issue_both(lambda: self.hall.issue_ticket(service, priority=priority, channel=channel),
                            service, channel, priority)

    @rule(arrivals=ARRIVALS)
    def citizens_arrive(self, arrivals):
        """A few citizens take numbers, some within the same second."""
        for arrival in arrivals:
            self.issue(*arrival)

    @precondition(lambda self: not self.model.stale(self.now()))
    @rule(service=st.sampled_from(SERVICES), pause=st.sampled_from([0.001, 60.0, 900.0]))
    def book_and_check_in(self, service, pause):
        """A booking for a slot that starts within half an hour, checked in at the kiosk (twice)."""
        now, moment = self.now(), self.model.local(self.now())
        midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        starts = [(midnight + timedelta(minutes=minute)).timestamp() for minute in slot_starts(moment)]
        starts = [start for start in starts if 0 < start - now <= 30 * 60]
        if not starts:
            return
        due_at, day = starts[0], moment.date().isoformat()
        slot = f"{day}T{self.model.local(due_at):%H:%M}"
        self.phones += 1
        phone = f"09{self.phones:08d}"

        def book():
            return self.hall.book(service=service, slot=slot, name="Nguyễn Văn An", phone=phone, source="api")
        held = self.model.booked.get((service, slot), 0)
        if held >= BOOKING_CAPACITY:
            self.both(book, lambda model: refuse("slot_full"))
            return
        code = book()["code"]
        self.model.booked[(service, slot)] = held + 1
        self.clock.advance(min(pause, due_at - now))
        self.run_timer_if_stale()
        ticket = self.issue_both(lambda: self.hall.check_in(code)["ticket"], service, "appointment", due_at=due_at)
        if ticket is not None:
            again = self.hall.check_in(code)
            assert again["again"] and again["ticket"]["number"] == ticket["number"]

    @precondition(lambda self: not self.model.stale(self.now()) and self.model.tickets)
    @rule(data=st.data())
    def cancel(self, data):
        ticket = data.draw(st.sampled_from(sorted(self.model.tickets.values(), key=lambda t: t.order)))
        self.clock.advance(0.5)
        self.run_timer_if_stale()
        expected, answer = self.both(lambda: self.hall.cancel(ticket.token),
                                     lambda model: model.cancel(ticket.token, self.now()))
        if answer is not None:
            assert answer["status"] == "cancelled" and answer["number"] == ticket.number

    # -- rules: the counters

    def act(self, counter, action, request_id=None, **arguments):
        now = self.now()
        model_calls = {
            "call-next": lambda m: m.call_next(counter, now, arguments.get("arrived")),
            "call": lambda m: m.call_number(counter, arguments.get("number"), now),
            "recall": lambda m: m.recall(counter, now),
            "start": lambda m: m.start(counter, now),
            "done": lambda m: m.finish(counter, now, "done", ("called", "serving")),
            "no-show": lambda m: m.finish(counter, now, "no_show", ("called",)),
            "transfer": lambda m: m.transfer(counter, arguments.get("service"), now),
            "reinstate": lambda m: m.reinstate(counter, arguments.get("number"), now),
            "pause": lambda m: m.set_status(counter, now, "paused", "already_paused"),
            "resume": lambda m: m.set_status(counter, now, "open", "already_open"),
            "undo": lambda m: m.undo(counter, now),
        }
        expected, answer = self.both(
            lambda: self.hall.counter_action(counter, action, request_id=request_id, **arguments),
            model_calls[action])
        if answer is None:
            return
        shown = answer["ticket"]["number"] if answer["ticket"] else None
        assert shown == (expected.number if expected else None), (action, shown, expected)
        if request_id is not None:
            self.requests.append((counter, action, request_id, arguments, answer, now))

    def argument_for(self, action, data):
        today = [t for t in self.model.tickets.values() if t.day == self.model.today(self.now())]
        if action in ("call", "reinstate"):
            wanted = ("waiting", "no_show") if action == "call" else ("no_show",)
            likely = [t.number for t in today if t.status in wanted]
            numbers = sorted({t.number for t in today} | {"1999"})
            return {"number": data.draw(st.sampled_from(likely) if likely else st.sampled_from(numbers))}
        if action == "transfer":
            return {"service": data.draw(st.sampled_from(SERVICES))}
        if action == "call-next":
            return {"arrived": data.draw(st.sampled_from([None, None, True, False]))}
        return {}

    @precondition(lambda self: not self.model.stale(self.now()))
    @rule(counter=COUNTER, action=st.sampled_from(ACTIONS), pause=PAUSES, with_id=st.booleans(), data=st.data())
    def counter_action(self, counter, action, pause, with_id, data):
        self.clock.advance(pause)
        if action not in ("call-next", "call"):
            self.run_timer_if_stale()
        arguments = self.argument_for(action, data)
        if arguments.get("arrived") is None:
            arguments.pop("arrived", None)
        request_id = f"press-{len(self.requests)}-{self.now()}" if with_id else None
        self.act(counter, action, request_id, **arguments)

    @precondition(lambda self: not self.model.stale(self.now()))
    @rule(counter=COUNTER, pause=st.sampled_from([0.001, 100.0, 200.0]), serve=st.booleans())
    def next_citizen(self, counter, pause, serve):
        """The everyday flow: call-next, the citizen comes (start), call-next again later."""
        self.clock.advance(pause)
        self.act(counter, "call-next")
        if serve and self.model.desks[counter].current is not None:
            self.clock.advance(20)
            self.run_timer_if_stale()
            self.act(counter, "start")

    @precondition(lambda self: not self.model.stale(self.now()) and any(
        desk.current for desk in self.model.desks.values()))
    @rule(data=st.data(), action=st.sampled_from(["start", "done", "no-show", "recall", "transfer"]), pause=PAUSES)
    def at_the_desk(self, data, action, pause):
        """A counter with a citizen called or at its desk acts on them."""
        counter = data.draw(st.sampled_from([n for n, desk in self.model.desks.items() if desk.current]))
        self.clock.advance(pause)
        self.run_timer_if_stale()
        self.act(counter, action, **self.argument_for(action, data))

    @precondition(lambda self: not self.model.stale(self.now()))
    @rule(counter=COUNTER, data=st.data(), action=st.sampled_from(["call-next", "call", "done", "no-show", "transfer"]),
          pause=st.sampled_from([100.0, 200.0]), wait=st.sampled_from([0.5, 4.0, 9.0, 11.0]))
    def wrong_press_undone(self, counter, data, action, pause, wait):
        """A wrong press, and undo a few seconds later (within ``undo_seconds`` or just past it)."""
        self.clock.advance(pause)
        if action not in ("call-next", "call"):
            self.run_timer_if_stale()
        self.act(counter, action, **self.argument_for(action, data))
        self.clock.advance(wait)
        self.run_timer_if_stale()
        self.act(counter, "undo")

    @precondition(lambda self: not self.model.stale(self.now()))
    @rule(counter=COUNTER, first_wait=st.sampled_from([0.001, 100.0]), second_wait=st.sampled_from([0.3, 3.0, 30.0]),
          arrived=st.sampled_from([None, True, False]))
    def double_press(self, counter, first_wait, second_wait, arrived):
        """"Next" pressed twice by reflex, without a request id: the second must not cost the first
        citizen their turn (refused, or answered with the counter's choice of ``arrived``)."""
        self.clock.advance(first_wait)
        self.act(counter, "call-next")
        self.clock.advance(second_wait)
        self.act(counter, "call-next", **({} if arrived is None else {"arrived": arrived}))

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), pause=PAUSES, other_action=st.booleans())
    def repeat_request(self, data, pause, other_action):
        """A double key press or a client's retry: the first answer, nothing done; the same id
        for another action is refused, nothing done."""
        self.clock.advance(pause)
        counter, action, request_id, arguments, first, at = data.draw(st.sampled_from(self.requests))
        if self.now() - at > 86400:
            return
        seq = self.seq()
        if other_action:
            other = "pause" if action != "pause" else "resume"
            try:
                self.hall.counter_action(counter, other, request_id=request_id)
            except HallError as error:
                assert error.code == "request_id_reused"
            else:
                raise AssertionError("a request_id reused for another action was not refused")
        else:
            again = self.hall.counter_action(counter, action, request_id=request_id, **arguments)
            assert again == json.loads(json.dumps(first))
        assert self.seq() == seq

    # -- rules: time

    @rule(step=st.sampled_from([3.0, 30.0, 95.0, 600.0, 3600.0, (11, 30), (13, 30), (17, 0), (17, 30), (0, 0),
                                (7, 30)]), late=st.sampled_from([0.5, 61.0]))
    def time_passes(self, step, late):
        """Seconds or an hour pass, or the clock moves to the next lunch, closing, midnight or opening."""
        if not isinstance(step, tuple):
            self.clock.advance(step)
            return
        now = self.model.local(self.now())
        target = now.replace(hour=step[0], minute=step[1], second=0, microsecond=0)
        if target.timestamp() <= self.now():
            target += timedelta(days=1)
        self.clock.set(target + timedelta(seconds=late))

    @rule()
    def timer(self):
        """The hub's timer (and ``hallserver expire``)."""
        expected = self.model.expire(self.now())
        assert self.hall.expire() == expected

    @rule()
    def end_of_day_by_hand(self):
        """An admin's "Kết thúc ngày": every unfinished ticket of today expires now."""
        self.clock.advance(1)
        expected = self.model.expire(self.now(), include_today=True)
        assert self.hall.close_day(by="admin") == expected

    @rule(counter=st.sampled_from([2, 3, 4]))
    def preference_changed(self, counter):
        """The hall file again with one counter's two services in the other order: its calls
        follow the new order at once, and every ticket and desk stays as it was."""
        desks = {number: desk.services for number, desk in self.model.desks.items()}
        desks[counter] = desks[counter][::-1]
        self.hall.apply_config(parse_config(hall_mapping(self.due_order, self.remote_order, desks)))
        self.model.desks[counter].services = desks[counter]

    # -- what must hold after every step

    @initialize(arrivals=ARRIVALS)
    def opened(self, arrivals):
        self.clock.advance(6 * 60)   # 07:31
        self.citizens_arrive(arrivals)

    @invariant()
    def the_hall_agrees_with_the_model(self):
        now, model = self.now(), self.model
        self.check_numbers_and_nothing_lost()
        self.check_event_log()
        unchecked = [t.token for t in model.tickets.values() if t.status not in ENDED or t.checked != t.version]
        state, views, desks = self.hall.read(board_tickets_and_desks, unchecked)
        assert state["seq"] == (self.published[-1] if self.published else 0)
        for counter in state["counters"]:
            desk = model.desks[counter["number"]]
            current = model.tickets[desk.current].number if desk.current else None
            assert (counter["status"], (counter["current"] or {}).get("number")) == (desk.status, current)
        at_desks = [desk.current for desk in model.desks.values() if desk.current]
        assert len(at_desks) == len(set(at_desks)), "a ticket at two desks"
        assert {t.token for t in model.tickets.values() if t.status in ("called", "serving")} == set(at_desks)
        for token in unchecked:
            ticket, view = model.tickets[token], views[token]
            assert (view["number"], view["status"], view["service"]) == (ticket.number, ticket.status,
                                                                          ticket.service), (view, ticket)
            assert view["counter"] == (ticket.counter if ticket.status in ("called", "serving", "no_show") else None)
            ticket.checked = ticket.version
        if model.stale(now):   # the hub's timer ends them within seconds; until then lines may differ
            return
        for service in SERVICES:
            line = sorted(model.waiting(now, (service,)), key=lambda t: model.position_key(t, now))
            assert [views[t.token]["position"] for t in line] == list(range(1, len(line) + 1)), (service, line)
            assert state["services"][SERVICES.index(service)]["waiting"] == len(line)
            # A plain ticket behind another of its service is never told a wait below the range
            # the one ahead is told (see the module's docstring).
            plain = [views[t.token] for t in line if t.priority is None and t.requeued_at is None and t.due_at is None
                     and views[t.token]["eta_minutes"] is not None]
            for ahead, behind in zip(plain, plain[1:], strict=False):
                assert behind["eta_minutes"] >= ahead["eta_low_minutes"], (service, ahead, behind)
        for counter, desk in desks.items():
            expected = [ticket.number for ticket, _ in model.calling_order(counter, now)]
            assert [entry["number"] for entry in desk["waiting_list"]] == expected, (counter, desk["waiting_list"])

    def check_numbers_and_nothing_lost(self):
        db = self.store.db
        rows = db.execute("SELECT origin_service, day, value, track_token FROM tickets ORDER BY id").fetchall()
        assert {row[3] for row in rows} == set(self.model.tickets), "a ticket is lost, or one nobody was told of"
        by_day = {}
        for service, day, value, _ in rows:
            by_day.setdefault((service, day), []).append(value)
        for (service, day), values in by_day.items():
            start = {"HT": 1001, "CT": 1, "DD": 5001}[service]
            assert sorted(values) == list(range(start, start + len(values))), (service, day, values)
            assert len(values) == self.model.issued[(service, day)]

    def check_event_log(self):
        """Replay the new events: legal transitions only, ending in the model's state."""
        replay = self.replay
        rows = self.store.db.execute(
            "SELECT e.seq, e.type, e.counter, e.data, t.track_token FROM events e LEFT JOIN tickets t"
            " ON t.id = e.ticket WHERE e.seq > ? ORDER BY e.seq", [self.replayed]).fetchall()
        seqs = [row[0] for row in rows]
        assert seqs == sorted(set(seqs)) and all(seq > self.replayed for seq in seqs)
        assert [seq for seq in self.published if seq > self.replayed] == seqs, "an event was not published once"
        tickets, history, desks = replay["tickets"], replay["history"], replay["desks"]
        for seq, kind, counter, data, token in rows:
            data = json.loads(data)
            if kind in ("counter_paused", "counter_resumed") or token is None:
                continue
            state = tickets.get(token)
            if kind == "undone":
                assert history[token][-1][0] == data["seq"], "undo of a ticket's earlier event"
                _, tickets[token], desks_before = history[token].pop()
                desks[counter] = desks_before[counter]
                continue
            status, service = state if state else (None, None)
            new = {"issued": "waiting", "called": "called", "recalled": "called", "started": "serving",
                   "done": "done", "no_show": "no_show", "transferred": "waiting", "reinstated": "waiting",
                   "cancelled": "cancelled", "expired": "expired"}[kind]
            assert (status, new) in LEGAL[kind], f"{kind}: {status} → {new} (seq {seq})"
            history.setdefault(token, []).append((seq, state, dict(desks)))
            service = data.get("to", service) if kind == "transferred" else service
            if kind == "issued":
                service = self.model.tickets[token].origin
            tickets[token] = (new, service)
            if kind == "called":
                desks[counter] = token
            elif new not in ("called", "serving"):
                for number, held in desks.items():
                    if held == token:
                        desks[number] = None
        self.replayed = seqs[-1] if seqs else self.replayed
        for token, ticket in self.model.tickets.items():
            assert tickets[token] == (ticket.status, ticket.service), (ticket, tickets[token])
        assert desks == {n: d.current for n, d in self.model.desks.items()}


# Sized for well under a minute on a busy two-core machine (each step reads the whole hall).
HallMachine.TestCase.settings = settings(derandomize=True, database=None, deadline=None, max_examples=12,
                                         stateful_step_count=40)
TestHall = HallMachine.TestCase


class AfterPriorityWalkInsFirst(HallMachine):
    """The other calling policies: due appointments after priority, numbers from home last."""

    due_order, remote_order = "after_priority", "walk_ins_first"


AfterPriorityWalkInsFirst.TestCase.settings = settings(HallMachine.TestCase.settings, max_examples=6)
TestOtherPolicies = AfterPriorityWalkInsFirst.TestCase
