"""Slow and stalled clients against a real hub process (slowloris): a connection that does not
finish its request line and headers in time, or stays idle between requests too long, is
closed; websockets, held long-polling GETs and slow request bodies are not. The hub runs with
its timeouts shortened (``HALL_TEST_CLIENT_TIMEOUTS``) so the drops happen within seconds."""

import os
import select
import socket
import threading
import time

import pytest
import socketio

from hallserver.web.server import TEST_TIMEOUTS_VARIABLE
from tests.helpers import DisplayClient, HubProcess, device_token, init_hall

pytestmark = pytest.mark.hub

HEADER_SECONDS = 2.0
IDLE_SECONDS = 4.0
# gevent's timers follow its loop's clock, which may lag real time by a few milliseconds.
EARLY = 0.2
# What a loaded 2-core machine may add before the hub gets round to closing.
LATE = 5.0


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    db = init_hall(tmp_path_factory.mktemp("slow"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_TIMEOUTS_VARIABLE, f"{HEADER_SECONDS},{IDLE_SECONDS}")
        process = HubProcess(db)
        process.kiosk, process.counter = device_token(db, "kiosk"), device_token(db, "counter", 1)
        process.start()
    yield process
    process.stop()


def connect(hub, sent=b""):
    """A raw TCP connection to the hub that has sent ``sent``."""
    connection = socket.create_connection(("127.0.0.1", hub.port), timeout=10)
    connection.sendall(sent)
    return connection


def is_closed(connection):
    """Whether the hub has closed ``connection`` (EOF or reset waiting), without blocking."""
    if not select.select([connection], [], [], 0)[0]:
        return False
    try:
        return connection.recv(65536, socket.MSG_PEEK) == b""
    except ConnectionResetError:
        return True


def closed_at(connection, timeout):
    """Read and discard until the hub closes ``connection``; the monotonic time it did."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        if not select.select([connection], [], [], remaining)[0]:
            break
        try:
            if connection.recv(65536) == b"":
                return time.monotonic()
        except ConnectionResetError:
            return time.monotonic()
    raise AssertionError(f"the hub kept the connection open for {timeout} s more")


def request(connection, path="/api/v1/state"):
    """Send a keep-alive GET on ``connection`` and read its answer; the status code."""
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: hub\r\n\r\n".encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = connection.recv(65536)
        assert chunk, "the hub closed the connection instead of answering"
        answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    while len(body) < length:
        body += connection.recv(65536)
    return int(lines[0].split()[1])


def open_descriptors(hub):
    return len(os.listdir(f"/proc/{hub.process.pid}/fd"))


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout} s")
        time.sleep(0.02)


def test_a_client_that_stalls_in_its_request_is_closed_within_the_header_time(hub):
    half_line = connect(hub, b"GET /api/v1/sta")
    silent = connect(hub)
    dripping = connect(hub, b"GET /api/v1/state HTTP/1.1\r\n")
    start = time.monotonic()
    # A header line every 0.2 s: always progressing, never finished. One deadline for the
    # whole head closes it; a timeout per read would not.
    while not is_closed(dripping):
        assert time.monotonic() - start < HEADER_SECONDS + LATE, "the dripping client was kept"
        try:
            dripping.sendall(b"X-Slow: 1\r\n")
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(0.2)
    assert time.monotonic() - start >= HEADER_SECONDS - EARLY
    for stalled in (half_line, silent):
        assert closed_at(stalled, LATE) - start >= HEADER_SECONDS - EARLY
        stalled.close()
    dripping.close()
    assert "Traceback" not in hub.read_log()


def test_a_flood_of_stalled_clients_neither_blocks_a_kiosk_nor_outlives_the_header_time(hub):
    before = open_descriptors(hub)
    flood = [connect(hub, b"POST /api/v1/tick") for _ in range(300)]
    try:
        wait_until(lambda: open_descriptors(hub) >= before + 300, HEADER_SECONDS, "the hub holding the flood")
        assert hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}, timeout=5).status_code == 201
        assert open_descriptors(hub) >= before + 300  # the ticket was taken while the flood was held
        wait_until(lambda: open_descriptors(hub) <= before + 5, HEADER_SECONDS + LATE, "the flood's release")
        assert all(is_closed(stalled) for stalled in flood)
    finally:
        for stalled in flood:
            stalled.close()
    assert "Traceback" not in hub.read_log()


def test_websocket_and_long_polling_clients_outlive_both_timeouts_and_still_hear_calls(hub):
    screen = DisplayClient(hub.url)
    polling = socketio.Client(reconnection=False)
    heard = threading.Event()
    polling.on("called", lambda payload: heard.set())
    polling.connect(hub.url, transports=["polling"], wait_timeout=10)
    try:
        assert polling.call("join", {"room": "display"}, timeout=10)["ok"] is True
        polling_session = polling.get_sid()
        # Witnesses opened with the clients: once the hub has dropped them both timeouts have
        # run out since the clients connected.
        stalled = connect(hub, b"GET /socket.io/?EIO=4&transport=pol")
        idle = connect(hub)
        assert request(idle) == 200
        closed_at(stalled, HEADER_SECONDS + LATE)
        closed_at(idle, IDLE_SECONDS + LATE)
        assert screen.client.connected and polling.connected and polling.get_sid() == polling_session
        assert hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).status_code == 201
        number = hub.post("/api/v1/counters/1/call-next", hub.counter).json()["ticket"]["number"]
        assert screen.wait_for("called", lambda payload: payload["ticket"]["number"] == number)
        assert heard.wait(10), "the long-polling client heard no call"
        assert polling.get_sid() == polling_session  # the same session: it was never dropped
    finally:
        screen.close()
        polling.disconnect()


def test_an_idle_keep_alive_connection_is_closed_after_the_idle_time_a_timely_one_is_served(hub):
    idle, timely = connect(hub), connect(hub)
    assert request(idle) == 200 and request(timely) == 200
    answered = time.monotonic()
    # Longer than the header time: a kept-alive connection has the idle time for its next request.
    time.sleep(HEADER_SECONDS + 0.5)
    assert request(timely) == 200
    assert closed_at(idle, IDLE_SECONDS + LATE) - answered >= IDLE_SECONDS - EARLY
    assert request(timely) == 200  # its idle time started again at its last answer
    idle.close()
    timely.close()


def test_a_slow_but_progressing_body_is_read_to_the_end_and_answered(hub):
    body = b'{"service": "HT"}'.ljust(12 * 1024)  # JSON allows the trailing spaces; under the body limit
    upload = connect(hub, b"POST /api/v1/tickets HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
                          b"Authorization: Bearer " + hub.kiosk.encode() + b"\r\n"
                          b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n")
    pieces = 12
    for index in range(pieces):  # over longer than the header time
        upload.sendall(body[index * len(body) // pieces:(index + 1) * len(body) // pieces])
        time.sleep((HEADER_SECONDS + 0.5) / pieces)
    answer = b""
    while chunk := upload.recv(65536):
        answer += chunk
    upload.close()
    assert answer.startswith(b"HTTP/1.1 201")
