"""The domain core on a temp database: numbering, the call-next policy, every action."""

import pytest

from hallserver.errors import Conflict, Invalid, NotFound
from tests.helpers import hall_time


def issue(hall, service="HT", priority=None, advance=1):
    hall.clock.advance(advance)
    return hall.issue_ticket(service, priority=priority)


SERVING_SECONDS = 180  # a citizen at the counter: longer than policy.confirm_arrival_seconds


def act(hall, counter, action, **arguments):
    """One counter action a moment after the last; a call-next comes after a citizen was served."""
    hall.clock.advance(SERVING_SECONDS if action == "call-next" else 1)
    return hall.counter_action(counter, action, **arguments)


def called_number(answer):
    return answer["ticket"]["number"] if answer["ticket"] else None


def events(hall, since=0):
    return [
        (row["type"], row["seq"])
        for row in hall.store.db.query("SELECT type, seq FROM events WHERE seq > ? ORDER BY seq", [since])
    ]


# -- issuing -----------------------------------------------------------------------

def test_numbers_follow_each_service_block(small_hall):
    assert [issue(small_hall)["number"] for _ in range(3)] == ["1001", "1002", "1003"]
    assert issue(small_hall, "CT")["number"] == "B001"
    assert issue(small_hall)["number"] == "1004"


def test_numbering_restarts_at_local_midnight(small_hall):
    small_hall.clock.set(hall_time(2026, 11, 26, 16, 59))
    assert issue(small_hall)["number"] == "1001"
    small_hall.clock.set(hall_time(2026, 11, 27, 7, 45))
    assert issue(small_hall)["number"] == "1001"


def test_daily_cap_is_enforced_with_a_clear_error(small_hall):
    for _ in range(3):
        issue(small_hall, "CT")
    with pytest.raises(Conflict) as refused:
        issue(small_hall, "CT")
    assert refused.value.code == "cap_reached"
    assert "Chứng thực" in refused.value.message


def test_block_exhaustion_is_a_conflict(tmp_path, clock):
    from hallserver.config import parse_config
    from hallserver.hall import Hall
    from hallserver.store import open_store
    from tests.helpers import small_hall_mapping

    mapping = small_hall_mapping()
    mapping["services"][0]["block"] = "1-2"
    store = open_store(tmp_path / "tiny.db")
    store.apply_config(parse_config(mapping))
    hall = Hall(store, clock=clock)
    issue(hall), issue(hall)
    with pytest.raises(Conflict) as refused:
        issue(hall)
    assert refused.value.code == "block_exhausted"


def test_no_ticket_goes_into_a_line_no_counter_serves(tmp_path, clock):
    """A hall may list a service before any counter serves it: a number taken there, or a
    citizen sent there, would never be called."""
    from hallserver.config import parse_config
    from hallserver.hall import Hall
    from hallserver.store import open_store
    from tests.helpers import small_hall_mapping

    store = open_store(tmp_path / "unserved.db")
    store.apply_config(parse_config(small_hall_mapping(counters=[{"number": 1, "services": ["HT"]}])))
    hall = Hall(store, clock=clock)
    with pytest.raises(Conflict) as refused:
        issue(hall, "CT")
    assert refused.value.code == "no_counter" and "Chứng thực" in refused.value.message
    board = {service["code"]: service for service in hall.state()["services"]}
    assert (board["CT"]["available"], board["CT"]["unavailable"]) == (False, "no_counter")
    assert (board["HT"]["available"], board["HT"]["unavailable"]) == (True, None)

    issue(hall, "HT")
    act(hall, 1, "call-next")
    with pytest.raises(Conflict) as refused:
        act(hall, 1, "transfer", service="CT")
    assert refused.value.code == "no_counter"
    assert hall.counter_state(1)["counter"]["current"]["number"] == "1001"   # still with the clerk
    store.close()


@pytest.mark.parametrize("moment", [
    hall_time(2026, 11, 26, 7, 29),   # before opening
    hall_time(2026, 11, 26, 12, 0),   # lunch break
    hall_time(2026, 11, 26, 17, 0),   # closing time
    hall_time(2026, 11, 28, 14, 0),   # Saturday afternoon
    hall_time(2026, 11, 29, 9, 0),    # Sunday
])
def test_outside_working_hours_nothing_is_issued(small_hall, moment):
    small_hall.clock.set(moment)
    with pytest.raises(Conflict) as refused:
        small_hall.issue_ticket("HT")
    assert refused.value.code == "outside_hours"


