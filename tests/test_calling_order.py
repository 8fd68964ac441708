"""The counter's waiting list is in calling order: its first ticket is the one call-next takes,
and the whole list is the sequence of the following calls — across the priority streak,
due appointments (every ``booking.due_order``), transferred and reinstated tickets, the
counter's order of preference and ``remote_order``. Through ``Hall`` with a fake clock."""

from functools import partial

import pytest

from hallserver import core
from hallserver.config import parse_config
from hallserver.core import calling_order
from hallserver.hall import Hall
from hallserver.store import open_store
from tests.helpers import CT, HT, book, booking_hall, hall_time, small_hall_mapping


def issue(hall, service="HT", priority=None, after=1.0):
    hall.clock.advance(after)
    return hall.issue_ticket(service, priority=priority)["number"]


def waiting(hall, counter):
    return hall.counter_state(counter)["counter"]["waiting_list"]


def numbers(entries):
    return [entry["number"] for entry in entries]


def calls_follow_the_list(hall, counter, serve_seconds=120):
    """Call-next until nobody waits: each call takes the list's marked first ticket, and the
    list seen before the first call predicted every call. The calls, in order."""
    predicted = numbers(waiting(hall, counter))
    called = []
    while True:
        entries = waiting(hall, counter)
        assert [entry["next"] for entry in entries] == [True] + [False] * (len(entries) - 1) if entries else True
        hall.clock.advance(serve_seconds)     # served a while: no double-press question
        ticket = hall.counter_action(counter, "call-next")["ticket"]
        if ticket is None:
            assert entries == []
            break
        assert ticket["number"] == entries[0]["number"]
        called.append(ticket["number"])
    assert called == predicted
    return called


def test_issue_order_is_not_calling_order_the_list_follows_the_policy(small_hall):
    normal = [issue(small_hall) for _ in range(2)]                           # 1001, 1002
    priority = [issue(small_hall, priority="elderly") for _ in range(3)]     # 1003-1005
    expected = [priority[0], priority[1], normal[0], priority[2], normal[1]]
    entries = waiting(small_hall, 1)
    assert numbers(entries) == expected
    assert entries[0]["priority"] == "elderly" and entries[2]["priority"] is None
    assert calls_follow_the_list(small_hall, 1) == expected


def test_the_streak_carries_over_from_calls_already_made(small_hall):
    normal = issue(small_hall)
    priority = [issue(small_hall, priority="disabled") for _ in range(3)]
    assert numbers(waiting(small_hall, 1))[:3] == [priority[0], priority[1], normal]
    small_hall.clock.advance(120)
    small_hall.counter_action(1, "call-next")                              # priority[0]: streak 1
    small_hall.clock.advance(120)
    small_hall.counter_action(1, "call-next")                              # priority[1]: streak 2
    assert numbers(waiting(small_hall, 1)) == [normal, priority[2]]       # the older normal ticket now
    calls_follow_the_list(small_hall, 1)


def test_transferred_and_reinstated_tickets_first_with_their_marks(small_hall):
    for _ in range(4):
        issue(small_hall)                                                  # 1001-1004 (HT)
    issue(small_hall, "CT")                                                # B001
    small_hall.clock.advance(120)
    assert small_hall.counter_action(1, "call-next")["ticket"]["number"] == "1001"
    small_hall.counter_action(1, "no-show")
    small_hall.clock.advance(120)
    assert small_hall.counter_action(2, "call-next")["ticket"]["number"] == "1002"
    small_hall.counter_action(2, "transfer", service="CT")                # 1002 waits in CT, ahead
    small_hall.counter_action(1, "reinstate", number="1001")               # 1001 back at the front of HT
    entries = waiting(small_hall, 3)                                       # counter 3: CT, then HT
    assert numbers(entries) == ["1002", "1001", "1003", "1004", "B001"]
    assert entries[0]["transferred_from"] == "HT" and entries[0]["requeued"]
    assert entries[1]["transferred_from"] is None and entries[1]["requeued"]
    assert entries[2]["transferred_from"] is None and not entries[2]["requeued"]
    assert numbers(waiting(small_hall, 1)) == ["1001", "1003", "1004"]     # counter 1 serves HT only
    calls_follow_the_list(small_hall, 3)


def test_same_second_ties_follow_each_counters_preference(small_hall):
    issue(small_hall, "CT")
    issue(small_hall, "HT", after=0.2)                                     # the same second
    issue(small_hall, "CT", after=2)
    assert numbers(waiting(small_hall, 2)) == ["1001", "B001", "B002"]     # counter 2 prefers HT
    assert numbers(waiting(small_hall, 3)) == ["B001", "1001", "B002"]     # counter 3 prefers CT
    calls_follow_the_list(small_hall, 3)


