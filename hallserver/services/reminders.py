"""Reminder webhooks for appointments and for numbers near their turn, and the hub's upkeep task.

Booking only queues rows in ``booking_reminders`` (see ``core.bookings``): no request ever
waits for a gateway. ``send_due(store, now)`` claims the reminders that are due (with a
lease, so two hub processes never send the same one), POSTs each to
``booking.reminder_url`` outside any transaction, and records the outcome: ``sent``; or
retried after 1, 2, 4 … minutes (at most an hour) until ``MAX_ATTEMPTS``, then ``failed``;
or ``dropped`` when the booking no longer waits for its citizen. ``upkeep_forever`` runs
no-show expiry, retention, ``queue_near_turn`` and ``send_due`` from a background task of
``hallserver serve`` (in one hub process of several: ``web.lease``).

The payload carries the citizen's phone and name (the gateway has to reach them), an
``Idempotency-Key`` header that stays the same across retries, and, with
``booking.reminder_secret``, ``X-Hall-Signature: sha256=<HMAC of the body>``.

"Sắp đến lượt": a number taken from home with a phone gets one ``near_turn`` message when its
turn comes near by the tracking page's rule (``core.near_turn``). ``queue_near_turn`` finds
them and queues rows in ``ticket_reminders``; ``send_due`` sends both outboxes alike, and drops
a ticket's reminder once the ticket no longer waits. Its payload carries the phone, never a
name, and the tracking link when the hub knows its public address (``HALL_PUBLIC_URL``).

The same webhook carries the one-time codes that verify a citizen's phone before a public
booking (``send_verification``, kind ``verification``): sent at once, while the citizen
waits on the page, never retried (the citizen asks for a new code).
"""

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from datetime import date

from ..core import bookings, near_turn
from ..core.bookings import public_booking
from ..core.estimates import Estimator
from ..core.tickets import local_day
from ..core.views import public_ticket

MAX_ATTEMPTS = 6
LEASE_SECONDS = 120
TIMEOUT_SECONDS = 5
BATCH = 20

log = logging.getLogger(__name__)


def backoff(attempts):
    """Seconds before the next try after ``attempts`` failed ones: 60, 120, 240 … 3600."""
    return min(60 * 2 ** (attempts - 1), 3600)


def post_json(url, body, headers):
    """POST ``body`` (bytes); (True, None) on a 2xx answer, else (False, why)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return (True, None) if 200 <= response.status < 300 else (False, f"HTTP {response.status}")
    except urllib.error.HTTPError as error:
        return False, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return False, str(getattr(error, "reason", error))[:200]


def reminder_text(config, booking, now):
    """The message an SMS gateway can send as it is (Vietnamese, no diacritics lost). "Hôm nay"
    or "ngày mai" from the day it goes out: a day-before reminder sent late (the hub was off
    overnight) on the day itself says "hôm nay"."""
    what = booking["procedure_name"] or booking["service_name"]
    days_ahead = (date.fromisoformat(booking["day"]) - date.fromisoformat(local_day(config, now))).days
    when = {0: "hôm nay ", 1: "ngày mai "}.get(days_ahead, "")
    day = "/".join(reversed(booking["day"].split("-")))
    return (f"{config.name}: nhắc lịch hẹn {what} lúc {booking['time']} {when}({day}), mã {booking['code']}. "
            f"Vui lòng mang đủ giấy tờ và quét mã tại kiosk khi đến."
            + (f" Hỏi đáp: {config.hotline}." if config.hotline else ""))


def near_turn_text(ticket, link=None):
    """"Số 1023 (Hộ tịch): sắp đến lượt của bạn, còn khoảng 5–10 phút. Vui lòng có mặt tại khu
    chờ." The wait in the tracking page's words, from the ticket's public view."""
    low, high, minutes = ticket["eta_low_minutes"], ticket["eta_high_minutes"], ticket["eta_minutes"]
    if minutes is None:
        wait = f"còn {ticket['ahead']} người phía trước" if ticket["ahead"] else "không còn ai phía trước"
    elif ticket["eta_after_closure"]:
        wait = f"sau giờ nghỉ trưa, khoảng {ticket['eta_at']}"
    elif minutes < 1:
        wait = "còn dưới 1 phút"
    elif low is not None and high and low < high:
        wait = f"còn khoảng {low}–{high} phút"
    else:
        wait = f"còn khoảng {minutes} phút"
    return (f"Số {ticket['number']} ({ticket['service_name']}): sắp đến lượt của bạn, {wait}. "
            "Vui lòng có mặt tại khu chờ." + (f" Theo dõi: {link}" if link else ""))


