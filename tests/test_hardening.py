"""Faults and hostile input: the hall must not freeze, and no request reaches a 500.

Against a real hub process on loopback (gevent, as in production) where the fault needs one,
and through the Flask test client for input checks.
"""

import sqlite3
import threading
import time

import pytest
import socketio

from hallserver.config import parse_config
from hallserver.core import ascii_number, local_day, normalise_phone
from hallserver.errors import Busy, ConfigError, Invalid
from hallserver.services import reports
from hallserver.store import open_store
from tests.helpers import bearer, device_token, init_database, run_cli, small_hall_mapping


@pytest.fixture
def locked_db(hub_db):
    """Another process's write lock on the hall database (a sqlite3 shell's BEGIN EXCLUSIVE)."""
    other = sqlite3.connect(hub_db, timeout=0, isolation_level=None)
    holder = {"connection": other}

    def lock():
        other.execute("BEGIN EXCLUSIVE")
        other.execute("UPDATE hall_settings SET value = value WHERE key = 'hall'")

    def release():
        other.execute("ROLLBACK")

    holder.update(lock=lock, release=release)
    yield holder
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()


@pytest.mark.hub
def test_reads_go_on_while_another_process_holds_the_write_lock(hub, hub_db, locked_db):
    kiosk = device_token(hub_db, "kiosk")
    screen = socketio.Client(reconnection=False)
    screen.connect(hub.url, transports=["websocket"])
    disconnects = []
    screen.on("disconnect", lambda *reason: disconnects.append(reason))
    assert screen.call("join", {"room": "display"}, timeout=5)["ok"]
    locked_db["lock"]()
    try:
        # a read answers at once (it used to wait 24 s behind the lock)
        assert hub.get("/api/v1/state", timeout=3).status_code == 200
        # a write waits its bounded turn, then says the hall is busy, with Retry-After
        answers = {}
        writer = threading.Thread(target=lambda: answers.update(
            kiosk=hub.post("/api/v1/tickets", kiosk, {"service": "HT"}, timeout=20)))
        writer.start()
        time.sleep(0.5)
        # while the write waits, the hub still serves reads and keeps its sockets
        assert hub.get("/api/v1/state", timeout=3).status_code == 200
        writer.join(20)
        refused = answers["kiosk"]
        assert refused.status_code == 503 and refused.json()["error"]["code"] == "busy"
        assert refused.headers["Retry-After"] == "2"
        assert "thử lại" in refused.json()["error"]["message"]
    finally:
        locked_db["release"]()
    issued = hub.post("/api/v1/tickets", kiosk, {"service": "HT"})
    assert issued.status_code == 201
    assert screen.connected and disconnects == []
    screen.disconnect()


