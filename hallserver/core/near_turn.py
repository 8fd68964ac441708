""""Sắp đến lượt" by SMS: which numbers taken from home with a phone are near their turn.

The rule is the tracking page's (``estimates.is_near_turn``: at most ``policy.soon_ahead``
people ahead, or an estimate of at most ``policy.soon_minutes``), worked out per service
rather than per waiting ticket: how far down the line the turn can be near (a binary
search over positions, a handful of estimates), then only the tickets with a phone in that
stretch that were not reminded yet, each checked with its own estimate as its page shows it.
A ticket gets one ``near_turn`` reminder (``ticket_reminders`` is unique per ticket and
kind); ``services.reminders`` sends it through the hall's webhook.
"""

from .estimates import Estimator, is_near_turn
from .tickets import local_day, waiting_order_sql

KIND = "near_turn"
NOT_REMINDED = f"NOT EXISTS (SELECT 1 FROM ticket_reminders r WHERE r.ticket_id = t.id AND r.kind = '{KIND}')"


def reach(estimator, policy, service):
    """The last position of ``service``'s line whose turn can be near now: ``soon_ahead`` + 1,
    or further while the most favourable estimate there (a ticket nothing overtakes, with no
    ticket of another service ahead) is within ``soon_minutes``. No ticket's own estimate is
    shorter, so no ticket beyond this position is near."""
    by_position = policy.soon_ahead + 1
    waiting = estimator.waiting.get(service, 0)
    if policy.soon_minutes <= 0 or waiting <= by_position:
        return by_position

    def within(position):
        estimate = estimator.estimate(service, position, "requeued", {})
        return estimate is not None and estimate.minutes <= policy.soon_minutes

    low, high = by_position, waiting    # within(low) holds or does not matter; find the last that holds
    while low < high:
        middle = (low + high + 1) // 2
        if within(middle):
            low = middle
        else:
            high = middle - 1
    return low


def near_turn_tickets(db, config, now):
    """Today's waiting tickets (rows) with a phone, not reminded yet, whose turn is near."""
    today = local_day(config, now)
    services = [row[0] for row in db.execute(
        "SELECT DISTINCT t.service FROM ticket_contacts c JOIN tickets t ON t.id = c.ticket_id "
        f"WHERE c.day = ? AND c.phone IS NOT NULL AND t.status = 'waiting' AND {NOT_REMINDED}", [today])]
    if not services:
        return []
    estimator = Estimator(db, config, now)
    found = []
    for service in services:
        last = reach(estimator, config.policy, service)
        rows = list(db.query(
            "SELECT t.*, line.position FROM (SELECT id, ROW_NUMBER() OVER "
            f"(ORDER BY {waiting_order_sql(config, now)}) AS position FROM tickets "
            "WHERE status = 'waiting' AND day = ? AND service = ?) line "
            "JOIN tickets t ON t.id = line.id JOIN ticket_contacts c ON c.ticket_id = t.id "
            f"WHERE line.position <= ? AND c.phone IS NOT NULL AND {NOT_REMINDED} ORDER BY line.position",
            [today, service, last]))
        for ticket in rows:
            position = ticket.pop("position")
            estimate = estimator.ticket_estimate(ticket, position)
            minutes, after_closure = (estimate.minutes, estimate.after_closure) if estimate else (None, False)
            if is_near_turn(config.policy, position - 1, minutes, after_closure):
                found.append(ticket)
    return found


def queue_reminders(db, tickets, now):
    """Queue one ``near_turn`` reminder per ticket (ticket rows); a ticket queued before, by
    this process or another, is left as it is. The ids of the rows queued now."""
    queued = []
    for ticket in tickets:
        cursor = db.execute(
            "INSERT OR IGNORE INTO ticket_reminders (ticket_id, kind, due_at, status, next_attempt_at) "
            "VALUES (?, ?, ?, 'pending', ?)", [ticket["id"], KIND, now, now])
        if cursor.rowcount:
            queued.append(cursor.lastrowid)
    return queued