def _message(config, message_id, kind, to, text, **details):
    """A webhook payload: what every message carries, and ``details`` of its kind."""
    return {"id": message_id, "kind": kind, "hall": {"name": config.name, "hotline": config.hotline}, "to": to,
            **details, "text": text}


def _booking_message(db, config, reminder, now, public_url):
    """(booking code, payload) of a booking's reminder; None once the booking no longer waits."""
    row = next(db.query("SELECT * FROM bookings WHERE id = ?", [reminder["booking_id"]]))
    if row["status"] != "booked" or row["starts_at"] <= now or row["phone"] is None:
        return None
    booking = public_booking(db, config, row)
    fields = ("code", "service", "service_name", "procedure", "procedure_name", "slot", "day", "time", "starts_at",
              "check_in_from", "check_in_until")
    return booking["code"], _message(
        config, f"reminder-{reminder['id']}", reminder["kind"], {"phone": row["phone"], "name": row["name"]},
        reminder_text(config, booking, now), booking={key: booking[key] for key in fields})


def _ticket_message(db, config, reminder, now, public_url):
    """(ticket number, payload) of a ticket's "near_turn" reminder, with the position and the
    estimate as its tracking page shows them now; None once the ticket no longer waits today."""
    row = next(db.query("SELECT t.*, c.phone AS contact_phone FROM tickets t "
                        "LEFT JOIN ticket_contacts c ON c.ticket_id = t.id WHERE t.id = ?", [reminder["ticket_id"]]))
    phone = row.pop("contact_phone")
    if row["status"] != "waiting" or row["day"] != local_day(config, now) or phone is None:
        return None
    ticket = public_ticket(config, row, Estimator(db, config, now))
    link = f"{public_url.rstrip('/')}/t/{row['track_token']}" if public_url else None
    fields = ("number", "service", "service_name", "position", "ahead", "eta_minutes", "eta_low_minutes",
              "eta_high_minutes", "eta_at", "eta_after_closure")
    return ticket["number"], _message(
        config, f"ticket-reminder-{reminder['id']}", reminder["kind"], {"phone": phone, "name": None},
        near_turn_text(ticket, link), ticket={**{key: ticket[key] for key in fields}, "track_url": link})


# Each outbox table and how to build its reminder's message.
OUTBOXES = (("booking_reminders", _booking_message), ("ticket_reminders", _ticket_message))


def _claim(store, now, public_url):
    """Lease the due reminders of every outbox and build their requests, in one short transaction."""
    jobs = []
    with store.transaction() as db:
        config = store.config()
        if not config.booking.reminder_url:
            return config, jobs
        for table, message in OUTBOXES:
            for reminder in list(db.query(
                    f"SELECT * FROM {table} WHERE status = 'pending' AND next_attempt_at <= ? "
                    "ORDER BY next_attempt_at, id LIMIT ?", [now, BATCH])):
                built = message(db, config, reminder, now, public_url)
                if built is None:
                    db.execute(f"UPDATE {table} SET status = 'dropped' WHERE id = ?", [reminder["id"]])
                    continue
                attempts = reminder["attempts"] + 1
                db.execute(f"UPDATE {table} SET attempts = ?, next_attempt_at = ? WHERE id = ?",
                           [attempts, now + LEASE_SECONDS, reminder["id"]])
                jobs.append((table, reminder, attempts, *built))
    return config, jobs


def _request(config, payload):
    """The body and headers of one webhook POST, signed when the hall has a secret."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "HallQueue-reminders/1",
               "Idempotency-Key": payload["id"]}
    if config.booking.reminder_secret:
        signature = hmac.new(config.booking.reminder_secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hall-Signature"] = f"sha256={signature}"
    return body, headers


def verification_text(config, code, minutes):
    """The code's message, ready for an SMS gateway to send as it is."""
    return (f"{config.name}: mã xác minh đặt lịch hẹn của bạn là {code} (có hiệu lực {minutes} phút). "
            "Không cung cấp mã này cho người khác.")


