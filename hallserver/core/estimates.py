"""Queue positions and wait estimates.

A waiting ticket's position is its place in its service's calling order (requeued first,
then due appointments, then priority, then by age). Its wait is when a counter will call
it, in the hall's working time:

- every counter takes the oldest ticket of its services, one per *cycle*: the walk-up
  (call → start, learned hall-wide) plus the service time (learned per service; from
  earlier days while today has few samples, else the configured ``service_minutes``; a
  service running longer than usual counts while it runs), times the counter's own pace
  (learned per counter), with the no-shows' shorter cycle (learned rate and length);
- so each counter that serves the ticket's service first works through its part of the
  other services' tickets ahead, then joins the others on this service's line, where the
  tickets ahead go to whichever counter is free first: a free counter at once, a busy one
  when its citizen is likely done (long tails: one that took long is not nearly done; as a
  few equally likely moments, since the first of several busy counters to be free comes
  sooner than the soonest of their means), a paused one after the day's usual pause;
  several counters' calls lag their mean rate a little (cycles of varied length);
  breaks to come follow the last day's pauses at the same clock time, for the counters
  that have not paused within those hours;
- a counter's part of another service's tickets ahead is, for a normal ticket, half how
  the lines now waiting would be worked through oldest first (``OldestFirst``: a counter
  whose other line is younger leaves most of it to that line's other counters) and half
  how today's calls split (from the counters' speeds early in the day);
- priority tickets (for a normal ticket; at most ``policy.priority_streak`` in a row) come
  in ahead at the hall's priority share of the last hour applied to the service's own
  arrivals, transfers and reinstated no-shows at the hall's rate spread over its services
  (one service's few an hour would swing the estimate), and booked appointments due
  before the call at the rate they turn up; a checked-in appointment is expected at its
  slot;
- the result is working time, laid on the hall's hours: a closure (lunch, the evening) is
  skipped and an estimate that crosses one says so (``after_closure``, ``at``).

The range is what the service times' spread and the model's own error leave (about 80 %
of calls fall inside it on ``bench/simulate.py``'s days). Every figure comes from a
handful of aggregate queries per Estimator, whatever the length of the line.
"""

import bisect
import collections
import dataclasses
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import NormalDist

from .tickets import local_day, local_time, waiting_order_sql

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PRIOR_WEIGHT = 4            # the prior service time counts as this many observed tickets
COUNTER_PRIOR_WEIGHT = 6    # a counter's pace starts at the hall's and moves after this many tickets
HISTORY_DAYS = 7            # earlier days that set the prior while today has few samples
HISTORY_ENOUGH = 12         # today's samples of a service after which earlier days are not read
WALK_PRIOR_MINUTES = 1.0
NO_SHOW_PRIOR = 0.05
NO_SHOW_PRIOR_WEIGHT = 20
NO_SHOW_PRIOR_MINUTES = 3.0
PAUSE_PRIOR_MINUTES = 15.0
SHARE_PRIOR_WEIGHT = 10     # a service's split over its counters starts at their speeds' for this many calls
CALL_GAP_MINUTES = 0.25     # a counter's few seconds between finishing and the next call
ARRIVAL_WINDOW_SECONDS = 3600
RECENT_TICKETS = 150        # arrivals are read from the hall's newest tickets only
APPOINTMENT_SHOW_PRIOR = 0.85
PRIORITY_SHARE_PRIOR = 0.05     # share of tickets with a priority, before the last hour shows its own
PRIORITY_SHARE_WEIGHT = 20
REQUEUED_POOL_WEIGHT = 2        # a service's own transfers in count as one, the hall's spread share as this many
PAUSE_LOOKBACK_SECONDS = 4 * 3600
PAUSE_HORIZON_SECONDS = 2 * 3600   # breaks to come: the next two hours of the day they are learned from
PAUSE_WEIGHT = 0.5          # how much of the breaks to come the estimate counts (calibrated)
SPREAD_PRIOR = 0.6          # coefficient of variation of one cycle, before today shows its own
MODEL_ERROR = 0.16          # relative error the model makes beyond the service times' spread
OLDEST_FIRST_WEIGHT = 0.5   # the oldest-first split against the day's (calibrated on bench/simulate.py)
FREE_QUANTILES = 4          # a busy counter's time left, as this many equally likely values
RENEWAL_LAG_WEIGHT = 0.5    # how much of the calls' renewal lag is counted (calibrated on bench/simulate.py)
RANGE_Z = 1.1               # about 8 in 10 calls inside the range on bench/simulate.py


@dataclass(frozen=True)
class Estimate:
    """A wait: the best single figure and its range in minutes, the clock time it points at,
    and whether a closure of the hall lies before it."""
    minutes: int
    low: int
    high: int
    at: float
    after_closure: bool

    def not_before(self, now, moment):
        """The same wait, but not before ``moment`` (an appointment's slot)."""
        if moment <= self.at:
            return self
        shift = (moment - self.at) / 60
        minutes = round((moment - now) / 60)
        return Estimate(minutes, min(minutes, round(self.low + shift)), max(minutes, round(self.high + shift)),
                        moment, self.after_closure)

    def fields(self, config):
        """The API's fields: ``eta_minutes``, ``eta_low_minutes``, ``eta_high_minutes``,
        ``eta_at`` (local HH:MM) and ``eta_after_closure``."""
        return {"eta_minutes": self.minutes, "eta_low_minutes": self.low, "eta_high_minutes": self.high,
                "eta_at": local_time(config, self.at).strftime("%H:%M"), "eta_after_closure": self.after_closure}


def is_near_turn(policy, ahead, eta_minutes, after_closure=False):
    """"Sắp đến lượt": at most ``policy.soon_ahead`` people ahead, or an estimate of at most
    ``policy.soon_minutes`` (0 turns that part off). A turn the estimate puts after a closure
    (lunch) is not near by position: two people ahead at 11:25 may mean 13:35."""
    if ahead is None:
        return False
    by_estimate = policy.soon_minutes > 0 and eta_minutes is not None and eta_minutes <= policy.soon_minutes
    return (ahead <= policy.soon_ahead and not after_closure) or by_estimate


NO_ESTIMATE = {"eta_minutes": None, "eta_low_minutes": None, "eta_high_minutes": None, "eta_at": None,
               "eta_after_closure": None}


def waiting_counts(db, config, now):
    """{service code: number waiting today}: one row per service, kept by triggers
    (``store.ensure_waiting_counts``), so the cost does not grow with the line."""
    counts = {service.code: 0 for service in config.services}
    for service, count in db.execute(
        "SELECT service, waiting FROM waiting_counts WHERE day = ?", [local_day(config, now)],
    ).fetchall():
        if count or service in counts:
            counts[service] = count
    return counts


