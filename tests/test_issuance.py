"""Issuing tickets fast and safely: HTTP/1.1 connection handling of the hub, many kiosks
at once against a real hub process (gap-free, unique, every answer durable), and the
group-commit writer of the store on a real SQLite file."""

import socket

import pytest
import requests

from tests.helpers import bearer, cli_token

pytestmark = pytest.mark.hub


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


def test_an_answer_to_connection_close_says_connection_close(hub, hub_db):
    kiosk = cli_token(hub_db, "kiosk")
    body = b'{"service": "HT"}'
    lines = _raw_exchange(hub.port, (
        "POST /api/v1/tickets HTTP/1.1\r\nHost: hall\r\nConnection: close\r\n"
        f"Authorization: Bearer {kiosk}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    assert lines[0].startswith("HTTP/1.1 201")
    assert _header(lines, "Connection") == "close"
    lines = _raw_exchange(hub.port, b"GET /api/v1/state HTTP/1.1\r\nHost: hall\r\nConnection: close\r\n\r\n")
    assert lines[0].startswith("HTTP/1.1 200") and _header(lines, "Connection") == "close"


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


def test_a_session_goes_on_after_a_request_with_connection_close(hub, hub_db):
    kiosk = cli_token(hub_db, "kiosk")
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
