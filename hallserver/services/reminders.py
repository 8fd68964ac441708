"""Reminder webhooks for appointments, and the hub's booking upkeep task.

Booking only queues rows in ``booking_reminders`` (see ``core.bookings``): no request ever
waits for a gateway. ``send_due(store, now)`` claims the reminders that are due (with a
lease, so two hub processes never send the same one), POSTs each to
``booking.reminder_url`` outside any transaction, and records the outcome: ``sent``; or
retried after 1, 2, 4 … minutes (at most an hour) until ``MAX_ATTEMPTS``, then ``failed``;
or ``dropped`` when the booking no longer waits for its citizen. ``upkeep_forever`` runs
no-show expiry, retention and ``send_due`` from a background task of ``hallserver serve``.

The payload carries the citizen's phone and name (the gateway has to reach them), an
``Idempotency-Key`` header that stays the same across retries, and, with
``booking.reminder_secret``, ``X-Hall-Signature: sha256=<HMAC of the body>``.

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

from ..core.bookings import public_booking

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


def reminder_text(config, booking, kind):
    """The message an SMS gateway can send as it is (Vietnamese, no diacritics lost)."""
    what = booking["procedure_name"] or booking["service_name"]
    when = "ngày mai" if kind == "day_before" else "hôm nay"
    day = "/".join(reversed(booking["day"].split("-")))
    return (f"{config.name}: nhắc lịch hẹn {what} lúc {booking['time']} {when} ({day}), mã {booking['code']}. "
            f"Vui lòng mang đủ giấy tờ và quét mã tại kiosk khi đến."
            + (f" Hỏi đáp: {config.hotline}." if config.hotline else ""))


def _payload(db, config, reminder, row):
    booking = public_booking(db, config, row)
    return {
        "id": f"reminder-{reminder['id']}",
        "kind": reminder["kind"],
        "hall": {"name": config.name, "hotline": config.hotline},
        "to": {"phone": row["phone"], "name": row["name"]},
        "booking": {key: booking[key] for key in ("code", "service", "service_name", "procedure", "procedure_name",
                                                  "slot", "day", "time", "starts_at", "check_in_from",
                                                  "check_in_until")},
        "text": reminder_text(config, booking, reminder["kind"]),
    }


def _claim(store, now):
    """Lease the due reminders and build their requests, in one short transaction."""
    jobs = []
    with store.transaction() as db:
        config = store.config()
        if not config.booking.reminder_url:
            return config, jobs
        for reminder in list(db.query(
                "SELECT * FROM booking_reminders WHERE status = 'pending' AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, id LIMIT ?", [now, BATCH])):
            row = next(db.query("SELECT * FROM bookings WHERE id = ?", [reminder["booking_id"]]))
            if row["status"] != "booked" or row["starts_at"] <= now or row["phone"] is None:
                db.execute("UPDATE booking_reminders SET status = 'dropped' WHERE id = ?", [reminder["id"]])
                continue
            attempts = reminder["attempts"] + 1
            db.execute("UPDATE booking_reminders SET attempts = ?, next_attempt_at = ? WHERE id = ?",
                       [attempts, now + LEASE_SECONDS, reminder["id"]])
            jobs.append((reminder, attempts, _payload(db, config, reminder, row)))
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
    payload = {
        "id": f"verification-{verification['id']}",
        "kind": "verification",
        "hall": {"name": config.name, "hotline": config.hotline},
        "to": {"phone": verification["phone"], "name": None},
        "code": verification["code"],
        "expires_in": minutes * 60,
        "text": verification_text(config, verification["code"], minutes),
    }
    body, headers = _request(config, payload)
    ok, error = post(config.booking.reminder_url, body, headers)
    if not ok:
        log.warning("verification code for a phone could not be sent: %s", error)
    return ok, error


def send_due(store, now, *, post=post_json):
    """Send every reminder due at ``now``; returns ``[{"id", "kind", "code", "ok", "error"}]``."""
    config, jobs = _claim(store, now)
    results = []
    for reminder, attempts, payload in jobs:
        body, headers = _request(config, payload)
        ok, error = post(config.booking.reminder_url, body, headers)
        results.append({"id": reminder["id"], "kind": reminder["kind"], "code": payload["booking"]["code"],
                        "attempts": attempts, "ok": ok, "error": error})
    if results:
        with store.transaction() as db:
            for result in results:
                if result["ok"]:
                    db.execute("UPDATE booking_reminders SET status = 'sent', sent_at = ?, last_error = NULL "
                               "WHERE id = ?", [now, result["id"]])
                elif result["attempts"] >= MAX_ATTEMPTS:
                    db.execute("UPDATE booking_reminders SET status = 'failed', last_error = ? WHERE id = ?",
                               [result["error"], result["id"]])
                else:
                    db.execute("UPDATE booking_reminders SET next_attempt_at = ?, last_error = ? WHERE id = ?",
                               [now + backoff(result["attempts"]), result["error"], result["id"]])
    for result in results:
        if not result["ok"]:
            log.warning("reminder %s for booking %s failed (try %s): %s", result["id"], result["code"],
                        result["attempts"], result["error"])
    return results


def run_upkeep(hall):
    """One round: no-shows, retention, due reminders."""
    no_shows, purged = hall.booking_upkeep()
    return {"no_shows": no_shows, "purged": purged, "reminders": send_due(hall.store, hall.clock())}


def upkeep_forever(hall, sleep, interval):
    """The background task: a failed round is logged and the next one tries again."""
    while True:
        try:
            run_upkeep(hall)
        except Exception:  # keep the task alive whatever one round met
            log.exception("booking upkeep failed")
        sleep(interval)