def waiting_order(db, config, service, now):
    """Today's waiting tickets of ``service`` in calling order."""
    return list(db.query(
        "SELECT * FROM tickets WHERE status = 'waiting' AND day = ? AND service = ? "
        f"ORDER BY {waiting_order_sql(config, now)}",
        [local_day(config, now), service],
    ))


# -- the hall's working time ------------------------------------------------------------

def open_periods(config, day):
    """The day's working periods as (start, end) epoch seconds ([] on a holiday)."""
    if day.isoformat() in config.holidays:
        return []
    midnight = datetime(day.year, day.month, day.day, tzinfo=config.tz)
    return [((midnight + timedelta(minutes=start)).timestamp(), (midnight + timedelta(minutes=end)).timestamp())
            for start, end in config.hours.get(DAYS[day.weekday()], ())]


def working_time(config, now, minutes, periods=None):
    """(the clock moment ``minutes`` of working time after ``now``, whether a closure of the
    hall between two of today's periods lies before it). Past the day's last period the
    time runs on: the clock time then says the ticket may not be reached today."""
    if periods is None:
        periods = open_periods(config, local_time(config, now).date())
    left, moment, crossed = minutes * 60, now, False
    for index, (start, end) in enumerate(periods):
        if end <= moment:
            continue
        if start > moment:
            crossed = crossed or index > 0
            moment = start
        if moment + left <= end:
            return moment + left, crossed
        left -= end - moment
        moment = end
    return moment + left, crossed


def service_days_before(day, count=HISTORY_DAYS):
    """The ISO days [day - count, day)."""
    return (day - timedelta(days=count)).isoformat(), day.isoformat()


def remaining(mean, spread, held):
    """Expected minutes left of a lognormal time with this ``mean`` and coefficient of
    variation ``spread`` that has lasted ``held`` so far: long tails mean that one that
    already took long is not nearly done."""
    if held <= 0 or mean <= 0:
        return max(mean, 0.0)
    sigma = math.sqrt(math.log(1 + spread ** 2))
    mu = math.log(mean) - sigma ** 2 / 2
    z = (math.log(held) - mu) / sigma
    survive = _normal_tail(z)
    if survive < 1e-9:
        return 0.1 * mean
    return max(0.0, mean * _normal_tail(z - sigma) / survive - held)


def remaining_quantiles(mean, spread, held, count=FREE_QUANTILES):
    """``count`` equally likely values of the minutes left of a lognormal time (this
    ``mean``, coefficient of variation ``spread``) that has lasted ``held``: the first of
    several busy counters to be free comes sooner than the soonest of their means."""
    if mean <= 0:
        return [0.0] * count
    sigma = math.sqrt(math.log(1 + spread ** 2))
    mu = math.log(mean) - sigma ** 2 / 2
    normal = NormalDist()
    below = normal.cdf((math.log(held) - mu) / sigma) if held > 0 else 0.0
    values = []
    for index in range(count):
        chance = below + (1 - below) * (index + 0.5) / count
        values.append(max(0.0, math.exp(mu + sigma * normal.inv_cdf(min(chance, 1 - 1e-9))) - max(held, 0.0)))
    return values


def _normal_tail(z):
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


# -- what the day has shown ------------------------------------------------------------------

@dataclass
class Learned:
    """What today (and, while it shows little, the days before) says about the hall."""
    service_minutes: dict        # service → mean minutes from start to finish
    service_weight: dict         # service → the samples (and prior) behind that mean
    spread: dict                 # service → coefficient of variation of one cycle
    walk_minutes: float          # call → start
    no_show_rate: dict           # service → share of calls that end absent
    no_show_minutes: float       # call → marked absent
    pace: dict                   # counter → its time / the hall's for the same services
    pause_minutes: float         # the usual length of a pause
    paused_since: dict           # counter → when its current pause began
    paused_share: float          # share of the coming hours counters will likely spend paused
    served: dict = None          # (service, counter) → tickets of the service the counter served today


def _blend(total, count, prior, weight):
    return (total + prior * weight) / (count + weight)


def learn(db, config, now):
    today = local_day(config, now)
    walk_total = walk_count = 0.0
    services, by_counter = {}, []
    for service, status, counter, count, total, squares, walks, started in db.execute(
        "SELECT service, status, counter, COUNT(*), SUM(finished_at - COALESCE(started_at, called_at)),"
        " SUM((finished_at - called_at) * (finished_at - called_at)), SUM(started_at - called_at), COUNT(started_at)"
        " FROM tickets WHERE status IN ('done', 'no_show') AND day = ? AND called_at IS NOT NULL"
        " AND finished_at >= called_at GROUP BY service, status, counter", [today],
    ).fetchall():
        known = services.get((service, status), (0, 0.0, 0.0))
        services[(service, status)] = (known[0] + count, known[1] + (total or 0.0), known[2] + (squares or 0.0))
        if status == "done":
            walk_total += walks or 0.0
            walk_count += started
            if counter is not None:
                by_counter.append((counter, service, count, total or 0.0))
    walk = _blend(walk_total / 60, walk_count, WALK_PRIOR_MINUTES, 3)
    few = [s.code for s in config.services if services.get((s.code, "done"), (0,))[0] < HISTORY_ENOUGH]
    history = {}
    if few:
        since, until = service_days_before(date.fromisoformat(today))
        history = {service: (count, total) for service, count, total in db.execute(
            "SELECT service, COUNT(*), SUM(finished_at - COALESCE(started_at, called_at)) FROM tickets"
            " WHERE status = 'done' AND day >= ? AND day < ? AND called_at IS NOT NULL GROUP BY service",
            [since, until]).fetchall()}
    service_minutes, service_weight, spread, no_show_rate = {}, {}, {}, {}
    absent_count = absent_total = 0.0
    for service in config.services:
        count, total, squares = services.get((service.code, "done"), (0, 0.0, 0.0))
        old_count, old_total = history.get(service.code, (0, 0.0))
        prior = (old_total / 60 + service.service_minutes * PRIOR_WEIGHT) / (old_count + PRIOR_WEIGHT)
        prior_weight = PRIOR_WEIGHT + min(old_count, 20)
        service_minutes[service.code] = _blend(total / 60, count, prior, prior_weight)
        service_weight[service.code] = count + prior_weight
        if count >= 3:
            mean = (total / count + walk * 60) or 1.0
            variance = max(squares / count - mean * mean, 0.0)
            spread[service.code] = _blend(math.sqrt(variance) / mean * count, count, SPREAD_PRIOR, 5)
        else:
            spread[service.code] = SPREAD_PRIOR
        absent, absent_seconds, _ = services.get((service.code, "no_show"), (0, 0.0, 0.0))
        absent_count += absent
        absent_total += absent_seconds
        no_show_rate[service.code] = _blend(absent, count + absent, NO_SHOW_PRIOR, NO_SHOW_PRIOR_WEIGHT)
    no_show_minutes = _blend(absent_total / 60, absent_count, NO_SHOW_PRIOR_MINUTES, 3)
    pace = _learn_pace(by_counter, service_minutes)
    pause_minutes, paused_since, paused_share = _learn_pauses(db, config, now)
    served = {}
    for counter, service, count, _ in by_counter:
        served[(service, counter)] = served.get((service, counter), 0) + count
    return Learned(service_minutes, service_weight, spread, walk, no_show_rate, no_show_minutes, pace,
                   pause_minutes, paused_since, paused_share, served)


