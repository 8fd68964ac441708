"""Tickets and counters: issuing, the call-next policy and every counter action.

Ticket life: waiting → called → serving → done; called → no_show (reinstatable the
same day); waiting/called → waiting in another service (transferred, number kept);
waiting/called → cancelled; anything unfinished → expired after its day.
"""

import json
import re
import secrets
import unicodedata
from datetime import datetime

from .. import voice
from ..errors import Conflict, Invalid, NotFound
from .events import Outcome, record

CHANNELS = ("kiosk", "online", "staff", "appointment")


def local_time(config, now):
    return datetime.fromtimestamp(now, config.tz)


def local_day(config, now):
    """The hall's calendar day for ``now``, as ``YYYY-MM-DD``."""
    return local_time(config, now).date().isoformat()


def is_holiday(config, now):
    """True on a day of ``hours.holidays``."""
    return local_day(config, now) in config.holidays


def is_open(config, now):
    """True when ``now`` falls inside the hall's working hours, never on a holiday (the
    estimates, the booking calendar and the kiosk all see the hall closed that day)."""
    if is_holiday(config, now):
        return False
    moment = local_time(config, now)
    day = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[moment.weekday()]
    minute = moment.hour * 60 + moment.minute
    return any(start <= minute < end for start, end in config.hours.get(day, ()))


def find_service(config, code):
    for service in config.services:
        if service.code == code:
            return service
    raise Invalid(f"Không có dịch vụ {code!r}", f"Unknown service {code!r}", code="unknown_service")


def find_counter(config, number):
    for counter in config.counters:
        if counter.number == number:
            return counter
    raise NotFound(f"Không có quầy số {number}", f"Unknown counter {number}", code="unknown_counter")


def _ticket(db, ticket_id):
    return next(db.query("SELECT * FROM tickets WHERE id = ?", [ticket_id]))


def _set_ticket(db, ticket_id, **values):
    assignments = ", ".join(f"{column} = ?" for column in values)
    db.execute(f"UPDATE tickets SET {assignments} WHERE id = ?", [*values.values(), ticket_id])
    return _ticket(db, ticket_id)


def _counter_row(db, config, number):
    find_counter(config, number)
    return next(db.query("SELECT * FROM counters WHERE number = ?", [number]))


def _set_counter(db, number, **values):
    assignments = ", ".join(f"{column} = ?" for column in values)
    db.execute(f"UPDATE counters SET {assignments} WHERE number = ?", [*values.values(), number])


# What an undoable event remembers of the ticket and the counter, to put them back.
TICKET_STATE = ("status", "service", "counter", "called_at", "started_at", "finished_at", "requeued_at", "recalls",
                "transferred_from")
COUNTER_STATE = ("current_ticket", "priority_streak")


def _before(ticket, counter_row):
    """The state an undo restores: the ticket's and its counter's, before the change."""
    return {"ticket": {column: ticket[column] for column in TICKET_STATE},
            "counter": {column: counter_row[column] for column in COUNTER_STATE}}


