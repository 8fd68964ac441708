"""Keepalive against a real hub process: a client that goes silent is dropped by the hub and
told so (a websocket close frame), and a hub that goes silent (frozen with SIGSTOP) is noticed
by the screen link (hallclient, which the pygame board and the keypad client use) and by a
browser page (live.js) within their ping window; both are back when it continues."""

import queue
import time

import pytest
import websocket

from hallclient import Backoff, Link
from hallserver.web import PING_INTERVAL_SECONDS, PING_TIMEOUT_SECONDS
from tests.helpers import Frozen, device_token

pytestmark = pytest.mark.hub

# The ping window and then some: what a client may take to notice a silent peer.
WINDOW = PING_INTERVAL_SECONDS + PING_TIMEOUT_SECONDS + 20


def next_of(inbox, kind, timeout):
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            message = inbox.get(timeout=remaining)
        except queue.Empty:
            break
        if message[0] == kind:
            return message
    raise AssertionError(f"no {kind} within {timeout} s")


def test_a_client_that_stops_answering_pings_is_closed_not_left_hanging(hub):
    socket = websocket.create_connection(f"ws://127.0.0.1:{hub.port}/socket.io/?EIO=4&transport=websocket",
                                         timeout=WINDOW)
    try:
        assert socket.recv().startswith("0{")
        socket.send("40")
        assert socket.recv().startswith("40")
        socket.send('421["join",{"room":"display"}]')
        frames = []
        while True:  # read everything, answer no ping
            opcode, data = socket.recv_data(control_frame=True)
            frames.append(data)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
        assert b"2" in frames  # it was pinged, did not answer, and was told it is dropped
    finally:
        socket.close()


def test_the_screen_link_notices_a_frozen_hub_and_rejoins_when_it_continues(hub):
    kiosk, counter = device_token(hub.db, "kiosk"), device_token(hub.db, "counter", 1)
    inbox = queue.Queue()
    link = Link(hub.url, "display", events=("called",), backoff=Backoff(initial=0.1, maximum=0.5), timeout=5,
                on_event=lambda kind, payload: inbox.put((kind, payload)),
                on_online=lambda transport: inbox.put(("online", transport)),
                on_lost=lambda reason: inbox.put(("lost", reason))).start()
    try:
        next_of(inbox, "online", 20)
        with Frozen(hub):
            next_of(inbox, "lost", WINDOW)
        next_of(inbox, "online", WINDOW)
        ticket = hub.post("/api/v1/tickets", kiosk, {"service": "HT"}).json()["ticket"]
        assert hub.post("/api/v1/counters/1/call-next", counter).status_code == 200
        assert next_of(inbox, "called", 20)[1]["ticket"]["number"] == ticket["number"]
    finally:
        link.stop()


def test_a_browser_screen_notices_a_frozen_hub_and_comes_back(hub, page):
    page.goto(f"{hub.url}/display")
    page.wait_for_selector("body[data-connection=online]", timeout=20_000)
    with Frozen(hub):
        page.wait_for_selector("body[data-connection=offline]", timeout=WINDOW * 1000)
    page.wait_for_selector("body[data-connection=online]", timeout=WINDOW * 1000)