def _learn_pace(by_counter, service_minutes):
    """{counter: how long it takes / how long the hall takes for the same tickets}, from
    [(counter, service, tickets done, seconds)]."""
    taken, expected, counts = {}, {}, {}
    for counter, service, count, total in by_counter:
        taken[counter] = taken.get(counter, 0.0) + total / 60
        expected[counter] = expected.get(counter, 0.0) + count * service_minutes.get(service, 5.0)
        counts[counter] = counts.get(counter, 0) + count
    pace = {}
    for counter, count in counts.items():
        ratio = taken[counter] / expected[counter] if expected[counter] else 1.0
        pace[counter] = _blend(ratio * count, count, 1.0, COUNTER_PRIOR_WEIGHT)
    return pace


def _pauses(db, since, until):
    """([(counter, paused at, resumed at or None)]) of the pauses that overlap [since, until];
    a pause counts from up to PAUSE_LOOKBACK_SECONDS before ``since``."""
    pauses, started = [], {}
    for kind, at, counter in db.execute(
        "SELECT type, at, counter FROM events WHERE type IN ('counter_paused', 'counter_resumed') AND at >= ?"
        " AND at < ? ORDER BY seq", [since - PAUSE_LOOKBACK_SECONDS, until],
    ).fetchall():
        if kind == "counter_paused":
            started[counter] = at
        elif counter in started:
            pauses.append((counter, started.pop(counter), at))
    return pauses + [(counter, at, None) for counter, at in started.items()]


def _paused_share(db, config, since, until):
    """Share of the counters' open time in [since, until] they spent paused."""
    opened = sum(max(0.0, min(end, until) - max(start, since))
                 for start, end in open_periods(config, local_time(config, since).date()))
    if opened <= 0:
        return None
    paused = sum(max(0.0, min(resumed or until, until) - max(at, since))
                 for _, at, resumed in _pauses(db, since, until))
    return min(0.5, paused / (opened * max(1, len(config.counters))))