def test_a_holiday_issues_no_number_and_says_why(tmp_path, clock):
    """A day of ``hours.holidays`` is closed at the kiosk too, as the booking calendar and the
    estimates already had it (a number taken then was told it would wait until the next day)."""
    from hallserver.config import parse_config
    from hallserver.core import local_day
    from hallserver.core.tickets import availability
    from hallserver.hall import Hall
    from hallserver.store import open_store
    from tests.helpers import small_hall_mapping

    mapping = small_hall_mapping()
    store = open_store(tmp_path / "holiday.db")
    store.apply_config(parse_config(mapping))
    hall = Hall(store, clock=clock)
    working_day = issue(hall)
    assert working_day["number"]
    mapping["hours"]["holidays"] = [local_day(hall.config, clock())]
    store.apply_config(parse_config(mapping))
    with pytest.raises(Conflict) as refused:
        hall.issue_ticket("HT")
    assert refused.value.code == "outside_hours" and "nghỉ lễ" in refused.value.message
    assert set(hall.read(availability).values()) == {"outside_hours"}   # the kiosk's buttons say closed


def test_unknown_service_and_priority_are_invalid(small_hall):
    with pytest.raises(Invalid):
        issue(small_hall, "XX")
    with pytest.raises(Invalid):
        issue(small_hall, "HT", priority="vip")


def test_track_tokens_are_unguessable_and_unique(small_hall):
    tokens = {issue(small_hall)["track_token"] for _ in range(50)}
    assert len(tokens) == 50
    assert all(len(token) >= 22 for token in tokens)


# -- the call-next policy ---------------------------------------------------------

def test_oldest_first_across_the_counters_services(small_hall):
    issue(small_hall, "CT")
    issue(small_hall, "HT")
    issue(small_hall, "CT")
    assert [called_number(act(small_hall, 2, "call-next")) for _ in range(4)] == ["B001", "1001", "B002", None]


def test_same_second_ties_go_by_the_counters_preference(small_hall):
    issue(small_hall, "CT")
    issue(small_hall, "HT", advance=0.2)
    assert called_number(act(small_hall, 2, "call-next")) == "1001"  # counter 2 prefers HT
    issue(small_hall, "CT", advance=0)
    issue(small_hall, "HT", advance=0.1)
    assert called_number(act(small_hall, 3, "call-next")) == "B001"  # counter 3 prefers CT


def test_counter_only_calls_its_services(small_hall):
    issue(small_hall, "CT")
    assert act(small_hall, 1, "call-next")["ticket"] is None


def test_priority_tickets_first_within_the_streak(small_hall):
    normal = [issue(small_hall)["number"] for _ in range(2)]            # 1001, 1002
    priority = [issue(small_hall, priority="elderly")["number"] for _ in range(3)]  # 1003-1005
    calls = [called_number(act(small_hall, 1, "call-next")) for _ in range(5)]
    # two priority calls in a row, then the older normal ticket, then priority again
    assert calls == [priority[0], priority[1], normal[0], priority[2], normal[1]]


def test_priority_streak_does_not_skip_older_priority(small_hall):
    issue(small_hall, priority="elderly")
    issue(small_hall, priority="disabled")
    issue(small_hall, priority="elderly")
    issue(small_hall)  # younger than every priority ticket
    calls = [called_number(act(small_hall, 1, "call-next")) for _ in range(4)]
    assert calls == ["1001", "1002", "1003", "1004"]


def test_the_priority_streak_starts_again_every_day(small_hall):
    """Two priority calls at the end of Thursday made Friday's first elderly citizen wait behind
    an older walk-in, as if the counter had just served two priority tickets in a row."""
    small_hall.clock.set(hall_time(2026, 11, 26, 16, 0))
    issue(small_hall, priority="elderly")
    issue(small_hall, priority="elderly")
    assert [called_number(act(small_hall, 1, "call-next")) for _ in range(2)] == ["1001", "1002"]
    act(small_hall, 1, "done")
    small_hall.clock.set(hall_time(2026, 11, 27, 0, 0, 30))
    small_hall.expire()                                     # the hub's timer, after midnight
    small_hall.clock.set(hall_time(2026, 11, 27, 7, 31))
    issue(small_hall)                                       # 1001, a walk-in
    issue(small_hall, priority="elderly", advance=60)       # 1002, elderly, a minute later
    assert [entry["number"] for entry in small_hall.counter_state(1)["counter"]["waiting_list"]] == ["1002", "1001"]
    assert called_number(act(small_hall, 1, "call-next")) == "1002"


