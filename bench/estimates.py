"""Bench: the wait estimates of many followed tickets at one moment, in process.

A hall of five services and six counters (some serving several services), open 07:30-11:30
and 13:30-17:00, at 10:40 on a Monday with ``waiting`` tickets in line (priority ones,
transfers, a reinstated no-show, checked-in appointments, booked slots still to come, a
paused counter, a lunch closure ahead). Times what a push round does for that many ticket
pages (``FollowedEstimator`` + ``views.public_ticket`` for every waiting ticket) and what a
ticket request's answer costs (a fresh ``Estimator`` + the new ticket's view; and as the hub
builds it during a burst of tickets, reusing the hall's shared figures), in CPU time.

    .venv/bin/python -m bench.estimates [--waiting 1800] [--repeat 3]
"""

import argparse
import tempfile
import time
from datetime import datetime
from pathlib import Path

from hallserver.config import parse_config
from hallserver.core import views
from hallserver.core.estimates import Estimator
from hallserver.hall import Hall
from hallserver.store import open_store
from hallserver.web.push import Changes, FollowedEstimator, followed_rows

SERVICES = [("HT", 6, "1-9999"), ("CT", 4, "10001-19999"), ("DD", 15, "20001-29999"), ("TP", 10, "30001-39999"),
            ("XH", 8, "40001-49999")]
COUNTERS = [["HT"], ["HT", "CT"], ["CT", "HT"], ["DD"], ["TP", "XH"], ["XH", "TP", "DD"]]


def busy_hall_mapping():
    return {
        "hall": {"name": "Xã Đo", "timezone": "Asia/Ho_Chi_Minh"},
        "hours": {"default": ["07:30-11:30", "13:30-17:00"]},
        "policy": {"priority_streak": 2, "repeat_guard_seconds": 0, "confirm_arrival_seconds": 0},
        "priorities": [{"code": "elderly", "name": "Người cao tuổi"}, {"code": "disabled", "name": "Người khuyết tật"}],
        "services": [{"code": code, "name": f"Dịch vụ {code}", "block": block, "service_minutes": minutes}
                     for code, minutes, block in SERVICES],
        "counters": [{"number": number, "services": services} for number, services in enumerate(COUNTERS, start=1)],
        "booking": {"capacity": 4, "rate_limit": "100000 per minute"},
    }


class Clock:
    def __init__(self, moment):
        self.now = moment

    def __call__(self):
        return self.now


