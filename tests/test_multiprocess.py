"""Several hub processes on one database, linked by a real redis-server: a call made through
one process reaches the screens, counter desks and ticket pages joined on another, and the
background jobs run in one process at a time."""

import pytest

from tests.helpers import DisplayClient, HubProcess, device_token, wait_until

pytestmark = pytest.mark.hub


@pytest.fixture
def two_hubs(hub_db, redis_server):
    hubs = [HubProcess(hub_db, message_queue=redis_server.url) for _ in range(2)]
    for hub in hubs:
        hub.start()
    yield hubs
    for hub in hubs:
        hub.stop()


def test_a_call_through_one_process_reaches_screens_desks_and_ticket_pages_on_the_other(hub_db, two_hubs):
    a, b = two_hubs
    kiosk, counter = device_token(hub_db, "kiosk"), device_token(hub_db, "counter", 1)
    first = a.post("/api/v1/tickets", kiosk, {"service": "HT"}).json()["ticket"]
    second = a.post("/api/v1/tickets", kiosk, {"service": "HT"}).json()["ticket"]
    screen = DisplayClient(b.url)
    desk = DisplayClient(b.url, room="counter:1", token=counter)
    phone = DisplayClient(b.url, room=f"ticket:{second['track_token']}")
    try:
        assert screen.ack["ok"] and desk.ack["ok"] and phone.ack["ok"]
        assert phone.wait_for("ticket")["ticket"]["position"] == 2

        assert a.post("/api/v1/counters/1/call-next", counter).status_code == 200
        called = screen.wait_for("called")
        assert called["ticket"]["number"] == first["number"] and called["counter"]["number"] == 1
        screen.wait_for("queue", lambda payload: payload["seq"] >= called["seq"])
        screen.wait_for("counter", lambda payload: payload["counter"]["number"] == 1)
        # built by process B for its own members, from A's notice of what changed
        desk.wait_for("counter_state", lambda payload: (payload["counter"]["current"] or {}).get("number")
                      == first["number"])
        moved = phone.wait_for("ticket", lambda payload: payload["ticket"]["position"] == 1)
        assert moved["ticket"]["number"] == second["number"]

        counter2 = device_token(hub_db, "counter", 2)  # counter 1 would be a double press
        assert a.post("/api/v1/counters/2/call-next", counter2).status_code == 200
        assert phone.wait_for("called")["ticket"]["number"] == second["number"]
        phone.wait_for("ticket", lambda payload: payload["ticket"]["status"] == "called")
        assert first["track_token"] not in str(phone.events)
    finally:
        for client in (screen, desk, phone):
            client.close()


def test_a_call_through_the_other_process_reaches_the_first(hub_db, two_hubs):
    a, b = two_hubs
    kiosk, counter = device_token(hub_db, "kiosk"), device_token(hub_db, "counter", 1)
    ticket = b.post("/api/v1/tickets", kiosk, {"service": "HT"}).json()["ticket"]
    screen = DisplayClient(a.url)
    try:
        assert b.post("/api/v1/counters/1/call-next", counter).status_code == 200
        assert screen.wait_for("called")["ticket"]["number"] == ticket["number"]
    finally:
        screen.close()


def holder_pid(redis_server):
    holder = redis_server.client().get("hall-queue:jobs")
    return int(holder.split(":")[1]) if holder else None


def test_background_jobs_run_in_one_process_and_move_when_it_dies(two_hubs, redis_server):
    hubs = {hub.process.pid: hub for hub in two_hubs}
    holder = wait_until(lambda: holder_pid(redis_server), what="a process taking the job lease")
    assert holder in hubs
    other = next(pid for pid in hubs if pid != holder)
    assert "background jobs run in this process" in hubs[holder].read_log()
    assert "background jobs run in this process" not in hubs[other].read_log()

    hubs[holder].kill()
    wait_until(lambda: holder_pid(redis_server) == other, what="the other process taking the lease over")
    wait_until(lambda: "background jobs run in this process" in hubs[other].read_log(),
               what="the other process saying it runs the jobs")
