"""What each audience may see: the public board, a tracked ticket, a counter's desk.

Public views never carry personal data: the phones of numbers taken from home and the
names and phones of bookings live in their own tables, which these functions never read.
"""

import json
from datetime import datetime

from .estimates import NO_ESTIMATE, Estimator, is_near_turn
from .events import current_seq
from .tickets import availability, calling_order, local_day


def iso(config, timestamp):
    """An epoch timestamp as ISO 8601 in the hall's time zone, or None."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, config.tz).isoformat(timespec="seconds")


def service_name(config, code):
    return next((service.name for service in config.services if service.code == code), code)


def estimate_fields(config, estimate):
    """``eta_minutes`` and its range, clock time and closure flag (all None without an estimate)."""
    return estimate.fields(config) if estimate else dict(NO_ESTIMATE)


def public_ticket(config, ticket, estimator=None, *, with_token=False, newest=False):
    """A ticket as the citizen and the public API see it (``newest``: just issued)."""
    position = estimator.position_of(ticket, newest=newest) if estimator else None
    view = {
        "number": ticket["number"],
        "service": ticket["service"],
        "service_name": service_name(config, ticket["service"]),
        "status": ticket["status"],
        "priority": ticket["priority"],
        "channel": ticket["channel"],
        "position": position,
        "ahead": None if position is None else position - 1,
        **estimate_fields(config, estimator.ticket_estimate(ticket, position, newest=newest) if position else None),
        # a no-show keeps the counter that called it: the citizen goes back there today
        "counter": ticket["counter"] if ticket["status"] in ("called", "serving", "no_show") else None,
        "issued_at": iso(config, ticket["issued_at"]),
        "called_at": iso(config, ticket["called_at"]),
    }
    # "Sắp đến lượt": the tracking page says it and notifies once, by position or estimate
    view["near_turn"] = is_near_turn(config.policy, view["ahead"], view["eta_minutes"], view["eta_after_closure"])
    if with_token:
        view["track_token"] = ticket["track_token"]
    return view


def staff_ticket(config, ticket, now, estimator=None):
    """A ticket as a counter sees it: the public view plus timings and history."""
    view = public_ticket(config, ticket, estimator)
    view.update({
        "id": ticket["id"],
        "recalls": ticket["recalls"],
        "transferred_from": ticket["transferred_from"],
        "started_at": iso(config, ticket["started_at"]),
        "waited_seconds": round((ticket["called_at"] or now) - ticket["issued_at"]),
        "at_counter_seconds": round(now - ticket["called_at"]) if ticket["status"] in ("called", "serving") else None,
    })
    return view


def services_summary(db, config, now, estimator=None):
    """Per service: how many wait, the wait for a ticket taken now, and whether one can be."""
    estimator = estimator or Estimator(db, config, now)
    unavailable = availability(db, config, now)
    return [
        {
            "code": service.code,
            "name": service.name,
            "name_en": service.name_en,
            "description": service.description,
            "waiting": estimator.waiting.get(service.code, 0),
            **estimate_fields(config, estimator.new_ticket_estimate(service.code)),
            "available": unavailable[service.code] is None,
            "unavailable": unavailable[service.code],
        }
        for service in config.services
    ]


def _current_public(db, row):
    if row["current_ticket"] is None:
        return None
    number, service = db.execute(
        "SELECT number, service FROM tickets WHERE id = ?", [row["current_ticket"]]
    ).fetchone()
    return {"number": number, "service": service}


def public_counter(db, config, number):
    counter = next(c for c in config.counters if c.number == number)
    row = next(db.query("SELECT * FROM counters WHERE number = ?", [number]))
    return {
        "number": number,
        "name": counter.name,
        "status": row["status"],
        "services": list(counter.services),
        "current": _current_public(db, row),
    }


def recent_calls(db, config, now, limit=10):
    rows = db.execute(
        "SELECT seq, at, counter, data FROM events WHERE type IN ('called', 'recalled') AND at >= ? "
        "AND seq NOT IN (SELECT json_extract(data, '$.seq') FROM events WHERE type = 'undone' AND at >= ?) "
        "ORDER BY seq DESC LIMIT ?",
        [_day_start(config, now), _day_start(config, now), limit],
    ).fetchall()
    calls = []
    for seq, at, counter, data in rows:
        data = json.loads(data)
        calls.append({
            "call_id": str(seq), "number": data["number"], "counter": counter,
            "called_at": iso(config, at), "recall": data["recall"],
            # what a screen that missed the call while cut off needs to say it late (by the
            # hub's clock, not the screen's, which may be wrong after a power cut)
            "age_seconds": max(0, round(now - at)), "text": data.get("text"), "text_en": data.get("text_en"),
            "clips": data.get("clips") or [],
        })
    return calls


def _day_start(config, now):
    moment = datetime.fromtimestamp(now, config.tz)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def public_state(db, config, now, recent=10):
    """The board: what ``GET /api/v1/state`` returns and every ``state`` push carries."""
    estimator = Estimator(db, config, now)
    return {
        "seq": current_seq(db),
        "day": local_day(config, now),
        "hall": {"name": config.name, "name_en": config.name_en, "hotline": config.hotline,
                 "timezone": config.timezone, "notices": list(config.notices),
                 # screens back from a short cut announce the recent calls at most this old
                 "catchup_seconds": config.announcement.catchup_seconds,
                 # the regional voice its announcements are said in: a pygame board plays that pack
                 "voice": config.announcement.voice},
        "services": services_summary(db, config, now, estimator),
        "counters": [public_counter(db, config, counter.number) for counter in config.counters],
        "recent_calls": recent_calls(db, config, now, recent),
    }


def counter_state(db, config, number, now, estimator=None, waiting_limit=50):
    """A counter's desk: its status, current ticket and what waits for it, in calling order."""
    estimator = estimator or Estimator(db, config, now)
    counter = next(c for c in config.counters if c.number == number)
    row = next(db.query("SELECT * FROM counters WHERE number = ?", [number]))
    current = None
    if row["current_ticket"] is not None:
        ticket = next(db.query("SELECT * FROM tickets WHERE id = ?", [row["current_ticket"]]))
        current = staff_ticket(config, ticket, now)
    # In calling order: what call-next would take, one after the other (the first is next).
    waiting_list = [
        {"number": t["number"], "service": t["service"], "priority": t["priority"], "channel": t["channel"],
         "issued_at": iso(config, t["issued_at"]), "requeued": t["requeued_at"] is not None,
         "transferred_from": t["transferred_from"] if t["requeued_at"] is not None else None,
         "due_at": iso(config, t["due_at"]), "next": index == 0}
        for index, t in enumerate(calling_order(db, config, number, now, waiting_limit))
    ]
    return {
        "number": number,
        "name": counter.name,
        "status": row["status"],
        "services": list(counter.services),
        "current": current,
        "waiting": [{"service": code, "count": estimator.waiting.get(code, 0)} for code in counter.services],
        "waiting_list": waiting_list,
    }


def counter_answer(db, config, now, counter, done, ticket=None, estimator=None):
    """A counter action's answer: the ticket it acted on and the counter's desk, at ``done``'s
    ``seq`` (``done``: what the action did, see ``Hall.counter_action``). ``ticket`` is the row
    the action returned; without it the ticket is read by its id."""
    estimator = estimator or Estimator(db, config, now)
    if ticket is None and done["ticket"] is not None:
        ticket = next(db.query("SELECT * FROM tickets WHERE id = ?", [done["ticket"]]), None)
    answer = {
        "seq": done["seq"],
        "ticket": staff_ticket(config, ticket, now, estimator) if ticket else None,
        "counter": counter_state(db, config, counter, now, estimator),
    }
    if "undone" in done:
        answer["undone"] = done["undone"]
    return answer
