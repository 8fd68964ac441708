"""The counter's front-line rules in the core: a double press never costs a citizen their
turn, a citizen who never came is not counted as served, and the last action can be undone.
Through ``Hall`` on a temp database, with a fake clock."""

import pytest

from hallserver.errors import Conflict
from hallserver.services import reports
from tests.helpers import hall_time


def issue(hall, service="HT", priority=None):
    hall.clock.advance(1)
    return hall.issue_ticket(service, priority=priority)


def act(hall, action, counter=1, after=1.0, **arguments):
    hall.clock.advance(after)
    return hall.counter_action(counter, action, **arguments)


def statuses(hall):
    return dict(hall.store.db.execute("SELECT number, status FROM tickets").fetchall())


def refusal(call):
    with pytest.raises(Conflict) as refused:
        call()
    return refused.value


def event_types(hall, since):
    return [row[0] for row in hall.store.db.execute("SELECT type FROM events WHERE seq > ? ORDER BY seq", [since])]


def last_seq(hall):
    return hall.store.db.execute("SELECT MAX(seq) FROM events").fetchone()[0]


# -- double presses ---------------------------------------------------------------------------------

def test_a_second_press_moments_after_a_call_changes_nothing_and_says_so(small_hall):
    issue(small_hall), issue(small_hall)
    assert act(small_hall, "call-next")["ticket"]["number"] == "1001"
    before = last_seq(small_hall)
    refused = refusal(lambda: act(small_hall, "call-next", after=0.15))
    assert refused.code == "just_called" and refused.message == "Vừa mời số 1001"
    assert last_seq(small_hall) == before
    assert statuses(small_hall) == {"1001": "called", "1002": "waiting"}


def test_enter_serve_enter_stays_one_key_per_citizen(small_hall):
    issue(small_hall), issue(small_hall)
    act(small_hall, "call-next")
    answer = act(small_hall, "call-next", after=6 * 60)   # served for six minutes, never pressed "start"
    assert answer["ticket"]["number"] == "1002"
    assert statuses(small_hall) == {"1001": "done", "1002": "called"}


def test_a_recent_call_never_started_asks_whether_the_citizen_came(small_hall):
    issue(small_hall), issue(small_hall), issue(small_hall)
    act(small_hall, "call-next")
    refused = refusal(lambda: act(small_hall, "call-next", after=30))
    assert refused.code == "arrival_unknown" and "1001" in refused.message and "B" in refused.message
    assert statuses(small_hall)["1001"] == "called"
    # V: never came → no-show, and the next one is called
    assert act(small_hall, "call-next", arrived=False)["ticket"]["number"] == "1002"
    # B: came (a short question) → done
    assert act(small_hall, "call-next", after=40, arrived=True)["ticket"]["number"] == "1003"
    assert statuses(small_hall) == {"1001": "no_show", "1002": "done", "1003": "called"}


def test_a_started_ticket_is_completed_by_the_next_press_at_once(small_hall):
    issue(small_hall), issue(small_hall)
    act(small_hall, "call-next")
    act(small_hall, "start", after=10)
    assert act(small_hall, "call-next", after=10)["ticket"]["number"] == "1002"
    assert statuses(small_hall)["1001"] == "done"


def test_the_guards_follow_the_hall_policy(tmp_path, clock):
    from hallserver.config import parse_config
    from hallserver.hall import Hall
    from hallserver.store import open_store
    from tests.helpers import small_hall_mapping

    store = open_store(tmp_path / "quick.db")
    store.apply_config(parse_config(small_hall_mapping(policy={"repeat_guard_seconds": 0,
                                                                "confirm_arrival_seconds": 0})))
    hall = Hall(store, clock=clock)
    issue(hall), issue(hall)
    act(hall, "call-next")
    assert act(hall, "call-next", after=0.1)["ticket"]["number"] == "1002"


# -- undo -----------------------------------------------------------------------------------------------

def test_undo_puts_a_called_ticket_back_in_its_place(small_hall):
    issue(small_hall), issue(small_hall), issue(small_hall)
    act(small_hall, "call-next")
    answer = act(small_hall, "undo", after=3)
    assert answer["counter"]["current"] is None
    waiting = [ticket["number"] for ticket in small_hall.counter_state(1)["counter"]["waiting_list"]]
    assert waiting[:3] == ["1001", "1002", "1003"]
    assert act(small_hall, "call-next", after=1)["ticket"]["number"] == "1001"
    assert small_hall.state()["recent_calls"][0]["number"] == "1001"


