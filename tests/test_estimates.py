"""The wait estimate on a temp database with a fake clock: the hall's hours and its lunch
closure, what it learns from the day (per counter, walk-up, no-shows), its range, the
near-turn threshold, and a cost that does not grow with the line."""

import pytest

from hallserver.config import parse_config
from hallserver.core.estimates import Estimator, OldestFirst
from hallserver.errors import ConfigError
from hallserver.hall import Hall
from hallserver.store import open_store
from tests.helpers import CT, HT, Clock, hall_time, small_hall_mapping


def make_hall(tmp_path, clock, **changes):
    """The small hall (HT at counters 1, 2, 3; CT at 2, 3), open 07:30-11:30 and 13:30-17:00."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    store = open_store(tmp_path / "estimates.db")
    store.apply_config(parse_config(small_hall_mapping(**changes)))
    return Hall(store, clock=clock)


@pytest.fixture
def monday():
    return Clock(hall_time(2026, 11, 30, 9, 0))


def estimator(hall):
    return hall.read(lambda db, config, now: Estimator(db, config, now))


def new_ticket(hall, service="HT"):
    return hall.read(lambda db, config, now: Estimator(db, config, now).new_ticket_estimate(service))


def serve(hall, clock, counter, minutes, walk_seconds=30, show=True):
    """One citizen at ``counter``: called, walks up, served ``minutes`` (or absent)."""
    ticket = hall.counter_action(counter, "call-next", arrived=True)["ticket"]
    assert ticket is not None
    if not show:
        clock.advance(120)
        hall.counter_action(counter, "no-show")
        return
    clock.advance(walk_seconds)
    hall.counter_action(counter, "start")
    clock.advance(minutes * 60)
    hall.counter_action(counter, "done")


def test_an_estimate_crossing_the_lunch_closure_says_so(tmp_path):
    clock = Clock(hall_time(2026, 11, 30, 11, 15))
    hall = make_hall(tmp_path, clock)
    for _ in range(20):
        ticket = hall.issue_ticket("HT")
    assert ticket["eta_after_closure"] is True
    hours, minutes = map(int, ticket["eta_at"].split(":"))
    assert hours * 60 + minutes >= 13 * 60 + 30          # called after the hall opens again
    assert ticket["eta_minutes"] >= 135                  # the two closed hours are in the wait
    # early in the morning the same line does not cross it
    early = make_hall(tmp_path / "early", Clock(hall_time(2026, 11, 30, 8, 0)))
    for _ in range(20):
        morning = early.issue_ticket("HT")
    assert morning["eta_after_closure"] is False and morning["eta_minutes"] < 120


def test_the_range_holds_the_best_estimate(tmp_path, monday):
    hall = make_hall(tmp_path, monday)
    for position in range(1, 30):
        ticket = hall.issue_ticket("HT", priority="elderly" if position % 7 == 0 else None)
        tracked = hall.ticket_by_token(ticket["track_token"])
        for view in (ticket, tracked):
            assert view["eta_low_minutes"] <= view["eta_minutes"] <= view["eta_high_minutes"], view
        assert ticket["eta_high_minutes"] > ticket["eta_low_minutes"] or ticket["eta_high_minutes"] == 0
    summary = hall.state()["services"][0]
    assert summary["eta_low_minutes"] <= summary["eta_minutes"] <= summary["eta_high_minutes"]


def test_a_slow_counter_slows_the_estimate_of_its_service(tmp_path, monday):
    hall = make_hall(tmp_path, monday, counters=[{"number": 1, "services": ["HT"]},
                                                 {"number": 2, "services": ["CT"]}])
    for _ in range(12):
        hall.issue_ticket("HT")
    before = new_ticket(hall)
    for _ in range(6):
        serve(hall, monday, 1, minutes=18)     # configured 6 minutes: this counter takes three times that
    learned = estimator(hall).learned
    assert learned.service_minutes["HT"] > 10
    assert new_ticket(hall).minutes > before.minutes + 20


def test_a_counter_slower_than_the_others_is_learned_on_its_own(tmp_path, monday):
    hall = make_hall(tmp_path, monday)
    for _ in range(20):
        hall.issue_ticket("HT")
    for _ in range(5):
        serve(hall, monday, 1, minutes=16)
        serve(hall, monday, 2, minutes=4)
    pace = estimator(hall).learned.pace
    assert pace[1] > 1.3 and pace[2] < 0.8


def test_walk_up_time_and_no_shows_are_learned(tmp_path, monday):
    hall = make_hall(tmp_path, monday)
    for _ in range(20):
        hall.issue_ticket("HT")
    quick = estimator(hall).learned
    for index in range(8):
        serve(hall, monday, 1, minutes=6, walk_seconds=240, show=index % 2 == 0)
    learned = estimator(hall).learned
    assert learned.walk_minutes > quick.walk_minutes + 1.5
    assert learned.no_show_rate["HT"] > quick.no_show_rate["HT"] + 0.1


def test_a_paused_counter_is_expected_back(tmp_path, monday):
    hall = make_hall(tmp_path, monday, counters=[{"number": 1, "services": ["HT"]}])
    for _ in range(3):
        hall.issue_ticket("HT")
    open_wait = new_ticket(hall).minutes
    hall.counter_action(1, "pause")
    paused_wait = new_ticket(hall).minutes
    assert paused_wait > open_wait
    assert paused_wait < open_wait + 30        # back after a usual pause, not never



def test_a_service_split_over_its_counters_follows_the_day(tmp_path):
    """Counter 2 serves HT and CT. Ten HT tickets wait, older than a new CT ticket, so
    counter 2 takes some before it (each counter takes the oldest of its services); how
    many follows the day too: fewer where counter 2 spent the day on CT than where it
    spent it on HT."""
    waits = {}
    for day in ("CT", "HT"):
        clock = Clock(hall_time(2026, 11, 30, 9, 0))
        hall = make_hall(tmp_path / day, clock, services=[dict(HT, service_minutes=5), dict(CT, service_minutes=5)],
                         counters=[{"number": 1, "services": ["HT"]}, {"number": 2, "services": ["CT", "HT"]}])
        for _ in range(10):
            hall.issue_ticket(day)
        for _ in range(10):
            serve(hall, clock, 2, minutes=5)
        for _ in range(10):
            hall.issue_ticket("HT")
        for _ in range(10):
            serve(hall, clock, 1, minutes=5)
        assert estimator(hall).learned.served == {(day, 2): 10, ("HT", 1): 10}
        for _ in range(10):
            hall.issue_ticket("HT")
        waits[day] = new_ticket(hall, "CT").minutes
    assert waits["CT"] < waits["HT"]
    # Counter 2 taking half the HT tickets first (their ages alone) is about 29 minutes; going
    # by the day alone, about 15.
    assert 18 < waits["CT"] < 27


def test_breaks_to_come_leave_out_counters_that_had_theirs(tmp_path, monday):
    hall = make_hall(tmp_path, monday, counters=[{"number": 1, "services": ["HT"]},
                                                 {"number": 2, "services": ["HT", "CT"]}])
    for counter in (1, 2):                     # Monday: both pause 10:00-10:20
        monday.set(hall_time(2026, 11, 30, 10, 0))
        hall.counter_action(counter, "pause")
        monday.set(hall_time(2026, 11, 30, 10, 20))
        hall.counter_action(counter, "resume")
    monday.set(hall_time(2026, 12, 1, 9, 30))  # Tuesday: the same breaks are expected
    assert estimator(hall).learned.paused_share > 0.05
    hall.counter_action(1, "pause")
    monday.advance(15 * 60)
    hall.counter_action(1, "resume")
    hall.counter_action(2, "pause")
    monday.advance(60)
    # counter 2's pause is its own wait (until it is back), counter 1 has had its break
    assert estimator(hall).learned.paused_share == 0
    monday.advance(15 * 60)
    hall.counter_action(2, "resume")
    assert estimator(hall).learned.paused_share == 0

def count_statements(hall, view):
    statements = []

    def run(db, config, now):
        db.conn.set_trace_callback(statements.append)
        try:
            return view(db, config, now)
        finally:
            db.conn.set_trace_callback(None)
    hall.read(run)
    return len(statements)


def test_the_cost_does_not_grow_with_the_line(tmp_path, monday):
    """10 or 1,000 waiting: the same number of SQL statements for the estimates of a
    tracked ticket, a new ticket and the board's services."""
    from hallserver.core import views

    hall = make_hall(tmp_path, monday, services=[{"code": "HT", "name": "Hộ tịch", "block": "1001-9999"},
                                                 {"code": "CT", "name": "Chứng thực", "prefix": "B",
                                                  "width": 3}])
    costs = []
    for size in (10, 1000):
        while hall.state()["services"][0]["waiting"] < size:
            ticket = hall.issue_ticket("HT")
        token = ticket["track_token"]

        def tracked(db, config, now, token=token):
            row = next(db.query("SELECT * FROM tickets WHERE track_token = ?", [token]))
            return views.public_ticket(config, row, Estimator(db, config, now))
        costs.append((count_statements(hall, tracked),
                      count_statements(hall, lambda db, config, now: views.services_summary(db, config, now))))
    assert costs[0] == costs[1]