def busy_hall(path, waiting=1800):
    """(hall, clock) at 10:40 on Monday 30/11/2026 with ``waiting`` tickets in line of every kind."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    store = open_store(Path(path))
    store.apply_config(parse_config(busy_hall_mapping()))
    clock = Clock(datetime(2026, 11, 30, 7, 30, tzinfo=tz).timestamp())
    hall = Hall(store, clock=clock)
    booked = [hall.book(service=code, slot=f"2026-11-30T{hour}", name="Nguyễn Văn An", phone=f"09{index:08d}",
                        source="api")["code"]
              for index, (code, hour) in enumerate([("HT", "10:30"), ("CT", "10:30"), ("HT", "11:00"),
                                                    ("DD", "11:00"), ("HT", "11:00"), ("TP", "14:00"),
                                                    ("HT", "14:00"), ("XH", "14:30")])]
    # the morning so far: served citizens (every counter learns its pace), a no-show, transfers
    step = 3 * 3600 / (waiting + 60)
    for index in range(waiting + 60):
        code = SERVICES[index % 7 % 5][0]
        hall.issue_ticket(code, priority="elderly" if index % 11 == 3 else "disabled" if index % 29 == 5 else None)
        clock.now += step / 2
        if index % 9 == 0 and index < 60 * 9:
            counter = 1 + index // 9 % len(COUNTERS)
            if hall.counter_action(counter, "call-next", arrived=True)["ticket"] is not None:
                clock.now += step / 4
                if index % 5 == 0:
                    hall.counter_action(counter, "transfer", service=COUNTERS[(counter + 1) % 6][0])
                elif index % 7 == 0:
                    hall.counter_action(counter, "no-show")
                else:
                    hall.counter_action(counter, "start")
                    clock.now += step / 4
                    hall.counter_action(counter, "done")
        clock.now += step / 2
    clock.now = datetime(2026, 11, 30, 10, 25, tzinfo=tz).timestamp()
    for code in booked[:2]:
        hall.check_in(code)      # due at 10:30: ahead of the plain line from then
    clock.now = datetime(2026, 11, 30, 10, 40, tzinfo=tz).timestamp()
    hall.check_in(booked[2])     # due at 11:00
    absent = hall.counter_action(3, "call-next", arrived=True)["ticket"]["number"]
    hall.counter_action(3, "no-show")
    hall.counter_action(3, "reinstate", number=absent)
    hall.counter_action(1, "call-next", arrived=True)      # counter 1 busy with a citizen
    hall.counter_action(5, "pause")
    return hall, clock


def followed_views(hall, estimator_class=FollowedEstimator):
    """{track token: view} for every waiting ticket, as one push round builds them."""
    def build(db, config, now):
        tokens = [token for (token,) in db.execute("SELECT track_token FROM tickets WHERE status = 'waiting'")]
        rows = followed_rows(db, config, now, tokens, Changes(services={code for code, _, _ in SERVICES}))
        estimator = estimator_class(db, config, now)
        started = time.thread_time()
        built = {row["track_token"]: views.public_ticket(config, row, estimator) for row in rows}
        return built, time.thread_time() - started
    return hall.read(build)


def new_ticket_view(hall, service, estimator=None):
    """What a ticket request's answer costs beyond the insert: an Estimator (a fresh one, or
    ``estimator(db, config, now)``) and the view."""
    def build(db, config, now):
        started = time.thread_time()
        row = next(db.query("SELECT * FROM tickets WHERE service = ? AND priority IS NULL AND due_at IS NULL "
                            "AND requeued_at IS NULL ORDER BY id DESC LIMIT 1", [service]))
        views.public_ticket(config, row, (estimator or Estimator)(db, config, now), newest=True)
        return time.thread_time() - started
    return hall.read(build)


def burst_views(hall, clock, count):
    """[seconds]: a ticket request's answer during a burst, as the hub builds it: a new
    ticket each time (10 ms apart), its Estimator reusing the hall's shared figures."""
    seconds = []
    for index in range(count):
        code = SERVICES[index % len(SERVICES)][0]
        hall.issue_ticket(code)
        clock.now += 0.01
        seconds.append(new_ticket_view(hall, code, hall.estimator))
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=1800)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        started = time.perf_counter()
        hall, clock = busy_hall(Path(directory) / "estimates.db", options.waiting)
        print(f"hall built in {time.perf_counter() - started:.1f} s")
        # CPU time of this thread: it holds up while others share the machine; the best of the repeats
        rounds = [followed_views(hall) for _ in range(options.repeat)]
        pages = len(rounds[0][0])
        best = min(seconds for _, seconds in rounds)
        print(f"{pages} followed ticket views, best of {options.repeat}: {best * 1000:.1f} ms "
              f"({best / max(1, pages) * 1e6:.1f} µs a page); all: "
              + ", ".join(f"{seconds * 1000:.0f}" for _, seconds in rounds) + " ms")
        seconds = sorted(new_ticket_view(hall, code) for code, _, _ in SERVICES for _ in range(20 * options.repeat))
        print(f"new ticket view (Estimator + public_ticket, {len(seconds)}×): best {seconds[0] * 1e6:.0f} µs, "
              f"median {seconds[len(seconds) // 2] * 1e6:.0f} µs")
        seconds = sorted(burst_views(hall, clock, 100 * options.repeat))
        print(f"new ticket view in a burst (a new ticket before each, shared figures, {len(seconds)}×): "
              f"best {seconds[0] * 1e6:.0f} µs, median {seconds[len(seconds) // 2] * 1e6:.0f} µs")


if __name__ == "__main__":
    main()
