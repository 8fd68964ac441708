"""What the supervisor's dashboard shows: the hall live, today's figures, the hall's screens, alerts.

Plain Python on the store. Today's figures come from the event log through
``reports.build_report``, so the dashboard and the reports never disagree.
"""

import json
from datetime import datetime

from ..core import current_seq, views
from ..core.estimates import Estimator
from ..core.tickets import local_day
from . import reports, screens
from .users import counter_workers

# A counter "serves one ticket unusually long" past this many times the service's usual
# time, and never under the floor (short services vary a lot in absolute terms).
LONG_SERVICE_FACTOR = 2.5
LONG_SERVICE_FLOOR_MINUTES = 15
RECENT_FAULT_SECONDS = 3600


def _minutes(seconds):
    return None if seconds is None else round(seconds / 60, 1)


# The devices that report faults, in words a supervisor reads at a glance.
DEVICE_NAMES = {"printer": ("Máy in phiếu", "Ticket printer"), None: ("Thiết bị", "Device")}


def dashboard_snapshot(db, config, now):
    """Everything the dashboard draws, as one JSON-ready dict with the hall's ``seq``."""
    today = local_day(config, now)
    estimator = Estimator(db, config, now)
    by_service = {group.key: group.figures for group in reports.build_report(
        db, config, start_day=today, end_day=today, group_by="service", now=now).groups}
    by_counter_report = reports.build_report(db, config, start_day=today, end_day=today, group_by="counter", now=now)
    by_counter = {group.key: group.figures for group in by_counter_report.groups}
    total = by_counter_report.total

    services, alerts = _service_rows(db, config, now, estimator, by_service)
    counters, counter_alerts = _counter_rows(db, config, now, estimator, by_service, by_counter)
    alerts.extend(counter_alerts)
    alerts.extend(_fault_alerts(db, config, now))
    hall_screens, screen_alerts = screens.overview(db, config, now)
    alerts.extend(screen_alerts)

    return {
        "seq": current_seq(db),
        "generated_at": views.iso(config, now),
        "services": services,
        "counters": counters,
        "totals": {"issued": total.issued, "served": total.served, "no_show": total.no_show,
                   "waiting": sum(estimator.waiting.values()),
                   "wait_mean_minutes": _minutes(total.wait.mean), "wait_p90_minutes": _minutes(total.wait.p90)},
        "hours": {"issued": total.issued_by_hour, "served": total.served_by_hour},
        "wait_distribution": {"labels": reports.wait_bucket_labels(),
                              "counts": reports.wait_distribution(db, config, start_day=today, end_day=today)},
        "satisfaction": {"count": total.rating_count, "mean": total.rating_mean,
                         "by_score": {str(score): count for score, count in total.ratings.items()}},
        "screens": hall_screens,
        "alerts": alerts,
    }


def _service_rows(db, config, now, estimator, by_service):
    """Each service's line and today's figures, and an alert for each whose oldest ticket is
    past its wait target."""
    oldest_waiting = dict(db.execute(
        "SELECT service, MIN(issued_at) FROM tickets WHERE status = 'waiting' AND day = ? GROUP BY service",
        [local_day(config, now)]).fetchall())
    rows, alerts = [], []
    for service in config.services:
        figures = by_service.get(service.code, reports.Figures())
        longest = now - oldest_waiting[service.code] if service.code in oldest_waiting else None
        over_target = longest is not None and longest > service.wait_target_minutes * 60
        rows.append({
            "code": service.code, "name": service.name,
            "waiting": estimator.waiting.get(service.code, 0),
            "longest_wait_minutes": _minutes(longest),
            **views.estimate_fields(config, estimator.new_ticket_estimate(service.code)),
            "wait_mean_minutes": _minutes(figures.wait.mean), "wait_p90_minutes": _minutes(figures.wait.p90),
            "issued": figures.issued, "served": figures.served, "no_show": figures.no_show,
            "target_minutes": service.wait_target_minutes, "over_target": over_target,
        })
        if over_target:
            alerts.append({
                "kind": "wait_target", "key": f"wait:{service.code}",
                "message": f"{service.name}: có người đã chờ {round(longest / 60)} phút "
                           f"(mục tiêu {service.wait_target_minutes} phút)",
                "message_en": f"{service.name_en}: someone has waited {round(longest / 60)} min "
                              f"(target {service.wait_target_minutes} min)",
            })
    return rows, alerts


def _counter_rows(db, config, now, estimator, by_service, by_counter):
    """Each counter's state, who works it, the citizen at it and today's figures, and an alert
    for each that has served one citizen unusually long."""
    names = {row[0]: row[1] for row in db.execute("SELECT username, display_name FROM users").fetchall()}
    workers = counter_workers(db)
    rows, alerts = [], []
    for counter in config.counters:
        row = next(db.query("SELECT * FROM counters WHERE number = ?", [counter.number]))
        figures = by_counter.get(counter.number, reports.Figures())
        current = None
        if row["current_ticket"] is not None:
            ticket = next(db.query("SELECT * FROM tickets WHERE id = ?", [row["current_ticket"]]))
            elapsed = now - (ticket["called_at"] or now)
            usual = by_service.get(ticket["service"], reports.Figures()).service.mean
            usual = usual if usual is not None else estimator.minutes_per_ticket(ticket["service"]) * 60
            long_service = elapsed > max(LONG_SERVICE_FACTOR * usual, LONG_SERVICE_FLOOR_MINUTES * 60)
            current = {"number": ticket["number"], "service": ticket["service"], "status": ticket["status"],
                       "elapsed_minutes": _minutes(elapsed), "long_service": long_service}
            if long_service:
                alerts.append({
                    "kind": "long_service", "key": f"long:{counter.number}:{ticket['number']}",
                    "message": f"{counter.name} đang phục vụ số {ticket['number']} đã {round(elapsed / 60)} phút",
                    "message_en": f"Counter {counter.number} has been serving {ticket['number']} "
                                  f"for {round(elapsed / 60)} min",
                })
        username = workers.get(counter.number)
        rows.append({
            "number": counter.number, "name": counter.name, "status": row["status"],
            "staff": names.get(username, username), "current": current,
            "served": figures.served, "service_mean_minutes": _minutes(figures.service.mean),
        })
    return rows, alerts


def _fault_alerts(db, config, now):
    """The devices' faults of the last hour, newest first (at most five)."""
    alerts = []
    for seq, at, data in db.execute(
        "SELECT seq, at, data FROM events WHERE type = 'device_fault' AND at > ? ORDER BY seq DESC LIMIT 5",
        [now - RECENT_FAULT_SECONDS]).fetchall():
        fault = json.loads(data)
        when = datetime.fromtimestamp(at, config.tz).strftime("%H:%M")
        device, device_en = DEVICE_NAMES.get(fault.get("device"), DEVICE_NAMES[None])
        alerts.append({"kind": "device_fault", "key": f"fault:{seq}",
                       "message": f"{when} — {device}: {fault.get('message')}",
                       "message_en": f"{when} — {device_en}: "
                                     f"{fault.get('message_en') or fault.get('message')}"})  # older: Vietnamese
    return alerts
