"""A slot is never oversold: 50 concurrent attempts at a slot of capacity 5 give exactly 5
bookings — from threads that each hold their own SQLite connection, and from separate
processes on the same file."""

import multiprocessing
import threading
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor

from hallserver.config import parse_config
from hallserver.errors import HallError
from hallserver.hall import Hall
from hallserver.store import open_store
from tests.helpers import booking_mapping, hall_time

CAPACITY = 5
ATTEMPTS = 50
SLOT = "2026-11-26T10:00"
NOW = hall_time(2026, 11, 26, 9, 0).timestamp()


def slot_hall_file(tmp_path):
    path = tmp_path / "race.db"
    store = open_store(path)
    store.apply_config(parse_config(booking_mapping(capacity=CAPACITY)))
    store.close()
    return str(path)


def attempt(path, index, start):
    """One citizen, one connection of their own, booking the same slot as everyone."""
    store = open_store(path, migrate=False)
    hall = Hall(store, clock=lambda: NOW)
    try:
        start()
        hall.book(service="HT", slot=SLOT, name=f"Công dân {index}", phone=f"09120{index:05d}", source="api")
        return "booked"
    except HallError as error:
        return error.code
    finally:
        store.close()


def run_in_threads(path, indices, start):
    results = [None] * len(indices)

    def run(position, index):
        try:
            results[position] = attempt(path, index, start)
        except Exception as error:  # not a refusal: the assertion then shows what it was
            results[position] = repr(error)

    threads = [threading.Thread(target=run, args=(position, index)) for position, index in enumerate(indices)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def process_attempts(path, indices, start_at):
    """A process of its own: its threads all start at ``start_at`` (wall clock)."""
    return run_in_threads(path, indices, lambda: time.sleep(max(0.0, start_at - time.time())))


def held(path):
    store = open_store(path, migrate=False)
    try:
        return store.db.execute("SELECT COUNT(*), COUNT(DISTINCT code) FROM bookings").fetchone()
    finally:
        store.close()


def test_fifty_threads_never_oversell_a_slot(tmp_path):
    path = slot_hall_file(tmp_path)
    barrier = threading.Barrier(ATTEMPTS)
    results = Counter(run_in_threads(path, range(ATTEMPTS), lambda: barrier.wait(30)))
    assert results == {"booked": CAPACITY, "slot_full": ATTEMPTS - CAPACITY}
    assert held(path) == (CAPACITY, CAPACITY)


def test_fifty_attempts_from_ten_processes_never_oversell_a_slot(tmp_path):
    path = slot_hall_file(tmp_path)
    start_at = time.time() + 4   # every process has imported the hub by then
    groups = [list(range(start, ATTEMPTS, 10)) for start in range(10)]
    with ProcessPoolExecutor(max_workers=10, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = Counter(code for group in pool.map(process_attempts, [path] * 10, groups, [start_at] * 10)
                          for code in group)
    assert results == {"booked": CAPACITY, "slot_full": ATTEMPTS - CAPACITY}
    assert held(path) == (CAPACITY, CAPACITY)
