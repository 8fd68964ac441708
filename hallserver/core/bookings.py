"""Appointments (lịch hẹn): slots, booking, cancel and move, check-in, no-shows, retention.

Slots come from the hall's ``[hours]`` cut into ``booking.slot_minutes`` pieces, for today
and ``booking.days_ahead`` more days, never on ``hours.holidays``. Each slot holds
``capacity(config, service)`` bookings; every function that writes runs inside the
caller's ``BEGIN IMMEDIATE`` transaction, so counting what a slot holds and inserting one
more is atomic even across processes: a slot is never oversold.

A booking lives ``booked → checked_in`` (it became a ticket, channel ``appointment``, due
at its slot), ``booked → cancelled``, or ``booked → no_show`` once its check-in window has
passed. Its code is its key: 8 characters without 0/O/1/I, shown as ``ABCD-EFGH``; cancel
and move also need the phone it was booked with. Names, phones and dossier codes are
personal data: only ``staff_view`` shows them (and ``staff_bookings`` logs who looked);
``purge_personal_data`` erases them after ``booking.retention_days``, keeping the counts.
"""

import csv
import hashlib
import io
import json
import re
import secrets
import unicodedata
from datetime import date, datetime, timedelta

from ..config import DAYS
from ..errors import Conflict, HallError, Invalid, NotFound
from . import verification as verifications
from .events import Outcome, record
from .procedures import find_procedure
from .tickets import find_service, issue_ticket, local_day, local_time, normalise_phone, visible_text

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
IMPORTED_CODE = re.compile(r"^[A-Z0-9]{4,20}$")
SLOT_PATTERN = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})$")
DOSSIER_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./_-]{0,39}$")
NAME_MAX = 100
MAX_MOVES = 3
# Statuses that hold a place in their slot (a no-show's place is in the past anyway).
HOLDING = ("booked", "checked_in", "no_show")
STATUSES = ("booked", "checked_in", "cancelled", "no_show")
IMPORT_HORIZON_DAYS = 366


class CheckInRefused(Conflict):
    """Too early or too late: the answer also names the service, so the kiosk can offer a
    normal ticket for it."""

    def __init__(self, message, message_en, *, code, service):
        super().__init__(message, message_en, code=code)
        self.service = service

    def as_dict(self):
        return dict(super().as_dict(), service=self.service)


# -- codes and slots --------------------------------------------------------------------

def normalise_code(text):
    """What was typed or scanned → the stored code: ``abcd-efgh`` → ``ABCDEFGH``. A scanned
    confirmation link (``…/dat-lich/ABCD-EFGH``) gives its last part."""
    if not isinstance(text, str):
        return ""
    text = text.strip().split("?", 1)[0].rstrip("/")
    if "/" in text:
        text = text.rsplit("/", 1)[1]
    return re.sub(r"[^A-Za-z0-9]", "", text).upper()[:32]


def display_code(code):
    """``ABCDEFGH`` → ``ABCD-EFGH`` for codes of ours; imported codes stay as they are."""
    ours = len(code) == CODE_LENGTH and all(char in CODE_ALPHABET for char in code)
    return f"{code[:4]}-{code[4:]}" if ours else code


def _new_code(db):
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if db.execute("SELECT 1 FROM bookings WHERE code = ?", [code]).fetchone() is None:
            return code


def capacity(config, service):
    """Bookings one slot of ``service`` holds (0: the service takes no bookings)."""
    own = find_service(config, service).booking_capacity
    return config.booking.capacity if own is None else own


def slot_starts(config, service, day):
    """Start minutes (past local midnight) of ``day``'s slots for ``service``."""
    if capacity(config, service) == 0 or day.isoformat() in config.holidays:
        return []
    length = config.booking.slot_minutes
    return [start for begin, end in config.hours.get(DAYS[day.weekday()], ())
            for start in range(begin, end - length + 1, length)]


def moment(config, day, minute):
    """Epoch seconds of ``minute`` past local midnight of ``day``."""
    return datetime(day.year, day.month, day.day, tzinfo=config.tz).timestamp() + minute * 60


def slot_id(day, minute):
    """``2026-11-27T09:00``: how slots are named in forms and the API."""
    return f"{day}T{minute // 60:02d}:{minute % 60:02d}"


def clock_text(minute):
    return f"{minute // 60:02d}:{minute % 60:02d}"


def parse_slot(value):
    """``"2026-11-27T09:00"`` → (date, minute past midnight)."""
    match = SLOT_PATTERN.match(value.strip()) if isinstance(value, str) else None
    try:
        if not match or int(match.group(2)) > 23 or int(match.group(3)) > 59:
            raise ValueError
        day = date.fromisoformat(match.group(1))
    except ValueError:
        raise Invalid(f"Khung giờ không hợp lệ: {value!r} (cần dạng 2026-11-27T09:00)",
                      f"Not a slot: {value!r} (expected e.g. 2026-11-27T09:00)", code="invalid_slot") from None
    return day, int(match.group(2)) * 60 + int(match.group(3))


