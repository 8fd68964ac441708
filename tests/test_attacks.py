"""The hub as an attacker on the hall's Wi-Fi or on the internet tries it: each test is a hole
found that way, through the public interfaces (the Flask test client, or a real hub process with
a real socket client), failing before its fix."""

import http.client
import json
import select
from urllib.parse import urlencode

import pytest
import requests
import websocket

from tests.helpers import (
    PASSWORD,
    DisplayClient,
    add_user,
    csrf,
    csrf_in,
    hub_with_tokens,
    init_database,
    shown_text,
)

# -- sockets -----------------------------------------------------------------------------------------


@pytest.fixture
def tokened_hub(tmp_path):
    db = tmp_path / "hub.db"
    init_database(db)
    hub = hub_with_tokens(db).start()
    yield hub
    hub.stop()


def raw_socket(hub):
    """A websocket speaking Socket.IO by hand, as a script would: connected to the namespace."""
    connection = websocket.create_connection(f"{hub.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket",
                                             timeout=30)
    assert connection.recv().startswith("0")      # Engine.IO open
    connection.send("40")
    assert connection.recv().startswith("40")     # Socket.IO connect
    return connection


def frames_until_closed(connection, answers, pings=3):
    """What the hub sends until it closes the connection, its pings answered (a socket that does
    not answer is dropped for that): (frames, closed). Not closed once ``answers`` acks or
    ``pings`` pings (5 s apart) came first."""
    frames = []
    while len([frame for frame in frames if frame.startswith("43")]) < answers and frames.count("2") < pings:
        try:
            frame = connection.recv()
        except (websocket.WebSocketConnectionClosedException, ConnectionError):
            return frames, True
        if not frame:
            return frames, True
        if frame == "2":
            connection.send("3")
        frames.append(frame)
    return frames, False


def test_a_socket_flooding_joins_without_reading_is_cut_off(tokened_hub):
    """A script joined "display" 20,000 times in 0.3 s and read nothing: every join queued a
    state snapshot for it (the hub went from 90 to 430 MB) and a kiosk's number took 7 s. A
    socket with more events being handled at once than any screen or desk sends is now closed."""
    hub = tokened_hub
    flood = raw_socket(hub)
    for index in range(5000):
        flood.send(f"42{index}" + json.dumps(["join", {"room": "display"}]))
    frames, closed = frames_until_closed(flood, answers=100)
    assert closed, f"{len(frames)} frames and still connected"
    # the hall goes on: a screen joins, a kiosk takes a number
    screen = DisplayClient(hub.url)
    assert screen.ack["ok"]
    screen.close()
    issued = requests.post(f"{hub.url}/api/v1/tickets", json={"service": "HT"}, timeout=30,
                           headers={"Authorization": f"Bearer {hub.kiosk}"})
    assert issued.status_code == 201



@pytest.mark.parametrize("garbage", ['42{"room": display', '42["join", ' + "[" * 8000 + "]" * 8000 + "]"])
def test_a_message_that_is_not_socket_io_closes_its_connection_in_one_line(tokened_hub, garbage):
    """JSON that does not parse, or nested past Python's limit, wrote a 30-line traceback to the
    hub's log for every frame (20 bytes sent, 2 KB written) and the connection went on."""
    hub = tokened_hub
    script = raw_socket(hub)
    for _ in range(3):
        script.send(garbage)
    frames, closed = frames_until_closed(script, answers=1)
    assert closed and frames == []
    log = hub.read_log()
    assert "Traceback" not in log and log.count("not a Socket.IO message") == 1
    screen = DisplayClient(hub.url)
    assert screen.ack["ok"]
    screen.close()

# -- per-address limits and IPv6 ---------------------------------------------------------------------

def from_address(number, network="2001:db8:7:42"):
    """A request's environment from one more address of one IPv6 /64 (one home line, one phone)."""
    return {"REMOTE_ADDR": f"{network}::{number:x}"}


def test_guessing_a_password_from_new_addresses_of_one_network_is_paused(app, store):
    """Failed sign-ins were counted per address, and a home line or a phone holds a whole IPv6 /64:
    a script taking a new address for every guess was never paused. They now count per /64."""
    add_user(store, "lan", counters=[1])
    guesser = app.test_client()
    answers = [guesser.post("/dang-nhap", data={"username": "lan", "password": f"doan-{number}",
                                                "csrf_token": csrf(guesser, "/dang-nhap")},
                            environ_base=from_address(number)).status_code for number in range(1, 8)]
    assert answers == [401] * 5 + [429] * 2
    paused = guesser.post("/dang-nhap", data={"username": "lan", "password": PASSWORD,
                                             "csrf_token": csrf(guesser, "/dang-nhap")}, environ_base=from_address(99))
    assert paused.status_code == 429 and "Đăng nhập sai quá nhiều lần" in shown_text(paused)
    # the colleague at the desk, on another network, signs in
    desk = app.test_client()
    signed = desk.post("/dang-nhap", data={"username": "lan", "password": PASSWORD,
                                           "csrf_token": csrf(desk, "/dang-nhap")},
                       environ_base=from_address(1, network="2001:db8:99:1"))
    assert signed.status_code == 302


def test_numbers_from_home_are_capped_per_network_not_per_ipv6_address(web_app):
    """``remote_per_address`` (5 by default) let one phone take a number from each of its
    addresses: ten numbers, ten addresses of one /64."""
    web = web_app.test_client()
    per_address = web_app.extensions["hall"].config.policy.remote_per_address
    answers = [web.post("/lay-so", data={"service": "HT", "csrf_token": csrf(web, "/lay-so")},
                        environ_base=from_address(number)).status_code for number in range(1, per_address + 3)]
    assert answers == [302] * per_address + [409] * 2
    elsewhere = web.post("/lay-so", data={"service": "HT", "csrf_token": csrf(web, "/lay-so")},
                         environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert elsewhere.status_code == 302


# -- sign-in ---------------------------------------------------------------------------------------

def test_guesses_at_the_sign_in_page_do_not_hold_the_hall(tmp_path):
    """A password check is a deliberately slow hash (~0.3 s here), and it ran inside the hall's
    write transaction on the event loop: twelve guesses with made-up usernames (within the
    address's 20) held everything for 6 s, and a kiosk's number came after all of them. The
    check now runs in a worker thread, outside any transaction, one at a time."""
    db = tmp_path / "hub.db"
    init_database(db)
    hub = hub_with_tokens(db).start()
    try:
        browser = requests.Session()
        token = csrf_in(browser.get(f"{hub.url}/dang-nhap", timeout=30).text)
        cookie = "; ".join(f"{name}={value}" for name, value in browser.cookies.items())
        guesses = []
        for number in range(12):   # sent whole before the kiosk's request, each on its connection
            guess = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=60)
            guess.request("POST", "/dang-nhap", body=urlencode({"username": f"khach-{number}", "password": "doan",
                                                                "csrf_token": token}),
                          headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
            guesses.append(guess)
        issued = requests.post(f"{hub.url}/api/v1/tickets", json={"service": "HT"}, timeout=60,
                               headers={"Authorization": f"Bearer {hub.kiosk}"})
        answered_first, _, _ = select.select([guess.sock for guess in guesses], [], [], 0)
        statuses = [guess.getresponse().status for guess in guesses]
    finally:
        hub.stop()
    assert issued.status_code == 201 and statuses == [401] * 12
    assert len(answered_first) < len(guesses) / 2, f"{len(answered_first)} guesses were answered before the number"
