"""Faults and hostile input: the hall must not freeze, and no request reaches a 500.

Against a real hub process on loopback (gevent, as in production) where the fault needs one,
and through the Flask test client for input checks.
"""

import sqlite3
import threading
import time

import pytest
import socketio

from hallserver.errors import Busy
from hallserver.store import open_store
from tests.helpers import cli_token, run_cli


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
    kiosk = cli_token(hub_db, "kiosk")
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
    run_cli("init", db=tmp_path / "hall.db")
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