def test_reinstated_and_transferred_tickets_come_first(small_hall):
    for _ in range(3):
        issue(small_hall)
    assert called_number(act(small_hall, 1, "call-next")) == "1001"
    act(small_hall, 1, "no-show")
    act(small_hall, 2, "call-next")  # 1002
    act(small_hall, 2, "transfer", service="CT")
    act(small_hall, 1, "reinstate", number="1001")
    # 1002 now waits in CT, ahead of nobody else there; 1001 is back at the front of HT
    assert called_number(act(small_hall, 1, "call-next")) == "1001"
    answer = act(small_hall, 3, "call-next")
    assert answer["ticket"]["number"] == "1002" and answer["ticket"]["service"] == "CT"
    assert answer["ticket"]["transferred_from"] == "HT"


def test_two_counters_never_take_the_same_ticket(small_hall):
    issue(small_hall)
    issue(small_hall)
    first, second = act(small_hall, 1, "call-next"), act(small_hall, 2, "call-next")
    assert {called_number(first), called_number(second)} == {"1001", "1002"}
    assert act(small_hall, 1, "call-next")["ticket"] is None


def test_call_next_completes_the_current_ticket(small_hall):
    issue(small_hall)
    issue(small_hall)
    act(small_hall, 1, "call-next")
    act(small_hall, 1, "call-next")
    statuses = dict(small_hall.store.db.execute("SELECT number, status FROM tickets").fetchall())
    assert statuses == {"1001": "done", "1002": "called"}


def test_request_id_makes_call_next_idempotent(small_hall):
    for _ in range(3):
        issue(small_hall)
    first = act(small_hall, 1, "call-next", request_id="press-1")
    again = act(small_hall, 1, "call-next", request_id="press-1")
    assert called_number(first) == called_number(again) == "1001"
    assert called_number(act(small_hall, 1, "call-next", request_id="press-2")) == "1002"
    waiting = small_hall.store.db.execute("SELECT number FROM tickets WHERE status = 'waiting'").fetchall()
    assert waiting == [("1003",)]


# -- counter actions --------------------------------------------------------------

def test_full_ticket_life_with_timings(small_hall):
    ticket = issue(small_hall)
    act(small_hall, 1, "call-next")
    answer = act(small_hall, 1, "start")
    assert answer["ticket"]["status"] == "serving"
    answer = act(small_hall, 1, "done")
    assert answer["ticket"]["status"] == "done"
    assert answer["counter"]["current"] is None
    tracked = small_hall.ticket_by_token(ticket["track_token"])
    assert tracked["status"] == "done" and tracked["position"] is None


def test_recall_is_limited_then_no_show(small_hall):
    issue(small_hall)
    act(small_hall, 1, "call-next")
    assert act(small_hall, 1, "recall")["ticket"]["recalls"] == 1
    assert act(small_hall, 1, "recall")["ticket"]["recalls"] == 2
    with pytest.raises(Conflict) as refused:
        act(small_hall, 1, "recall")
    assert refused.value.code == "recall_limit"
    assert act(small_hall, 1, "no-show")["ticket"]["status"] == "no_show"


def test_nothing_to_recall_or_finish(small_hall):
    for action in ("recall", "start", "done", "no-show"):
        with pytest.raises(Conflict) as refused:
            act(small_hall, 1, action)
        assert refused.value.code == "no_current_ticket"


def test_a_citizen_being_served_is_never_marked_absent_by_call_next(small_hall):
    """The arrival question answered "V" (absent) after the citizen's service had started (on
    the counter's other device) marked a citizen at the desk a no-show; ``no-show`` refuses it."""
    issue(small_hall)
    issue(small_hall)
    act(small_hall, 1, "call-next")
    act(small_hall, 1, "start")
    with pytest.raises(Conflict) as refused:
        act(small_hall, 1, "call-next", arrived=False)
    assert refused.value.code == "wrong_status" and "đang được phục vụ" in refused.value.message
    assert small_hall.counter_state(1)["counter"]["current"]["status"] == "serving"
    assert called_number(act(small_hall, 1, "call-next")) == "1002"
    statuses = dict(small_hall.store.db.execute("SELECT number, status FROM tickets").fetchall())
    assert statuses == {"1001": "done", "1002": "called"}