def _when(day, minute):
    """("09:00 ngày 27/11/2026", "09:00 on 27/11/2026")."""
    return f"{clock_text(minute)} ngày {day:%d/%m/%Y}", f"{clock_text(minute)} on {day:%d/%m/%Y}"


def bookable_days(config, now):
    """Today and the ``days_ahead`` days after it, in the hall's calendar."""
    today = local_time(config, now).date()
    return [today + timedelta(days=offset) for offset in range(config.booking.days_ahead + 1)]


def _held(db, service, day, minute):
    return db.execute(
        f"SELECT COUNT(*) FROM bookings WHERE service = ? AND day = ? AND start_minute = ? "
        f"AND status IN ({', '.join('?' for _ in HOLDING)})", [service, str(day), minute, *HOLDING]).fetchone()[0]


def slot_days(db, config, *, service, now, unverified=False):
    """The bookable days of ``service`` and their future slots with the places left:
    ``[{"day", "closed": None | "holiday" | "closed", "slots": [{"slot", "time", "ends", "free"}]}]``;
    ``unverified``: the places left for a phone nobody verified (``booking.unverified_per_slot``)."""
    find_service(config, service)
    places = capacity(config, service)
    days = bookable_days(config, now)
    held = {(day, minute): count for day, minute, count in db.execute(
        f"SELECT day, start_minute, COUNT(*) FROM bookings WHERE service = ? AND day >= ? "
        f"AND status IN ({', '.join('?' for _ in HOLDING)}) GROUP BY day, start_minute",
        [service, str(days[0]), *HOLDING]).fetchall()}
    unverified_held = {(day, minute): count for day, minute, count in db.execute(
        f"SELECT day, start_minute, COUNT(*) FROM bookings WHERE service = ? AND day >= ? AND verified = 0 "
        f"AND status IN ({', '.join('?' for _ in HOLDING)}) GROUP BY day, start_minute",
        [service, str(days[0]), *HOLDING]).fetchall()} if unverified else {}

    def free(day, start):
        left = places - held.get((str(day), start), 0)
        if unverified:
            left = min(left, config.booking.unverified_per_slot - unverified_held.get((str(day), start), 0))
        return max(0, left)

    length = config.booking.slot_minutes
    result = []
    for day in days:
        starts = slot_starts(config, service, day)
        closed = "holiday" if str(day) in config.holidays else None if starts else "closed"
        result.append({"day": str(day), "closed": closed, "slots": [
            {"slot": slot_id(day, start), "time": clock_text(start), "ends": clock_text(start + length),
             "free": free(day, start)}
            for start in starts if moment(config, day, start) > now]})
    return result


def _check_slot(config, service, day, minute, now, *, horizon=None):
    """Refuse a slot that is not one of ``service``'s, is past, or is too far ahead."""
    service_config = find_service(config, service)
    if capacity(config, service) == 0:
        raise Conflict(f"Dịch vụ {service_config.name} không nhận đặt lịch hẹn",
                       f"{service_config.name_en} takes no appointments", code="not_bookable")
    when, when_en = _when(day, minute)
    today = local_time(config, now).date()
    last = today + timedelta(days=horizon if horizon is not None else config.booking.days_ahead)
    if str(day) in config.holidays:
        raise Conflict(f"Ngày {day:%d/%m/%Y} là ngày nghỉ lễ: không nhận lịch hẹn",
                       f"{day:%d/%m/%Y} is a public holiday: no appointments", code="holiday")
    if moment(config, day, minute) <= now:
        raise Conflict(f"Khung giờ {when} đã qua", f"The slot {when_en} has passed", code="slot_past")
    if day > last:
        raise Conflict(f"Chỉ nhận đặt lịch đến ngày {last:%d/%m/%Y}", f"Bookings are open until {last:%d/%m/%Y}",
                       code="too_far_ahead")
    if minute not in slot_starts(config, service, day):
        raise Invalid(f"Không có khung giờ {when} cho dịch vụ {service_config.name}",
                      f"{service_config.name_en} has no slot at {when_en}", code="not_a_slot")


# -- booking ----------------------------------------------------------------------------

def _row(db, column, value):
    rows = list(db.query(f"SELECT * FROM bookings WHERE {column} = ?", [value]))
    return rows[0] if rows else None


