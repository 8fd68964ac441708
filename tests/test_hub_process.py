"""A real hub process on loopback: the real python-socketio client, restarts, kill -9,
several processes writing one database file."""

import multiprocessing
import sqlite3
import threading
import time

import pytest
import requests

from tests.helpers import DisplayClient, HubProcess, bearer, device_token, run_cli

pytestmark = pytest.mark.hub


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_real_client_hears_a_call_over_websocket(hub_db, async_mode):
    kiosk, counter = device_token(hub_db, "kiosk"), device_token(hub_db, "counter", 2)
    hub = HubProcess(hub_db, async_mode=async_mode).start()
    try:
        display = DisplayClient(hub.url)
        assert display.ack["ok"] is True
        display.wait_for("state")
        assert hub.post("/api/v1/tickets", kiosk, {"service": "CT"}).status_code == 201
        assert hub.post("/api/v1/counters/2/call-next", counter).json()["ticket"]["number"] == "3001"
        called = display.wait_for("called")
        assert called["ticket"]["number"] == "3001" and called["counter"]["number"] == 2
        assert called["text"].endswith("3001 đến quầy số 2")
        display.close()
    finally:
        hub.stop()
    assert "Traceback" not in hub.read_log()


def without_estimates(services):
    """The services' lines without their wait estimates, which move with the clock between two reads."""
    return [{key: value for key, value in service.items() if not key.startswith("eta")} for service in services]


def test_state_survives_a_restart(hub_db):
    kiosk, counter = device_token(hub_db, "kiosk"), device_token(hub_db, "counter", 1)
    hub = HubProcess(hub_db).start()
    tokens = [hub.post("/api/v1/tickets", kiosk, {"service": "HT"}).json()["ticket"]["track_token"]
              for _ in range(3)]
    hub.post("/api/v1/counters/1/call-next", counter)
    before = requests.get(f"{hub.url}/api/v1/state", timeout=5).json()
    hub.stop()

    hub = HubProcess(hub_db, port=hub.port).start()
    try:
        after = requests.get(f"{hub.url}/api/v1/state", timeout=5).json()
        assert after["seq"] == before["seq"]
        assert after["counters"] == before["counters"]
        assert without_estimates(after["services"]) == without_estimates(before["services"])
        assert requests.get(f"{hub.url}/api/v1/tickets/{tokens[0]}", timeout=5).json()["ticket"]["status"] == "called"
        assert hub.post("/api/v1/tickets", kiosk, {"service": "HT"}).json()["ticket"]["number"] == "1004"
    finally:
        hub.stop()


def test_kill_9_loses_no_acknowledged_ticket(hub_db):
    kiosk = device_token(hub_db, "kiosk")
    hub = HubProcess(hub_db).start()
    acknowledged, stop = [], threading.Event()

    def kiosk_loop(service):
        session = requests.Session()
        while not stop.is_set():
            try:
                answer = session.post(f"{hub.url}/api/v1/tickets", json={"service": service},
                                      headers=bearer(kiosk), timeout=5)
            except requests.RequestException:
                return
            if answer.status_code == 201:
                acknowledged.append((answer.json()["ticket"]["number"], answer.json()["ticket"]["track_token"]))

    kiosks = [threading.Thread(target=kiosk_loop, args=(service,)) for service in ("HT", "CT", "TP", "XH")]
    for thread in kiosks:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    hub.kill()
    stop.set()
    for thread in kiosks:
        thread.join(timeout=10)
    assert len(acknowledged) >= 50

    with sqlite3.connect(hub_db) as db:
        stored = set(db.execute("SELECT number, track_token FROM tickets").fetchall())
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert set(acknowledged) <= stored
    hub = HubProcess(hub_db, port=hub.port).start()
    try:
        number, token = acknowledged[-1]
        assert requests.get(f"{hub.url}/api/v1/tickets/{token}", timeout=5).json()["ticket"]["number"] == number
    finally:
        hub.stop()


# -- several processes on one file --------------------------------------------------

def _issue_many(db_path, service, count, results):
    from hallserver.hall import Hall
    from hallserver.store import open_store

    hall = Hall(open_store(db_path))
    for _ in range(count):
        results.append(hall.issue_ticket(service)["number"])


