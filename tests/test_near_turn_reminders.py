""""Sắp đến lượt" by SMS: a number taken from home with a phone gets one message when its turn
comes near, by the tracking page's own rule (position or estimate, the hall's thresholds),
through the booking reminders' webhook (a real HTTP server on 127.0.0.1), signing and retries."""

import hashlib
import hmac
import json
import time

import pytest
import requests

from hallserver.config import parse_config
from hallserver.hall import Hall
from hallserver.services import reminders
from hallserver.store import open_store
from tests.helpers import PHONE, HubProcess, booking_mapping, csrf_in, hall_time, init_hall

SECRET = "bi-mat-cua-cong-sms"
PUBLIC_URL = "http://192.168.1.10:5000"


def near_hall(tmp_path, clock, gateway=None, **policy):
    """The small hall (HT at counters 1, 2 and 3) at 09:00 on a Thursday; its reminders go to
    ``gateway``; ``policy`` sets the "Sắp đến lượt" thresholds."""
    mapping = booking_mapping(**({"reminder_url": gateway.url, "reminder_secret": SECRET} if gateway else {}))
    mapping["policy"] = dict(mapping["policy"], remote_per_address=100, **policy)
    store = open_store(tmp_path / "near.db")
    store.apply_config(parse_config(mapping))
    return Hall(store, clock=clock)


@pytest.fixture
def hall(tmp_path, clock, gateway):
    hall = near_hall(tmp_path, clock, gateway)
    yield hall
    hall.store.close()


def from_home(hall, clock, count, phone=True):
    """``count`` numbers of HT taken from home, a few seconds apart, each with its own phone."""
    tickets = []
    for index in range(count):
        tickets.append(hall.issue_remote_ticket("HT", phone=f"09120{index:05d}" if phone else None,
                                                address_hash="nha-so-1"))
        clock.advance(5)
    return tickets


def near_on_page(hall, tickets):
    """The numbers whose tracking page says "Sắp đến lượt" now."""
    return [ticket["number"] for ticket in tickets if hall.ticket_by_token(ticket["track_token"])["near_turn"]]


def messages(gateway):
    return [request["json"] for request in gateway.requests if request["json"]["kind"] == "near_turn"]


def reminded(gateway):
    return [message["ticket"]["number"] for message in messages(gateway)]


def upkeep(hall, public_url=""):
    """One round of the hub's background job."""
    return reminders.run_upkeep(hall, public_url)


def statuses(hall):
    return dict(hall.store.db.execute(
        "SELECT t.number, r.status FROM ticket_reminders r JOIN tickets t ON t.id = r.ticket_id").fetchall())


def test_the_numbers_near_their_turn_by_estimate_get_a_message(tmp_path, clock, gateway):
    hall = near_hall(tmp_path, clock, gateway, soon_ahead=0, soon_minutes=10)
    tickets = from_home(hall, clock, 12)
    near = near_on_page(hall, tickets)
    assert 1 < len(near) < len(tickets)          # beyond the first by the estimate alone; not the whole line
    upkeep(hall)
    assert reminded(gateway) == near
    for message in messages(gateway):
        assert message["ticket"]["ahead"] == 0 or message["ticket"]["eta_minutes"] <= 10
    hall.store.close()


def test_the_numbers_near_their_turn_by_position_get_a_message(tmp_path, clock, gateway):
    hall = near_hall(tmp_path, clock, gateway, soon_ahead=3, soon_minutes=0)
    tickets = from_home(hall, clock, 8)
    assert near_on_page(hall, tickets) == ["1001", "1002", "1003", "1004"]
    upkeep(hall)
    assert reminded(gateway) == ["1001", "1002", "1003", "1004"]
    hall.counter_action(1, "call-next")          # the line moves: 1005 has three ahead now
    upkeep(hall)
    assert reminded(gateway) == ["1001", "1002", "1003", "1004", "1005"]
    hall.store.close()


