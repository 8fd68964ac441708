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


def service_minutes(db, config, service, now):
    """Average counter time per ticket of ``service`` today, in minutes."""
    configured = next((s.service_minutes for s in config.services if s.code == service), 5.0)
    rows = db.execute(
        "SELECT finished_at - called_at FROM tickets WHERE service = ? AND day = ? AND status = 'done' "
        "AND called_at IS NOT NULL AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?",
        [service, local_day(config, now), RECENT_SAMPLES],
    ).fetchall()
    observed = [seconds / 60 for (seconds,) in rows if seconds is not None and seconds >= 0]
    return (sum(observed) + configured * PRIOR_WEIGHT) / (len(observed) + PRIOR_WEIGHT)


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
        self._minutes = {}
        self._capacity = {}
        self._positions = {}

    def minutes_per_ticket(self, service):
        if service not in self._minutes:
            self._minutes[service] = service_minutes(self.db, self.config, service, self.now)
        return self._minutes[service]

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

    def position_of(self, ticket):
        if ticket["status"] != "waiting":
            return None
        return self.positions(ticket["service"]).get(ticket["id"])

    def new_ticket_eta(self, service):
        return self.eta_minutes(service, self.waiting.get(service, 0) + 1)