def test_a_store_write_waits_a_bounded_time_then_refuses(tmp_path):
    init_database(tmp_path / "hall.db")
    store = open_store(tmp_path / "hall.db")
    store.write_wait_seconds = 0.3
    other = sqlite3.connect(tmp_path / "hall.db", timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(Busy) as refused:
            with store.transaction():
                pass
        assert refused.value.status == 503
        assert store.config().name            # reading is not refused
    finally:
        other.execute("ROLLBACK")
    with store.transaction() as db:           # the lock gone, writes go on
        db.execute("UPDATE hall_settings SET value = value WHERE key = 'hall'")


def test_a_damaged_database_is_refused_without_a_traceback(tmp_path):
    db = tmp_path / "hall.db"
    run_cli("init", db=db)
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    for offset in range(2 * page_size, 3 * page_size, 3):   # a damaged page of the schema's tables
        data[offset] = 0
    db.write_bytes(bytes(data))
    for wal in (tmp_path / "hall.db-wal", tmp_path / "hall.db-shm"):
        wal.unlink(missing_ok=True)
    result = run_cli("serve", "--port", "1", db=db, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "hallserver backup" in result.stderr or "integrity" in result.stderr


# -- no 500 from anyone --------------------------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000


@pytest.mark.parametrize(("path", "token"), [
    ("/api/v1/tickets", "kiosk"), ("/api/v1/bookings", None), ("/api/v1/bookings/lookup", None),
    ("/api/v1/counters/1/call-next", "counter1"),
])
def test_json_nested_too_deep_is_a_400(client, tokens, path, token):
    headers = {"Content-Type": "application/json", **(bearer(tokens[token]) if token else {})}
    answer = client.post(path, data=DEEP, headers=headers)
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "malformed_json"


def test_only_ascii_digits_are_numbers(client):
    challenge = client.get("/api/v1/bookings/challenge").get_json()["challenge"]
    for answer in ("²", "٣", "1" * 50):
        refused = client.post("/api/v1/bookings", json={"challenge": challenge, "answer": answer})
        assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "challenge_failed"
    assert normalise_phone("０９１２３４５６７８") == "0912345678"          # full-width: the same phone
    for phone in ("٠٩١٢٣٤٥٦٧٨", "۰۹۱۲۳۴۵۶۷۸", "09１2345678²"):
        with pytest.raises(Invalid):
            normalise_phone(phone)
    assert ascii_number("²") is None and ascii_number("10" * 12) is None and ascii_number("０42") == 42
    assert ascii_number("①") is None and ascii_number("٣") is None


@pytest.mark.parametrize("number", ["99999999999999999999999", "²", "٣"])
def test_counter_numbers_in_paths_are_bounded_ascii(client, tokens, number):
    answer = client.post(f"/api/v1/counters/{number}/pause", headers=bearer(tokens["supervisor"]))
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "not_found"


def test_socket_handlers_answer_every_payload(app, tokens):
    from hallserver.web.extensions import socketio as hub_socketio

    client = hub_socketio.test_client(app)
    assert client.emit("join", callback=True)["error"]["code"] == "invalid_join"
    assert client.emit("join", {"room": "counter:²", "token": tokens["supervisor"]}, callback=True)["error"]["code"] \
        == "unknown_room"
    huge = {"counter": 10**20, "action": "pause", "token": tokens["supervisor"]}
    assert client.emit("counter_action", huge, callback=True)["error"]["code"] == "invalid_action"
    assert client.emit("counter_action", callback=True)["error"]["code"] == "invalid_action"
    client.disconnect()


@pytest.mark.parametrize(("changes", "message"), [
    ({"service_minutes": float("nan")}, "services[0].service_minutes: expected a finite number, got nan"),
    ({"service_minutes": float("inf")}, "services[0].service_minutes: expected a finite number, got inf"),
    ({"daily_cap": 10**20}, "services[0].daily_cap: must be at most 1000000000"),
])
def test_non_finite_and_huge_numbers_are_refused_naming_the_key(changes, message):
    mapping = small_hall_mapping()
    mapping["services"] = [dict(mapping["services"][0], **changes), *mapping["services"][1:]]
    with pytest.raises(ConfigError) as refused:
        parse_config(mapping)
    assert message in refused.value.message_en


def test_reports_far_in_the_future_are_refused(hall):
    for start, end in (("2026-11-01", "9999-12-31"), ("0001-01-01", "2026-11-01")):
        with pytest.raises(Invalid) as refused:
            hall.read(lambda db, config, now, start=start, end=end: reports.build_report(
                db, config, start_day=start, end_day=end))
        assert refused.value.code == "invalid_range"


def test_api_405s_say_what_is_allowed(client):
    answer = client.get("/api/v1/tickets")
    assert answer.status_code == 405 and answer.get_json()["error"]["code"] == "method_not_allowed"
    assert "POST" in answer.headers["Allow"]


@pytest.mark.hub
def test_a_body_over_the_limit_is_refused_however_it_is_sent(hub, hub_db):
    import requests

    admin, kiosk = device_token(hub_db, "admin"), device_token(hub_db, "kiosk")
    rows = "\n".join(["code,name,phone,service,slot"] + [f"IMP{index:04d},Nguyễn Văn An,0912345678,HT,2026-12-01T08:00"
                                                            for index in range(400)])
    body = rows.encode()
    assert len(body) > 16384

    def chunks(data, size=1000):
        yield from (data[start:start + size] for start in range(0, len(data), size))

    for data in (body, chunks(body)):
        refused = requests.post(f"{hub.url}/api/v1/bookings/import", data=data, timeout=10,
                                headers={**bearer(admin), "Content-Type": "text/csv"})
        assert refused.status_code == 413 and refused.json()["error"]["code"] == "payload_too_large"
    small = requests.post(f"{hub.url}/api/v1/tickets", data=chunks(b'{"service": "HT"}', 5), timeout=10,
                          headers={**bearer(kiosk), "Content-Type": "application/json"})
    assert small.status_code == 201 and small.json()["ticket"]["number"]


def test_exports_never_carry_a_formula(tmp_path, clock):
    import csv
    import io

    from openpyxl import load_workbook

    from hallserver.hall import Hall

    mapping = small_hall_mapping()
    mapping["services"] = [dict(mapping["services"][0], name='=HYPERLINK("http://x.example","bấm")'),
                           *mapping["services"][1:]]
    store = open_store(tmp_path / "formula.db")
    store.apply_config(parse_config(mapping))
    hall = Hall(store, clock=clock)
    hall.issue_ticket("HT")
    day = hall.read(lambda db, config, now: local_day(config, now))
    report = hall.read(lambda db, config, now: reports.build_report(db, config, start_day=day, end_day=day,
                                                                   group_by="service"))
    cells = [cell for row in csv.reader(io.StringIO(reports.report_csv(report))) for cell in row]
    assert "'=HYPERLINK(\"http://x.example\",\"bấm\")" in cells and not any(c.startswith("=") for c in cells)
    sheet = load_workbook(io.BytesIO(reports.report_xlsx(report)))[reports.SUMMARY_SHEET]
    texts = [cell for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    formula_like = [cell for cell in texts if cell.value.startswith("=")]
    assert formula_like and all(cell.data_type == "s" for cell in formula_like)


def test_the_database_and_its_copies_are_private(tmp_path):
    import stat

    folder = tmp_path / "var"
    run_cli("init", db=folder / "hall.db")
    store = open_store(folder / "hall.db")
    with store.transaction() as db:
        db.execute("UPDATE hall_settings SET value = value WHERE key = 'hall'")
    store.backup(tmp_path / "backups" / "copy.db")

    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(folder) == 0o700 and mode(tmp_path / "backups") == 0o700
    for path in (folder / "hall.db", folder / "hall.db-wal", tmp_path / "backups" / "copy.db"):
        assert mode(path) == 0o600, path