def appointment_morning(hall, clock):
    """Walk-ins at 09:05 and 09:10, priority tickets at 09:06 and 09:50, an appointment for
    10:00 checked in at 09:40; then 10:00, the slot has begun. {name: number}."""
    booking = book(hall, "2026-11-26T10:00")
    tickets = {}
    for name, minute, priority in (("walk_in_1", 5, None), ("priority_1", 6, "elderly"), ("walk_in_2", 10, None)):
        clock.set(hall_time(2026, 11, 26, 9, minute))
        tickets[name] = hall.issue_ticket("HT", priority=priority)["number"]
    clock.set(hall_time(2026, 11, 26, 9, 40))
    tickets["appointment"] = hall.check_in(booking["code"])["ticket"]["number"]
    clock.set(hall_time(2026, 11, 26, 9, 50))
    tickets["priority_2"] = hall.issue_ticket("HT", priority="disabled")["number"]
    clock.set(hall_time(2026, 11, 26, 10, 0))
    return tickets


@pytest.mark.parametrize(("due_order", "expected"), [
    ("ahead", ["appointment", "priority_1", "priority_2", "walk_in_1", "walk_in_2"]),
    ("after_priority", ["priority_1", "priority_2", "appointment", "walk_in_1", "walk_in_2"]),
    ("equal", ["priority_1", "priority_2", "walk_in_1", "walk_in_2", "appointment"]),
])
def test_due_appointments_in_every_policy(tmp_path, clock, due_order, expected):
    hall = booking_hall(tmp_path, clock, name=f"{due_order}.db", due_order=due_order)
    try:
        tickets = appointment_morning(hall, clock)
        entries = waiting(hall, 1)
        assert numbers(entries) == [tickets[name] for name in expected]
        appointment = next(entry for entry in entries if entry["number"] == tickets["appointment"])
        assert appointment["channel"] == "appointment" and appointment["due_at"].startswith("2026-11-26T10:00")
        assert calls_follow_the_list(hall, 1) == [tickets[name] for name in expected]
    finally:
        hall.store.close()


def test_walk_ins_first_puts_numbers_from_home_behind(tmp_path, clock):
    store = open_store(tmp_path / "walk-ins.db")
    store.apply_config(parse_config(small_hall_mapping(policy={"remote_order": "walk_ins_first"})))
    hall = Hall(store, clock=clock)
    try:
        clock.advance(1)
        online = hall.issue_remote_ticket("HT", phone=None, address_hash="a")["number"]
        kiosk = issue(hall)
        assert numbers(waiting(hall, 1)) == [kiosk, online]
        calls_follow_the_list(hall, 1)
    finally:
        store.close()


def test_calling_order_reads_only_and_stops_at_its_limit(small_hall):
    issue(small_hall)
    for _ in range(3):
        issue(small_hall, priority="elderly")
    before = small_hall.store.db.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    streak = small_hall.store.db.execute("SELECT priority_streak FROM counters WHERE number = 1").fetchone()[0]
    order = small_hall.read(lambda db, config, now: calling_order(db, config, 1, now, limit=2))
    assert [ticket["number"] for ticket in order] == ["1002", "1003"]
    assert small_hall.store.db.execute("SELECT MAX(seq) FROM events").fetchone()[0] == before
    assert small_hall.store.db.execute(
        "SELECT priority_streak FROM counters WHERE number = 1").fetchone()[0] == streak
    assert numbers(waiting(small_hall, 1)) == ["1002", "1003", "1001", "1004"]


def sqlite_steps(connection, work):
    """How many steps (in tens of virtual machine instructions) SQLite runs for ``work``:
    a measure of its work that, unlike time, is the same on every run."""
    steps = 0

    def step():
        nonlocal steps
        steps += 1
        return 0

    connection.set_progress_handler(step, 10)
    try:
        work()
    finally:
        connection.set_progress_handler(None, 10)
    return steps


def next_tickets(hall, now, limit):
    return [ticket["number"] for ticket in hall.read(lambda db, config, _: calling_order(db, config, 2, now, limit))]


def test_finding_the_next_tickets_does_not_grow_with_the_line(tmp_path, clock):
    """The counter's next ticket (and its next ten) come from walking each line's index: the
    same work with 300 or 1,800 waiting (it was sorting the counter's whole line)."""
    costs = []
    for waiting in (300, 1800):
        store = open_store(tmp_path / f"line-{waiting}.db")
        store.apply_config(parse_config(small_hall_mapping(services=[HT, CT])))   # no daily cap
        hall = Hall(store, clock=clock)
        with store.transaction() as db:   # one in ten priority: every line is longer than ten
            config = store.config()
            for index in range(waiting):
                core.issue_ticket(db, config, service=("HT", "CT")[index % 2], now=clock() + index / 2,
                                  priority="elderly" if index % 10 == 0 else None)
        now = clock() + waiting
        costs.append([sqlite_steps(store.read_db.conn, partial(next_tickets, hall, now, limit)) for limit in (1, 10)])
        assert next_tickets(hall, now, 3) == ["1001", "1006", "B001"]   # two priority tickets, then the oldest
        store.close()
    assert costs[1] == costs[0]