def test_undo_of_a_call_next_also_gives_back_the_citizen_it_finished(small_hall):
    issue(small_hall), issue(small_hall)
    act(small_hall, "call-next")
    act(small_hall, "call-next", after=300)            # 1001 done, 1002 called
    since = last_seq(small_hall)
    answer = act(small_hall, "undo", after=2)
    assert answer["counter"]["current"]["number"] == "1001"
    assert statuses(small_hall) == {"1001": "called", "1002": "waiting"}
    assert event_types(small_hall, since) == ["undone", "undone"]
    assert [call["number"] for call in small_hall.state()["recent_calls"]] == ["1001"]


@pytest.mark.parametrize(("action", "arguments", "status_after", "status_undone"), [
    ("done", {}, "done", "serving"),
    ("no-show", {}, "no_show", "called"),
    ("transfer", {"service": "CT"}, "waiting", "serving"),
])
def test_undo_reverses_done_no_show_and_transfer(small_hall, action, arguments, status_after, status_undone):
    issue(small_hall)
    act(small_hall, "call-next", counter=2)
    if status_undone == "serving":
        act(small_hall, "start", counter=2)
    act(small_hall, action, counter=2, **arguments)
    assert statuses(small_hall)["1001"] == status_after
    answer = act(small_hall, "undo", counter=2, after=4)
    current = answer["counter"]["current"]
    assert current["number"] == "1001" and current["status"] == status_undone and current["service"] == "HT"


def test_undo_has_a_time_limit_and_a_single_step(small_hall):
    issue(small_hall)
    act(small_hall, "call-next")
    assert refusal(lambda: act(small_hall, "undo", after=11)).code == "nothing_to_undo"
    act(small_hall, "call-next", after=200)                    # 1001 done, nobody else waits
    act(small_hall, "undo")
    assert refusal(lambda: act(small_hall, "undo")).code == "nothing_to_undo"   # an undo is not undone
    assert refusal(lambda: act(small_hall, "undo", counter=3)).code == "nothing_to_undo"


def test_undo_refuses_when_the_ticket_moved_on_elsewhere(small_hall):
    issue(small_hall)
    act(small_hall, "call-next", counter=2)
    act(small_hall, "transfer", counter=2, service="CT")
    act(small_hall, "call-next", counter=3, after=1)          # counter 3 takes the transferred ticket
    assert refusal(lambda: act(small_hall, "undo", counter=2, after=1)).code == "cannot_undo"


def test_undone_actions_leave_no_trace_in_the_reports(small_hall, clock):
    clock.set(hall_time(2026, 11, 26, 8, 0))
    issue(small_hall), issue(small_hall)
    act(small_hall, "call-next")
    act(small_hall, "call-next", after=300)      # 1001 served 5 min, 1002 called
    act(small_hall, "undo", after=2)             # both back: 1001 at the counter, 1002 waiting
    act(small_hall, "done", after=120)
    report = small_hall.read(lambda db, config, now: reports.build_report(
        db, config, start_day="2026-11-26", end_day="2026-11-26"))
    total = report.total
    assert (total.issued, total.served, total.unfinished) == (2, 1, 1)
    assert total.wait.count == 1                      # 1002's undone call is no wait
    assert total.service.count == 1 and total.service.mean == 300 + 2 + 120   # one service, not two


def test_a_request_id_reused_for_another_action_is_refused_not_dropped(small_hall):
    """A keypad that restarted its ids sends a call's id with "done": refused (the citizen would
    otherwise never be finished while the answer said 200), and a true repeat still answers."""
    small_hall.issue_ticket("HT")
    called = small_hall.counter_action(1, "call-next", request_id="press-1")
    assert called["ticket"]["number"] == "1001"
    with pytest.raises(Conflict) as reused:
        small_hall.counter_action(1, "done", request_id="press-1")
    assert reused.value.code == "request_id_reused"
    assert small_hall.counter_state(1)["counter"]["current"]["number"] == "1001"   # nothing done
    assert small_hall.counter_action(1, "call-next", request_id="press-1") == called
