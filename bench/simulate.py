"""``python -m bench.simulate``: simulated hall days against the real ``Hall`` and its estimate.

The real hub core (``Hall`` on a SQLite file in a temporary folder) runs on a fake clock
through whole working days: arrivals that peak in the morning, service times unlike the
configured ones (some services slower, some faster, one counter slower, lognormal tails),
walk-up times between a call and the start, no-shows (recalled twice, then marked absent),
priority tickets, appointments checked in at the kiosk, transfers, counters pausing for
breaks, and optionally the lunch closure of the hall's hours. Several weekdays run in a row
on one database, so an estimator that learns from earlier days can.

The estimate a citizen gets at issue, and every later one the tracking page would show (each
waiting ticket is re-estimated whenever the line changes), are compared with the moment the
ticket was actually called. Printed per scenario: mean absolute error (minutes and share of
the mean actual wait), bias, the share within ±max(5 min, 25 %), how often the range held the
actual wait, and the same for the naive "position × configured minutes ÷ counters".

    .venv/bin/python -m bench.simulate                      # both scenarios, 3 days, the plot
    .venv/bin/python -m bench.simulate --days 1 --scenarios lunch --no-plot
    .venv/bin/python -m bench.simulate --fairness           # also the priority_streak study
    .venv/bin/python -m bench --only simulate               # the same from the bench runner

Seeded and deterministic: the same seed gives the same figures.
"""

import argparse
import dataclasses
import heapq
import itertools
import json
import math
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hallserver.config import parse_config
from hallserver.core import views
from hallserver.core.estimates import Estimator
from hallserver.core.tickets import local_day
from hallserver.errors import HallError
from hallserver.hall import Hall
from hallserver.store import open_store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST_DAY = date(2026, 11, 30)            # a Monday
PLOT_PATH = Path(__file__).with_name("simulate.png")

# (code, name, configured minutes, how the real time compares, share of arrivals)
SERVICES = (
    ("HT", "Hộ tịch", 8, 1.35, 0.30),
    ("CT", "Chứng thực", 4, 0.70, 0.30),
    ("DD", "Đất đai - Xây dựng", 15, 1.15, 0.10),
    ("TP", "Tư pháp - Cư trú", 10, 0.85, 0.15),
    ("XH", "Lao động - Bảo trợ xã hội", 10, 1.00, 0.15),
)
# (counter number, services in order of preference, speed: >1 is slower)
COUNTERS = (
    (1, ("HT",), 1.00),
    (2, ("HT", "CT"), 0.90),
    (3, ("CT", "HT"), 1.25),
    (4, ("DD", "TP"), 1.00),
    (5, ("TP", "XH"), 1.10),
    (6, ("XH", "CT", "DD"), 0.85),
)
SERVICE_SIGMA = 0.55       # lognormal spread of one service time
WALK_MEAN_SECONDS = 55     # call → start
WALK_SIGMA = 0.6
NO_SHOW = {"kiosk": 0.04, "online": 0.18, "appointment": 0.02}
ONLINE_SHARE = 0.15
TRANSFER_SHARE = 0.03
RECALL_AFTER_SECONDS = 60
DAILY_TICKETS = 240        # on a day open 07:30-17:00 without a break
FULL_DAY_MINUTES = 570
APPOINTMENTS_PER_DAY = 14
APPOINTMENT_ABSENT = 0.15
BREAK_MINUTES = 15
BREAK_SIGMA = 0.3


@dataclass(frozen=True)
class Scenario:
    name: str
    hours: tuple                 # ("07:30-11:30", "13:30-17:00")
    priority_share: float = 0.10
    priority_streak: int = 2
    daily_tickets: int = DAILY_TICKETS
    breaks: bool = True
    service_sigma: float = SERVICE_SIGMA


SCENARIOS = {
    "all-day": Scenario("all-day", ("07:30-17:00",)),
    "lunch": Scenario("lunch", ("07:30-11:30", "13:30-17:00")),
}


def hall_mapping(scenario):
    """The simulated hall: 5 services, 6 counters, its hours, weekdays only."""
    return {
        "hall": {"name": "Trung tâm mô phỏng", "name_en": "Simulated centre"},
        "hours": {"default": list(scenario.hours), "saturday": [], "sunday": []},
        "policy": {"priority_streak": scenario.priority_streak, "close_at": "17:30"},
        "booking": {"capacity": 2, "days_ahead": 0, "per_phone": 100, "per_phone_per_service": 100,
                    "unverified_per_slot": 100, "rate_limit": "100000 per minute"},
        "priorities": [{"code": "elderly", "name": "Người cao tuổi"}],
        "services": [{"code": code, "name": name, "block": f"{1000 * (index + 1) + 1}-{1000 * (index + 1) + 999}",
                      "service_minutes": minutes}
                     for index, (code, name, minutes, _, _) in enumerate(SERVICES)],
        "counters": [{"number": number, "services": list(services)} for number, services, _ in COUNTERS],
    }


