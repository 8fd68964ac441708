"""Issuing tickets fast and safely: HTTP/1.1 connection handling of the hub, many kiosks
at once against a real hub process (gap-free, unique, every answer durable), and the
group-commit writer of the store on a real SQLite file."""

import socket
import sqlite3
import threading
import time

import pytest
import requests

from bench.estimates import busy_hall
from hallserver.core import views
from hallserver.core.estimates import Estimator
from hallserver.errors import Busy, Invalid
from hallserver.store import GroupWriter, Store
from tests.helpers import HubProcess, bearer, device_token


def _raw_exchange(port, request_bytes):
    """Send one raw request and read until the hub closes: (head lines, whether it closed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request_bytes)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    return head.split("\r\n")


def _header(lines, name):
    values = [line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith(name.lower() + ":")]
    return values[0] if values else None


@pytest.mark.hub
def test_an_answer_to_connection_close_says_connection_close(hub, hub_db):
    kiosk = device_token(hub_db, "kiosk")
    body = b'{"service": "HT"}'
    lines = _raw_exchange(hub.port, (
        "POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nConnection: close\r\n"
        f"Authorization: Bearer {kiosk}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    assert lines[0].startswith("HTTP/1.1 201")
    assert _header(lines, "Connection") == "close"
    lines = _raw_exchange(hub.port, b"GET /api/v1/state HTTP/1.1\r\nHost: hall\r\nConnection: close\r\n\r\n")
    assert lines[0].startswith("HTTP/1.1 200") and _header(lines, "Connection") == "close"


@pytest.mark.hub
def test_a_keep_alive_answer_keeps_the_connection(hub):
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as sock:
        for _ in range(2):  # two requests on one connection: the first answer left it open
            sock.sendall(b"GET /api/v1/state HTTP/1.1\r\nHost: hall\r\n\r\n")
            head, _, rest = sock.recv(65536).partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            assert lines[0].startswith("HTTP/1.1 200") and _header(lines, "Connection") is None
            length = int(_header(lines, "Content-Length"))
            while len(rest) < length:
                rest += sock.recv(65536)


@pytest.mark.hub
def test_a_session_goes_on_after_a_request_with_connection_close(hub, hub_db):
    kiosk = device_token(hub_db, "kiosk")
    session = requests.Session()
    session.headers.update(bearer(kiosk))
    numbers = []
    # Without the header the session may reuse the closing connection: the next POST then
    # fails (requests does not retry a POST) whenever the hub's FIN is not there yet.
    for headers in [{"Connection": "close"}, {}] * 25:
        answer = session.post(f"{hub.url}/api/v1/tickets", json={"service": "CT"}, headers=headers, timeout=10)
        assert answer.status_code == 201
        numbers.append(answer.json()["ticket"]["number"])
    assert numbers == [str(3001 + index) for index in range(50)]



# -- many kiosks at once against a real hub ----------------------------------------------------

def kiosks_at_once(url, token, threads, per_thread, stop=None):
    """``threads`` kiosks with a session each posting tickets (HT and CT in turn, every fifth
    request with ``Connection: close``) until ``per_thread`` are answered or ``stop`` is set;
    [(number, track token)] answered 201, and every other status or error seen."""
    answered, others, lock = [], [], threading.Lock()
    barrier = threading.Barrier(threads)

    def kiosk(index):
        session = requests.Session()
        session.headers.update(bearer(token))
        barrier.wait(timeout=30)
        for turn in range(per_thread):
            if stop is not None and stop.is_set():
                return
            headers = {"Connection": "close"} if turn % 5 == 4 else {}
            try:
                answer = session.post(f"{url}/api/v1/tickets", json={"service": ("HT", "CT")[(index + turn) % 2]},
                                      headers=headers, timeout=20)
            except requests.RequestException as error:
                with lock:
                    others.append(type(error).__name__)
                if stop is not None:
                    return
                continue
            with lock:
                if answer.status_code == 201:
                    ticket = answer.json()["ticket"]
                    answered.append((ticket["number"], ticket["track_token"]))
                else:
                    others.append(answer.status_code)

    workers = [threading.Thread(target=kiosk, args=(index,)) for index in range(threads)]
    for worker in workers:
        worker.start()
    return workers, answered, others


def stored_tickets(db_path):
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return db.execute("SELECT number, track_token FROM tickets").fetchall()


def assert_gap_free(numbers):
    """HT's numbers run 1001.. and CT's 3001.. (the demo hall's blocks) without a gap or a repeat."""
    for start in (1001, 3001):
        mine = sorted(int(number) for number in numbers if start <= int(number) < start + 999)
        assert mine == list(range(start, start + len(mine)))


@pytest.mark.hub
def test_kiosks_at_once_get_unique_gap_free_numbers_each_stored(hub, hub_db):
    kiosk = device_token(hub_db, "kiosk")
    workers, answered, others = kiosks_at_once(hub.url, kiosk, threads=12, per_thread=20)
    for worker in workers:
        worker.join(timeout=120)
    assert others == [] and len(answered) == 240
    numbers = [number for number, _ in answered]
    assert len(set(numbers)) == 240
    assert_gap_free(numbers)
    assert sorted(stored_tickets(hub_db)) == sorted(answered)   # every answer is a row, every row was answered
    with sqlite3.connect(hub_db) as db:
        assert db.execute("SELECT COUNT(*) FROM events WHERE type = 'issued'").fetchone()[0] == 240
        assert db.execute("SELECT SUM(issued) FROM daily_numbers").fetchone()[0] == 240


@pytest.mark.hub
def test_kill_9_during_a_burst_loses_no_answered_ticket(hub_db):
    """Twelve kiosks at once share commits; the hub is killed in the middle of the burst."""
    kiosk = device_token(hub_db, "kiosk")
    hub = HubProcess(hub_db).start()
    stop = threading.Event()
    workers, answered, _ = kiosks_at_once(hub.url, kiosk, threads=12, per_thread=1000, stop=stop)
    deadline = time.monotonic() + 20
    while len(answered) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    hub.kill()
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    assert len(answered) >= 300
    stored = stored_tickets(hub_db)
    assert set(answered) <= set(stored)   # answered means durable
    assert_gap_free([number for number, _ in stored])
    hub.start()   # and the hall goes on from there
    try:
        number, token = answered[-1]
        assert hub.get(f"/api/v1/tickets/{token}").json()["ticket"]["number"] == number
        assert hub.post("/api/v1/tickets", kiosk, {"service": "HT"}).status_code == 201
    finally:
        hub.stop()
    assert_gap_free([number for number, _ in stored_tickets(hub_db)])

# -- the group-commit writer (store.GroupWriter) on a real SQLite file -----------------------

class GatedCommits:
    """A ``store.offload`` that counts COMMITs and holds the first one until ``release()``,
    so the writes made meanwhile queue up for the next transaction."""

    def __init__(self):
        self.commits = 0
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.fail_with = None

    def __call__(self, function, *arguments):
        self.commits += 1
        if self.commits == 1:
            self.entered.set()
            assert self.gate.wait(timeout=10)
        if self.fail_with is not None:
            raise self.fail_with
        return function(*arguments)

    def release(self):
        self.gate.set()


@pytest.fixture
def numbered(tmp_path):
    """A store with one table of numbers, its path, and a GroupWriter on it that records each batch."""
    store = Store(tmp_path / "group.db", write_wait_seconds=0.3)
    with store.transaction() as db:
        db.execute("CREATE TABLE numbers (value INTEGER PRIMARY KEY, label TEXT)")
    batches = []
    writer = GroupWriter(store, after_commit=batches.append)
    yield store, writer, batches
    store.close()


def insert(label, fail=False):
    """A piece of work: the next number with ``label`` (or an Invalid after writing it)."""
    def work(db):
        value = db.execute("SELECT COALESCE(MAX(value), 0) + 1 FROM numbers").fetchone()[0]
        db.execute("INSERT INTO numbers (value, label) VALUES (?, ?)", [value, label])
        if fail:
            raise Invalid("từ chối", "refused", code="refused")
        return value
    return work


def committed(store):
    """What another connection sees: only committed rows."""
    with sqlite3.connect(store.path) as other:
        return other.execute("SELECT value, label FROM numbers ORDER BY value").fetchall()


def in_threads(writer, works, leads=False):
    """Each work in a thread of its own, queued one after the other in order; {label: result or error}.

    With ``leads`` the one work starts on an idle writer and leads its own batch; otherwise a
    batch is already committing and each work must be queued before the next one starts."""
    outcomes, threads = {}, []

    def run(label, work):
        try:
            outcomes[label] = writer.write(work)
        except Exception as error:   # the caller's own refusal, kept for the assertions
            outcomes[label] = error

    for label, work in works:
        thread = threading.Thread(target=run, args=(label, work))
        thread.start()
        threads.append(thread)
        if leads:
            continue
        deadline = time.monotonic() + 10
        while writer.waiting < len(threads) and time.monotonic() < deadline:
            time.sleep(0.005)
    return threads, outcomes


def test_writes_that_arrive_during_a_commit_share_the_next_one(numbered):
    store, writer, batches = numbered
    store.offload = gate = GatedCommits()
    (first,), _ = in_threads(writer, [("first", insert("first"))], leads=True)
    assert gate.entered.wait(timeout=10)   # the first batch is waiting for the disk
    threads, outcomes = in_threads(writer, [(label, insert(label)) for label in ("a", "b", "c")])
    assert writer.waiting == 3 and committed(store) == []   # nothing answered, nothing visible yet
    gate.release()
    for thread in [first, *threads]:
        thread.join(timeout=10)
    assert gate.commits == 2   # four writes, two transactions
    assert outcomes == {"a": 2, "b": 3, "c": 4}
    assert committed(store) == [(1, "first"), (2, "a"), (3, "b"), (4, "c")]
    assert batches == [[1], [2, 3, 4]]   # after_commit: once per batch, in order


def test_a_refused_write_is_rolled_back_alone(numbered):
    store, writer, batches = numbered
    store.offload = gate = GatedCommits()
    (first,), _ = in_threads(writer, [("first", insert("first"))], leads=True)
    assert gate.entered.wait(timeout=10)
    threads, outcomes = in_threads(writer, [("a", insert("a")), ("refused", insert("refused", fail=True)),
                                            ("b", insert("b"))])
    gate.release()
    for thread in [first, *threads]:
        thread.join(timeout=10)
    assert isinstance(outcomes["refused"], Invalid) and outcomes["refused"].code == "refused"
    assert outcomes["a"] == 2 and outcomes["b"] == 3   # the refused one's number was not kept
    assert committed(store) == [(1, "first"), (2, "a"), (3, "b")]
    assert batches == [[1], [2, 3]]


def test_a_commit_that_fails_fails_every_write_of_its_batch(numbered):
    store, writer, batches = numbered
    store.offload = gate = GatedCommits()
    (first,), _ = in_threads(writer, [("first", insert("first"))], leads=True)
    assert gate.entered.wait(timeout=10)
    threads, outcomes = in_threads(writer, [(label, insert(label)) for label in ("a", "b")])
    gate.fail_with = sqlite3.OperationalError("disk I/O error")
    gate.release()
    for thread in [first, *threads]:
        thread.join(timeout=10)
    assert all(isinstance(outcomes[label], sqlite3.OperationalError) for label in ("a", "b"))
    assert committed(store) == [] and batches == []   # the first batch failed too; nothing was published
    gate.fail_with = None
    assert writer.write(insert("after")) == 1   # the writer goes on
    assert committed(store) == [(1, "after")]


def test_writes_wait_for_another_process_then_are_busy(numbered):
    store, writer, batches = numbered
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")   # like a sqlite3 shell holding the write lock
    try:
        with pytest.raises(Busy):
            writer.write(insert("a"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert writer.write(insert("b")) == 1 and committed(store) == [(1, "b")]


def test_many_writers_at_once_get_every_number_once(numbered):
    store, writer, batches = numbered
    results, lock = [], threading.Lock()

    def kiosk(index):
        for turn in range(25):
            value = writer.write(insert(f"{index}/{turn}"))
            with lock:
                results.append(value)

    threads = [threading.Thread(target=kiosk, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)   # leadership was always handed on
    assert sorted(results) == list(range(1, 301))
    assert [value for value, _ in committed(store)] == list(range(1, 301))
    assert [value for batch in batches for value in batch] == list(range(1, 301))   # published in order


# -- the line's length per service, kept by triggers (store.ensure_waiting_counts) ----------

def counted_by_triggers(store):
    with store.reading() as db:
        return sorted(db.execute("SELECT day, service, waiting FROM waiting_counts WHERE waiting != 0").fetchall())


def counted_from_tickets(store):
    with store.reading() as db:
        return sorted(db.execute("SELECT day, service, COUNT(*) FROM tickets WHERE status = 'waiting' "
                                 "GROUP BY day, service").fetchall())


def test_the_line_counts_follow_every_ticket_change(hall, store, clock):
    steps = []

    def check(step):
        steps.append(step)
        assert counted_by_triggers(store) == counted_from_tickets(store), steps

    tickets = [hall.issue_ticket(service) for service in ("HT", "HT", "CT", "HT", "CT", "HT")]
    hall.issue_ticket("HT", priority="elderly")
    check("issued")
    assert counted_from_tickets(store) == [("2026-11-26", "CT", 2), ("2026-11-26", "HT", 5)]
    clock.advance(60)
    hall.counter_action(1, "call-next")
    check("called")
    clock.advance(60)
    hall.counter_action(1, "no-show")
    check("no-show")
    clock.advance(60)
    called = hall.counter_action(1, "call-next")["ticket"]["number"]
    clock.advance(5)
    hall.counter_action(1, "transfer", service="CT")
    check(f"{called} transferred to CT")
    clock.advance(60)
    hall.cancel(tickets[-1]["track_token"])
    check("cancelled")
    clock.advance(24 * 3600)   # the next morning: yesterday's line expires, today's starts
    hall.issue_ticket("CT")
    check("expired, then a new day")
    assert counted_from_tickets(store) == [("2026-11-27", "CT", 1)]


def test_the_line_counts_are_rebuilt_from_the_tickets_when_missing(hall, store):
    for service in ("HT", "CT", "HT"):
        hall.issue_ticket(service)
    with store.transaction() as db:
        for trigger in ("insert", "update", "delete"):
            db.execute(f"DROP TRIGGER waiting_counts_{trigger}")
        db.execute("DROP TABLE waiting_counts")
    store.migrate()
    assert counted_by_triggers(store) == counted_from_tickets(store) == [("2026-11-26", "CT", 1),
                                                                         ("2026-11-26", "HT", 2)]
    hall.issue_ticket("HT")   # and the triggers are back
    assert counted_by_triggers(store) == counted_from_tickets(store)


# -- what estimators share between requests (Hall + SharedFigures) ----------------------------

ESTIMATE_FIELDS = ("position", "ahead", "eta_minutes", "eta_low_minutes", "eta_high_minutes", "eta_at",
                   "eta_after_closure")


def fresh_view(hall, track_token, newest=False):
    """A ticket's estimate from an Estimator that reuses nothing (``newest``: as the answer
    to the request that issued it computes it)."""
    def build(db, config, now):
        row = next(db.query("SELECT * FROM tickets WHERE track_token = ?", [track_token]))
        return views.public_ticket(config, row, Estimator(db, config, now), newest=newest)
    return {field: value for field, value in hall.read(build).items() if field in ESTIMATE_FIELDS}


def test_an_answer_that_reuses_figures_is_the_one_a_fresh_estimator_gives(tmp_path):
    hall, clock = busy_hall(tmp_path / "shared.db", waiting=40)
    followed = hall.issue_ticket("HT")["track_token"]

    def same(answer):
        assert {field: answer[field] for field in ESTIMATE_FIELDS} == fresh_view(hall, answer["track_token"],
                                                                                  newest=True)
        assert {field: value for field, value in hall.ticket_by_token(followed).items()
                if field in ESTIMATE_FIELDS} == fresh_view(hall, followed)

    # The same moment throughout (the figures' tick does not move): each change must show at once.
    steps = [
        lambda: None,
        lambda: hall.counter_action(2, "call-next", arrived=True),    # a counter busy now
        lambda: hall.counter_action(2, "done"),                        # a service time learned
        lambda: hall.counter_action(4, "pause"),                       # a counter away
        lambda: hall.issue_ticket("HT", priority="elderly"),           # one more who comes in ahead
        lambda: hall.counter_action(4, "resume"),
        lambda: hall.counter_action(6, "call-next", arrived=True),
        lambda: hall.counter_action(6, "no-show"),                     # the no-show rate moves
    ]
    for step in steps:
        step()
        for service in ("HT", "CT", "XH"):
            same(hall.issue_ticket(service))
    clock.now += 3
    same(hall.issue_ticket("DD"))