def _digest(*parts):
    return hashlib.sha256(json.dumps([str(part if part is not None else "").strip() for part in parts],
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def _idempotent_booking(db, *, key, request):
    """An idempotency key belongs to its requester (a token, or the public) and to the request
    that first used it: stored as ``(scoped key, digest of the request)``. The same key and
    request again: that booking; the same key with another request: 409 (never another
    requester's booking, nor the first booking for different details)."""
    existing = _row(db, "idempotency_key", key)
    if existing is None:
        return None
    if existing["idempotency_request"] != request:
        raise Conflict("Mã chống gửi trùng (idempotency_key) này đã được dùng cho một yêu cầu khác",
                       "This idempotency_key was already used for another request", code="idempotency_key_reused")
    return existing


def _text_field(value, name, name_vi, *, maximum, required):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(f"Thiếu {name_vi}", f"Missing {name}", code="missing_field")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name_vi.capitalize()} phải là chuỗi", f"{name} must be a string", code="wrong_type")
    # One spelling for one name: composed accents (a phone may send "e" + U+0301), and none of
    # the invisible format characters a copy carries
    value = unicodedata.normalize("NFC", visible_text(value))
    value = " ".join(value.split())
    if len(value) > maximum or any(ord(char) < 32 for char in value):
        raise Invalid(f"{name_vi.capitalize()} quá dài hoặc không hợp lệ", f"{name} is too long or invalid",
                      code="invalid_value")
    return value


def _service_and_procedure(db, config, service, procedure):
    if procedure:
        found = find_procedure(db, config, procedure)
        if service and service != found["service"]:
            raise Invalid(f"Thủ tục {found['name']} thuộc dịch vụ {found['service_name']}, không phải {service}",
                          f"Procedure {procedure} belongs to {found['service']}, not {service}",
                          code="service_mismatch")
        return found["service"], found["code"]
    if not service:
        raise Invalid("Hãy chọn thủ tục hoặc dịch vụ", "Choose a procedure or a service", code="missing_field")
    return find_service(config, service).code, None


def _active_clause(config, now):
    """Bookings still ahead of their citizen: booked, check-in window not yet passed."""
    return "status = 'booked' AND starts_at + ? >= ?", [config.booking.check_in_after_minutes * 60, now]


def _check_phone_caps(db, config, phone, service, now):
    clause, params = _active_clause(config, now)
    same = db.execute(f"SELECT COUNT(*) FROM bookings WHERE phone = ? AND service = ? AND {clause}",
                      [phone, service, *params]).fetchone()[0]
    limit = config.booking.per_phone_per_service
    if same >= limit:
        name = find_service(config, service)
        raise Conflict(
            f"Số điện thoại này đã có {same} lịch hẹn {name.name} chưa sử dụng (tối đa {limit}). "
            "Hãy đổi giờ hoặc hủy lịch cũ bằng mã lịch hẹn.",
            f"This phone already holds {same} unused {name.name_en} booking(s) (at most {limit}). "
            "Move or cancel it with its booking code.", code="phone_service_cap")
    total = db.execute(f"SELECT COUNT(*) FROM bookings WHERE phone = ? AND {clause}", [phone, *params]).fetchone()[0]
    if total >= config.booking.per_phone:
        raise Conflict(f"Số điện thoại này đã có {total} lịch hẹn chưa sử dụng (tối đa {config.booking.per_phone})",
                       f"This phone already holds {total} unused bookings (at most {config.booking.per_phone})",
                       code="phone_cap")


def _check_room(db, config, service, day, minute):
    if _held(db, service, day, minute) >= capacity(config, service):
        when, when_en = _when(day, minute)
        raise Conflict(f"Khung giờ {when} đã hết chỗ. Vui lòng chọn giờ khác.",
                       f"The slot {when_en} is full. Please choose another time.", code="slot_full")


def _check_unverified_room(db, config, service, day, minute):
    """A slot takes at most ``booking.unverified_per_slot`` public bookings from unverified phones."""
    taken = db.execute(f"SELECT COUNT(*) FROM bookings WHERE service = ? AND day = ? AND start_minute = ? "
                       f"AND verified = 0 AND status IN ({', '.join('?' for _ in HOLDING)})",
                       [service, str(day), minute, *HOLDING]).fetchone()[0]
    if taken >= config.booking.unverified_per_slot:
        when, when_en = _when(day, minute)
        raise Conflict(f"Khung giờ {when} đã hết chỗ đặt trực tuyến. Vui lòng chọn giờ khác hoặc gọi đường dây nóng.",
                       f"The slot {when_en} has no online places left. Please choose another time or call the "
                       "hotline.", code="slot_full_unverified")


def book(db, config, *, now, slot, name, phone, service=None, procedure=None, dossier_code=None, source="web",
         idempotency_key=None, challenge_nonce=None, caps=True, code=None, external_ref=None, horizon=None,
         verification=None, unverified=False, requester=None):
    """Book one place in a slot. The same ``idempotency_key`` again, from the same ``requester``
    (e.g. ``"token:7"``; by default the ``source``) for the same request, returns the first
    booking and changes nothing (a double submit, a client retry); for another request, 409
    ``idempotency_key_reused``."""
    request_digest = None
    if idempotency_key is not None:
        idempotency_key = _digest("idempotency", requester or source, idempotency_key)
        request_digest = _digest(service, procedure, slot, name, phone, dossier_code)
        existing = _idempotent_booking(db, key=idempotency_key, request=request_digest)
        if existing:
            return Outcome(existing, [])
    if external_ref is not None and _row(db, "external_ref", external_ref):
        raise Conflict(f"Lịch hẹn {external_ref} đã được nhập trước đó", f"Booking {external_ref} was already imported",
                       code="already_imported")
    if code is not None and _row(db, "code", code):
        raise Conflict(f"Mã lịch hẹn {code} đã có", f"Booking code {code} already exists", code="duplicate_code")
    service, procedure = _service_and_procedure(db, config, service, procedure)
    day, minute = parse_slot(slot)
    _check_slot(config, service, day, minute, now, horizon=horizon)
    name = _text_field(name, "name", "họ và tên", maximum=NAME_MAX, required=True)
    phone = normalise_phone(phone)
    if phone is None:
        raise Invalid("Thiếu số điện thoại", "Missing phone number", code="missing_field")
    dossier_code = _text_field(dossier_code, "dossier code", "mã hồ sơ", maximum=40, required=False)
    if dossier_code and not DOSSIER_PATTERN.match(dossier_code):
        raise Invalid(f"Mã hồ sơ không hợp lệ: {dossier_code}", f"Not a dossier code: {dossier_code}",
                      code="invalid_dossier_code")
    if caps:
        _check_phone_caps(db, config, phone, service, now)
    elif db.execute("SELECT 1 FROM bookings WHERE phone = ? AND service = ? AND day = ? AND start_minute = ? "
                    "AND status != 'cancelled'", [phone, service, str(day), minute]).fetchone():
        raise Conflict("Trùng lịch hẹn: cùng số điện thoại, dịch vụ và khung giờ",
                       "Duplicate booking: same phone, service and slot", code="duplicate_booking")
    _check_room(db, config, service, day, minute)
    if verification is not None:       # a public booking from a phone that confirmed its code
        verifications.use(db, config, verification=verification, phone=phone, now=now)
    elif unverified:                   # a public booking where the hall cannot send codes
        _check_unverified_room(db, config, service, day, minute)
    if challenge_nonce is not None:
        if db.execute("SELECT 1 FROM booking_challenges_used WHERE nonce = ?", [challenge_nonce]).fetchone():
            raise Conflict("Câu hỏi kiểm tra đã được dùng; hãy trả lời câu hỏi mới",
                           "This check question was already used; answer the new one", code="challenge_used")
        db["booking_challenges_used"].insert({"nonce": challenge_nonce, "at": now})
    starts_at = moment(config, day, minute)
    cursor = db.execute(
        "INSERT INTO bookings (code, service, procedure, day, start_minute, starts_at, ends_at, status, name, phone, "
        "dossier_code, source, idempotency_key, external_ref, created_at, updated_at, moves) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'booked', ?, ?, ?, ?, ?, ?, ?, ?, 0)",
        [code or _new_code(db), service, procedure, str(day), minute, starts_at,
         starts_at + config.booking.slot_minutes * 60, name, phone, dossier_code, source, idempotency_key,
         external_ref, now, now])
    if verification is not None or unverified:
        db.execute("UPDATE bookings SET verified = ? WHERE id = ?",
                   [0 if verification is None else 1, cursor.lastrowid])
    if request_digest is not None:
        db.execute("UPDATE bookings SET idempotency_request = ? WHERE id = ?", [request_digest, cursor.lastrowid])
    booking = _row(db, "id", cursor.lastrowid)
    _schedule_reminders(db, config, booking, now)
    return Outcome(booking, [_booking_event(db, "booking_created", booking, now, source=source)])


def _booking_event(db, kind, booking, now, **data):
    """Booking events carry no personal data and no code: the log and pushes are not secret."""
    return record(db, kind, now, service=booking["service"],
                  data={"booking": booking["id"], "slot": slot_id(booking["day"], booking["start_minute"]), **data})


def _reminders_due(config, booking, now):
    """``[(kind, epoch seconds)]``: the reminders a booked booking still gets (the day before,
    shortly before); one already due at ``now`` is pointless."""
    settings = config.booking
    if not settings.reminder_url or booking["status"] != "booked":
        return []
    due = []
    if settings.reminder_day_before is not None:
        previous = date.fromisoformat(booking["day"]) - timedelta(days=1)
        due.append(("day_before", moment(config, previous, settings.reminder_day_before)))
    if settings.reminder_minutes_before:
        due.append(("soon", booking["starts_at"] - settings.reminder_minutes_before * 60))
    return [(kind, at) for kind, at in due if now < at < booking["starts_at"]]


def _schedule_reminders(db, config, booking, now):
    """Queue the reminder webhooks of a booking: the day before and shortly before."""
    db.execute("UPDATE booking_reminders SET status = 'cancelled' WHERE booking_id = ? AND status = 'pending'",
               [booking["id"]])
    for kind, at in _reminders_due(config, booking, now):
        db["booking_reminders"].insert({"booking_id": booking["id"], "kind": kind, "due_at": at,
                                        "status": "pending", "attempts": 0, "next_attempt_at": at})


def unreminded_bookings(db, config, now):
    """Booked bookings ahead that never had a reminder queued though one is still due: made
    while the hall had no ``booking.reminder_url`` (or its reminders turned off)."""
    if not config.booking.reminder_url:   # no gateway: nothing is due, and no round need read the bookings
        return []
    return [booking for booking in db.query(
        "SELECT * FROM bookings WHERE status = 'booked' AND day >= ? AND starts_at > ? "
        "AND id NOT IN (SELECT booking_id FROM booking_reminders)", [local_day(config, now), now])
        if _reminders_due(config, booking, now)]


def schedule_missing_reminders(db, config, *, now, ids):
    """Queue the reminders of the bookings ``ids`` found by ``unreminded_bookings`` (checked
    again in this transaction); how many were queued."""
    queued = 0
    for booking_id in ids:
        booking = _row(db, "id", booking_id)
        if booking and not db.execute("SELECT 1 FROM booking_reminders WHERE booking_id = ?", [booking_id]).fetchone():
            _schedule_reminders(db, config, booking, now)
            queued += 1
    return queued


def find_booking(db, code):
    """The booking with this code (typed, scanned or as displayed), or NotFound."""
    booking = _row(db, "code", normalise_code(code)) if normalise_code(code) else None
    if booking is None:
        raise NotFound("Không tìm thấy lịch hẹn với mã này", "No booking with this code", code="booking_not_found")
    return booking


def _owned_booking(db, code, phone):
    """The booking, when ``phone`` is the one it was made with (the second factor)."""
    try:
        booking = find_booking(db, code)
        given = normalise_phone(phone)
    except HallError:
        booking, given = None, None
    if booking is None or given is None or booking["phone"] != given:
        # The same answer for a wrong code and a wrong phone: nothing to probe.
        raise NotFound("Không tìm thấy lịch hẹn với mã và số điện thoại này",
                       "No booking with this code and phone number", code="booking_not_found")
    return booking


STATUS_TEXT = {"booked": ("đang chờ", "booked"), "checked_in": ("đã được tiếp nhận", "checked in"),
               "cancelled": ("đã hủy", "cancelled"), "no_show": ("đã quá giờ", "past its time")}


def _still_open(config, booking, now, action, action_en):
    overdue = booking["starts_at"] + config.booking.check_in_after_minutes * 60 < now
    if booking["status"] != "booked" or overdue:
        status, status_en = STATUS_TEXT["no_show" if overdue and booking["status"] == "booked" else booking["status"]]
        raise Conflict(f"Lịch hẹn {status}: không {action} được",
                       f"The booking is {status_en}: it cannot be {action_en}", code="not_changeable")


def cancel_booking(db, config, *, code, now, phone=None, by_staff=False):
    """Cancel a booking: a citizen with the code and its phone, or staff with the code."""
    booking = find_booking(db, code) if by_staff else _owned_booking(db, code, phone)
    _still_open(config, booking, now, "hủy", "cancelled")
    db.execute("UPDATE bookings SET status = 'cancelled', updated_at = ? WHERE id = ?", [now, booking["id"]])
    booking = _row(db, "id", booking["id"])
    _schedule_reminders(db, config, booking, now)
    event = _booking_event(db, "booking_cancelled", booking, now, by="staff" if by_staff else "citizen")
    return Outcome(booking, [event])


def move_slot_days(db, config, now, code):
    """``slot_days`` for moving this booking: the places it may take, as ``move_booking``
    counts them (a public booking from an unverified phone only where the slot still takes one)."""
    booking = find_booking(db, code)
    return slot_days(db, config, service=booking["service"], now=now, unverified=booking["verified"] == 0)


def move_booking(db, config, *, code, phone, slot, now):
    """Move a booking to another slot of its service (code + phone), at most MAX_MOVES times."""
    booking = _owned_booking(db, code, phone)
    _still_open(config, booking, now, "đổi giờ", "moved")
    day, minute = parse_slot(slot)
    if (str(day), minute) == (booking["day"], booking["start_minute"]):
        return Outcome(booking, [])
    if booking["moves"] >= MAX_MOVES:
        raise Conflict(f"Lịch hẹn đã đổi giờ {MAX_MOVES} lần; hãy hủy và đặt lịch mới",
                       f"The booking was moved {MAX_MOVES} times; cancel it and book again", code="move_limit")
    _check_slot(config, booking["service"], day, minute, now)
    _check_room(db, config, booking["service"], day, minute)
    if booking["verified"] == 0:
        _check_unverified_room(db, config, booking["service"], day, minute)
    starts_at = moment(config, day, minute)
    db.execute("UPDATE bookings SET day = ?, start_minute = ?, starts_at = ?, ends_at = ?, moves = moves + 1, "
               "updated_at = ? WHERE id = ?",
               [str(day), minute, starts_at, starts_at + config.booking.slot_minutes * 60, now, booking["id"]])
    moved = _row(db, "id", booking["id"])
    _schedule_reminders(db, config, moved, now)
    return Outcome(moved, [_booking_event(db, "booking_moved", moved, now,
                                          previous=slot_id(booking["day"], booking["start_minute"]))])


# -- check-in -----------------------------------------------------------------------------

def check_in_window(config, booking):
    """(first, last) epoch seconds at which the booking can be checked in."""
    settings = config.booking
    return (booking["starts_at"] - settings.check_in_before_minutes * 60,
            booking["starts_at"] + settings.check_in_after_minutes * 60)


IN_LINE = ("waiting", "called", "serving")


def _ticket_used_up(config, ticket, now, service):
    """The refusal for a booking whose ticket no longer stands in today's line: numbers start
    again every day, so yesterday's 1001 is someone else's today, and a finished one calls nobody."""
    number = ticket["number"]
    if ticket["day"] != local_day(config, now):
        day = f"{date.fromisoformat(ticket['day']):%d/%m/%Y}"
        message = (f"Lịch hẹn này đã nhận số {number} ngày {day}; số đó chỉ có giá trị trong ngày. "
                   "Bạn có thể lấy số thường.",
                   f"This booking was given number {number} on {day}; numbers are valid on their day only. "
                   "You can take a normal ticket.")
    elif ticket["status"] == "no_show":
        message = (f"Số {number} của lịch hẹn này đã được mời nhưng bạn vắng mặt. Hãy báo cán bộ tại quầy số "
                   f"{ticket['counter']} để được gọi lại, hoặc lấy số thường.",
                   f"Number {number} of this booking was called while you were away. Tell the staff at counter "
                   f"{ticket['counter']} to be called again, or take a normal ticket.")
    elif ticket["status"] == "done":
        message = (f"Lịch hẹn này đã được phục vụ xong (số {number}). Cần làm thêm thủ tục, bạn có thể lấy số thường.",
                   f"This booking was already served (number {number}). For another matter, take a normal ticket.")
    else:   # cancelled on the tracking page, or expired at the day's end
        message = (f"Số {number} của lịch hẹn này đã hủy hoặc hết hạn. Bạn có thể lấy số thường.",
                   f"Number {number} of this booking was cancelled or has expired. You can take a normal ticket.")
    return CheckInRefused(*message, code="too_late", service=service)


def check_in(db, config, *, code, now, by="kiosk"):
    """Turn a booking into a ticket (channel ``appointment``, due at its slot) within its
    window. A booking already checked in answers its ticket again (a second scan) while that
    ticket stands in today's line; once it is finished or its day is over, it is refused."""
    booking = find_booking(db, code)
    service = find_service(config, booking["service"])
    if booking["status"] == "checked_in":
        ticket = next(db.query("SELECT * FROM tickets WHERE id = ?", [booking["ticket_id"]]))
        if ticket["status"] not in IN_LINE or ticket["day"] != local_day(config, now):
            raise _ticket_used_up(config, ticket, now, service.code)
        return Outcome({"booking": booking, "ticket": ticket, "again": True}, [])
    if booking["status"] == "cancelled":
        raise CheckInRefused("Lịch hẹn này đã bị hủy. Bạn có thể lấy số thường.",
                             "This booking was cancelled. You can take a normal ticket.",
                             code="booking_cancelled", service=service.code)
    day = date.fromisoformat(booking["day"])
    when, when_en = _when(day, booking["start_minute"])
    first, last = check_in_window(config, booking)
    today = local_time(config, now).date()
    if now < first:
        opens = local_time(config, first).strftime("%H:%M")
        if day == today:
            message = (f"Bạn đến sớm: lịch hẹn lúc {clock_text(booking['start_minute'])}. Kiosk nhận lịch hẹn từ "
                       f"{opens}. Bạn có thể chờ đến giờ đó hoặc lấy số thường ngay.",
                       f"You are early: your appointment is at {clock_text(booking['start_minute'])}. Check-in opens "
                       f"at {opens}. Wait until then, or take a normal ticket now.")
        else:
            message = (f"Lịch hẹn của bạn vào {when}, không phải hôm nay. Bạn có thể lấy số thường.",
                       f"Your appointment is at {when_en}, not today. You can take a normal ticket.")
        raise CheckInRefused(*message, code="too_early", service=service.code)
    if now > last or booking["status"] == "no_show":
        until = local_time(config, last).strftime("%H:%M")
        raise CheckInRefused(
            f"Đã quá giờ nhận lịch hẹn ({when}, nhận đến {until}). Lịch hẹn không còn hiệu lực; "
            "bạn có thể lấy số thường.",
            f"Too late for this appointment ({when_en}, check-in until {until}). You can take a normal ticket.",
            code="too_late", service=service.code)
    outcome = issue_ticket(db, config, service=service.code, channel="appointment", now=now,
                           due_at=booking["starts_at"], booking_id=booking["id"])
    db.execute("UPDATE bookings SET status = 'checked_in', checked_in_at = ?, ticket_id = ?, updated_at = ? "
               "WHERE id = ?", [now, outcome.result["id"], now, booking["id"]])
    booking = _row(db, "id", booking["id"])
    _schedule_reminders(db, config, booking, now)
    events = outcome.events + [_booking_event(db, "booking_checked_in", booking, now, by=by,
                                              ticket=outcome.result["number"])]
    return Outcome({"booking": booking, "ticket": outcome.result, "again": False}, events)


def expire_overdue(db, config, *, now):
    """Bookings whose check-in window has passed become no-shows (counted in reports)."""
    events = []
    for booking in list(db.query("SELECT * FROM bookings WHERE status = 'booked' AND starts_at + ? < ? ORDER BY id",
                                 [config.booking.check_in_after_minutes * 60, now])):
        db.execute("UPDATE bookings SET status = 'no_show', updated_at = ? WHERE id = ?", [now, booking["id"]])
        booking = _row(db, "id", booking["id"])
        _schedule_reminders(db, config, booking, now)
        events.append(_booking_event(db, "booking_no_show", booking, now))
    return Outcome(len(events), events)


def purge_personal_data(db, config, *, now):
    """Erase names, phones and dossier codes of bookings (and phones of numbers taken from
    home) older than ``booking.retention_days``; the rows, statuses and counts stay."""
    cutoff = str(local_time(config, now).date() - timedelta(days=config.booking.retention_days))
    purged = db.execute("UPDATE bookings SET name = NULL, phone = NULL, dossier_code = NULL, idempotency_key = NULL, "
                        "idempotency_request = NULL, purged_at = ? WHERE day < ? AND purged_at IS NULL",
                        [now, cutoff]).rowcount
    db.execute("UPDATE ticket_contacts SET phone = NULL WHERE day < ? AND phone IS NOT NULL", [cutoff])
    db.execute("DELETE FROM booking_reminders WHERE status != 'pending' AND booking_id IN "
               "(SELECT id FROM bookings WHERE purged_at IS NOT NULL)")
    db.execute("DELETE FROM booking_challenges_used WHERE at < ?", [now - 86400])
    verifications.purge(db, now)
    return Outcome(purged, [])


def booking_figures(db, *, start_day, end_day):
    """Bookings whose slot falls on ``start_day``..``end_day`` (ISO local days), per service
    and status, for reports: ``{service: {"booked", "checked_in", "cancelled", "no_show",
    "total"}}``. Counts survive the retention purge."""
    figures = {}
    for service, status, count in db.execute(
            "SELECT service, status, COUNT(*) FROM bookings WHERE day BETWEEN ? AND ? GROUP BY service, status",
            [start_day, end_day]).fetchall():
        figures.setdefault(service, dict.fromkeys(STATUSES, 0))[status] = count
    for entry in figures.values():
        entry["total"] = sum(entry[status] for status in STATUSES)
    return figures


# -- who sees what ----------------------------------------------------------------------------

def _iso(config, timestamp):
    return None if timestamp is None else datetime.fromtimestamp(timestamp, config.tz).isoformat(timespec="seconds")


def public_booking(db, config, booking):
    """A booking as its holder and the public API see it: no name, phone or dossier code."""
    service = next((s for s in config.services if s.code == booking["service"]), None)
    procedure = db.execute("SELECT name, name_en FROM procedures WHERE code = ?", [booking["procedure"]]).fetchone()
    ticket = None
    if booking["ticket_id"] is not None:
        number, status = db.execute("SELECT number, status FROM tickets WHERE id = ?",
                                    [booking["ticket_id"]]).fetchone()
        ticket = {"number": number, "status": status}
    first, last = check_in_window(config, booking)
    return {
        "code": display_code(booking["code"]),
        "status": booking["status"],
        "service": booking["service"],
        "service_name": service.name if service else booking["service"],
        "service_name_en": service.name_en if service else booking["service"],
        "procedure": booking["procedure"],
        "procedure_name": procedure[0] if procedure else None,
        "procedure_name_en": procedure[1] if procedure else None,
        "slot": slot_id(booking["day"], booking["start_minute"]),
        "day": booking["day"],
        "time": clock_text(booking["start_minute"]),
        "ends": local_time(config, booking["ends_at"]).strftime("%H:%M"),
        "starts_at": _iso(config, booking["starts_at"]),
        "check_in_from": _iso(config, first),
        "check_in_until": _iso(config, last),
        "ticket": ticket,
    }


def staff_view(db, config, booking):
    """A booking with its personal data, for the staff who receive the citizen."""
    return dict(public_booking(db, config, booking), name=booking["name"], phone=booking["phone"],
                dossier_code=booking["dossier_code"], source=booking["source"],
                created_at=_iso(config, booking["created_at"]), purged=booking["purged_at"] is not None)


def staff_bookings(db, config, *, day, services, who, role, now):
    """A day's bookings (today by default) of ``services`` with personal data; the access is logged."""
    day = day or local_day(config, now)
    placeholders = ", ".join("?" for _ in services)
    rows = list(db.query(f"SELECT * FROM bookings WHERE day = ? AND service IN ({placeholders}) "
                         "ORDER BY starts_at, id", [day, *services])) if services else []
    db["booking_access_log"].insert({"at": now, "who": who, "role": role, "action": "list",
                                     "detail": f"{day} {','.join(services)}", "rows": len(rows)})
    return Outcome([staff_view(db, config, row) for row in rows], [])


# -- import ---------------------------------------------------------------------------------

IMPORT_COLUMNS = ("service", "procedure", "slot", "date", "time", "name", "phone", "dossier_code", "code", "ref")


def _import_fields(mapping):
    """One imported row → ``book`` arguments. Unknown columns are ignored (exports carry more)."""
    values = {}
    for column in IMPORT_COLUMNS:
        value = mapping.get(column)
        if isinstance(value, int) and not isinstance(value, bool):   # JSON numbers: a phone, a ref
            value = str(value)
        if value is not None and not isinstance(value, str):
            raise Invalid(f"Cột {column!r} phải là chuỗi", f"Column {column!r} must be text", code="wrong_type")
        values[column] = value.strip() if value and value.strip() else None
    slot = values["slot"] or (f"{values['date']}T{values['time']}" if values["date"] and values["time"] else None)
    if slot is None:
        raise Invalid("Thiếu khung giờ (cột slot, hoặc date và time)", "Missing slot (column slot, or date and time)",
                      code="missing_field")
    code = None
    if values["code"]:
        code = normalise_code(values["code"])
        if not IMPORTED_CODE.match(code):
            raise Invalid(f"Mã lịch hẹn không hợp lệ: {values['code']!r} (4-20 chữ cái, chữ số)",
                          f"Not a booking code: {values['code']!r} (4-20 letters and digits)", code="invalid_code")
    return {"service": values["service"], "procedure": values["procedure"], "slot": slot, "name": values["name"],
            "phone": values["phone"], "dossier_code": values["dossier_code"], "code": code,
            "external_ref": values["ref"]}


def parse_import(text, kind):
    """A CSV (header row; ``,`` or ``;``) or JSON (a list, or ``{"rows": [...]}``) export →
    ``[(row number, mapping)]``: CSV rows are numbered by their line in the file, JSON
    rows from 1."""
    text = text.lstrip("\ufeff")
    if kind == "json":
        try:
            data = json.loads(text)
        except ValueError as error:
            raise Invalid(f"JSON không hợp lệ: {error}", f"Invalid JSON: {error}", code="malformed_json") from None
        if isinstance(data, dict) and set(data) == {"rows"}:
            data = data["rows"]
        if not isinstance(data, list):
            raise Invalid("Cần một danh sách các dòng", "Expected a list of rows", code="malformed_import")
        return list(enumerate(data, start=1))
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    if not reader.fieldnames:
        raise Invalid("Tệp CSV trống", "The CSV file is empty", code="malformed_import")
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
    rows, first_line = [], 2
    for row in reader:
        values = {key: value for key, value in row.items() if key is not None}
        # no field of a booking spans lines: a quote left open took the rows after it into one field
        if any(isinstance(value, str) and ("\n" in value or "\r" in value) for value in values.values()):
            raise Invalid(f"Tệp CSV có dấu ngoặc kép chưa đóng từ dòng {first_line}: không nhập dòng nào",
                          f"The CSV file has a quote left open from line {first_line}: nothing was imported",
                          code="malformed_import")
        rows.append((reader.line_num, values))
        first_line = reader.line_num + 1
    return rows


def import_bookings(db, config, *, rows, now):
    """Import bookings made elsewhere: ``rows`` is ``[(row number, mapping)]``. Every row is
    checked like a booking (slot, capacity, phone; per-phone caps are the other system's
    business); bad rows are reported with their reason, the rest are imported."""
    imported, rejected, events = [], [], []
    for number, mapping in rows:
        db.execute("SAVEPOINT import_row")
        try:
            if not isinstance(mapping, dict):
                raise Invalid("Dòng phải là một đối tượng", "A row must be an object", code="wrong_type")
            outcome = book(db, config, now=now, source="import", caps=False, horizon=IMPORT_HORIZON_DAYS,
                           **_import_fields(mapping))
        except HallError as error:
            db.execute("ROLLBACK TO import_row")
            rejected.append({"row": number, **error.as_dict()})
        else:
            imported.append({"row": number, "code": display_code(outcome.result["code"]),
                             "slot": slot_id(outcome.result["day"], outcome.result["start_minute"])})
            events += outcome.events
        db.execute("RELEASE import_row")
    return Outcome({"imported": imported, "rejected": rejected}, events)