def test_near_turn_by_estimate_or_position(tmp_path, monday):
    hall = make_hall(tmp_path, monday, policy={"soon_ahead": 0, "soon_minutes": 8},
                     counters=[{"number": 1, "services": ["HT"]}])
    tickets = [hall.issue_ticket("HT") for _ in range(4)]
    views = [hall.ticket_by_token(ticket["track_token"]) for ticket in tickets]
    assert views[0]["near_turn"] is True                     # next in line
    assert [view["near_turn"] for view in views[2:]] == [False, False]
    for view in views:
        assert view["near_turn"] == (view["ahead"] == 0 or view["eta_minutes"] <= 8)
    # by position alone when the minutes are off
    position_only = make_hall(tmp_path / "p", monday, policy={"soon_ahead": 2, "soon_minutes": 0})
    queued = [position_only.issue_ticket("HT") for _ in range(4)]
    assert [position_only.ticket_by_token(t["track_token"])["near_turn"] for t in queued] == [True, True, True, False]


def test_soon_minutes_is_checked_with_its_key():
    with pytest.raises(ConfigError) as refused:
        parse_config(small_hall_mapping(policy={"soon_minutes": -1}))
    assert str(refused.value) == "policy.soon_minutes: must be at least 0, got -1"
    with pytest.raises(ConfigError) as refused:
        parse_config(small_hall_mapping(policy={"soon_minutes": "ten"}))
    assert str(refused.value) == "policy.soon_minutes: expected a whole number, got 'ten'"


