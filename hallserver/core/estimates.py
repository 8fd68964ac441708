"""Queue positions and wait estimates.

A waiting ticket's position is its place in its service's calling order (requeued
first, then priority, then by age). Its estimated wait comes from how many are ahead,
the service's recent service time (counter occupancy per ticket today, blended with the
configured default while there are few samples) and the capacity of the counters that
serve it: each open counter contributes the share of its waiting work that belongs to
this service, and idle counters take the first people at once.
"""

import math

from .tickets import local_day, waiting_order_sql

RECENT_SAMPLES = 20
PRIOR_WEIGHT = 3  # the configured service time counts as this many observed tickets


def service_minutes(db, config, now):
    """{service code: average counter time per ticket today, in minutes}: the last
    RECENT_SAMPLES finished tickets, blended with the configured time."""
    observed = {code: (total, count) for code, total, count in db.execute(
        "SELECT service, SUM(seconds), COUNT(*) FROM ("
        "  SELECT service, finished_at - called_at AS seconds,"
        "         ROW_NUMBER() OVER (PARTITION BY service ORDER BY finished_at DESC) AS recent"
        "  FROM tickets WHERE status = 'done' AND day = ? AND called_at IS NOT NULL AND finished_at >= called_at"
        ") WHERE recent <= ? GROUP BY service",
        [local_day(config, now), RECENT_SAMPLES],
    ).fetchall()}
    minutes = {}
    for service in config.services:
        total, count = observed.get(service.code, (0, 0))
        minutes[service.code] = (total / 60 + service.service_minutes * PRIOR_WEIGHT) / (count + PRIOR_WEIGHT)
    return minutes


def waiting_order(db, config, service, now):
    """Today's waiting tickets of ``service`` in calling order."""
    return list(db.query(
        "SELECT * FROM tickets WHERE status = 'waiting' AND day = ? AND service = ? "
        f"ORDER BY {waiting_order_sql(config, now)}",
        [local_day(config, now), service],
    ))


def waiting_counts(db, config, now):
    """{service code: number waiting today}."""
    counts = {service.code: 0 for service in config.services}
    for service, count in db.execute(
        "SELECT service, COUNT(*) FROM tickets WHERE status = 'waiting' AND day = ? GROUP BY service",
        [local_day(config, now)],
    ).fetchall():
        counts[service] = count
    return counts


class Estimator:
    """Computes positions and waits for one moment; build one per publish or request."""

    def __init__(self, db, config, now):
        self.db = db
        self.config = config
        self.now = now
        self.waiting = waiting_counts(db, config, now)
        self.counter_rows = {
            row["number"]: row for row in db.query("SELECT * FROM counters WHERE active = 1")
        }
        self._minutes = None
        self._capacity = {}
        self._positions = {}

    def minutes_per_ticket(self, service):
        if self._minutes is None:
            self._minutes = service_minutes(self.db, self.config, self.now)
        return self._minutes.get(service, 5.0)

    def capacity(self, service):
        """(counters' share serving ``service``, the idle part of that share)."""
        if service not in self._capacity:
            total = idle = 0.0
            serving = [c for c in self.config.counters if service in c.services]
            open_counters = [c for c in serving if self.counter_rows.get(c.number, {}).get("status") == "open"]
            # A hall with every counter paused still gets an estimate: they will come back.
            for counter in open_counters or serving:
                demand = sum(self.waiting.get(code, 0) for code in counter.services)
                share = self.waiting.get(service, 0) / demand if demand else 1 / len(counter.services)
                total += share
                if open_counters and self.counter_rows[counter.number]["current_ticket"] is None:
                    idle += share
            self._capacity[service] = (total, idle)
        return self._capacity[service]

    def eta_minutes(self, service, position):
        """Minutes until a ticket at ``position`` (1 = next) is likely called."""
        capacity, idle = self.capacity(service)
        if capacity <= 0:
            return None
        # A busy counter is on average half way through its current citizen.
        ahead_of_free_counters = max(0.0, position - idle - 0.5)
        return math.ceil(ahead_of_free_counters * self.minutes_per_ticket(service) / capacity)

    def positions(self, service):
        """{ticket id: position} for today's waiting tickets of ``service``."""
        if service not in self._positions:
            self._positions[service] = {ticket["id"]: index for index, ticket in enumerate(
                waiting_order(self.db, self.config, service, self.now), start=1)}
        return self._positions[service]

    def position_of(self, ticket, *, newest=False):
        """The ticket's place in its service's calling order (1 = next), or None.

        ``newest``: the ticket was issued in this very transaction. A plain one (no
        priority, no appointment) then stands behind everyone waiting: no need to rank the
        whole line (unless walk-ins go first and it is a walk-in).
        """
        if ticket["status"] != "waiting":
            return None
        plain = ticket["priority"] is None and ticket.get("due_at") is None and ticket["requeued_at"] is None
        if newest and plain and (self.config.policy.remote_order == "equal" or ticket["channel"] == "online"):
            return self.waiting.get(ticket["service"], 0)
        if ticket["service"] in self._positions:
            return self._positions[ticket["service"]].get(ticket["id"])
        # One ticket: let SQLite number the line instead of loading it into Python.
        row = self.db.execute(
            "SELECT position FROM (SELECT id, ROW_NUMBER() OVER "
            f"(ORDER BY {waiting_order_sql(self.config, self.now)}) AS position FROM tickets "
            "WHERE status = 'waiting' AND day = ? AND service = ?) WHERE id = ?",
            [local_day(self.config, self.now), ticket["service"], ticket["id"]],
        ).fetchone()
        return row[0] if row else None

    def new_ticket_eta(self, service):
        return self.eta_minutes(service, self.waiting.get(service, 0) + 1)