def _ended(config, now, include_today=False):
    """SQL (and its parameters) selecting tickets whose day is over: earlier days, today's
    waiting ones once ``policy.close_at`` has passed (those taken before it), or all of today's.
    A citizen called or being served at closing time stays at the desk until the counter is
    done (or the day ends): expiring them would leave the clerk a desk with "no ticket". So
    does one a counter sends back to a line after closing (transferred, or a no-show
    reinstated): a clerk's decision that they are still served today."""
    today = local_day(config, now)
    if include_today:
        return "day <= ?", [today]
    close_at = config.policy.close_at
    if close_at is not None:
        moment = local_time(config, now)
        closing = moment.replace(hour=close_at // 60 % 24, minute=close_at % 60, second=0, microsecond=0)
        if close_at < 24 * 60 and now >= closing.timestamp():
            return ("(day < ? OR (day = ? AND issued_at < ? AND status = 'waiting' AND COALESCE(requeued_at, 0) < ?))",
                    [today, today, closing.timestamp(), closing.timestamp()])
    return "day < ?", [today]


def _expire_if_stale(db, config, now):
    """Lazily end the day's queue on the first action after it ended."""
    condition, parameters = _ended(config, now)
    stale = db.execute(
        f"SELECT 1 FROM tickets WHERE status IN ('waiting', 'called', 'serving') AND {condition} LIMIT 1", parameters
    ).fetchone()
    return expire_before(db, config, now=now).events if stale else []


# -- issuing ------------------------------------------------------------------

def _check_served(config, service):
    """Refuse to put a ticket in a line no counter calls (a hall may list a service before any
    counter serves it): the citizen would wait for ever."""
    if not any(service.code in counter.services for counter in config.counters):
        raise Conflict(f"Chưa có quầy nào phục vụ {service.name}: không nhận số vào hàng này",
                       f"No counter serves {service.name_en} yet: no tickets for it", code="no_counter")


def issue_ticket(db, config, *, service, priority=None, channel="kiosk", now, due_at=None, booking_id=None):
    """Allocate the next number of ``service`` for today and put it in the queue.

    A checked-in booking (channel ``appointment``) carries ``due_at``, its slot's start, for
    the call-next policy; its slot already passed the hours, so it skips the hours and the
    daily cap (checking in 30 minutes before opening is allowed).
    """
    service_config = find_service(config, service)
    booked = channel == "appointment"
    if priority is not None and priority not in {category.code for category in config.priorities}:
        raise Invalid(f"Không có diện ưu tiên {priority!r}", f"Unknown priority category {priority!r}",
                      code="unknown_priority")
    if channel not in CHANNELS:
        raise Invalid(f"Kênh không hợp lệ {channel!r}", f"Unknown channel {channel!r}", code="unknown_channel")
    _check_served(config, service_config)
    if not booked and not is_open(config, now):
        if is_holiday(config, now):
            raise Conflict("Hôm nay là ngày nghỉ lễ: không cấp số", "Today is a holiday: no tickets",
                           code="outside_hours")
        raise Conflict("Ngoài giờ làm việc: không cấp số", "Outside working hours: no tickets now",
                       code="outside_hours")
    events = _expire_if_stale(db, config, now)
    today = local_day(config, now)
    row = db.execute(
        "SELECT last_value, issued FROM daily_numbers WHERE service = ? AND day = ?", [service, today]
    ).fetchone()
    last_value, issued = row if row else (service_config.block_start - 1, 0)
    if not booked and service_config.daily_cap is not None and issued >= service_config.daily_cap:
        raise Conflict(
            f"Dịch vụ {service_config.name} đã hết số hôm nay ({service_config.daily_cap} số)",
            f"{service_config.name_en}: today's cap of {service_config.daily_cap} tickets is reached",
            code="cap_reached",
        )
    value = last_value + 1
    if value > service_config.block_end:
        raise Conflict(
            f"Dịch vụ {service_config.name} đã dùng hết dãy số hôm nay",
            f"{service_config.name_en}: today's number block is used up",
            code="block_exhausted",
        )
    db.execute(
        "INSERT INTO daily_numbers (service, day, last_value, issued) VALUES (?, ?, ?, 1) "
        "ON CONFLICT (service, day) DO UPDATE SET last_value = excluded.last_value, issued = issued + 1",
        [service, today, value],
    )
    number = service_config.format_number(value)
    cursor = db.execute(
        "INSERT INTO tickets (day, number, value, service, origin_service, priority, channel, status, "
        "track_token, issued_at, recalls, due_at, booking_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'waiting', ?, ?, 0, ?, ?)",
        [today, number, value, service, service, priority, channel, secrets.token_urlsafe(18), now, due_at,
         booking_id],
    )
    ticket = _ticket(db, cursor.lastrowid)
    events.append(record(db, "issued", now, ticket=ticket, service=service,
                         data={"number": number, "priority": priority, "channel": channel}))
    return Outcome(ticket, events)


PHONE_PATTERN = re.compile(r"^0[0-9]{9}$")   # ASCII digits only: \d would take ٣ and ３ too


# A phone's full-width keyboard types ０-９: the same digits. Other scripts' digits and
# superscripts (٣, ², ①) are not numbers here.
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def ascii_number(text, maximum=10**9):
    """``text`` as a whole number when it is ASCII digits (full-width ones count) no larger
    than ``maximum``; None otherwise (², ٣, 10**20 are not numbers here)."""
    if not isinstance(text, str):
        return None
    text = text.translate(FULL_WIDTH_DIGITS).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


# How a number is written: separators people type, and the country code in its forms
# (+84, 0084, with the trunk 0 kept as in "+84 (0) 912 345 678").
PHONE_SEPARATORS = re.compile(r"[\s.()-]")
COUNTRY_PREFIXES = ("+84", "0084")
SHOWN_PHONE_MAX = 20   # a refusal quotes at most this much of what was typed


def visible_text(text):
    """``text`` without invisible format characters (Unicode Cf): a number or a name copied from
    a phone's contacts or a chat arrives wrapped in direction marks (U+202A … U+202C, U+202E
    shows it reversed) or with zero-width spaces, which look like nothing to the citizen."""
    return "".join(char for char in text if unicodedata.category(char) != "Cf")


def normalise_phone(phone):
    """A Vietnamese mobile or landline number as 10 digits starting with 0, or None."""
    typed = visible_text(str(phone)).strip() if phone is not None else ""
    if not typed:
        return None
    digits = PHONE_SEPARATORS.sub("", typed.translate(FULL_WIDTH_DIGITS))
    prefix = next((prefix for prefix in COUNTRY_PREFIXES if digits.startswith(prefix)), None)
    if prefix:
        digits = "0" + digits[len(prefix):].removeprefix("0")
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not PHONE_PATTERN.match(digits):
        shown = typed if len(typed) <= SHOWN_PHONE_MAX else typed[:SHOWN_PHONE_MAX] + "…"
        raise Invalid(f"Số điện thoại không hợp lệ: {shown}", f"Not a phone number: {shown}", code="invalid_phone")
    return digits


def _within_daily_cap(db, today, column, value, cap, who, *, code):
    """Refuse a number from home when ``column = value`` already took ``cap`` today."""
    taken = db.execute(f"SELECT COUNT(*) FROM ticket_contacts WHERE day = ? AND {column} = ?",
                       [today, value]).fetchone()[0]
    if taken >= cap:
        raise Conflict(f"{who[0]} đã lấy {taken} số hôm nay (tối đa {cap})",
                       f"{who[1]} already took {taken} numbers today (at most {cap})", code=code)


def issue_remote_ticket(db, config, *, service, now, phone=None, address_hash):
    """A number taken from home: the same queue rules, plus caps per phone and per address."""
    phone = normalise_phone(phone)
    today = local_day(config, now)
    if phone is not None:
        _within_daily_cap(db, today, "phone", phone, config.policy.remote_per_phone,
                          ("Số điện thoại này", "This phone"), code="phone_cap_reached")
    _within_daily_cap(db, today, "address_hash", address_hash, config.policy.remote_per_address,
                      ("Thiết bị này", "This device"), code="address_cap_reached")
    outcome = issue_ticket(db, config, service=service, channel="online", now=now)
    db["ticket_contacts"].insert({"ticket_id": outcome.result["id"], "day": today, "phone": phone,
                                  "address_hash": address_hash})
    return outcome


def availability(db, config, now):
    """{service code: None if a ticket can be issued now, else why not}."""
    if not is_open(config, now):
        return {service.code: "outside_hours" for service in config.services}
    used = dict((service, (last_value, issued)) for service, last_value, issued in db.execute(
        "SELECT service, last_value, issued FROM daily_numbers WHERE day = ?", [local_day(config, now)]
    ).fetchall())
    served = {code for counter in config.counters for code in counter.services}
    reasons = {}
    for service in config.services:
        last_value, issued = used.get(service.code, (service.block_start - 1, 0))
        if service.code not in served:
            reasons[service.code] = "no_counter"
        elif service.daily_cap is not None and issued >= service.daily_cap:
            reasons[service.code] = "cap_reached"
        elif last_value >= service.block_end:
            reasons[service.code] = "block_exhausted"
        else:
            reasons[service.code] = None
    return reasons


# -- the call-next policy -------------------------------------------------------

def _waiting_line(db, where, today, services, order, limit=1):
    """Today's waiting tickets of ``services`` matching ``where``, first ``limit`` in ``order``;
    tickets of the same age go by the counter's order of preference, then by id.

    Each service's first ``limit`` are read on their own and then merged: a service's line is
    walked in the order of its index (the partial indexes of migration 11), so choosing the
    next ticket costs the same with 20 or 8,000 waiting, where sorting the counter's whole
    line grew with it."""
    preference = " ".join(f"WHEN ? THEN {index}" for index in range(len(services)))
    one_service = (f"SELECT * FROM (SELECT * FROM tickets WHERE status = 'waiting' AND day = ? AND service = ? "
                   f"AND {where} ORDER BY {order}, id LIMIT ?)")
    return list(db.query(
        f"SELECT * FROM ({' UNION ALL '.join(one_service for _ in services)}) "
        f"ORDER BY {order}, CASE service {preference} END, id LIMIT ?",
        [value for service in services for value in (today, service, limit)] + [*services, limit],
    ))


def _is_due(now):
    """SQL: a checked-in appointment whose slot has begun."""
    return f"(due_at IS NOT NULL AND due_at <= {float(now)!r})"


def calling_age(config, now=None):
    """The SQL that orders tickets by age; with ``walk_ins_first`` remote tickets wait
    until no walk-in ticket of the same kind is left. With ``booking.due_order =
    "after_priority"`` (and ``now`` given) due appointments come before every other
    normal ticket, by slot time."""
    age = "CAST(issued_at AS INTEGER)"
    if config.policy.remote_order == "walk_ins_first":
        age = f"channel = 'online', {age}"
    if now is not None and config.booking.due_order == "after_priority":
        age = f"NOT {_is_due(now)}, CASE WHEN {_is_due(now)} THEN due_at END, {age}"
    return age


def waiting_order_sql(config, now):
    """The ORDER BY of a service's waiting line, as the call-next policy takes it (without
    the priority streak, which depends on the counter)."""
    due_first = f"NOT {_is_due(now)}, CASE WHEN {_is_due(now)} THEN due_at END, " \
        if config.booking.due_order == "ahead" else ""
    return f"requeued_at IS NULL, requeued_at, {due_first}priority IS NULL, {calling_age(config, now)}, id"


def _lines(db, config, counter_number, now, limit):
    """The counter's four waiting lines, each in its own order and at most ``limit`` long:
    requeued (reinstated and transferred), due appointments (``booking.due_order = "ahead"``),
    priority, normal. A due appointment is also in the priority or normal line."""
    services = list(find_counter(config, counter_number).services)
    today = local_day(config, now)
    age = calling_age(config, now)
    due = (_waiting_line(db, f"requeued_at IS NULL AND {_is_due(now)}", today, services, "due_at", limit)
           if config.booking.due_order == "ahead" else [])
    return (_waiting_line(db, "requeued_at IS NOT NULL", today, services, "requeued_at", limit), due,
            _waiting_line(db, "requeued_at IS NULL AND priority IS NOT NULL", today, services, age, limit),
            _waiting_line(db, "requeued_at IS NULL AND priority IS NULL", today, services, age, limit))


def _pick(config, heads, streak):
    """The policy between the heads of the lines: (ticket, priority pick: True, False or None
    when the streak does not count)."""
    requeued, due, priority, normal = heads
    if requeued is not None:
        return requeued, None
    if due is not None:
        return due, None
    if priority is None:
        return normal, False
    if streak >= config.policy.priority_streak and normal is not None and int(normal["issued_at"]) < int(
        priority["issued_at"]
    ):
        return normal, False
    return priority, True


def _streak(db, counter_number):
    return db.execute("SELECT priority_streak FROM counters WHERE number = ?", [counter_number]).fetchone()[0]


def choose_next(db, config, counter_number, now):
    """The ticket ``call_next`` would take for this counter, and whether it is a priority pick.

    Reinstated and transferred tickets come first, then priority tickets — unless the
    counter has already called ``policy.priority_streak`` of them in a row and a normal
    ticket has waited longer — then the oldest ticket across the counter's services.
    Tickets issued in the same second count as the same age; the counter's order of
    preference breaks the tie. Checked-in appointments whose slot has begun go right
    after the requeued tickets (``booking.due_order = "ahead"``), right after the
    priority tickets (``"after_priority"``), or wait like everyone (``"equal"``).
    """
    heads = [line[0] if line else None for line in _lines(db, config, counter_number, now, 1)]
    return _pick(config, heads, _streak(db, counter_number))


def calling_order(db, config, counter_number, now, limit=10):
    """The next ``limit`` waiting tickets in the order ``call_next`` would call them at this
    counter if nothing else happened (the same policy, the priority streak carried along);
    reads only."""
    lines = _lines(db, config, counter_number, now, limit)
    streak = _streak(db, counter_number)
    order, taken = [], set()
    while len(order) < limit:
        heads = [next((ticket for ticket in line if ticket["id"] not in taken), None) for line in lines]
        ticket, priority_pick = _pick(config, heads, streak)
        if ticket is None:
            break
        order.append(ticket)
        taken.add(ticket["id"])
        if priority_pick is not None:
            streak = streak + 1 if priority_pick else 0
    return order


def _announce(db, config, ticket, counter, now, *, recall, before=None):
    counter_config = find_counter(config, counter)
    settings = config.announcement
    # a recall says its own words ("Xin mời lại ..."), so the hall hears it is not a new call
    templates = ((settings.recall_template, voice.DEFAULT_RECALL_TEMPLATE_EN) if recall
                 else (settings.template, voice.DEFAULT_TEMPLATE_EN))
    announcement = voice.compose_announcement(
        ticket["number"], counter, template=templates[0], template_en=templates[1], dialect=settings.dialect,
        reading=settings.reading, second_language=settings.second_language, repeat=settings.repeat,
    )
    return record(
        db, "recalled" if recall else "called", now, ticket=ticket, counter=counter, service=ticket["service"],
        data={
            "number": ticket["number"], "counter_name": counter_config.name, "recall": recall,
            "priority": ticket["priority"], "channel": ticket["channel"],
            "text": announcement.text, "text_en": announcement.text_en, "clips": list(announcement.clips),
            "voice": settings.voice,
            **({"before": before} if before else {}),
        },
    )


def _finish_current(db, config, counter_row, now, *, arrived=True):
    """One key serves the hall: calling the next citizen completes the current one (or, when
    the counter said the citizen never came, marks them absent)."""
    if counter_row["current_ticket"] is None:
        return []
    ticket = _ticket(db, counter_row["current_ticket"])
    if ticket["status"] not in ("called", "serving"):
        _set_counter(db, counter_row["number"], current_ticket=None)
        return []
    before = _before(ticket, counter_row)
    _set_counter(db, counter_row["number"], current_ticket=None)
    status = "done" if arrived else "no_show"
    ticket = _set_ticket(db, ticket["id"], status=status, finished_at=now)
    return [record(db, status, now, ticket=ticket, counter=counter_row["number"], service=ticket["service"],
                   data={"before": before})]


def _check_not_a_double_press(db, config, counter_row, now, arrived):
    """Refuse a call-next that would cost the counter's current citizen their turn.

    Within ``policy.repeat_guard_seconds`` of the last call the press is a reflex: nothing
    changes. A ticket called less than ``policy.confirm_arrival_seconds`` ago and never
    started may be a citizen who never came: the counter says which (``arrived``). A citizen
    being served has come: "absent" for them is refused, as ``no_show`` refuses it.
    """
    if counter_row["current_ticket"] is None:
        return
    ticket = _ticket(db, counter_row["current_ticket"])
    number = ticket["number"]
    if ticket["status"] == "serving" and arrived is False:
        raise Conflict(f"Số {number} đang được phục vụ: không thể đánh dấu vắng mặt",
                       f"Ticket {number} is being served: it cannot be marked absent", code="wrong_status")
    if ticket["status"] != "called" or ticket["started_at"] is not None or ticket["called_at"] is None:
        return
    age = now - ticket["called_at"]
    if age < config.policy.repeat_guard_seconds:
        raise Conflict(f"Vừa mời số {number}", f"Ticket {number} was just called", code="just_called")
    if arrived is None and age < config.policy.confirm_arrival_seconds:
        raise Conflict(f"Số {number} đã đến quầy chưa? B: đã đến, xong · V: vắng mặt",
                       f"Did ticket {number} come to the counter? B: came, done · V: absent",
                       code="arrival_unknown")


def _open_counter(db, config, counter):
    row = _counter_row(db, config, counter)
    if row["status"] != "open":
        raise Conflict(f"Quầy số {counter} đang tạm dừng", f"Counter {counter} is paused", code="counter_paused")
    return row


def _call(db, config, counter_row, ticket, now, events):
    counter = counter_row["number"]
    # Undoing the call frees the counter (the citizen it finished has their own undo) and
    # gives back the priority streak it had before this call.
    before = _before(ticket, {"current_ticket": _counter_row(db, config, counter)["current_ticket"],
                              "priority_streak": counter_row["priority_streak"]})
    ticket = _set_ticket(db, ticket["id"], status="called", counter=counter, called_at=now,
                         started_at=None, requeued_at=None, recalls=0)
    _set_counter(db, counter, current_ticket=ticket["id"])
    events.append(_announce(db, config, ticket, counter, now, recall=False, before=before))
    return Outcome(ticket, events)


def call_next(db, config, *, counter, now, arrived=None):
    """Call the next ticket for ``counter``; the result is None when nobody waits.

    The current ticket is completed first, or marked absent when ``arrived`` is False; a
    press that would cost its citizen their turn is refused (see _check_not_a_double_press).
    """
    events = _expire_if_stale(db, config, now)
    counter_row = _open_counter(db, config, counter)
    _check_not_a_double_press(db, config, counter_row, now, arrived)
    events += _finish_current(db, config, counter_row, now, arrived=arrived is not False)
    ticket, priority_pick = choose_next(db, config, counter, now)
    if ticket is None:
        return Outcome(None, events)
    if priority_pick is not None:
        streak = counter_row["priority_streak"] + 1 if priority_pick else 0
        _set_counter(db, counter, priority_streak=streak)
    return _call(db, config, counter_row, ticket, now, events)


def _ticket_by_number(db, config, number, now):
    """Today's ticket with ``number`` as staff type it: around spaces, full-width digits and the
    case of a prefix ("b003" is B003 on the screen) do not matter."""
    typed = number.translate(FULL_WIDTH_DIGITS).strip()
    rows = list(db.query("SELECT * FROM tickets WHERE day = ? AND number = ? COLLATE NOCASE",
                         [local_day(config, now), typed]))
    if not rows:
        raise NotFound(f"Hôm nay không có số {typed}", f"No ticket {typed} today", code="unknown_ticket")
    return rows[0]


def call_number(db, config, *, counter, number, now):
    """Call a specific number today (a waiting ticket, or a no-show, reinstated on the way)."""
    events = _expire_if_stale(db, config, now)
    counter_row = _open_counter(db, config, counter)
    ticket = _ticket_by_number(db, config, number, now)
    if ticket["status"] not in ("waiting", "no_show"):
        raise Conflict(f"Số {ticket['number']} không đang chờ ({ticket['status']})",
                       f"Ticket {ticket['number']} is not waiting ({ticket['status']})", code="not_waiting")
    if ticket["status"] == "no_show":
        # part of the call: undoing the call undoes it too, so the log says absent again
        events.append(record(db, "reinstated", now, ticket=ticket, service=ticket["service"], counter=counter,
                             data={"before": _before(ticket, counter_row)}))
    events += _finish_current(db, config, counter_row, now)
    return _call(db, config, counter_row, ticket, now, events)


def _current(db, config, counter, statuses=("called", "serving")):
    row = _counter_row(db, config, counter)
    if row["current_ticket"] is None:
        raise Conflict(f"Quầy số {counter} chưa gọi số nào", f"Counter {counter} has no current ticket",
                       code="no_current_ticket")
    ticket = _ticket(db, row["current_ticket"])
    if ticket["status"] not in statuses:
        raise Conflict(f"Số {ticket['number']} đang ở trạng thái {ticket['status']}",
                       f"Ticket {ticket['number']} is {ticket['status']}", code="wrong_status")
    return ticket


def recall(db, config, *, counter, now):
    """Announce the counter's current ticket again, up to ``policy.max_recalls`` times."""
    ticket = _current(db, config, counter, statuses=("called",))
    if ticket["recalls"] >= config.policy.max_recalls:
        raise Conflict(
            f"Đã gọi lại số {ticket['number']} {ticket['recalls']} lần: hãy đánh dấu vắng mặt",
            f"Ticket {ticket['number']} was recalled {ticket['recalls']} times: mark it absent",
            code="recall_limit",
        )
    ticket = _set_ticket(db, ticket["id"], recalls=ticket["recalls"] + 1)
    return Outcome(ticket, [_announce(db, config, ticket, counter, now, recall=True)])


def start(db, config, *, counter, now):
    """The citizen has arrived at the counter: serving starts."""
    ticket = _current(db, config, counter, statuses=("called",))
    ticket = _set_ticket(db, ticket["id"], status="serving", started_at=now)
    return Outcome(ticket, [record(db, "started", now, ticket=ticket, counter=counter, service=ticket["service"])])


def _finish(db, config, counter, now, status, statuses):
    ticket = _current(db, config, counter, statuses=statuses)
    before = _before(ticket, _counter_row(db, config, counter))
    ticket = _set_ticket(db, ticket["id"], status=status, finished_at=now)
    _set_counter(db, counter, current_ticket=None)
    return Outcome(ticket, [record(db, status, now, ticket=ticket, counter=counter, service=ticket["service"],
                                   data={"before": before})])


def done(db, config, *, counter, now):
    """The counter has finished with its current ticket."""
    return _finish(db, config, counter, now, "done", ("called", "serving"))


def no_show(db, config, *, counter, now):
    """The called citizen did not come; the ticket can be reinstated today."""
    return _finish(db, config, counter, now, "no_show", ("called",))


def reinstate(db, config, *, number, now, counter=None):
    """Put today's no-show back at the front of its service's queue."""
    ticket = _ticket_by_number(db, config, number, now)
    if ticket["status"] != "no_show":
        raise Conflict(f"Số {ticket['number']} không phải vắng mặt", f"Ticket {ticket['number']} is not a no-show",
                       code="not_no_show")
    ticket = _set_ticket(db, ticket["id"], status="waiting", counter=None, finished_at=None, requeued_at=now)
    return Outcome(ticket, [record(db, "reinstated", now, ticket=ticket, counter=counter, service=ticket["service"])])


def transfer(db, config, *, counter, service, now):
    """Send the counter's current ticket to another service's queue, keeping its number."""
    target = find_service(config, service)
    ticket = _current(db, config, counter)
    if ticket["service"] == target.code:
        raise Conflict(f"Số {ticket['number']} đã thuộc dịch vụ {target.name}",
                       f"Ticket {ticket['number']} is already in {target.name_en}", code="same_service")
    _check_served(config, target)
    from_service = ticket["service"]
    before = _before(ticket, _counter_row(db, config, counter))
    ticket = _set_ticket(db, ticket["id"], status="waiting", service=target.code, counter=None,
                         transferred_from=from_service, requeued_at=now, started_at=None)
    _set_counter(db, counter, current_ticket=None)
    return Outcome(ticket, [record(db, "transferred", now, ticket=ticket, counter=counter, service=target.code,
                                   data={"from": from_service, "to": target.code, "before": before})])


def cancel(db, config, *, track_token, now):
    """The citizen gives up their place (from the tracking page)."""
    rows = list(db.query("SELECT * FROM tickets WHERE track_token = ?", [track_token]))
    if not rows:
        raise NotFound("Không tìm thấy phiếu", "Unknown ticket", code="unknown_ticket")
    ticket = rows[0]
    if ticket["status"] not in ("waiting", "called"):
        raise Conflict(f"Số {ticket['number']} không thể hủy ({ticket['status']})",
                       f"Ticket {ticket['number']} cannot be cancelled ({ticket['status']})", code="not_cancellable")
    if ticket["counter"] is not None:
        db.execute("UPDATE counters SET current_ticket = NULL WHERE current_ticket = ?", [ticket["id"]])
    ticket = _set_ticket(db, ticket["id"], status="cancelled", finished_at=now)
    return Outcome(ticket, [record(db, "cancelled", now, ticket=ticket, counter=ticket["counter"],
                                   service=ticket["service"])])


def _set_counter_status(db, config, counter, now, status, event, refusal):
    if _counter_row(db, config, counter)["status"] == status:
        raise Conflict(*refusal[:2], code=refusal[2])
    _set_counter(db, counter, status=status)
    return Outcome(None, [record(db, event, now, counter=counter)])


def pause(db, config, *, counter, now):
    """The counter stops taking new calls (break, meeting); its current ticket stays."""
    return _set_counter_status(db, config, counter, now, "paused", "counter_paused", (
        f"Quầy số {counter} đã tạm dừng", f"Counter {counter} is already paused", "already_paused"))


def resume(db, config, *, counter, now):
    """The counter takes calls again."""
    return _set_counter_status(db, config, counter, now, "open", "counter_resumed", (
        f"Quầy số {counter} đang mở", f"Counter {counter} is already open", "already_open"))


UNDOABLE = ("called", "done", "no_show", "transferred", "reinstated")


def undo(db, config, *, counter, now):
    """Reverse the counter's last action within ``policy.undo_seconds``: a call puts the ticket
    back in its place in line, a done goes back to serving, a no-show back to called, a
    transfer back to its service and counter. A call-next that also finished the previous
    citizen is one action: both are reversed. Each reversal is an ``undone`` event."""
    find_counter(config, counter)
    last_action = _last_action(db, counter)
    if not last_action or now - last_action[0]["at"] > config.policy.undo_seconds:
        raise Conflict("Không có thao tác nào để hoàn tác", "Nothing to undo", code="nothing_to_undo")
    newest = {}   # each ticket's newest event of the action (a call of a no-show has two)
    for event in last_action:
        newest.setdefault(event["ticket"], event["seq"])
    for ticket_id, seq in newest.items():
        latest = db.execute("SELECT MAX(seq) FROM events WHERE ticket = ?", [ticket_id]).fetchone()[0]
        if latest != seq:
            number = _ticket(db, ticket_id)["number"]
            raise Conflict(f"Số {number} đã thay đổi sau đó, không hoàn tác được",
                           f"Ticket {number} has changed since; it cannot be undone", code="cannot_undo")
    events, ticket = [], None
    for event in last_action:
        ticket = _ticket(db, event["ticket"])
        before = json.loads(event["data"])["before"]
        ticket = _set_ticket(db, ticket["id"], **before["ticket"])
        _set_counter(db, counter, **before["counter"])
        events.append(record(db, "undone", now, ticket=ticket, counter=counter, service=ticket["service"],
                             data={"undid": event["type"], "seq": event["seq"], "from_service": event["service"]}))
    current = _counter_row(db, config, counter)["current_ticket"]
    return Outcome(_ticket(db, current) if current is not None else ticket, events)


def _last_action(db, counter):
    """The counter's last action: its newest events recorded in one transaction (same ``at``),
    newest first, when they can be undone; [] otherwise."""
    rows = list(db.query("SELECT seq, at, type, ticket, service, data FROM events WHERE counter = ? "
                         "ORDER BY seq DESC LIMIT 4", [counter]))
    action = []
    for row in rows:
        if row["at"] != rows[0]["at"]:
            break
        if row["type"] not in UNDOABLE or "before" not in json.loads(row["data"]):
            break
        action.append(row)
    return action


def expire_before(db, config, *, now, include_today=False):
    """End every unfinished ticket whose day is over (see ``policy.close_at``), or all of
    today's too when an admin closes the day by hand; forget old request ids."""
    condition, parameters = _ended(config, now, include_today)
    events = []
    for ticket in list(db.query(
        f"SELECT * FROM tickets WHERE status IN ('waiting', 'called', 'serving') AND {condition} ORDER BY id",
        parameters,
    )):
        ticket = _set_ticket(db, ticket["id"], status="expired", finished_at=now)
        events.append(record(db, "expired", now, ticket=ticket, service=ticket["service"]))
    db.execute(
        "UPDATE counters SET current_ticket = NULL, priority_streak = 0 WHERE current_ticket IN "
        "(SELECT id FROM tickets WHERE status NOT IN ('called', 'serving'))"
    )
    # The priority calls in a row are the day's: yesterday's last calls do not make the first
    # elderly citizen of the morning wait behind an older walk-in.
    midnight = local_time(config, now).replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    db.execute("UPDATE counters SET priority_streak = 0 WHERE priority_streak != 0 AND number NOT IN "
               "(SELECT counter FROM events WHERE type = 'called' AND at >= ? AND counter IS NOT NULL)", [midnight])
    db.execute("DELETE FROM requests WHERE at < ?", [now - 2 * 86400])
    return Outcome(len(events), events)