def _learn_pauses(db, config, now):
    """(usual pause length, {counter: paused since}, share of the coming hours counters will
    likely spend paused). The breaks to come follow the last day with pauses at the same
    clock time (breaks keep to the clock), else today's share so far."""
    midnight = local_time(config, now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    today = _pauses(db, midnight, now + 1)
    lengths = [resumed - at for _, at, resumed in today if resumed is not None and at >= midnight]
    since = {counter: at for counter, at, resumed in today if resumed is None}
    pause_minutes = _blend(sum(lengths) / 60, len(lengths), PAUSE_PRIOR_MINUTES, 2)
    share = None
    last = db.execute("SELECT MAX(at) FROM events WHERE type = 'counter_paused' AND at < ?", [midnight]).fetchone()[0]
    if last is not None and midnight - last < HISTORY_DAYS * 86400:
        then = local_time(config, last)
        moment = local_time(config, now)
        same_time = then.replace(hour=moment.hour, minute=moment.minute, second=moment.second).timestamp()
        share = _paused_share(db, config, same_time, same_time + PAUSE_HORIZON_SECONDS)
    if share is None:
        share = _paused_share(db, config, midnight, now) if now - midnight > 0 else None
        opened = sum(max(0.0, min(end, now) - start)
                     for start, end in open_periods(config, local_time(config, now).date()))
        share = share if share is not None and opened > 1800 else 0.0
    # A counter that paused within the horizon (or is paused now, which its own wait counts)
    # has had that break: the breaks to come are the other counters'.
    recent = {counter for counter, at, resumed in today if resumed is None or at >= now - PAUSE_HORIZON_SECONDS}
    counters = max(1, len(config.counters))
    return pause_minutes, since, share * max(0, counters - len(recent)) / counters


def _first_reaching(lanes, base, needed, booked):
    """The first working minute t >= 0 at which the calls, ``base`` plus each lane's (start,
    rate, chance, lag) ``chance * (1 + max(0, t - start - lag) * rate)`` once started, reach
    ``needed(t)``: both piecewise linear, with steps where a lane starts or an appointment
    falls due and bends where its calls at ``rate`` begin. One sweep over the steps (a busy
    counter is several lanes)."""
    steps = sorted((start, chance) for start, _, chance, _ in lanes)
    ramps = sorted((start + lag, rate * chance) for start, rate, chance, lag in lanes)
    points = sorted({at for at, _ in steps + ramps if at > 0} | {at for at in booked if at > 0})
    constant = slope = 0.0   # the calls so far: constant + slope * t
    step_index = ramp_index = 0
    moment = 0.0
    for upcoming in points + [math.inf]:
        while step_index < len(steps) and steps[step_index][0] <= moment:
            constant += steps[step_index][1]
            step_index += 1
        while ramp_index < len(ramps) and ramps[ramp_index][0] <= moment:
            at, rate = ramps[ramp_index]
            constant -= at * rate
            slope += rate
            ramp_index += 1
        have, want = base + constant + slope * moment, needed(moment)
        if have >= want - 1e-9:
            return moment
        reach = moment + (want - have) / slope if slope > 0 else math.inf
        if reach <= upcoming:
            return reach
        moment = upcoming
    return math.inf


class OldestFirst:
    """Which counter takes the tickets waiting now when each takes the oldest ticket across
    its services: worked out once per moment, for every line at once.

    Each line's tickets are taken as spread evenly over the time since its oldest was issued
    (``lines``: {service: (waiting, seconds since the oldest)}). A line's *front* is the age
    of its next ticket; a counter (from ``starts``: minutes until it can call) works on the
    line with the oldest front among its services, and lines whose fronts meet move on
    together, the counters that reach them sharing their time by the work in each (a fluid
    of the oldest-first policy). That is a few phases, one per counter starting, line worked
    through or two fronts meeting: O(services + counters) each, whatever the length of the
    lines. So a counter of two services whose other line is younger leaves most of it to
    that line's other counters."""

    EPSILON = 1.0   # seconds of age within which two fronts are one

    def __init__(self, lines, counters, starts, cycles):
        spans = {code: max(60.0, span) for code, (count, span) in lines.items() if count > 0}
        density = {code: lines[code][0] / span for code, span in spans.items()}   # tickets a second of age
        front = dict(spans)   # the age of each line's next ticket, in seconds: 0 once worked through
        # each counter's (service, cycle, work a second of the line's age) of the lines waiting
        desks = [(counter, starts[counter], [(code, cycles[(code, counter)], density[code] * cycles[(code, counter)])
                                             for code in codes if code in density])
                 for counter, codes in counters.items()]
        self.spans, self.counts = spans, {code: lines[code][0] for code in spans}
        # (minutes, {service: (front, seconds of age a minute)}, [(counter, service, calls a minute)])
        self.phases = []
        self._taken = {}
        clock = 0.0
        for _ in range(4 * (len(front) + len(counters)) + 8):
            groups = _groups({code: age for code, age in front.items() if age > self.EPSILON}, self.EPSILON)
            if not groups:
                break
            group_of = {code: index for index, codes in enumerate(groups) for code in codes}
            calls, shares = [0.0] * len(groups), []   # tickets a minute each group's counters call
            for counter, start, desk in desks:
                if start > clock + 1e-9:
                    continue
                group = min((group_of.get(code, math.inf) for code, _, _ in desk), default=math.inf)
                if group == math.inf:
                    continue
                serving = [item for item in desk if group_of.get(item[0]) == group]
                total = sum(work for _, _, work in serving)
                for code, cycle, work in serving:   # its time shared by the work in each line
                    shares.append((counter, code, work / total / cycle))
                    calls[group] += work / total / cycle
            speeds = [count / sum(density[code] for code in codes)   # seconds of age a minute
                      for codes, count in zip(groups, calls, strict=True)]
            ages = [front[codes[0]] for codes in groups]
            length = min([age / speed for age, speed in zip(ages, speeds, strict=True) if speed > 0] + [math.inf])
            for index in range(len(groups) - 1):
                closing = speeds[index] - speeds[index + 1]
                if closing > 0:   # the older line's front catches up with the younger's
                    length = min(length, (ages[index] - ages[index + 1]) / closing)
            length = min([start - clock for _, start, _ in desks if start > clock + 1e-9] + [length])
            if length == math.inf:
                break
            self.phases.append((length, {code: (front[code], speeds[index]) for code, index in group_of.items()},
                                shares))
            for code, index in group_of.items():
                front[code] = max(0.0, front[code] - speeds[index] * length)
            clock += length

    def taken_before(self, service, ahead):
        """{service: {counter: tickets of it the counter calls}} until the ``ahead`` tickets
        of ``service`` that go first are called (to the tenth of its line: the tickets of a
        push round share a few)."""
        tenth = min(10, math.ceil(10 * ahead / self.counts[service])) if service in self.counts else 10
        key = (service, tenth)
        if key not in self._taken:
            target = self.spans[service] * (1 - tenth / 10) if service in self.spans else 0.0
            taken = self._taken[key] = {}
            for length, fronts, shares in self.phases:
                age, speed = fronts.get(service, (0.0, 0.0))
                if speed > 0 and age <= target + self.EPSILON:
                    break
                part = (age - target) / speed if speed > 0 and age - speed * length <= target else length
                for counter, code, rate in shares:
                    line = taken.setdefault(code, {})
                    line[counter] = line.get(counter, 0.0) + rate * part
                if part < length:
                    break
        return self._taken[key]

    def share(self, service, counter, usual, taken):
        """The part of the waiting tickets of ``service`` that ``counter`` takes: half as the
        lines are worked through oldest first (``taken``: ``taken_before``, or the whole
        way through when nobody takes any by then), half ``usual`` (the day's split), which
        knows what the lines' ages do not (breaks, tickets still to come, a counter's
        habits); ``usual`` for a line nobody works on."""
        for calls in (taken, self.taken_before(None, 0)):
            total = sum(calls.get(service, {}).values())
            if total > 0:
                mine = calls[service].get(counter, 0.0) / total
                return OLDEST_FIRST_WEIGHT * mine + (1 - OLDEST_FIRST_WEIGHT) * usual
        return usual


def _kept(cache, key, compute, most=50):
    """``cache[key]``, computed once; past ``most`` keys the cache starts again (its keys are
    moments' figures: the old ones are not asked for again)."""
    if key not in cache:
        if len(cache) > most:
            cache.clear()
        cache[key] = compute()
    return cache[key]


def _roughly(count):
    """``count`` to within 5 %: itself up to 10, else the nearest of 10 × 1.1^k (178 → 174)."""
    if count <= 10:
        return count
    return round(10 * 1.1 ** round(math.log(count / 10, 1.1)))


def _groups(fronts, epsilon):
    """[[service, ...]]: the lines whose fronts (ages) are within ``epsilon``, oldest first."""
    groups, last = [], None
    for code, age in sorted(fronts.items(), key=lambda item: -item[1]):
        if groups and last - age <= epsilon:
            groups[-1].append(code)
        else:
            groups.append([code])
            last = age
    return groups


# -- the estimator ----------------------------------------------------------------------------

class RecentArrivals:
    """Who came in the last hour, for the inflow that goes ahead of a ticket: the hall's
    newest tickets (at most ``RECENT_TICKETS``) of today, by origin service and priority,
    and the transfers and reinstated no-shows. Read once, then kept up to date by reading
    only the tickets issued since (``renew``): the same figures a fresh read gives.

    A service sees a handful of priority tickets an hour: its own count would swing the
    estimate by the luck of the last hour. So the priority share is the hall's (blended
    with a prior), applied to the service's own arrivals, and the transfers and
    reinstated tickets are the hall's, spread over the services."""

    def __init__(self, db, today, now):
        self.today = today
        self.since = now - ARRIVAL_WINDOW_SECONDS
        self.newest = 0
        self.recent = collections.deque()   # ids of the newest tickets, oldest first
        self.counted = collections.deque()  # (issued at, id, service, priority) of today's within the hour
        self.tickets, self.urgent, self.in_order = {}, 0, True
        # Transfers and reinstatements are counter actions: the owner of shared figures renews
        # them all on those (see SharedFigures), so the last hour's are read once.
        self.moves = db.execute(
            "SELECT at, service FROM events WHERE type IN ('transferred', 'reinstated') AND at >= ? ORDER BY at",
            [self.since]).fetchall()
        self._read(db)

    def renew(self, db, today, now):
        """Bring the window to ``now`` with the tickets issued since; False when it cannot
        (another day, or the clock went back): read a new one."""
        since = now - ARRIVAL_WINDOW_SECONDS
        if today != self.today or since < self.since:
            return False
        self.since = since
        self._read(db)
        return True

    def _read(self, db):
        # The newest first, at most RECENT_TICKETS of them: the rest would fall out at once.
        rows = db.execute(
            "SELECT id, origin_service, priority IS NOT NULL, issued_at, day FROM tickets WHERE id > ?"
            " ORDER BY id DESC LIMIT ?", [self.newest, RECENT_TICKETS]).fetchall()
        for ticket, service, urgent, issued, day in reversed(rows):
            self.recent.append(ticket)
            if day == self.today:
                self.in_order = self.in_order and (not self.counted or issued >= self.counted[-1][0])
                self._count(issued, ticket, service, urgent)
        if rows:
            self.newest = rows[0][0]
        while len(self.recent) > RECENT_TICKETS:
            gone = self.recent.popleft()
            if self.counted and self.counted[0][1] == gone:
                self._drop()
        if self.in_order:
            while self.counted and self.counted[0][0] < self.since:
                self._drop()
        else:   # issued out of id order (clocks of several processes): filter them all
            for entry in [entry for entry in self.counted if entry[0] < self.since]:
                self.counted.remove(entry)
                self._uncount(entry)

    def _count(self, issued, ticket, service, urgent):
        if issued >= self.since:
            self.counted.append((issued, ticket, service, urgent))
            self.tickets[service] = self.tickets.get(service, 0) + 1
            self.urgent += urgent

    def _drop(self):
        self._uncount(self.counted.popleft())

    def _uncount(self, entry):
        _, _, service, urgent = entry
        self.tickets[service] -= 1
        self.urgent -= urgent

    def rates(self, codes, now):
        """{service: (priority tickets, requeued tickets) per minute} over ``codes``."""
        first = now
        if self.counted:
            first = min(now, self.counted[0][0] if self.in_order else min(entry[0] for entry in self.counted))
        requeued, moved = {}, 0
        for at, service in self.moves:
            if at >= self.since:
                requeued[service] = requeued.get(service, 0) + 1
                moved += 1
        # An hour that began not long ago (the morning) counts as at least 20 minutes.
        minutes = max(20.0, min(ARRIVAL_WINDOW_SECONDS, now - first) / 60)
        share = _blend(self.urgent, sum(self.tickets.values()), PRIORITY_SHARE_PRIOR, PRIORITY_SHARE_WEIGHT)
        spread_moved = moved / max(1, len(codes))
        return {
            code: (share * self.tickets.get(code, 0) / minutes,
                   _blend(requeued.get(code, 0), 1, spread_moved, REQUEUED_POOL_WEIGHT) / minutes)
            for code in codes}


class SharedFigures:
    """What one process's estimators reuse from one request to the next: the counters, what
    the day learned, the figures worked out from it, today's booked slots, and the arrivals
    (``RecentArrivals``: brought up to date with the tickets issued since, by reading only
    those). Tickets coming in do not change the others; a
    counter acting, a booking, another process's commit or time moving on does. The owner
    names that state in a ``key`` and forgets the figures on what the key cannot show (see
    ``Hall``): they hold while the key is the same, for at most ``TICK_SECONDS`` of clock time."""

    TICK_SECONDS = 2.0

    def __init__(self):
        self._key = None
        self._figures = {}

    def at(self, key, now):
        """The figures (a dict for ``Estimator(shared=...)``) valid for ``key`` at ``now``."""
        key = (key, math.floor(now / self.TICK_SECONDS))
        if key != self._key:
            self._key, self._figures = key, {}
        return self._figures

    def forget(self):
        """Drop the figures (a change the key does not show is under way)."""
        self._key, self._figures = None, {}


class Estimator:
    """Computes positions and waits for one moment; build one per publish or request.

    Reads lazily: a view that needs no estimate costs two queries (waiting counts and
    counters), one that does a handful more, however long the line.
    """

    def __init__(self, db, config, now, shared=None):
        self.db = db
        self.config = config
        self.now = now
        self.shared = shared   # figures reused from an earlier Estimator (see SharedFigures), or None
        self._memos = {}   # per-moment figures every estimate of this Estimator shares (see _memo)
        self.waiting = waiting_counts(db, config, now)
        self.counter_rows = self._reuse("counters", lambda: {
            row["number"]: row for row in db.query(
                "SELECT c.*, t.called_at AS current_called_at, t.started_at AS current_started_at,"
                " t.service AS current_service FROM counters c LEFT JOIN tickets t ON t.id = c.current_ticket"
                " WHERE c.active = 1")
        })
        self._learned = None
        self._arrivals = None
        self._appointments = None
        self._positions = {}
        self._estimates = {}
        self._model_figures = None

    # -- what the estimate reads ------------------------------------------------------

    def _reuse(self, name, compute):
        """``compute()`` once: what an earlier Estimator worked out while the figures hold,
        or, without shared figures, once for this Estimator."""
        known = self.shared if self.shared is not None else self._memos.setdefault("reused", {})
        if name not in known:
            known[name] = compute()
        return known[name]

    @property
    def learned(self):
        if self._learned is None:
            day = self._reuse("learned", lambda: learn(self.db, self.config, self.now))
            # the services under way are counted at this very moment, on a copy
            self._learned = dataclasses.replace(day, service_minutes=dict(day.service_minutes),
                                                service_weight=dict(day.service_weight))
            self._count_services_in_progress(self._learned)
            # Read with it (a push round reads what the day learned before its views): only a
            # ticket called, moved or gone changes them, and the owner of shared figures renews
            # them all then.
            self.oldest_waiting = self._reuse("oldest waiting", self._read_oldest_waiting)
        return self._learned

    def _count_services_in_progress(self, learned):
        """A service running longer than the usual time is a sample too (at least that
        long): without it the long ones count only once finished, and the mean lags."""
        for row in self.counter_rows.values():
            service, started = row["current_service"], row["current_started_at"]
            if service not in learned.service_minutes or started is None:
                continue
            held = (self.now - started) / 60
            mean, weight = learned.service_minutes[service], learned.service_weight[service]
            if held > mean:
                learned.service_minutes[service] = (mean * weight + held) / (weight + 1)
                learned.service_weight[service] = weight + 1

    def minutes_per_ticket(self, service):
        """A counter's usual minutes per ticket of ``service`` (walk-up and service)."""
        learned = self.learned
        return learned.walk_minutes + learned.service_minutes.get(service, 5.0)

    def arrivals_ahead(self):
        """{service: (priority tickets, requeued tickets) per minute}, from the last hour
        (``RecentArrivals``). An earlier Estimator's window is renewed with the tickets
        issued since it was read (during a burst, one new ticket a request)."""
        if self._arrivals is None:
            today = local_day(self.config, self.now)
            window = self.shared.get("arrivals") if self.shared is not None else None
            if window is None or not window.renew(self.db, today, self.now):
                window = RecentArrivals(self.db, today, self.now)
                if self.shared is not None:
                    self.shared["arrivals"] = window
            self._arrivals = window.rates([service.code for service in self.config.services], self.now)
        return self._arrivals

    def appointments(self):
        """{service: [slot start, ...]} of today's bookings not yet checked in, and the
        share of bookings that turn up (today's so far, blended with a prior)."""
        if self._appointments is None:
            self._appointments = self._reuse("appointments", self._read_appointments)
        return self._appointments

    def _read_appointments(self):
        today = local_day(self.config, self.now)
        slots, came, missed = {}, 0, 0
        for service, status, starts_at in self.db.execute(
            "SELECT service, status, starts_at FROM bookings WHERE day = ? "
            "AND status IN ('booked', 'checked_in', 'no_show')", [today],
        ).fetchall():
            if status == "booked" and starts_at >= self.now - 15 * 60:
                slots.setdefault(service, []).append(starts_at)
            elif status == "checked_in":
                came += 1
            elif status == "no_show":
                missed += 1
        return slots, _blend(came, came + missed, APPOINTMENT_SHOW_PRIOR, 10)

    # -- the model ---------------------------------------------------------------------

    def _model(self):
        """{"cycles": {(service, counter): minutes}, "shares": ``_shares``'s table or None, ...}:
        worked out from what was learned, so shared by the Estimators that learned the same
        (only a service under way longer than usual moves it from one moment to the next)."""
        if self._model_figures is None:
            key = tuple(self.learned.service_minutes.items())
            # a long service under way makes a new key every moment: hence the bound
            self._model_figures = _kept(self._reuse("models", dict), key, lambda: {"cycles": {}, "shares": None})
        return self._model_figures

    def _cycle(self, service, counter):
        """Minutes one ticket of ``service`` holds ``counter``: with the no-shows' share."""
        cycles = self._model()["cycles"]
        key = (service, counter)
        if key not in cycles:
            cycles[key] = self._compute_cycle(service, counter)
        return cycles[key]

    def _compute_cycle(self, service, counter):
        learned = self.learned
        served = (learned.walk_minutes + learned.service_minutes.get(service, 5.0)) * learned.pace.get(counter, 1.0)
        absent = learned.no_show_rate.get(service, NO_SHOW_PRIOR)
        return (1 - absent) * served + absent * learned.no_show_minutes + CALL_GAP_MINUTES

    def _free_in(self, counter):
        """Minutes until ``counter`` can call: now when free, when its citizen is likely done,
        after the usual pause when paused; None for a counter that is not in service."""
        row = self.counter_rows.get(counter.number)
        if row is None:
            return None
        learned = self.learned
        if row["status"] != "open":
            paused = learned.paused_since.get(counter.number, self.now)
            return max(learned.pause_minutes * 0.3, learned.pause_minutes - (self.now - paused) / 60)
        if row["current_ticket"] is not None and row["current_called_at"] is not None:
            usual = self._cycle(row["current_service"] or counter.services[0], counter.number)
            spread = self.learned.spread.get(row["current_service"], SPREAD_PRIOR)
            return remaining(usual, spread, (self.now - row["current_called_at"]) / 60)
        return 0.0

    def _free_in_spread(self, counter):
        """((minutes until ``counter`` can call, chance), ...): ``_free_in`` with a busy
        counter's time left as equally likely values; None for a counter not in service."""
        row = self.counter_rows.get(counter.number)
        if row is None:
            return None
        if row["status"] == "open" and row["current_ticket"] is not None and row["current_called_at"] is not None:
            usual = self._cycle(row["current_service"] or counter.services[0], counter.number)
            spread = self.learned.spread.get(row["current_service"], SPREAD_PRIOR)
            values = remaining_quantiles(usual, spread, (self.now - row["current_called_at"]) / 60)
            return tuple((value, 1 / len(values)) for value in values)
        return ((self._free_in(counter), 1.0),)

    def _shares(self):
        """{(service, counter): the counter's part of the service's calls}: by how fast each
        counter that serves it goes."""
        model = self._model()
        if model["shares"] is None:
            speeds = {}
            for counter in self.config.counters:
                if counter.number in self.counter_rows:
                    for code in counter.services:
                        speeds[(code, counter.number)] = 1 / self._cycle(code, counter.number)
            totals = {}
            for (code, _), speed in speeds.items():
                totals[code] = totals.get(code, 0.0) + speed
            # Each counter takes the oldest ticket of its services, so how a service's calls split
            # follows the other lines too: today's split, from the speeds' split while it is young.
            served = self.learned.served or {}
            observed = {}
            for key in speeds:
                observed[key[0]] = observed.get(key[0], 0) + served.get(key, 0)
            model["shares"] = {
                key: (served.get(key, 0) + SHARE_PRIOR_WEIGHT * speed / totals[key[0]])
                / (observed[key[0]] + SHARE_PRIOR_WEIGHT) for key, speed in speeds.items()}
        return model["shares"]

    def _working_minutes(self, service, ahead, kind):
        """(minutes of working time until the ticket is likely called, tickets a counter
        serves first); None when no counter serves the service. ``ahead``: {service: waiting
        tickets that go before it}.

        Each counter takes the oldest of its services' tickets: it first works through its
        part of the other services' tickets ahead (and of those that come in ahead
        meanwhile), then joins the others on this service's line, where the tickets ahead go
        to whichever counter is free first."""
        available = 1.0 - PAUSE_WEIGHT * self.learned.paused_share
        lanes = []     # (minutes until it takes this service's line, tickets of it per minute, chance, lag)
        parts = self._memo("lanes", (service, kind), self._lane_parts, service, kind)
        lag = self._renewal_lag(service, len(parts))
        # A normal ticket's turn comes after the older tickets of the other lines: which
        # counter takes those follows the lines' ages too (OldestFirst).
        oldest_first = self.oldest_first() if kind == "normal" else None
        taken = oldest_first.taken_before(service, ahead.get(service, 0)) if oldest_first else None
        for number, starts, busy, others, cycle in parts:
            other = 0.0
            for share, code_cycle, code in others:
                if taken is not None:
                    share = oldest_first.share(code, number, share, taken)
                other += ahead.get(code, 0) * share * code_cycle
            rate = available * (1 - busy) / cycle
            for start, chance in starts:
                lanes.append(((start + other / available) / (1 - busy), rate, chance, lag / rate))
        if not lanes:
            return None
        slots, shows = self.appointments()
        due = self.config.booking.due_order
        overtaken = (kind == "normal" and due != "equal") or (kind == "priority" and due == "ahead")
        booked = self._memo("booked", service, lambda: sorted((at - self.now) / 60 for at in slots.get(service, ())))
        booked = booked if overtaken else []
        target = ahead.get(service, 0) + 1

        def calls(t):   # a counter calls once as it takes the line, then once per cycle
            return sum(chance * (1 + (t - start) * rate) for start, rate, chance, _ in lanes if t >= start)

        def needed(t):
            return target + shows * bisect.bisect_right(booked, t)   # booked is sorted: those due by t

        moment = _first_reaching(lanes, 0.0, needed, booked)
        closure = self._working_until_closure()
        if closure is not None and moment > closure:
            # The counters finish their citizens at the closure and all call at once when the
            # hall opens again: the half-done cycles do not carry over (that half cycle stands
            # for the calls' lag here too: counting both told the turns after a closure too late).
            done_before = calls(closure) - 0.5 * sum(chance for start, _, chance, _ in lanes if start <= closure)
            after = [(max(0.0, start - closure), rate, chance, 0.0) for start, rate, chance, _ in lanes]
            moment = closure + _first_reaching(after, done_before, lambda t: needed(closure + t),
                                               [at - closure for at in booked])
        if moment == math.inf:
            return None
        serving = sum(chance for start, _, chance, _ in lanes if start <= moment)
        return moment, target / max(1.0, serving)

    def _renewal_lag(self, service, counters):
        """Cycles of ``service`` after a counter's first call on its line before its calls
        run at their mean rate. Cycles of varied length (coefficient of variation
        ``spread``) make fewer calls in a while after one than the mean rate says, by
        (1 - spread²) / 2 on average (renewal theory), and the turns of a line that several
        counters share follow their calls' mean: the estimate counts ``RENEWAL_LAG_WEIGHT``
        of that lag. A line of one counter has none: its k-th call is k - 1 mean cycles
        after its first."""
        if counters < 2:
            return 0.0
        spread = self.learned.spread.get(service, SPREAD_PRIOR)
        return RENEWAL_LAG_WEIGHT * max(0.0, 1 - spread ** 2) / 2

    def _lane_parts(self, service, kind):
        """The parts of each lane of ``service`` that do not depend on who is ahead, per
        counter that serves it and is in service: its number, ((minutes until it is free, chance), ...)
        (``_free_in_spread``), share of its
        time the tickets coming in ahead take, [(its share of another service's calls, that
        service's cycle, the service)], the cycle of ``service``)."""
        shares = self._shares()
        arrivals = self.arrivals_ahead()
        streak = self.config.policy.priority_streak
        parts = []
        for counter in self.config.counters:
            if service not in counter.services:
                continue
            start = self._free_in_spread(counter)
            if start is None:
                continue
            busy, others = 0.0, []
            for code in counter.services:
                share = shares.get((code, counter.number), 0.0)
                cycle = self._cycle(code, counter.number)
                if code != service:
                    others.append((share, cycle, code))
                priority_rate, requeued_rate = arrivals.get(code, (0.0, 0.0))
                rate = 0.0 if kind == "requeued" else requeued_rate
                if kind == "normal":
                    rate += priority_rate
                busy += rate * share * cycle
            busy = min(busy, streak / (streak + 1), 0.8)   # a line others always overtake still moves
            parts.append((counter.number, start, busy, others, self._cycle(service, counter.number)))
        return parts

    def oldest_first(self):
        """``OldestFirst`` for the lines waiting now (worked out once)."""
        return self._memo("oldest first", None, self._compute_oldest_first)

    def _compute_oldest_first(self):
        oldest = self.learned and self.oldest_waiting   # read with what the day learned
        model = self._model()
        if "desks" not in model:   # the counters in service and their cycles: what was learned
            cycles = {(code, counter.number): self._cycle(code, counter.number) for counter in self.config.counters
                      if counter.number in self.counter_rows for code in counter.services}
            model["desks"] = ([counter for counter in self.config.counters if counter.number in self.counter_rows],
                              cycles, tuple(cycles.items()))
        desks, cycles, cycles_key = model["desks"]
        counters, starts = {}, {}
        for counter in desks:
            start = self._free_in(counter)
            if start is not None:
                counters[counter.number], starts[counter.number] = counter.services, round(4 * start) / 4
        # The lines to within 5 %, their ages to the minute and the counters' starts to the
        # quarter minute: a split that a burst's requests share. A line that was empty when
        # the oldest were read holds tickets of the last seconds (the figures hold for a
        # few): a minute old.
        lines = {code: (_roughly(count), 60 * round((self.now - (oldest.get(code) or self.now)) / 60))
                 for code, count in self.waiting.items() if count > 0}
        key = (tuple(lines.items()), tuple(starts.items()), cycles_key)
        return _kept(self._reuse("oldest first", dict), key, lambda: OldestFirst(lines, counters, starts, cycles))

    def _read_oldest_waiting(self):
        """{service: when its oldest waiting ticket (not transferred in nor reinstated, which
        go first) was issued, or None}: one index lookup a service."""
        one = ("SELECT ?, (SELECT issued_at FROM tickets WHERE status = 'waiting' AND day = ? AND service = ?"
               " AND requeued_at IS NULL ORDER BY id LIMIT 1)")
        codes, today = [service.code for service in self.config.services], local_day(self.config, self.now)
        return dict(self.db.execute(" UNION ALL ".join([one] * len(codes)),
                                    [value for code in codes for value in (code, today, code)]).fetchall())

    def _working_until_closure(self):
        """Working minutes from now to the end of today's current period when another
        period follows it (the lunch closure); None otherwise."""
        return self._memo("closure", None, self._compute_working_until_closure)

    def _compute_working_until_closure(self):
        periods = self._today_periods()
        for start, end in periods[:-1]:
            if self.now < end:
                return (end - max(start, self.now)) / 60
        return None

    def estimate(self, service, position, kind="normal", ahead=None):
        """The wait of a ticket at ``position`` (1 = next) of ``service``; ``kind`` is
        ``normal``, ``priority`` or ``requeued`` (who may still come in ahead); ``ahead``:
        {other service: its waiting tickets that go before this one} (default: all of them,
        as for a ticket taken now). None when no counter serves the service."""
        ahead = dict(self.waiting if ahead is None else ahead)
        ahead[service] = position - 1
        # Only the tickets ahead in the services of the counters that serve this one count:
        # tickets of many kinds and places then share one answer (a push round's pages).
        key = (service, kind) + tuple(ahead.get(code, 0) for code in self._lines_crossing(service))
        if key not in self._estimates:
            self._estimates[key] = self._estimate(service, kind, ahead)
        return self._estimates[key]

    def _estimate(self, service, kind, ahead):
        found = self._working_minutes(service, ahead, kind)
        if found is None:
            return None
        working, calls = found
        spread = self.learned.spread.get(service, SPREAD_PRIOR)
        # Service times add up: their spread shrinks with the tickets the counter serves first.
        relative = math.sqrt(spread ** 2 / max(1.0, calls) + MODEL_ERROR ** 2)
        periods = self._today_periods()
        at, crossed = working_time(self.config, self.now, working, periods)
        low_at, _ = working_time(self.config, self.now, max(0.0, working * math.exp(-RANGE_Z * relative) - 1), periods)
        high_at, _ = working_time(self.config, self.now, working * math.exp(RANGE_Z * relative) + 2, periods)
        minutes = max(0, round((at - self.now) / 60))
        low = max(0, math.floor((low_at - self.now) / 60))
        high = math.ceil((high_at - self.now) / 60)
        if high >= 15:   # what a person plans with: whole 5 minutes
            low, high = 5 * (low // 5), 5 * -(-high // 5)
        return Estimate(minutes, min(low, minutes), max(high, minutes), at, crossed)

    def eta_minutes(self, service, position):
        """Minutes until a normal ticket at ``position`` (1 = next) is likely called."""
        estimate = self.estimate(service, position)
        return estimate.minutes if estimate else None

    def ticket_estimate(self, ticket, position, *, newest=False):
        """The estimate of a waiting ``ticket`` at ``position``, or None. A ticket issued
        in this transaction (``newest``, plain) has everyone waiting ahead of it."""
        if position is None:
            return None
        kind = "requeued" if ticket["requeued_at"] is not None else "priority" if ticket["priority"] else "normal"
        due_order = self.config.booking.due_order
        if kind == "normal" and ticket.get("due_at") is not None and due_order != "equal":
            # A checked-in appointment goes ahead once its slot begins (after the requeued,
            # and after the priority tickets too with "after_priority"): not before its slot.
            kind = "requeued" if due_order == "ahead" else "priority"
            ahead = self.ahead_of(ticket, kind)
            estimate = self.estimate(ticket["service"], ahead.get(ticket["service"], 0) + 1, kind, ahead)
            return estimate and estimate.not_before(self.now, ticket["due_at"])
        plain = kind == "normal"
        ahead = None if newest and plain else self.ahead_of(ticket, kind)
        return self.estimate(ticket["service"], position, kind, ahead)

    def ahead_of(self, ticket, kind):
        """{service: waiting tickets of today that a counter takes before ``ticket``}: one
        aggregate query over the waiting index."""
        if kind == "requeued":
            before = "requeued_at IS NOT NULL AND requeued_at < :requeued"
        elif kind == "priority":
            before = "requeued_at IS NOT NULL OR (priority IS NOT NULL AND issued_at < :issued)"
        else:
            before = "requeued_at IS NOT NULL OR priority IS NOT NULL OR CAST(issued_at AS INTEGER) < :age"
        rows = self.db.execute(
            f"SELECT service, COUNT(*) FROM tickets WHERE status = 'waiting' AND day = :day AND id != :id "
            f"AND ({before}) GROUP BY service",
            {"day": local_day(self.config, self.now), "id": ticket["id"], "requeued": ticket["requeued_at"],
             "issued": ticket["issued_at"], "age": int(ticket["issued_at"])},
        ).fetchall()
        return dict(rows)

    def positions(self, service):
        """{ticket id: position} for today's waiting tickets of ``service``."""
        if service not in self._positions:
            self._positions[service] = {ticket["id"]: index for index, ticket in enumerate(
                waiting_order(self.db, self.config, service, self.now), start=1)}
        return self._positions[service]

    def position_of(self, ticket, *, newest=False):
        """The ticket's place in its service's calling order (1 = next), or None.

        ``newest``: the ticket was issued in this very transaction. A plain one (no
        priority, no appointment) then stands behind everyone waiting: no need to rank the
        whole line (unless walk-ins go first and it is a walk-in).
        """
        if ticket["status"] != "waiting":
            return None
        plain = ticket["priority"] is None and ticket.get("due_at") is None and ticket["requeued_at"] is None
        if newest and plain and (self.config.policy.remote_order == "equal" or ticket["channel"] == "online"):
            return self.waiting.get(ticket["service"], 0)
        if ticket["service"] in self._positions:
            return self._positions[ticket["service"]].get(ticket["id"])
        # One ticket: let SQLite number the line instead of loading it into Python.
        row = self.db.execute(
            "SELECT position FROM (SELECT id, ROW_NUMBER() OVER "
            f"(ORDER BY {waiting_order_sql(self.config, self.now)}) AS position FROM tickets "
            "WHERE status = 'waiting' AND day = ? AND service = ?) WHERE id = ?",
            [local_day(self.config, self.now), ticket["service"], ticket["id"]],
        ).fetchone()
        return row[0] if row else None

    def new_ticket_estimate(self, service):
        """The estimate for a plain ticket taken now: everyone waiting goes first."""
        return self.estimate(service, self.waiting.get(service, 0) + 1)

    def new_ticket_eta(self, service):
        estimate = self.new_ticket_estimate(service)
        return estimate.minutes if estimate else None

    # -- figures shared by every estimate at this moment ----------------------------

    def _memo(self, name, key, compute, *arguments):
        """``compute(*arguments)`` once per (name, key) for this Estimator: what many estimates at one
        moment (a push round's ticket pages) would otherwise each work out again."""
        memo = self._memos.setdefault(name, {})
        if key not in memo:
            memo[key] = compute(*arguments)
        return memo[key]

    def _today_periods(self):
        """Today's working periods (``open_periods``), worked out once."""
        def periods():
            day = local_time(self.config, self.now).date()
            known = self._reuse("periods", dict)
            if day not in known:
                known[day] = open_periods(self.config, day)
            return known[day]
        return self._memo("periods", None, periods)

    def _lines_crossing(self, service):
        """``service`` and the other services of the counters that serve it, in a fixed order:
        the waiting tickets whose number ahead can move an estimate of ``service``."""
        def crossing():
            lines = {}
            for counter in self.config.counters:
                for code in counter.services:
                    lines.setdefault(code, {code}).update(counter.services)
            return {code: tuple(sorted(codes)) for code, codes in lines.items()}
        return self._reuse("crossing", crossing).get(service, (service,))