def test_time_alone_brings_numbers_near_their_turn(tmp_path, clock, gateway):
    """Taken just before the lunch closure, most of the line is called after lunch; when the
    hall opens again their turn is near with no change of the line, and the next round says so."""
    clock.set(hall_time(2026, 11, 26, 11, 29))
    hall = near_hall(tmp_path, clock, gateway, soon_ahead=0, soon_minutes=10)
    tickets = from_home(hall, clock, 8)
    before_lunch = near_on_page(hall, tickets)
    upkeep(hall)
    assert reminded(gateway) == before_lunch
    clock.set(hall_time(2026, 11, 26, 13, 31))
    after_lunch = near_on_page(hall, tickets)
    assert len(after_lunch) > len(before_lunch)
    upkeep(hall)
    assert reminded(gateway) == after_lunch        # the new ones only: the first were told before lunch
    hall.store.close()


def test_a_turn_after_the_lunch_closure_is_not_near_by_position(tmp_path, clock, gateway):
    """Six ahead counts as near, but at 11:27 the sixth and seventh are called after lunch: their
    page does not say "Sắp đến lượt" and no text goes out until the hall opens again."""
    clock.set(hall_time(2026, 11, 26, 11, 27))
    hall = near_hall(tmp_path, clock, gateway, soon_ahead=6, soon_minutes=0)
    tickets = from_home(hall, clock, 8)
    after_lunch = [ticket["number"] for ticket in tickets
                   if hall.ticket_by_token(ticket["track_token"])["eta_after_closure"]]
    assert after_lunch == ["1006", "1007", "1008"]
    assert near_on_page(hall, tickets) == ["1001", "1002", "1003", "1004", "1005"]
    upkeep(hall)
    assert reminded(gateway) == ["1001", "1002", "1003", "1004", "1005"]
    clock.set(hall_time(2026, 11, 26, 13, 30))
    assert near_on_page(hall, tickets) == ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]
    upkeep(hall)
    assert reminded(gateway) == ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]
    hall.store.close()


def test_a_number_gets_one_message_ever_even_after_a_restart(tmp_path, clock, gateway):
    hall = near_hall(tmp_path, clock, gateway)
    from_home(hall, clock, 3)
    assert reminders.queue_near_turn(hall.store, clock()) == [1, 2, 3]
    assert reminders.queue_near_turn(hall.store, clock()) == []    # another hub process, the same moment
    upkeep(hall)
    clock.advance(600)
    upkeep(hall)
    path = hall.store.path
    hall.store.close()
    restarted = Hall(open_store(path), clock=clock)
    clock.advance(600)
    upkeep(restarted)
    assert reminded(gateway) == ["1001", "1002", "1003"]
    assert statuses(restarted) == {"1001": "sent", "1002": "sent", "1003": "sent"}
    restarted.store.close()


def test_a_number_called_or_cancelled_before_the_send_is_dropped(hall, gateway, clock):
    tickets = from_home(hall, clock, 3)
    assert len(reminders.queue_near_turn(hall.store, clock())) == 3
    hall.counter_action(1, "call-next")           # 1001 is called before the gateway is reached
    hall.cancel(tickets[1]["track_token"])        # 1002 will not come
    sent = reminders.send_due(hall.store, clock())
    assert [(result["kind"], result["code"]) for result in sent] == [("near_turn", "1003")]
    assert reminded(gateway) == ["1003"]
    assert statuses(hall) == {"1001": "dropped", "1002": "dropped", "1003": "sent"}


def test_no_message_without_a_phone_or_without_a_gateway(tmp_path, clock, gateway):
    hall = near_hall(tmp_path, clock, gateway)
    hall.issue_ticket("HT")                                         # at the kiosk
    from_home(hall, clock, 2, phone=False)
    assert reminders.queue_near_turn(hall.store, clock()) == []
    upkeep(hall)
    assert gateway.requests == []
    hall.store.close()

    quiet = near_hall(tmp_path / "quiet", clock)                  # no booking.reminder_url
    from_home(quiet, clock, 2)
    assert reminders.queue_near_turn(quiet.store, clock()) == []
    assert upkeep(quiet)["reminders"] == []
    assert quiet.store.db.execute("SELECT COUNT(*) FROM ticket_reminders").fetchone()[0] == 0
    quiet.store.close()