def send_verification(config, verification, *, post=post_json):
    """POST a one-time code (``core.verification.start``'s result) to the hall's webhook now;
    (ok, error)."""
    minutes = config.booking.verify_code_minutes
    payload = _message(config, f"verification-{verification['id']}", "verification",
                       {"phone": verification["phone"], "name": None},
                       verification_text(config, verification["code"], minutes),
                       code=verification["code"], expires_in=minutes * 60)
    body, headers = _request(config, payload)
    ok, error = post(config.booking.reminder_url, body, headers)
    if not ok:
        log.warning("verification code for a phone could not be sent: %s", error)
    return ok, error


def queue_near_turn(store, now):
    """Queue a "near_turn" reminder for each number taken from home with a phone whose turn
    has come near (none without ``booking.reminder_url``); the ids queued. Worked out on a
    read snapshot, so the estimates never hold the write lock; queueing is idempotent."""
    with store.reading() as db:
        config = store.config()
        if not config.booking.reminder_url:
            return []
        tickets = near_turn.near_turn_tickets(db, config, now)
    if not tickets:
        return []
    with store.transaction() as db:
        return near_turn.queue_reminders(db, tickets, now)


def send_due(store, now, *, post=post_json, public_url=""):
    """Send every reminder due at ``now`` (bookings' and tickets'); returns
    ``[{"outbox", "id", "kind", "code", "attempts", "ok", "error"}]`` (``outbox``: the table,
    ``code``: the booking code or the ticket number). ``public_url``: the hub's address for
    tracking links (HALL_PUBLIC_URL)."""
    config, jobs = _claim(store, now, public_url)
    results = []
    for table, reminder, attempts, code, payload in jobs:
        body, headers = _request(config, payload)
        ok, error = post(config.booking.reminder_url, body, headers)
        results.append({"outbox": table, "id": reminder["id"], "kind": reminder["kind"], "code": code,
                        "attempts": attempts, "ok": ok, "error": error})
    if results:
        _record_outcomes(store, now, results)
    for result in results:
        if not result["ok"]:
            # by its outbox row, not the booking's code: whoever reads the hub's log could cancel it
            log.warning("reminder %s #%s (%s) failed (try %s): %s", result["outbox"], result["id"], result["kind"],
                        result["attempts"], result["error"])
    return results


def _record_outcomes(store, now, results):
    """Write what the gateway answered, in one transaction: ``sent``; ``failed`` after
    MAX_ATTEMPTS tries; else the next try, ``backoff`` later (the claim's lease ends with it)."""
    with store.transaction() as db:
        for result in results:
            table = result["outbox"]
            if result["ok"]:
                db.execute(f"UPDATE {table} SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                           [now, result["id"]])
            elif result["attempts"] >= MAX_ATTEMPTS:
                db.execute(f"UPDATE {table} SET status = 'failed', last_error = ? WHERE id = ?",
                           [result["error"], result["id"]])
            else:
                db.execute(f"UPDATE {table} SET next_attempt_at = ?, last_error = ? WHERE id = ?",
                           [now + backoff(result["attempts"]), result["error"], result["id"]])


def queue_missing_reminders(store, now):
    """Queue the reminders of bookings made before the hall had a webhook (a gateway set up
    later reminds them too); found on a read snapshot, so a quiet round takes no write lock."""
    with store.reading() as db:
        ids = [booking["id"] for booking in bookings.unreminded_bookings(db, store.config(), now)]
    if not ids:
        return 0
    with store.transaction() as db:
        return bookings.schedule_missing_reminders(db, store.config(), now=now, ids=ids)


def run_upkeep(hall, public_url=""):
    """One round: no-shows, retention, reminders of bookings made before the webhook, numbers
    near their turn, due reminders."""
    no_shows, purged = hall.booking_upkeep()
    queue_missing_reminders(hall.store, hall.clock())
    queue_near_turn(hall.store, hall.clock())
    return {"no_shows": no_shows, "purged": purged,
            "reminders": send_due(hall.store, hall.clock(), public_url=public_url)}


def upkeep_forever(hall, sleep, interval, public_url=""):
    """The background task: a failed round is logged and the next one tries again."""
    while True:
        try:
            run_upkeep(hall, public_url)
        except Exception:  # keep the task alive whatever one round met
            log.exception("booking upkeep failed")
        sleep(interval)
