"""hallclient.Link, the Socket.IO link shared by the hall screen and the counter client,
against a real hub process (the ``hub`` fixture) and, for its ordering rules, alone."""

import queue
import threading
import time

import pytest

from hallclient import Backoff, Keepalive, Link, SeqGuard
from tests.helpers import device_token, free_port


class Recorder:
    """Collects a link's callbacks in one queue, in the order they came."""

    def __init__(self):
        self.inbox = queue.Queue()

    def callbacks(self):
        return {"on_event": lambda kind, payload: self.inbox.put((kind, payload)),
                "on_online": lambda transport: self.inbox.put(("online", transport)),
                "on_lost": lambda reason: self.inbox.put(("lost", reason)),
                "on_refused": lambda error: self.inbox.put(("refused", error))}

    def next(self, *kinds, timeout=10):
        """The next message of one of ``kinds``, skipping others."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {kinds} within {timeout} s")
            try:
                message = self.inbox.get(timeout=remaining)
            except queue.Empty:
                continue
            if message[0] in kinds:
                return message


def fast_link(url, room, recorder, **options):
    return Link(url, room, backoff=Backoff(initial=0.1, maximum=0.3), timeout=5, **recorder.callbacks(), **options)


def call_next(hub, kiosk, counter_token, counter=2):
    ticket = hub.post("/api/v1/tickets", kiosk, {"service": "HT"}).json()["ticket"]["number"]
    hub.post(f"/api/v1/counters/{counter}/done", counter_token)   # the last citizen served (409 when none)
    answer = hub.post(f"/api/v1/counters/{counter}/call-next", counter_token)
    assert answer.status_code == 200, answer.text
    return ticket


@pytest.fixture
def tokens(hub):
    return {"kiosk": device_token(hub.db, "kiosk"), "counter2": device_token(hub.db, "counter", 2),
            "counter3": device_token(hub.db, "counter", 3)}


def test_joins_the_display_room_snapshot_first_then_pushes_in_order(hub, tokens):
    recorder = Recorder()
    link = fast_link(hub.url, "display", recorder, events=("called", "queue", "counter")).start()
    try:
        kind, snapshot = recorder.next("state", "online")
        assert kind == "state"  # the snapshot comes before the join's ack
        assert recorder.next("online")[1] in ("websocket", "polling")
        assert link.online and link.snapshot_seq == snapshot["seq"]

        numbers = [call_next(hub, tokens["kiosk"], tokens["counter2"]) for _ in range(4)]
        called = [recorder.next("called")[1] for _ in numbers]
        assert [push["ticket"]["number"] for push in called] == numbers
        seqs = [push["seq"] for push in called]
        assert seqs == sorted(seqs) and seqs[0] > snapshot["seq"]
    finally:
        link.stop()
    assert not link._thread.is_alive()
    call_next(hub, tokens["kiosk"], tokens["counter2"])
    time.sleep(0.3)
    assert not [message for message in list(recorder.inbox.queue) if message[0] == "called"][4:]


def test_a_token_joins_a_counter_room_and_a_wrong_one_is_refused_for_good(hub, tokens):
    recorder = Recorder()
    link = fast_link(hub.url, "counter:2", recorder, token=tokens["counter2"], events=("counter_state",)).start()
    try:
        received = [recorder.inbox.get(timeout=10) for _ in range(3)]
        # the hall's snapshot, the desk's own first view (same seq), then the join's ack
        assert [message[0] for message in received] == ["state", "counter_state", "online"]
        assert received[1][1]["counter"]["number"] == 2 and received[1][1]["seq"] == received[0][1]["seq"]
    finally:
        link.stop()

    refused = Recorder()
    link = fast_link(hub.url, "counter:2", refused, token=tokens["counter3"]).start()
    try:
        kind, error = refused.next("refused", "online", "lost")
        assert kind == "refused" and error["code"] == "forbidden" and error["message"]
        link._thread.join(5)
        assert not link._thread.is_alive()  # final: the settings are wrong, retrying cannot help
    finally:
        link.stop()


def test_a_refusal_is_retried_when_no_refusal_is_final(hub, tokens):
    recorder = Recorder()
    link = fast_link(hub.url, "counter:2", recorder, token="hq_wrong", final_refusals=()).start()
    try:
        reasons = [recorder.next("lost", "refused", "online")[1] for _ in range(2)]
        assert all(reason.startswith("join refused:") for reason in reasons)
        assert link._thread.is_alive()
    finally:
        link.stop()


def test_a_killed_hub_is_noticed_and_the_link_resyncs_when_it_returns(hub, tokens):
    recorder = Recorder()
    link = fast_link(hub.url, "display", recorder, events=("called",), keepalive=Keepalive()).start()
    try:
        recorder.next("online")
        first = call_next(hub, tokens["kiosk"], tokens["counter2"])
        assert recorder.next("called")[1]["ticket"]["number"] == first
        before = link.snapshot_seq

        hub.kill()
        killed = time.monotonic()
        assert recorder.next("lost", timeout=5)[1].startswith("disconnected from")
        assert time.monotonic() - killed < 5 and not link.online

        hub.start()
        _, snapshot = recorder.next("state", timeout=15)  # a new connection: the snapshot is the truth
        recorder.next("online")
        assert snapshot["seq"] >= before and link.snapshot_seq == snapshot["seq"]
        assert any(call["call_id"] for call in snapshot["recent_calls"])
        second = call_next(hub, tokens["kiosk"], tokens["counter2"])
        assert recorder.next("called")[1]["ticket"]["number"] == second
    finally:
        link.stop()


def test_an_unreachable_hub_is_reported_lost_with_backoff():
    recorder = Recorder()
    port = free_port()
    started = time.monotonic()
    link = fast_link(f"http://127.0.0.1:{port}", "display", recorder).start()
    try:
        reasons = [recorder.next("lost")[1] for _ in range(3)]
    finally:
        link.stop()
    assert "(websocket)" in reasons[0] and "(polling, websocket)" in reasons[1]  # transports alternate
    assert all(reason.startswith(f"cannot reach http://127.0.0.1:{port}") for reason in reasons)
    assert time.monotonic() - started < 5


# -- the ordering rules and closing, without a hub -----------------------------------------

def test_pushes_older_than_the_snapshot_are_dropped_and_a_new_connection_starts_afresh():
    recorder = Recorder()
    link = Link("http://127.0.0.1:9", "display", events=("called",), **recorder.callbacks())
    old = link._guard = SeqGuard()
    link._dispatch(old, "state", {"seq": 10})
    link._dispatch(old, "called", {"seq": 9, "call_id": "stale"})
    link._dispatch(old, "called", {"seq": 10, "call_id": "same"})
    link._dispatch(old, "called", {"seq": 11, "call_id": "new"})
    link._dispatch(old, "called", "not a dict")
    assert [payload.get("call_id") for _, payload in list(recorder.inbox.queue)] == [None, "same", "new"]
    assert old.dropped == 1 and link.snapshot_seq == 10

    link._guard = new = SeqGuard()  # a reconnect; the hub's history may have restarted lower
    link._dispatch(old, "called", {"seq": 12, "call_id": "late, from the dead connection"})
    link._dispatch(new, "state", {"seq": 3})
    link._dispatch(new, "called", {"seq": 4, "call_id": "after"})
    assert [payload.get("call_id") for _, payload in list(recorder.inbox.queue)][3:] == [None, "after"]
    assert link.snapshot_seq == 3


def test_a_failing_callback_does_not_break_the_link():
    def explode(kind, payload):
        raise RuntimeError("a client bug")

    link = Link("http://127.0.0.1:9", "display", on_event=explode)
    link._guard = guard = SeqGuard()
    link._dispatch(guard, "state", {"seq": 1})  # logged, not raised
    assert guard.snapshot_seq == 1


def test_stop_is_bounded_even_if_disconnecting_hangs_and_silences_callbacks():
    class HangingClient:
        def disconnect(self):
            threading.Event().wait(30)  # as python-engineio joining a read loop stuck in recv

    recorder = Recorder()
    link = Link("http://127.0.0.1:9", "display", **recorder.callbacks())
    link._client = HangingClient()
    guard = link._guard = SeqGuard()
    started = time.monotonic()
    link.stop(timeout=0.3)
    assert time.monotonic() - started < 2
    link._dispatch(guard, "state", {"seq": 1})
    assert recorder.inbox.empty()


def test_backoff_jitter_stays_within_its_band():
    low = Backoff(initial=1, maximum=8, jitter=0.2, rand=lambda: 0.0)
    high = Backoff(initial=1, maximum=8, jitter=0.2, rand=lambda: 0.999999)
    assert [round(low.next_delay(), 3) for _ in range(5)] == [0.8, 1.6, 3.2, 6.4, 6.4]
    assert [round(high.next_delay(), 3) for _ in range(5)] == [1.2, 2.4, 4.8, 9.6, 9.6]


def test_keepalive_options_turn_keepalive_on():
    import socket

    options = Keepalive(idle=2, interval=1, count=2, user_timeout_ms=4000).socket_options()
    assert options[0] == (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    if hasattr(socket, "TCP_USER_TIMEOUT"):
        assert (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, 4000) in options