def _names(value, path=""):
    """Every ``name`` key in a JSON value, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "name":
                yield f"{path}.{key}", item
            yield from _names(item, f"{path}.{key}")


def test_the_message_is_signed_carries_the_tracking_link_and_no_name(hall, gateway, clock):
    [ticket] = from_home(hall, clock, 1)
    page = hall.ticket_by_token(ticket["track_token"])
    [result] = upkeep(hall, public_url=PUBLIC_URL + "/")["reminders"]
    assert result["ok"] and result["kind"] == "near_turn" and result["outbox"] == "ticket_reminders"
    [request] = gateway.requests
    payload, headers = request["json"], request["headers"]
    link = f"{PUBLIC_URL}/t/{ticket['track_token']}"
    assert payload["to"] == {"phone": "0912000000", "name": None}
    assert dict(_names(payload)) == {".hall.name": "Xã Thử", ".to.name": None}
    assert payload["ticket"] == {key: page[key] for key in (
        "number", "service", "service_name", "position", "ahead", "eta_minutes", "eta_low_minutes",
        "eta_high_minutes", "eta_at", "eta_after_closure")} | {"track_url": link}
    assert payload["text"] == reminders.near_turn_text(page, link)
    assert payload["text"].startswith("Số 1001 (Hộ tịch): sắp đến lượt của bạn, ")
    assert payload["text"].endswith(f". Vui lòng có mặt tại khu chờ. Theo dõi: {link}")
    expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert headers["X-Hall-Signature"] == f"sha256={expected}"
    assert headers["Idempotency-Key"] == payload["id"] == "ticket-reminder-1"


def test_a_failed_message_is_retried_like_a_booking_reminder(hall, gateway, clock):
    from_home(hall, clock, 1)
    gateway.statuses = [503]
    [first] = upkeep(hall)["reminders"]
    assert (first["ok"], first["error"], first["attempts"]) == (False, "HTTP 503", 1)
    assert reminders.send_due(hall.store, clock() + 59) == []        # backoff: one minute
    [second] = reminders.send_due(hall.store, clock() + 60)
    assert second["ok"] and second["attempts"] == 2
    assert len({request["headers"]["Idempotency-Key"] for request in gateway.requests}) == 1
    assert statuses(hall) == {"1001": "sent"}


def view(**fields):
    base = {"number": "1023", "service_name": "Hộ tịch", "ahead": 4, "eta_minutes": 7, "eta_low_minutes": 5,
            "eta_high_minutes": 10, "eta_at": "09:07", "eta_after_closure": False}
    return base | fields


@pytest.mark.parametrize("fields, wait", [
    ({}, "còn khoảng 5–10 phút"),
    ({"eta_low_minutes": 7, "eta_high_minutes": 7}, "còn khoảng 7 phút"),
    ({"eta_minutes": 0, "eta_low_minutes": 0, "eta_high_minutes": 2}, "còn dưới 1 phút"),
    ({"eta_after_closure": True, "eta_minutes": 140, "eta_at": "13:45"}, "sau giờ nghỉ trưa, khoảng 13:45"),
    ({"eta_minutes": None, "ahead": 2}, "còn 2 người phía trước"),
    ({"eta_minutes": None, "ahead": 0}, "không còn ai phía trước"),
])
def test_the_text_says_the_wait_as_the_tracking_page_does(fields, wait):
    assert reminders.near_turn_text(view(**fields)) == \
        f"Số 1023 (Hộ tịch): sắp đến lượt của bạn, {wait}. Vui lòng có mặt tại khu chờ."


@pytest.mark.hub
def test_the_hub_sends_the_message_from_its_background_task(tmp_path, gateway, monkeypatch):
    db = init_hall(tmp_path, booking={"reminder_url": gateway.url})
    monkeypatch.setenv("HALL_EXPIRE_CHECK_SECONDS", "1")
    monkeypatch.setenv("HALL_PUBLIC_URL", PUBLIC_URL)
    hub = HubProcess(db).start()
    try:
        phone = requests.Session()
        form = {"service": "HT", "phone": PHONE, "csrf_token": csrf_in(phone.get(f"{hub.url}/lay-so").text)}
        taken = phone.post(f"{hub.url}/lay-so", data=form, allow_redirects=False, timeout=10)
        token = taken.headers["Location"].split("/t/")[1].split("?")[0]
        deadline = time.monotonic() + 10
        while not messages(gateway) and time.monotonic() < deadline:
            time.sleep(0.1)
        [message] = messages(gateway)
        assert message["to"] == {"phone": PHONE, "name": None}
        assert message["ticket"]["track_url"] == f"{PUBLIC_URL}/t/{token}"
        assert json.dumps(message, ensure_ascii=False).count(PHONE) == 1
    finally:
        hub.stop()