class FakeClock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now


def _minutes(text):
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def _periods(scenario):
    return [tuple(_minutes(part) for part in period.split("-")) for period in scenario.hours]


def _at(day, minute):
    return datetime(day.year, day.month, day.day, tzinfo=TZ).timestamp() + minute * 60


def arrival_rate(minute):
    """Relative arrival intensity over the day: a morning peak around 8:45, a smaller one at 14:15."""
    morning = math.exp(-((minute - 525) / 55) ** 2)
    afternoon = 0.55 * math.exp(-((minute - 855) / 50) ** 2)
    return 0.18 + morning + afternoon


@dataclass
class Tracked:
    """One ticket as the simulator follows it: what it was told, when it was really called."""
    number: str
    service: str
    priority: bool
    channel: str
    issued_at: float
    token: str
    told: list = field(default_factory=list)     # (at, eta, low, high, naive, at_issue)
    called_at: float | None = None
    leg_closed: bool = False


class Day:
    """One simulated working day on the hall's database."""

    def __init__(self, hall, clock, scenario, day, rng, estimates=True):
        self.hall, self.clock, self.scenario, self.day, self.rng = hall, clock, scenario, day, rng
        self.estimates = estimates
        self.queue = []
        self.order = itertools.count()
        self.tracked = {}
        self.periods = _periods(scenario)
        self.counter_busy = {number: False for number, _, _ in COUNTERS}
        self.counter_break = {number: False for number, _, _ in COUNTERS}
        self.pending_call = {number: False for number, _, _ in COUNTERS}
        self.config = hall.config
        self.counters_of = {code: sum(1 for _, services, _ in COUNTERS if code in services)
                            for code, *_ in SERVICES}
        self.minutes_of = {code: minutes for code, _, minutes, _, _ in SERVICES}
        self.factor_of = {code: factor for code, _, _, factor, _ in SERVICES}
        self.speed_of = {number: speed for number, _, speed in COUNTERS}
        self.services_of = {number: services for number, services, _ in COUNTERS}
        self.closed_legs = []    # first legs of transferred tickets
        self.serving = {}        # counter → (started at, mean minutes) of the citizen it serves
        self.break_since = {}    # counter → when its current break began
        self.break_plans = []    # (counter, window start minute, window end minute)
        self.bookings = []       # (booking code, slot minute)
        self.checked_in = set()
        self.oracle = None       # an Oracle that forks the day at issue moments
        self.stop_number = None  # a forked day stops once this ticket is called

    # -- the event loop --------------------------------------------------------

    def schedule(self, at, action, *arguments):
        heapq.heappush(self.queue, (at, next(self.order), action, arguments))

    def run(self):
        self.plan_arrivals()
        self.plan_appointments()
        self.plan_counters()
        while self.queue:
            at, _, action, arguments = heapq.heappop(self.queue)
            self.clock.now = max(self.clock.now, at)
            action(*arguments)

    def open_at(self, at):
        minute = (at - _at(self.day, 0)) / 60
        return any(start <= minute < end for start, end in self.periods)

    def next_open(self, at):
        """The next moment at or after ``at`` when the hall is open, or None."""
        minute = (at - _at(self.day, 0)) / 60
        for start, end in self.periods:
            if minute < end:
                return _at(self.day, max(minute, start))
        return None

    # -- arrivals ---------------------------------------------------------------

    def plan_arrivals(self, since=None):
        """Draw the day's arrivals (from the minute ``since`` on, a fractional minute of the day)."""
        periods = self.periods
        mean = sum(arrival_rate(minute) for minute in range(450, 450 + FULL_DAY_MINUTES)) / FULL_DAY_MINUTES
        # the same flow of citizens per open minute: a hall closed at lunch takes fewer a day
        per_minute = self.scenario.daily_tickets / FULL_DAY_MINUTES / mean
        last_issue = periods[-1][1] - 30           # numbers stop 30 minutes before closing
        for start, end in periods:
            for minute in range(start, min(end, last_issue)):
                if since is None:
                    count = self._poisson(per_minute * arrival_rate(minute))
                    for _ in range(count):
                        self.schedule(_at(self.day, minute + self.rng.random()), self.arrive)
                elif minute + 1 > since:
                    begin = max(float(minute), since)
                    count = self._poisson(per_minute * arrival_rate(minute) * (minute + 1 - begin))
                    for _ in range(count):
                        self.schedule(_at(self.day, begin + (minute + 1 - begin) * self.rng.random()), self.arrive)

    def _poisson(self, mean):
        limit, count, product = math.exp(-mean), 0, self.rng.random()
        while product > limit:
            count += 1
            product *= self.rng.random()
        return count

    def arrive(self):
        codes = [code for code, *_ in SERVICES]
        service = self.rng.choices(codes, weights=[share for *_, share in SERVICES])[0]
        priority = "elderly" if self.rng.random() < self.scenario.priority_share else None
        online = priority is None and self.rng.random() < ONLINE_SHARE
        try:
            if online:
                ticket = self.hall.issue_remote_ticket(service, phone=None, address_hash=f"h{self.rng.random()}")
            else:
                ticket = self.hall.issue_ticket(service, priority=priority)
        except HallError:
            return
        self.track(ticket)

    def plan_appointments(self):
        """Bookings made before the day (by phone or online), checked in 0–20 minutes before the slot."""
        self.clock.now = _at(self.day, self.periods[0][0] - 60)
        made = 0
        for _ in range(APPOINTMENTS_PER_DAY * 3):
            if made >= APPOINTMENTS_PER_DAY:
                break
            start, end = self.rng.choice(self.periods)
            minute = start + 30 * self.rng.randrange(max(1, (end - start - 60) // 30))
            service = self.rng.choice([code for code, *_ in SERVICES])
            slot = f"{self.day.isoformat()}T{minute // 60:02d}:{minute % 60:02d}"
            try:
                booking = self.hall.book(service=service, slot=slot, name="Nguyễn Văn Mô", source="api",
                                         phone=f"09{self.rng.randrange(10**8):08d}")
            except HallError:
                continue
            made += 1
            self.bookings.append((booking["code"], minute))
            if self.rng.random() >= APPOINTMENT_ABSENT:
                self.schedule(_at(self.day, minute - self.rng.uniform(0, 20)), self.check_in, booking["code"])

    def check_in(self, code):
        self.checked_in.add(code)
        try:
            answer = self.hall.check_in(code)
        except HallError:
            return
        self.track(answer["ticket"])

    def track(self, ticket):
        now = self.clock.now
        tracked = Tracked(ticket["number"], ticket["service"], ticket["priority"] is not None, ticket["channel"],
                          now, ticket["track_token"])
        self.tracked[ticket["number"]] = tracked
        self.tell(tracked, ticket, now, at_issue=True)
        self.after_change()
        for number, services, _ in COUNTERS:
            if ticket["service"] in services:
                self.wake(number, now + self.rng.uniform(3, 15))
        if self.oracle is not None:
            self.oracle.sample(self, tracked)

    def tell(self, tracked, view, now, at_issue=False):
        if view.get("eta_minutes") is None or view.get("position") is None:
            return
        naive = view["position"] * self.minutes_of[view["service"]] / self.counters_of[view["service"]]
        tracked.told.append((now, view["eta_minutes"], view.get("eta_low_minutes"), view.get("eta_high_minutes"),
                             naive, at_issue))

    def after_change(self):
        """Every waiting ticket's estimate as its tracking page would now show it."""
        if not self.estimates:
            return
        now = self.clock.now
        for number, view in self.hall.read(_waiting_views).items():
            tracked = self.tracked.get(number)
            if tracked is not None and tracked.called_at is None:
                self.tell(tracked, view, now)

    # -- counters ---------------------------------------------------------------

    def plan_counters(self):
        opening = _at(self.day, self.periods[0][0])
        for number, _, _ in COUNTERS:
            self.wake(number, opening + self.rng.uniform(0, 120))
            if self.scenario.breaks:
                for start, end in ((570, 630), (900, 940)):        # a break mid-morning and mid-afternoon
                    moment = _at(self.day, self.rng.uniform(start, end))
                    if self.open_at(moment):
                        self.break_plans.append((number, start, end))
                        self.schedule(moment, self.take_break, number)
        for start, _ in self.periods[1:]:
            for number, _, _ in COUNTERS:
                self.wake(number, _at(self.day, start) + self.rng.uniform(0, 180))

    def wake(self, number, at):
        if self.pending_call[number] or self.counter_busy[number] or self.counter_break[number]:
            return
        self.pending_call[number] = True
        self.schedule(at, self.call_next, number)

    def call_next(self, number):
        self.pending_call[number] = False
        now = self.clock.now
        if self.counter_busy[number] or self.counter_break[number]:
            return
        if not self.open_at(now):
            later = self.next_open(now)
            if later is not None:
                self.wake(number, later + self.rng.uniform(0, 180))
            return
        answer = self.hall.counter_action(number, "call-next")
        ticket = answer["ticket"]
        if ticket is None:
            return                        # woken again by the next ticket of its services
        self.counter_busy[number] = True
        tracked = self.tracked.get(ticket["number"])
        if tracked is not None and tracked.called_at is None:
            tracked.called_at = now
            if tracked.number == self.stop_number:
                self.queue.clear()
                return
        self.after_change()
        channel = tracked.channel if tracked else "kiosk"
        if self.rng.random() < NO_SHOW.get(channel, 0.05):
            self.schedule(now + RECALL_AFTER_SECONDS, self.recall, number, 1)
            return
        walk = self.rng.lognormvariate(math.log(WALK_MEAN_SECONDS) - WALK_SIGMA ** 2 / 2, WALK_SIGMA)
        self.schedule(now + walk, self.start, number, ticket["service"])

    def recall(self, number, times):
        if times <= self.config.policy.max_recalls:
            self.hall.counter_action(number, "recall")
            self.schedule(self.clock.now + RECALL_AFTER_SECONDS, self.recall, number, times + 1)
            return
        self.hall.counter_action(number, "no-show")
        self.finished(number)

    def start(self, number, service):
        self.hall.counter_action(number, "start")
        minutes = self.minutes_of[service] * self.factor_of[service] * self.speed_of[number]
        sigma = self.scenario.service_sigma
        seconds = 60 * self.rng.lognormvariate(math.log(minutes) - sigma ** 2 / 2, sigma)
        self.serving[number] = (self.clock.now, minutes)
        self.schedule(self.clock.now + seconds, self.finish, number)

    def finish(self, number):
        if self.rng.random() < TRANSFER_SHARE:
            current = self.hall.counter_state(number)["counter"]["current"]
            others = [code for code, *_ in SERVICES if code != current["service"]]
            target = self.rng.choice(others)
            self.hall.counter_action(number, "transfer", service=target)
            tracked = self.tracked.get(current["number"])
            if tracked is not None:    # the second leg is a wait of its own
                tracked.leg_closed = True
                again = Tracked(tracked.number, target, tracked.priority, tracked.channel, self.clock.now,
                                tracked.token)
                self.tracked[tracked.number] = again
                self.closed_legs.append(tracked)
            self.after_change()
            for other, services, _ in COUNTERS:
                if target in services:
                    self.wake(other, self.clock.now + self.rng.uniform(3, 15))
        else:
            self.hall.counter_action(number, "done")
        self.finished(number)

    def finished(self, number):
        self.counter_busy[number] = False
        self.wake(number, self.clock.now + self.rng.uniform(5, 30))

    def take_break(self, number, retry=False):
        if self.counter_busy[number]:        # finish the current citizen first
            self.schedule(self.clock.now + 30, self.take_break, number, True)
            return
        if self.counter_break[number] or not self.open_at(self.clock.now):
            return
        self.counter_break[number] = True
        self.break_since[number] = self.clock.now
        self.hall.counter_action(number, "pause")
        self.after_change()
        length = 60 * self.rng.lognormvariate(math.log(BREAK_MINUTES) - BREAK_SIGMA ** 2 / 2, BREAK_SIGMA)
        self.schedule(self.clock.now + length, self.end_break, number)

    def end_break(self, number):
        self.counter_break[number] = False
        self.hall.counter_action(number, "resume")
        self.after_change()
        self.wake(number, self.clock.now + self.rng.uniform(3, 20))

    def legs(self):
        return self.closed_legs + list(self.tracked.values())

    # -- the oracle's forks ------------------------------------------------------

    def fork(self, hall, clock, rng):
        """This day from now on with new draws: the same hall and line (``hall`` on a copy of
        the database), but new arrivals, service times, no-shows, breaks and check-ins,
        drawn from what the simulator knows now and no more (the citizens at the counters,
        the breaks under way and the appointments not yet checked in, conditioned on how
        long they have lasted or not come)."""
        other = Day.__new__(Day)
        other.__dict__.update(self.__dict__)
        other.hall, other.clock, other.rng, other.estimates, other.oracle = hall, clock, rng, False, None
        other.queue, other.order, other.closed_legs = [], itertools.count(), []
        other.tracked = {number: dataclasses.replace(leg, told=[]) for number, leg in self.tracked.items()}
        for name in ("counter_busy", "counter_break", "pending_call", "serving", "break_since"):
            setattr(other, name, dict(getattr(self, name)))
        other.checked_in = set(self.checked_in)
        now = clock.now
        minute = (now - _at(self.day, 0)) / 60
        sigma = self.scenario.service_sigma
        for at, _, action, arguments in sorted(self.queue, key=lambda item: item[:2]):
            name = action.__name__
            if at > now and name == "arrive" or name == "check_in" and at > now:
                continue                                       # drawn again below
            if name == "finish" and arguments[0] in self.serving:
                started, mean = self.serving[arguments[0]]
                at = started + 60 * _lognormal_beyond(rng, mean, sigma, (now - started) / 60)
            elif name == "end_break" and arguments[0] in self.break_since:
                since = self.break_since[arguments[0]]
                at = since + 60 * _lognormal_beyond(rng, BREAK_MINUTES, BREAK_SIGMA, (now - since) / 60)
            elif name == "take_break" and not arguments[1:] and at > now:
                plan = next((start, end) for number, start, end in self.break_plans
                            if number == arguments[0] and start <= (at - _at(self.day, 0)) / 60 <= end)
                at = _at(self.day, rng.uniform(max(minute, plan[0]), plan[1]))
                if not other.open_at(at):
                    continue
            other.schedule(at, getattr(other, name), *arguments)
        other.plan_arrivals(since=minute)
        for code, slot in self.bookings:
            if code in self.checked_in or slot <= minute:
                continue
            later = min(1.0, (slot - minute) / 20)            # check-ins come 0–20 minutes before the slot
            shows = (1 - APPOINTMENT_ABSENT) * later / (APPOINTMENT_ABSENT + (1 - APPOINTMENT_ABSENT) * later)
            if rng.random() < shows:
                other.schedule(_at(self.day, rng.uniform(max(minute, slot - 20), slot)), other.check_in, code)
        return other

    def run_until_called(self, number):
        """Run this (forked) day until ticket ``number`` is called: its call moment, or None."""
        self.stop_number = number
        while self.queue:
            at, _, action, arguments = heapq.heappop(self.queue)
            self.clock.now = max(self.clock.now, at)
            action(*arguments)
        return self.tracked[number].called_at


def _lognormal_beyond(rng, mean, sigma, held):
    """A lognormal time (this ``mean``, log-sigma ``sigma``) drawn given it has lasted ``held``."""
    mu = math.log(mean) - sigma ** 2 / 2
    normal = statistics.NormalDist()
    below = normal.cdf((math.log(held) - mu) / sigma) if held > 0 else 0.0
    chance = below + (1 - below) * rng.random()
    return max(held, math.exp(mu + sigma * normal.inv_cdf(min(max(chance, 1e-12), 1 - 1e-12))))


class Oracle:
    """The best any estimate can do that knows the simulated hall but not its future: at a
    sample of issue moments, the rest of the day is run ``futures`` times on a copy of the
    database with new random draws, and the ticket's mean and median wait over them are
    the estimate. A study (slow): it leaves the main run's draws as they were."""

    def __init__(self, futures, every, workdir, seed):
        self.futures, self.every = futures, every
        self.workdir = workdir
        self.seed = seed
        self.seen = 0
        self.samples = []    # (number, issued at, [waits in minutes])

    def sample(self, day, tracked):
        self.seen += 1
        if tracked.channel == "appointment" or self.seen % self.every:
            return
        waits = []
        for future in range(self.futures):
            path = Path(self.workdir) / f"oracle-{future}.db"
            for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                stale.unlink(missing_ok=True)
            day.hall.store.backup(path)
            store = open_store(path)
            try:
                clock = FakeClock(day.clock.now)
                rng = random.Random(f"{self.seed}-oracle-{tracked.number}-{tracked.issued_at}-{future}")
                called = day.fork(Hall(store, clock=clock), clock, rng).run_until_called(tracked.number)
            finally:
                store.close()
            if called is not None:
                waits.append((called - tracked.issued_at) / 60)
        self.samples.append((tracked.number, tracked.issued_at, waits))


def _waiting_views(db, config, now):
    """{number: public view} of every waiting ticket, as one push would compute them."""
    estimator = Estimator(db, config, now)
    rows = list(db.query("SELECT * FROM tickets WHERE status = 'waiting' AND day = ?", [local_day(config, now)]))
    for service in {row["service"] for row in rows}:
        estimator.positions(service)
    return {row["number"]: views.public_ticket(config, row, estimator) for row in rows}


# -- the figures ------------------------------------------------------------------

def measure(legs):
    """Errors of the estimates against the actual calls: at issue, and at every update."""
    samples = {"issue": [], "updates": []}
    for leg in legs:
        if leg.called_at is None:
            continue
        for at, eta, low, high, naive, at_issue in leg.told:
            actual = (leg.called_at - at) / 60
            if actual < 0:
                continue
            sample = (actual, eta, low, high, naive, leg.issued_at, leg.priority)
            samples["updates"].append(sample)
            if at_issue:
                samples["issue"].append(sample)
    return samples


def figures(samples):
    """MAE (minutes, share of mean actual), bias, share within ±max(5 min, 25 %), range hits; hub and naive."""
    if not samples:
        return None
    actual = [sample[0] for sample in samples]
    mean_actual = statistics.fmean(actual)

    def of(predicted):
        errors = [p - a for p, a in zip(predicted, actual, strict=True)]
        mae = statistics.fmean(abs(error) for error in errors)
        within = sum(abs(error) <= max(5.0, 0.25 * a) for error, a in zip(errors, actual, strict=True)) / len(errors)
        return {"mae_min": mae, "mae_share": mae / mean_actual if mean_actual else 0.0,
                "bias_share": statistics.fmean(errors) / mean_actual if mean_actual else 0.0, "within": within}

    result = {"n": len(samples), "mean_actual_min": mean_actual,
              "hub": of([sample[1] for sample in samples]), "naive": of([sample[4] for sample in samples])}
    ranged = [sample for sample in samples if sample[2] is not None and sample[3] is not None]
    if ranged:
        result["hub"]["range_hits"] = sum(low <= a <= high for a, _, low, high, *_ in ranged) / len(ranged)
        result["hub"]["range_width_min"] = statistics.fmean(high - low for _, _, low, high, *_ in ranged)
    return result


def overtaken(legs):
    """The most priority tickets of its own service that came after a normal ticket and were
    called before it (what ``priority_streak`` bounds)."""
    called = [leg for leg in legs if leg.called_at is not None]
    urgent = {}
    for leg in called:
        if leg.priority:
            urgent.setdefault(leg.service, []).append(leg)
    most = 0
    for leg in called:
        if not leg.priority:
            most = max(most, sum(1 for other in urgent.get(leg.service, ())
                                 if leg.issued_at < other.issued_at and other.called_at < leg.called_at))
    return most


def run_scenario(scenario, days=3, seed=1, workdir=None, estimates=True, oracle=None):
    """Run ``days`` weekdays of ``scenario``; {"samples", "figures", "waits", "uncalled"}.
    ``oracle``: (futures, every): also the oracle study at every ``every``-th issue."""
    rng = random.Random(f"{seed}-{scenario.name}-{scenario.priority_streak}-{scenario.priority_share}")
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        store = open_store(Path(folder) / "simulated.db")
        store.apply_config(parse_config(hall_mapping(scenario)))
        clock = FakeClock()
        hall = Hall(store, clock=clock)
        study = Oracle(oracle[0], oracle[1], folder, seed) if oracle else None
        legs, day = [], FIRST_DAY
        for _ in range(days):
            while day.weekday() >= 5:
                day += timedelta(days=1)
            simulated = Day(hall, clock, scenario, day, rng, estimates=estimates)
            simulated.oracle = study
            simulated.run()
            legs += simulated.legs()
            day += timedelta(days=1)
        store.close()
    samples = measure(legs)
    waits = [((leg.called_at - leg.issued_at) / 60, leg.priority) for leg in legs
             if leg.called_at is not None and not leg.leg_closed and leg.channel != "appointment"]
    result = {"samples": samples, "waits": waits, "overtaken": overtaken(legs),
              "uncalled": sum(1 for leg in legs if leg.called_at is None),
              "figures": {kind: figures(items) for kind, items in samples.items()}}
    if study is not None:
        result["figures"]["oracle"] = oracle_figures(study.samples, legs)
        result["oracle_samples"] = study.samples
    return result


def oracle_figures(studied, legs):
    """The hub's estimate at issue, and the oracle's mean and median of the futures, against
    the actual wait of the same sampled tickets."""
    first = {(leg.number, leg.issued_at): leg for leg in legs}
    rows = []
    for number, issued_at, waits in studied:
        leg = first.get((number, issued_at))
        if leg is None or leg.called_at is None or not waits or not leg.told or not leg.told[0][5]:
            continue
        rows.append(((leg.called_at - issued_at) / 60, leg.told[0][1], statistics.fmean(waits),
                     statistics.median(waits)))
    if not rows:
        return None
    actual = [row[0] for row in rows]
    mean_actual = statistics.fmean(actual)

    def of(index):
        errors = [row[index] - row[0] for row in rows]
        return {"mae_share": statistics.fmean(abs(e) for e in errors) / mean_actual,
                "bias_share": statistics.fmean(errors) / mean_actual,
                "within": sum(abs(e) <= max(5.0, 0.25 * a) for e, a in zip(errors, actual, strict=True)) / len(rows)}

    runs = [len(waits) for *_, waits in studied if waits]
    return {"n": len(rows), "futures": statistics.fmean(runs), "mean_actual_min": mean_actual,
            "hub": of(1), "oracle_mean": of(2), "oracle_median": of(3)}


def _line(label, figure):
    hub, naive = figure["hub"], figure["naive"]
    text = (f"  {label:<8} n={figure['n']:<5} mean actual {figure['mean_actual_min']:5.1f} min | "
            f"hub MAE {hub['mae_min']:4.1f} min ({hub['mae_share'] * 100:3.0f} %), "
            f"bias {hub['bias_share'] * 100:+4.0f} %, "
            f"within {hub['within'] * 100:3.0f} %")
    if "range_hits" in hub:
        text += f", range holds {hub['range_hits'] * 100:3.0f} % (width {hub['range_width_min']:.0f} min)"
    text += (f" | naive MAE {naive['mae_min']:4.1f} min ({naive['mae_share'] * 100:3.0f} %), "
             f"bias {naive['bias_share'] * 100:+4.0f} %, within {naive['within'] * 100:3.0f} %")
    return text


def report(name, result):
    print(f"{name}: {len(result['waits'])} tickets called, {result['uncalled']} never called (excluded)")
    for kind in ("issue", "updates"):
        if result["figures"][kind]:
            print(_line(kind, result["figures"][kind]))
    oracle = result["figures"].get("oracle")
    if oracle:
        print(f"  oracle   n={oracle['n']} issues sampled, {oracle['futures']:.1f} futures each (called), mean actual "
              f"{oracle['mean_actual_min']:.1f} min:")
        for label in ("hub", "oracle_mean", "oracle_median"):
            figure = oracle[label]
            print(f"    {label:<14} MAE {figure['mae_share'] * 100:3.0f} %, bias {figure['bias_share'] * 100:+4.0f} %, "
                  f"within {figure['within'] * 100:3.0f} %")


def fairness(days=2, seed=1, workdir=None):
    """Longest waits with 30 % priority tickets, with the policy's streak and without it."""
    results = {}
    for label, streak in (("priority_streak = 2", 2), ("no streak (100)", 100)):
        scenario = Scenario(f"fairness-{streak}", ("07:30-17:00",), priority_share=0.30, priority_streak=streak,
                            daily_tickets=int(DAILY_TICKETS * 1.15))
        run = run_scenario(scenario, days=days, seed=seed, workdir=workdir, estimates=False)
        normal = [wait for wait, priority in run["waits"] if not priority]
        urgent = [wait for wait, priority in run["waits"] if priority]
        results[label] = {"normal_max_min": max(normal), "normal_mean_min": statistics.fmean(normal),
                          "priority_max_min": max(urgent), "priority_mean_min": statistics.fmean(urgent),
                          "overtaken_max": run["overtaken"], "uncalled": run["uncalled"]}
        figure = results[label]
        print(f"  {label:<20} normal tickets: longest {figure['normal_max_min']:5.1f} min, mean "
              f"{figure['normal_mean_min']:4.1f} | priority: longest {figure['priority_max_min']:5.1f} min, mean "
              f"{figure['priority_mean_min']:4.1f} | most later priority tickets called first "
              f"{figure['overtaken_max']} | never called {figure['uncalled']}")
    return results


def _percent(share):
    return "—" if share is None else f"{share * 100:.0f} %"


def summary_lines(out):
    """Markdown table rows (``python -m bench``'s summary) of ``run``'s figures."""
    lines = []
    for name, kinds in out.items():
        if name == "fairness":
            for label, figure in kinds.items():
                lines.append(f"| simulate | fairness, 30 % priority, {label}: longest / mean wait of a normal ticket, "
                             f"min; most later priority tickets called before one | "
                             f"{figure['normal_max_min']:.0f} / {figure['normal_mean_min']:.0f}; "
                             f"{figure['overtaken_max']} | bounded |")
            continue
        for kind, figure in kinds.items():
            if not figure:
                continue
            hub = figure["hub"]
            lines.append(f"| simulate | {name}, estimate {'at issue' if kind == 'issue' else 'at every update'}: "
                         f"MAE share / bias / within ±max(5 min, 25 %) / range holds | "
                         f"**{hub['mae_share'] * 100:.0f} %** / {hub['bias_share'] * 100:+.0f} % / "
                         f"{hub['within'] * 100:.0f} % / {_percent(hub.get('range_hits'))} | "
                         f"≤ 20 % / ±10 % / ≥ 80 % / |")
    return lines


def plot(results, path):
    """Predicted vs actual at issue, and mean absolute error by hour of issue, per scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(len(results), 2, figsize=(12, 5 * len(results)), squeeze=False)
    for row, (name, result) in enumerate(results.items()):
        samples = result["samples"]["issue"]
        actual = [sample[0] for sample in samples]
        scatter = axes[row][0]
        scatter.scatter(actual, [sample[4] for sample in samples], s=8, alpha=0.35, label="naive", color="#c44")
        scatter.scatter(actual, [sample[1] for sample in samples], s=8, alpha=0.6, label="hub", color="#226")
        top = max(actual + [1])
        scatter.plot([0, top], [0, top], color="#888", linewidth=1)
        scatter.set_xlim(0, top * 1.05)
        scatter.set_ylim(0, top * 1.3)
        scatter.set_xlabel("actual wait (min)")
        scatter.set_ylabel("estimate at issue (min)")
        scatter.set_title(f"{name}: estimate at issue vs actual")
        scatter.legend()
        by_hour = {}
        for sample in result["samples"]["updates"]:
            hour = datetime.fromtimestamp(sample[5], TZ).hour
            by_hour.setdefault(hour, []).append(sample)
        hours = sorted(by_hour)
        bars = axes[row][1]
        width = 0.4
        bars.bar([hour - width / 2 for hour in hours],
                 [statistics.fmean(abs(s[1] - s[0]) for s in by_hour[hour]) for hour in hours],
                 width, label="hub", color="#226")
        bars.bar([hour + width / 2 for hour in hours],
                 [statistics.fmean(abs(s[4] - s[0]) for s in by_hour[hour]) for hour in hours],
                 width, label="naive", color="#c44")
        bars.set_xlabel("hour the ticket was issued")
        bars.set_ylabel("mean absolute error, every update (min)")
        bars.set_title(f"{name}: error by hour")
        bars.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.simulate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=3, help="weekdays in a row per scenario (default 3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--service-spread", type=float, default=SERVICE_SIGMA,
                        help=f"lognormal sigma of one service time (default {SERVICE_SIGMA}: long-tailed)")
    parser.add_argument("--scenarios", default="all-day,lunch", help="comma-separated: all-day, lunch")
    parser.add_argument("--fairness", action="store_true", help="also the priority_streak study (30 %% priority)")
    parser.add_argument("--plot", default=str(PLOT_PATH), help=f"PNG path (default {PLOT_PATH})")
    parser.add_argument("--no-plot", action="store_true")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this JSON file")
    parser.add_argument("--oracle", type=int, default=0, metavar="FUTURES",
                        help="also the oracle study: the rest of the day run FUTURES times at sampled issues (slow)")
    parser.add_argument("--oracle-every", type=int, default=10, metavar="N",
                        help="the oracle samples every N-th ticket at issue (default 10)")
    arguments = parser.parse_args(argv)
    return run(arguments)


def run(arguments):
    spread = getattr(arguments, "service_spread", SERVICE_SIGMA)
    results = {}
    for name in [part.strip() for part in arguments.scenarios.split(",") if part.strip()]:
        scenario = dataclasses.replace(SCENARIOS[name], service_sigma=spread)
        oracle = (arguments.oracle, arguments.oracle_every) if getattr(arguments, "oracle", 0) else None
        results[name] = run_scenario(scenario, days=arguments.days, seed=arguments.seed, oracle=oracle)
        report(name, results[name])
    out = {name: result["figures"] for name, result in results.items()}
    if arguments.fairness:
        print("fairness (30 % priority, all-day hall, busier than usual):")
        out["fairness"] = fairness(days=max(1, min(arguments.days, 2)), seed=arguments.seed)
    if not arguments.no_plot and results:
        print(f"plot: {plot(results, arguments.plot)}")
    if arguments.json_path:
        Path(arguments.json_path).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return out


if __name__ == "__main__":
    sys.exit(0 if main() is not None else 1)