def test_call_a_specific_number_reinstates_a_no_show(small_hall):
    issue(small_hall)
    issue(small_hall)
    act(small_hall, 1, "call-next")
    act(small_hall, 1, "no-show")
    answer = act(small_hall, 2, "call", number="1001")
    assert answer["ticket"]["status"] == "called" and answer["ticket"]["counter"] == 2
    types = [event_type for event_type, _ in events(small_hall)]
    assert types[-2:] == ["reinstated", "called"]
    with pytest.raises(Conflict):
        act(small_hall, 1, "call", number="1001")   # already called at counter 2
    with pytest.raises(NotFound):
        act(small_hall, 1, "call", number="1999")


def test_undoing_the_call_of_a_no_show_leaves_it_absent_in_the_report_too(small_hall):
    """Calling an absent citizen's number reinstates them on the way; undoing that call put the
    ticket back absent, but the event log kept the reinstatement, so the day's report (read
    from the log) counted a reinstated, unfinished ticket instead of a no-show."""
    from hallserver.services import reports

    issue(small_hall)
    issue(small_hall)
    act(small_hall, 1, "call-next")                        # 1001
    act(small_hall, 1, "no-show")
    act(small_hall, 2, "call-next")                        # 1002
    act(small_hall, 2, "call", number="1001")              # a slip: 1002 done, 1001 called
    answer = act(small_hall, 2, "undo")
    assert answer["undone"] == [{"type": "called", "number": "1001"}, {"type": "done", "number": "1002"}]
    assert answer["counter"]["current"]["number"] == "1002"
    statuses = dict(small_hall.store.db.execute("SELECT number, status FROM tickets").fetchall())
    assert statuses == {"1001": "no_show", "1002": "called"}
    with small_hall.store.reading() as db:
        report = reports.build_report(db, small_hall.config, start_day="2026-11-26", end_day="2026-11-26",
                                      now=small_hall.clock())
    assert (report.total.no_show, report.total.reinstated) == (1, 0)


def test_no_show_reinstatable_only_the_same_day(small_hall):
    issue(small_hall)
    act(small_hall, 1, "call-next")
    act(small_hall, 1, "no-show")
    small_hall.clock.set(hall_time(2026, 11, 27, 8, 0))
    with pytest.raises(NotFound):
        act(small_hall, 1, "reinstate", number="1001")


def test_transfer_keeps_the_number_and_rejects_unknown_services(small_hall):
    issue(small_hall)
    act(small_hall, 1, "call-next")
    with pytest.raises(Invalid):
        act(small_hall, 1, "transfer", service="XX")
    with pytest.raises(Conflict):
        act(small_hall, 1, "transfer", service="HT")
    answer = act(small_hall, 1, "transfer", service="CT")
    assert answer["ticket"]["number"] == "1001" and answer["ticket"]["service"] == "CT"
    assert answer["ticket"]["status"] == "waiting" and answer["counter"]["current"] is None


def test_pause_blocks_calls_until_resume(small_hall):
    issue(small_hall)
    act(small_hall, 1, "pause")
    with pytest.raises(Conflict) as refused:
        act(small_hall, 1, "call-next")
    assert refused.value.code == "counter_paused"
    with pytest.raises(Conflict):
        act(small_hall, 1, "pause")
    act(small_hall, 1, "resume")
    assert called_number(act(small_hall, 1, "call-next")) == "1001"


def test_cancel_frees_the_place(small_hall):
    first = issue(small_hall)
    second = issue(small_hall)
    assert small_hall.ticket_by_token(second["track_token"])["position"] == 2
    assert small_hall.cancel(first["track_token"])["status"] == "cancelled"
    assert small_hall.ticket_by_token(second["track_token"])["position"] == 1
    with pytest.raises(Conflict):
        small_hall.cancel(first["track_token"])
    with pytest.raises(NotFound):
        small_hall.cancel("not-a-token")