def test_the_printed_ticket_words_the_range_or_the_time_after_lunch():
    from hallserver.services.printing import TicketInfo, format_wait_range

    assert format_wait_range(15, 25) == ("khoảng 15–25 phút", "about 15–25 min")
    assert format_wait_range(140, 170, "13:45", True) == ("sau giờ nghỉ trưa, khoảng 13:45",
                                                          "after the lunch break, around 13:45")
    assert format_wait_range(0, 0) == ("sắp đến lượt", "very soon")
    info = TicketInfo.from_view({"number": "1006", "service_name": "Hộ tịch", "issued_at": "2026-11-30T11:15:00+07:00",
                                 "eta_minutes": 20, "eta_low_minutes": 15, "eta_high_minutes": 25, "eta_at": "11:35",
                                 "eta_after_closure": False})
    assert (info.eta_low_minutes, info.eta_high_minutes, info.eta_at) == (15, 25, "11:35")


def test_priority_tickets_to_come_are_the_halls_share_not_one_services_luck(tmp_path, monday):
    """Three priority tickets in the last hour went to HT in one hall and to CT in the other:
    a service sees a handful an hour, so the estimate counts the hall's share of priority
    tickets over each service's own arrivals, and both halls give a new HT ticket the same
    wait; without any priority ticket it is shorter."""
    waits = {}
    for name, urgent in (("to-HT", "HT"), ("to-CT", "CT"), ("none", None)):
        clock = Clock(hall_time(2026, 11, 30, 8, 30))
        hall = make_hall(tmp_path / name, clock, services=[dict(HT, service_minutes=6), dict(CT, service_minutes=4)],
                         counters=[{"number": 1, "services": ["HT"]}, {"number": 2, "services": ["CT"]}])
        for index in range(6):
            for service, counter in (("HT", 1), ("CT", 2)):
                hall.issue_ticket(service, priority="elderly" if service == urgent and index < 3 else None)
                serve(hall, clock, counter, minutes=1)
        for _ in range(4):
            hall.issue_ticket("HT")
        waits[name] = new_ticket(hall, "HT").minutes
    assert waits["to-HT"] == waits["to-CT"]
    assert waits["none"] < waits["to-HT"]


def test_the_first_of_several_busy_counters_is_free_sooner_than_one(tmp_path, monday):
    """Each counter's citizen is likely done in about the same time, but the first of three
    to finish comes sooner than that: the next ticket waits less with three busy counters
    than with one."""
    waits = {}
    for counters in (1, 3):
        hall = make_hall(tmp_path / str(counters), monday, services=[dict(HT, service_minutes=10), CT],
                         counters=[{"number": number, "services": ["HT"]} for number in range(1, counters + 1)]
                         + [{"number": 9, "services": ["CT"]}])
        for number in range(1, counters + 1):
            hall.issue_ticket("HT")
            hall.counter_action(number, "call-next", arrived=True)
            hall.counter_action(number, "start")
        waits[counters] = new_ticket(hall, "HT").minutes
    assert waits[3] < waits[1]


