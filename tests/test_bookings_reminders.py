"""Reminder webhooks against a real HTTP server on 127.0.0.1: when they are due, what they
carry and how they are signed, retries with backoff, leases, cancellations, and the
upkeep task."""

import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hallserver.services import reminders
from tests.helpers import PHONE, HubProcess, book, booking_hall, device_token, free_port, hall_time, init_hall

SECRET = "bi-mat-cua-cong-sms"


@pytest.fixture
def rhall(tmp_path, clock, gateway):
    hall = booking_hall(tmp_path, clock, reminder_url=gateway.url, reminder_secret=SECRET)
    yield hall
    hall.store.close()


def at(*moment):
    return hall_time(2026, 11, *moment).timestamp()


def reminder_rows(hall):
    return [(row["kind"], row["status"], row["attempts"]) for row in
            hall.store.db.query("SELECT * FROM booking_reminders ORDER BY id")]


def test_reminders_are_queued_the_day_before_and_an_hour_before(rhall, gateway):
    book(rhall, "2026-11-28T08:00")                                    # Saturday
    book(rhall, "2026-11-26T10:00", phone="0912000001")               # today: day-before passed, 09:00 is now
    book(rhall, "2026-11-26T10:30", phone="0912000002")
    due = {(row["kind"], row["due_at"]) for row in rhall.store.db.query("SELECT * FROM booking_reminders")}
    assert due == {("day_before", at(27, 17, 0)), ("soon", at(28, 7, 0)), ("soon", at(26, 9, 30))}
    assert gateway.requests == []                                      # booking never waits for the gateway
    assert reminders.send_due(rhall.store, at(26, 9, 29)) == []


def test_a_due_reminder_is_posted_signed_and_complete(rhall, gateway):
    booking = book(rhall, "2026-11-26T10:30")
    [result] = reminders.send_due(rhall.store, at(26, 9, 30))
    assert result["ok"] and result["kind"] == "soon" and result["code"] == booking["code"]
    [request] = gateway.requests
    payload, headers = request["json"], request["headers"]
    assert payload["to"] == {"phone": PHONE, "name": "Nguyễn Văn An"}
    assert payload["booking"]["code"] == booking["code"] and payload["booking"]["time"] == "10:30"
    assert payload["kind"] == "soon" and payload["hall"]["name"] == "Xã Thử"
    assert f"lúc 10:30 hôm nay (26/11/2026), mã {booking['code']}" in payload["text"]
    expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert headers["X-Hall-Signature"] == f"sha256={expected}"
    assert headers["Idempotency-Key"] == payload["id"] and headers["Content-Type"].startswith("application/json")
    assert reminder_rows(rhall) == [("soon", "sent", 1)]
    assert reminders.send_due(rhall.store, at(26, 9, 40)) == []


def test_failures_are_retried_with_backoff_then_given_up(rhall, gateway, caplog):
    booking = book(rhall, "2026-11-28T08:00")
    gateway.statuses = [500, 503]
    first = reminders.send_due(rhall.store, at(27, 17, 0))
    assert [(r["ok"], r["error"]) for r in first] == [(False, "HTTP 500")]
    # the log says which reminder failed, but not the booking's code (with the phone it cancels the booking)
    [warning] = [record.getMessage() for record in caplog.records if record.name == reminders.log.name]
    assert "failed (try 1): HTTP 500" in warning and booking["code"] not in warning
    assert reminders.send_due(rhall.store, at(27, 17, 0) + 59) == []   # backoff: one minute
    assert reminders.send_due(rhall.store, at(27, 17, 1))[0]["error"] == "HTTP 503"
    assert reminders.send_due(rhall.store, at(27, 17, 2)) == []        # then two minutes
    assert reminders.send_due(rhall.store, at(27, 17, 3))[0]["ok"]
    keys = {request["headers"]["Idempotency-Key"] for request in gateway.requests}
    assert len(gateway.requests) == 3 and len(keys) == 1               # the gateway can drop duplicates
    assert reminder_rows(rhall)[0] == ("day_before", "sent", 3)
    assert [reminders.backoff(n) for n in (1, 2, 3, 6, 10)] == [60, 120, 240, 1920, 3600]


def test_an_unreachable_gateway_fails_after_max_attempts(tmp_path, clock):
    hall = booking_hall(tmp_path, clock, reminder_url=f"http://127.0.0.1:{free_port()}/hook")
    book(hall, "2026-11-28T08:00")
    now = at(27, 17, 0)
    for attempt in range(1, reminders.MAX_ATTEMPTS + 1):
        [result] = reminders.send_due(hall.store, now)
        assert not result["ok"] and result["attempts"] == attempt and result["error"]
        now += reminders.backoff(attempt)
    assert reminder_rows(hall)[0] == ("day_before", "failed", reminders.MAX_ATTEMPTS)
    assert reminders.send_due(hall.store, now + 86400) == []
    hall.store.close()