def test_cancel_of_a_called_ticket_frees_the_counter(small_hall):
    ticket = issue(small_hall)
    act(small_hall, 1, "call-next")
    small_hall.cancel(ticket["track_token"])
    assert small_hall.counter_state(1)["counter"]["current"] is None


def test_unknown_counter_and_action(small_hall):
    with pytest.raises(NotFound):
        act(small_hall, 9, "call-next")
    with pytest.raises(Invalid):
        act(small_hall, 1, "dance")


def test_end_of_day_expires_what_is_left(small_hall):
    issue(small_hall)
    issue(small_hall)
    issue(small_hall)
    act(small_hall, 1, "call-next")
    act(small_hall, 2, "call-next")
    act(small_hall, 2, "start")
    small_hall.clock.set(hall_time(2026, 11, 27, 0, 1))
    assert small_hall.expire() == 3
    statuses = {row[0] for row in small_hall.store.db.execute("SELECT status FROM tickets")}
    assert statuses == {"expired"}
    assert all(counter["current"] is None for counter in small_hall.state()["counters"])
    assert small_hall.expire() == 0


def test_first_action_of_a_new_day_expires_yesterday(small_hall):
    issue(small_hall)
    small_hall.clock.set(hall_time(2026, 11, 27, 8, 0))
    issue(small_hall)
    assert small_hall.state()["services"][0]["waiting"] == 1
    assert [t for t, _ in events(small_hall)] == ["issued", "expired", "issued"]


# -- events, positions, estimates -----------------------------------------------------

def test_every_change_is_an_event_with_increasing_seq(small_hall):
    issue(small_hall)
    act(small_hall, 1, "call-next")
    act(small_hall, 1, "recall")
    act(small_hall, 1, "start")
    act(small_hall, 1, "done")
    act(small_hall, 1, "pause")
    act(small_hall, 1, "resume")
    log = events(small_hall)
    assert [t for t, _ in log] == ["issued", "called", "recalled", "started", "done", "counter_paused",
                                   "counter_resumed"]
    assert [seq for _, seq in log] == sorted({seq for _, seq in log})
    assert small_hall.state()["seq"] == log[-1][1]


def test_event_log_is_append_only(small_hall):
    import sqlite3

    issue(small_hall)
    with pytest.raises(sqlite3.DatabaseError):
        small_hall.store.db.execute("UPDATE events SET type = 'x'")
    with pytest.raises(sqlite3.DatabaseError):
        small_hall.store.db.execute("DELETE FROM events")


def test_positions_and_estimates_use_counters_and_service_times(small_hall):
    tickets = [issue(small_hall) for _ in range(6)]
    positions = [small_hall.ticket_by_token(t["track_token"])["position"] for t in tickets]
    assert positions == [1, 2, 3, 4, 5, 6]
    estimates = [small_hall.ticket_by_token(t["track_token"])["eta_minutes"] for t in tickets]
    assert estimates == sorted(estimates) and estimates[-1] > estimates[0]
    # Fewer open counters for HT -> longer waits for the same place in line.
    act(small_hall, 2, "pause")
    act(small_hall, 3, "pause")
    slower = small_hall.ticket_by_token(tickets[-1]["track_token"])["eta_minutes"]
    assert slower > estimates[-1]


def test_estimates_learn_from_todays_service_times(small_hall):
    for _ in range(4):
        issue(small_hall)
    before = small_hall.state()["services"][0]["eta_minutes"]
    for _ in range(3):  # three very long services at counter 1
        act(small_hall, 1, "call-next")
        small_hall.clock.advance(30 * 60)
    act(small_hall, 1, "done")
    act(small_hall, 2, "pause")
    act(small_hall, 3, "pause")
    issue(small_hall)
    after = small_hall.state()["services"][0]["eta_minutes"]
    assert after > before