def test_arrival_rates_kept_up_to_date_are_the_ones_a_fresh_read_gives(tmp_path, monday):
    """The arrival rates an estimator shares are renewed with only the tickets issued since
    (a burst renews them for every ticket): they stay what a fresh read gives, while the
    last hour moves on and the newest tickets push the oldest out."""
    hall = make_hall(tmp_path, monday, services=[HT, dict(CT, service_minutes=4)])
    shared = {}   # kept across moments on purpose: what a long burst inside one tick would see

    def rates(db, config, now):
        return Estimator(db, config, now, shared=shared).arrivals_ahead(), Estimator(db, config, now).arrivals_ahead()

    seen = set()
    for index in range(240):
        hall.issue_ticket("CT" if index % 3 == 0 else "HT", priority="elderly" if index % 5 == 0 else None)
        monday.advance(5 if index < 200 else 120)   # ~17 minutes, then past the hour of the first ones
        kept, fresh = hall.read(rates)
        assert kept == fresh, index
        seen.add(kept["HT"])
    assert len(seen) > 100    # the rates did move


def test_a_counter_of_two_services_works_on_the_older_line_first(tmp_path):
    """Counter 1 serves HT and CT, counter 2 only CT; both halls have 8 HT and 8 CT tickets
    waiting. Each counter takes the oldest ticket of its services: where the CT tickets came
    first, counter 1 shares them with counter 2 before it reaches the HT line; where they came
    last, counter 2 works them off while counter 1 serves the older HT line. A new HT ticket
    waits less in the second hall."""
    waits = {}
    for first in ("CT", "HT"):
        clock = Clock(hall_time(2026, 11, 30, 9, 0))
        hall = make_hall(tmp_path / first, clock, services=[dict(HT, service_minutes=9), dict(CT, service_minutes=5)],
                         counters=[{"number": 1, "services": ["HT", "CT"]}, {"number": 2, "services": ["CT"]}])
        for service in (first, "CT" if first == "HT" else "HT"):
            for _ in range(8):
                hall.issue_ticket(service)
            clock.advance(30 * 60)
        waits[first] = new_ticket(hall, "HT").minutes
    assert waits["HT"] < waits["CT"]


def test_a_counter_reaches_its_younger_line_once_its_older_one_is_as_young():
    """Oldest first, worked out for the lines at once: 8 HT tickets over the last hour, 20 CT
    over the last half hour; counter 1 serves both, counter 2 only CT. Counter 1 takes HT
    tickets while they are older than CT's next; the first CT tickets are counter 2's, and
    counter 1 takes some only once its HT line is as young as the CT line."""
    lines = OldestFirst({"HT": (8, 3600), "CT": (20, 1800)}, {1: ("HT", "CT"), 2: ("CT",)}, {1: 0.0, 2: 0.0},
                        {("HT", 1): 9.0, ("CT", 1): 5.0, ("CT", 2): 5.0})
    early = lines.taken_before("HT", 4)        # until 4 HT tickets are called
    assert early["HT"][1] > 3 and early["CT"][2] > 5 and early["CT"].get(1, 0) == 0
    late = lines.taken_before("HT", 8)         # until the whole HT line is
    assert late["CT"][1] > 2
    assert lines.share("CT", 1, 0.5, early) == 0.25   # half none, half the day's split
    assert 0.25 < lines.share("CT", 1, 0.5, late) < 0.5


def test_several_counters_on_one_line_call_a_little_later_than_their_mean_rate(tmp_path, monday):
    """Two free counters with 7 tickets waiting, and one with 3: either way the new ticket is
    three mean cycles away. But cycles of varied length make fewer calls in a while than
    the mean rate says (renewal theory), and a line of several counters moves with their
    calls' mean: the new ticket of two counters waits longer. One counter's fourth call is
    three mean cycles after its first, on average: no lag there."""
    waits = {}
    for counters, waiting in ((1, 3), (2, 7)):
        hall = make_hall(tmp_path / str(counters), monday, services=[dict(HT, service_minutes=30), CT],
                         counters=[{"number": number, "services": ["HT"]} for number in range(1, counters + 1)]
                         + [{"number": 9, "services": ["CT"]}])
        for _ in range(waiting):
            hall.issue_ticket("HT")
        waits[counters] = new_ticket(hall, "HT")
    assert waits[1].after_closure is False and waits[2].after_closure is False
    assert waits[2].minutes >= waits[1].minutes + 3