def test_a_leased_reminder_is_never_sent_twice(rhall, gateway):
    book(rhall, "2026-11-26T10:30")
    inner = []

    def post(url, body, headers):
        inner.extend(reminders.send_due(rhall.store, at(26, 9, 30)))     # a second hub process, meanwhile
        return reminders.post_json(url, body, headers)

    assert len(reminders.send_due(rhall.store, at(26, 9, 30), post=post)) == 1
    assert inner == [] and len(gateway.requests) == 1


def test_cancelled_moved_and_checked_in_bookings_change_their_reminders(rhall, gateway, clock):
    cancelled = book(rhall, "2026-11-28T08:00")
    rhall.cancel_booking(cancelled["code"], phone=PHONE)
    moved = book(rhall, "2026-11-28T08:00", phone="0912000001")
    rhall.move_booking(moved["code"], phone="0912000001", slot="2026-11-28T09:00")
    checked = book(rhall, "2026-11-26T10:30", phone="0912000002")
    clock.set(hall_time(2026, 11, 26, 10, 0))
    rhall.check_in(checked["code"])
    pending = [(row["booking_id"], row["kind"], row["due_at"]) for row in rhall.store.db.query(
        "SELECT * FROM booking_reminders WHERE status = 'pending' ORDER BY id")]
    moved_id = rhall.store.db.execute("SELECT id FROM bookings WHERE phone = '0912000001'").fetchone()[0]
    assert pending == [(moved_id, "day_before", at(27, 17, 0)), (moved_id, "soon", at(28, 8, 0))]
    sent = reminders.send_due(rhall.store, at(28, 8, 0))
    assert [r["kind"] for r in sent] == ["day_before", "soon"] and len(gateway.requests) == 2


def test_a_reminder_whose_booking_no_longer_waits_is_dropped(rhall, gateway):
    book(rhall, "2026-11-28T08:00")
    rhall.store.db.execute("UPDATE bookings SET status = 'no_show'")   # as if expired by another process
    assert reminders.send_due(rhall.store, at(27, 17, 0)) == []
    assert reminder_rows(rhall)[0] == ("day_before", "dropped", 0)


def test_the_upkeep_task_keeps_going_and_sends(rhall, gateway, clock):
    book(rhall, "2026-11-26T10:30")
    book(rhall, "2026-11-26T09:30", phone="0912000001")
    clock.set(hall_time(2026, 11, 26, 9, 50))
    rounds = []

    class Stop(Exception):
        pass

    def sleep(seconds):
        rounds.append(seconds)
        if len(rounds) == 2:
            raise Stop

    original = rhall.booking_upkeep
    calls = []

    def flaky_upkeep():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database on fire")                       # a failed round is logged, not fatal
        return original()

    rhall.booking_upkeep = flaky_upkeep
    with pytest.raises(Stop):
        reminders.upkeep_forever(rhall, sleep, 30)
    assert rounds == [30, 30] and len(gateway.requests) == 1
    assert rhall.store.db.execute("SELECT status FROM bookings WHERE phone = '0912000001'").fetchone()[0] == "no_show"


def test_booking_never_waits_for_a_slow_gateway(tmp_path, clock):
    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):
            time.sleep(3)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hall = booking_hall(tmp_path, clock, reminder_url=f"http://127.0.0.1:{server.server_port}/")
    started = time.monotonic()
    book(hall, "2026-11-26T10:30")
    assert time.monotonic() - started < 0.5
    hall.store.close()
    server.shutdown()
    server.server_close()


@pytest.mark.hub
def test_the_hub_sends_due_reminders_from_its_background_task(tmp_path, gateway, monkeypatch):
    import sqlite3

    db = init_hall(tmp_path, hall={"name": "Xã Nhắc Lịch"}, booking={"reminder_url": gateway.url})
    token = device_token(db, "counter", 1)
    monkeypatch.setenv("HALL_EXPIRE_CHECK_SECONDS", "1")
    hub = HubProcess(db).start()
    try:
        slot = hub.get("/api/v1/bookings/slots?service=HT").json()["days"][2]["slots"][0]
        booking = hub.post("/api/v1/bookings", token, {
            "service": "HT", "slot": slot["slot"], "name": "Nguyễn Văn An", "phone": PHONE}).json()["booking"]
        with sqlite3.connect(db) as connection:                       # as if the day had come
            connection.execute("UPDATE booking_reminders SET next_attempt_at = 0")
        deadline = time.monotonic() + 10
        while not gateway.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gateway.requests and gateway.requests[0]["json"]["booking"]["code"] == booking["code"]
    finally:
        hub.stop()