def _call_many(db_path, counter, results):
    from hallserver.hall import Hall
    from hallserver.store import open_store

    hall = Hall(open_store(db_path))
    while True:
        if hall.counter_state(counter)["counter"]["current"]:
            hall.counter_action(counter, "done")   # served at once: nothing for the double-press guard
        answer = hall.counter_action(counter, "call-next")
        if answer["ticket"] is None:
            return
        results.append(answer["ticket"]["number"])


def in_processes(target, argument_lists):
    """``target(*arguments, results)`` in a process of its own for each argument list, all at
    once; what they all appended to ``results``."""
    with multiprocessing.Manager() as manager:
        results = manager.list()
        workers = [multiprocessing.Process(target=target, args=(*arguments, results)) for arguments in argument_lists]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
        return list(results)


def test_processes_issuing_together_get_no_duplicate_or_lost_numbers(hub_db):
    numbers = in_processes(_issue_many, [(str(hub_db), service, 60) for service in ("HT", "HT", "HT", "CT")])
    assert len(numbers) == len(set(numbers)) == 240
    assert sorted(n for n in numbers if n.startswith("1")) == [str(1001 + i) for i in range(180)]
    assert sorted(n for n in numbers if n.startswith("3")) == [str(3001 + i) for i in range(60)]


def test_counters_calling_at_once_never_call_a_ticket_twice(hub_db):
    from hallserver.hall import Hall
    from hallserver.store import open_store

    hall = Hall(open_store(hub_db))
    for _ in range(150):
        hall.issue_ticket("HT")
    called = in_processes(_call_many, [(str(hub_db), counter) for counter in (1, 2, 3)])  # all serve HT
    assert len(called) == len(set(called)) == 150


def test_backup_of_a_live_hub(hub, hub_db, tmp_path):
    kiosk = device_token(hub_db, "kiosk")
    for _ in range(5):
        hub.post("/api/v1/tickets", kiosk, {"service": "DD"})
    copy = tmp_path / "backup" / "copy.db"
    result = run_cli("backup", str(copy), db=hub_db)
    assert "copy.db" in result.stdout
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 5


def test_serve_refuses_an_uninitialised_or_corrupt_database(tmp_path):
    result = run_cli("serve", "--port", "1", db=tmp_path / "empty.db", check=False)
    assert result.returncode == 2 and "hallserver init" in result.stderr
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\x13" * 5000)
    result = run_cli("serve", "--port", "1", db=corrupt, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_token_create_prints_the_token_last_and_stores_only_its_hash(hub_db):
    output = run_cli("token", "create", "--role", "counter", "--counter", "4", db=hub_db).stdout
    token = output.strip().splitlines()[-1]
    assert token.startswith("hq_") and len(token) > 40
    with sqlite3.connect(hub_db) as db:
        assert token not in str(db.execute("SELECT * FROM tokens").fetchall())
    refused = run_cli("token", "create", "--role", "counter", db=hub_db, check=False)
    assert refused.returncode == 2 and "--counter" in refused.stderr
    refused = run_cli("token", "create", "--role", "counter", "--counter", "77", db=hub_db, check=False)
    assert refused.returncode == 2 and "77" in refused.stderr


def _websocket_frame(opcode, payload):
    """A client's (masked) websocket frame, payload under 126 bytes."""
    mask = b"\x01\x02\x03\x04"
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(
        byte ^ mask[index % 4] for index, byte in enumerate(payload))


def test_a_websocket_that_ends_is_closed_not_read_as_a_request(hub):
    """A client leaves as python-socketio does: the Engine.IO close packet, then the websocket
    close frame. The hub closes the connection; it does not read the frame as a new HTTP request
    (which logged "Invalid HTTP method" and wrote a 400 onto the socket at every disconnect)."""
    import base64
    import os
    import socket

    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", hub.port), timeout=10) as sock:
        sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: hall\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        received = b""
        while b'"sid"' not in received:   # the 101 and Engine.IO's open packet
            received += sock.recv(65536)
        assert received.startswith(b"HTTP/1.1 101")
        sock.sendall(_websocket_frame(0x1, b"1") + _websocket_frame(0x8, b"\x03\xe8"))
        after = b""
        while chunk := sock.recv(65536):   # until the hub closes the connection
            after += chunk
    assert b"HTTP/1.1" not in after
    assert "Invalid HTTP method" not in hub.read_log()