def test_unfinished_tickets_expire_at_the_configured_closing_time(tmp_path, clock):
    from hallserver.config import parse_config
    from hallserver.hall import Hall
    from hallserver.store import open_store
    from tests.helpers import small_hall_mapping

    mapping = small_hall_mapping(policy={"close_at": "17:30"}, hours={"default": ["07:00-19:00"]})
    store = open_store(tmp_path / "closing.db")
    store.apply_config(parse_config(mapping))
    hall = Hall(store, clock=clock)
    clock.set(hall_time(2026, 11, 26, 17, 0))
    issue(hall)                                            # 1001, before closing
    clock.set(hall_time(2026, 11, 26, 17, 29))
    assert hall.expire() == 0
    clock.set(hall_time(2026, 11, 26, 17, 31))
    late = issue(hall)                                     # 1002 after closing: the first action expires 1001
    assert [row[0] for row in store.db.execute("SELECT status FROM tickets ORDER BY id")] == ["expired", "waiting"]
    assert hall.ticket_by_token(late["track_token"])["position"] == 1
    with pytest.raises(Exception, match="close_at"):
        parse_config(small_hall_mapping(policy={"close_at": "25:00"}))


def closing_hall(tmp_path, clock):
    """The small hall open 07:00-19:00 whose waiting tickets expire at close_at = 17:30."""
    from hallserver.config import parse_config
    from hallserver.hall import Hall
    from hallserver.store import open_store
    from tests.helpers import small_hall_mapping

    store = open_store(tmp_path / "closing.db")
    store.apply_config(parse_config(small_hall_mapping(policy={"close_at": "17:30"},
                                                       hours={"default": ["07:00-19:00"]})))
    return Hall(store, clock=clock)


def two_at_desks_at_17_20(hall, clock):
    """Three tickets of 16:50; at 17:20 the first is served at counter 1, the second called at
    counter 2, the third waits."""
    clock.set(hall_time(2026, 11, 26, 16, 50))
    tickets = issue(hall), issue(hall), issue(hall)
    clock.set(hall_time(2026, 11, 26, 17, 20))
    hall.counter_action(1, "call-next")
    hall.counter_action(1, "start")
    hall.counter_action(2, "call-next")
    return tickets


def test_a_citizen_at_a_desk_at_closing_time_is_served_to_the_end(tmp_path, clock):
    """close_at = 17:30: the one being served since 17:20 stays at counter 1 and is done at 17:40
    (they were expired at 17:30, and "Hoàn thành" said "Quầy số 1 chưa gọi số nào"); the one
    still waiting expires; the desk's ticket expires at midnight if never finished."""
    hall = closing_hall(tmp_path, clock)
    served, called, waiting = two_at_desks_at_17_20(hall, clock)
    clock.set(hall_time(2026, 11, 26, 17, 31))
    assert hall.expire() == 1
    assert hall.ticket_by_token(waiting["track_token"])["status"] == "expired"
    clock.set(hall_time(2026, 11, 26, 17, 40))
    assert hall.counter_action(1, "done")["ticket"]["number"] == served["number"]
    assert hall.ticket_by_token(served["track_token"])["status"] == "done"
    assert hall.ticket_by_token(called["track_token"])["status"] == "called"  # at counter 2 since 17:20
    clock.set(hall_time(2026, 11, 27, 0, 1))
    assert hall.expire() == 1
    assert hall.ticket_by_token(called["track_token"])["status"] == "expired"


def test_a_citizen_sent_to_another_line_after_closing_time_is_still_called(tmp_path, clock):
    """close_at = 17:30: the citizen at counter 1's desk since 17:20 is transferred to CT at
    17:40 (or a no-show there is reinstated): the hub's next round expired them within seconds,
    so counter 3, still working, never called them, though the clerk was told they wait first."""
    hall = closing_hall(tmp_path, clock)
    transferred, reinstated, waiting = two_at_desks_at_17_20(hall, clock)
    clock.set(hall_time(2026, 11, 26, 17, 29))
    hall.counter_action(2, "no-show")
    clock.set(hall_time(2026, 11, 26, 17, 40))
    assert hall.counter_action(1, "transfer", service="CT")["ticket"]["status"] == "waiting"
    hall.counter_action(2, "reinstate", number=reinstated["number"])
    clock.set(hall_time(2026, 11, 26, 17, 41))
    assert hall.expire() == 1                                  # only the one waiting at closing time
    assert hall.ticket_by_token(waiting["track_token"])["status"] == "expired"
    assert hall.counter_action(3, "call-next")["ticket"]["number"] == transferred["number"]
    assert hall.counter_action(2, "call-next")["ticket"]["number"] == reinstated["number"]
    hall.store.close()
