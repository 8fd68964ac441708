"""Reports: what the hall did over a range of local days, computed from the event log.

``build_report(db, config, start_day=..., end_day=...)`` returns a ``Report`` of plain
dataclasses (``report.as_dict()`` is JSON-ready); ``report_csv`` and ``report_xlsx`` export
it, both through ``report_rows`` and the one column table ``COLUMN_LABELS``.

How the figures are counted (decisions, so the page, the exports and the tests agree):

- **Which tickets.** A report covers the tickets *issued* on its local days (the hall's
  time zone, ``config.tz``), and follows each of them to its end even when that end is
  recorded later: a ticket left waiting in the evening counts as expired on its own day,
  though the ``expired`` event is written the next morning. Ratings likewise belong to
  the rated ticket's day, whenever the citizen sent them.
- **Outcomes add up.** Every ticket has exactly one outcome: ``served`` (a ``done``
  event), ``no_show``, ``cancelled``, ``expired``, or ``unfinished`` (still waiting or at a
  counter when the report is made), so these five columns sum to ``issued``. A no-show
  that was reinstated and served later counts as served, *not* as a no-show; the
  ``reinstated`` column counts such tickets (reinstated at least once, whatever came
  next). ``transferred`` counts tickets sent to another service at least once.
- **Times**, in seconds, one sample per ticket:
  ``wait`` = issue → *first* call (recalls, a transfer or a reinstatement do not restart
  it); ``walk`` = the call that brought the citizen → ``started`` (only tickets that were
  started; recalls do not restart it either); ``service`` = ``started`` → ``done`` for
  tickets that were done. A ticket taken straight from called to done (the counter
  pressed "done" or "next" without "start") has no walk, and its service time is
  counted from the call: call → done. A break of the counter (paused, then resumed)
  within a service is not service time: a citizen kept over lunch is not served for two
  hours. A pause the service ends in (no new calls, this citizen finished first) is.
- **Statistics**, each rounded to 0.1 s: the mean; the median (the mean of the two middle
  values for an even count); ``p90`` by the nearest-rank method: the smallest sample with
  at least 90 % of the samples at or below it, i.e. the ``ceil(0.9 × n)``-th smallest, so
  it is always one of the observed durations.
- **Hours**: ``issued_by_hour[h]`` counts tickets issued in local hour ``h`` (0-23),
  ``served_by_hour[h]`` tickets done in local hour ``h``, summed over the days of the range.
- **Grouping** puts each ticket (and its rating) in exactly one group, so the groups sum
  to the total: ``service`` = the service it ended in (after transfers: where it was
  served); ``counter`` = the counter of its last call; ``staff`` = who was signed in to that
  counter at that call (``counter_sessions``); ``channel`` = kiosk, online, staff or
  appointment. Never-called tickets, and calls with nobody signed in, fall in the
  ``None`` group labelled "—". Configured services, counters and all channels are listed
  even with zero tickets; staff only when they called someone.
"""

import bisect
import copy
import csv
import io
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from ..core.ratings import SCORES
from ..core.tickets import CHANNELS
from ..errors import Invalid

GROUPINGS = ("service", "counter", "staff", "channel")
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)   # days a report may cover
NOBODY = "—"
OUTCOMES = ("served", "no_show", "cancelled", "expired", "unfinished")
# Ticket event types and the outcome they leave the ticket in.
OUTCOME_AFTER = {
    "issued": "unfinished", "called": "unfinished", "reinstated": "unfinished", "transferred": "unfinished",
    "done": "served", "no_show": "no_show", "cancelled": "cancelled", "expired": "expired",
}

CHANNEL_LABELS = {
    "kiosk": ("Kiosk lấy số", "Kiosk"),
    "online": ("Trực tuyến", "Online"),
    "staff": ("Cán bộ cấp số", "Issued by staff"),
    "appointment": ("Lịch hẹn", "Appointment"),
}
GROUP_COLUMN_LABELS = {
    None: ("Phạm vi", "Scope"),
    "service": ("Lĩnh vực", "Service"),
    "counter": ("Quầy", "Counter"),
    "staff": ("Cán bộ", "Staff"),
    "channel": ("Kênh", "Channel"),
}
TOTAL_LABELS = ("Tổng cộng", "Total")

_TIMES = {"wait": ("Chờ", "Wait"), "walk": ("Đến quầy", "Walk"), "service": ("Phục vụ", "Service")}
_MEASURES = {"mean": ("TB", "mean"), "median": ("trung vị", "median"), "p90": ("P90", "p90")}

# Every column of the report table after the group column: key → (Vietnamese, English).
COLUMN_LABELS = {
    "issued": ("Số phiếu đã cấp", "Issued"),
    "served": ("Đã phục vụ", "Served"),
    "no_show": ("Vắng mặt", "No-shows"),
    "cancelled": ("Đã hủy", "Cancelled"),
    "expired": ("Hết hạn cuối ngày", "Expired at day end"),
    "unfinished": ("Chưa kết thúc", "Unfinished"),
    "transferred": ("Được chuyển dịch vụ", "Transferred"),
    "reinstated": ("Khôi phục sau vắng mặt", "Reinstated after no-show"),
    **{
        f"{time_key}_{measure}_minutes": (f"{time_vi} {measure_vi} (phút)", f"{time_en} {measure_en} (min)")
        for time_key, (time_vi, time_en) in _TIMES.items()
        for measure, (measure_vi, measure_en) in _MEASURES.items()
    },
    "rating_count": ("Số lượt đánh giá", "Ratings"),
    **{f"rating_{score}": labels for score, labels in sorted(SCORES.items(), reverse=True)},
    "rating_mean": ("Điểm hài lòng TB (1-4)", "Mean score (1-4)"),
}
HOUR_LABELS = {"hour": ("Giờ", "Hour"), "issued": COLUMN_LABELS["issued"], "served": COLUMN_LABELS["served"]}


def column_kind(key):
    """How a column's values are shown: ``"text"``, ``"count"``, ``"minutes"`` or ``"score"``."""
    if key == "group":
        return "text"
    if key.endswith("_minutes"):
        return "minutes"
    return "score" if key == "rating_mean" else "count"


# -- the figures ------------------------------------------------------------------

@dataclass
class Durations:
    """Durations in seconds: how many, mean, median and p90 (nearest rank); None without samples."""

    count: int = 0
    mean: float | None = None
    median: float | None = None
    p90: float | None = None

    @classmethod
    def of(cls, samples):
        samples = sorted(samples)
        if not samples:
            return cls()
        nearest_rank = -(-9 * len(samples) // 10)  # ceil(0.9 n) in integers: no float surprises
        return cls(count=len(samples), mean=round(statistics.fmean(samples), 1),
                   median=round(statistics.median(samples), 1), p90=round(samples[nearest_rank - 1], 1))


# Upper bounds (minutes) of the wait-distribution buckets; the last bucket is open-ended.
WAIT_BUCKETS_MINUTES = (5, 10, 15, 20, 30, 45, 60)


def wait_bucket_labels():
    """"< 5", "5–10", …, "≥ 60": the wait-distribution buckets' labels (minutes)."""
    bounds = (0, *WAIT_BUCKETS_MINUTES)
    labels = [f"< {WAIT_BUCKETS_MINUTES[0]}"]
    labels += [f"{low}–{high}" for low, high in zip(bounds[1:], bounds[2:], strict=False)]
    return labels + [f"≥ {WAIT_BUCKETS_MINUTES[-1]}"]


@dataclass
class Figures:
    """The report's numbers for the whole hall or one group."""

    issued: int = 0
    served: int = 0
    no_show: int = 0
    cancelled: int = 0
    expired: int = 0
    unfinished: int = 0
    transferred: int = 0
    reinstated: int = 0
    wait: Durations = field(default_factory=Durations)
    walk: Durations = field(default_factory=Durations)
    service: Durations = field(default_factory=Durations)
    issued_by_hour: list = field(default_factory=lambda: [0] * 24)
    served_by_hour: list = field(default_factory=lambda: [0] * 24)
    # score (4 = Rất hài lòng … 1 = Không hài lòng) → number of ratings
    ratings: dict = field(default_factory=lambda: {score: 0 for score in sorted(SCORES, reverse=True)})
    rating_count: int = 0
    rating_mean: float | None = None

    @classmethod
    def of(cls, tickets):
        figures = cls(issued=len(tickets))
        scores = []
        for ticket in tickets:
            setattr(figures, ticket.outcome, getattr(figures, ticket.outcome) + 1)
            figures.transferred += ticket.transferred
            figures.reinstated += ticket.reinstated
            figures.issued_by_hour[ticket.issued_hour] += 1
            if ticket.done_hour is not None:
                figures.served_by_hour[ticket.done_hour] += 1
            if ticket.score in figures.ratings:
                figures.ratings[ticket.score] += 1
                scores.append(ticket.score)
        figures.wait = Durations.of(t.wait for t in tickets if t.wait is not None)
        figures.walk = Durations.of(t.walk for t in tickets if t.walk is not None)
        figures.service = Durations.of(t.service_time for t in tickets if t.service_time is not None)
        figures.rating_count = len(scores)
        figures.rating_mean = round(statistics.fmean(scores), 2) if scores else None
        return figures

    def column_values(self):
        """{column key: value} for COLUMN_LABELS; times in minutes (unrounded), None when unknown."""
        values = {key: getattr(self, key) for key in ("issued", *OUTCOMES, "transferred", "reinstated")}
        for time_key in _TIMES:
            durations = getattr(self, time_key)
            for measure in _MEASURES:
                seconds = getattr(durations, measure)
                values[f"{time_key}_{measure}_minutes"] = None if seconds is None else seconds / 60
        values["rating_count"] = self.rating_count
        values.update({f"rating_{score}": count for score, count in self.ratings.items()})
        values["rating_mean"] = self.rating_mean
        return {key: values[key] for key in COLUMN_LABELS}


@dataclass
class Group:
    """One row of a grouped report: ``key`` is a service code, counter number, username,
    channel, or None for "—"."""

    key: object
    label: str
    label_en: str
    figures: Figures


@dataclass
class Report:
    hall: str
    start_day: str           # YYYY-MM-DD, inclusive
    end_day: str             # YYYY-MM-DD, inclusive
    timezone: str
    group_by: str | None
    generated_at: str        # ISO 8601 in the hall's time zone
    total: Figures
    groups: list             # [Group], empty when group_by is None

    def as_dict(self):
        """JSON-ready: rating scores become string keys, as JSON objects need."""
        data = asdict(self)
        for figures in [data["total"], *(group["figures"] for group in data["groups"])]:
            figures["ratings"] = {str(score): count for score, count in figures["ratings"].items()}
        return data


# -- from the event log to one summary per ticket -----------------------------------

@dataclass
class _TicketSummary:
    issued_at: float
    issued_hour: int
    channel: str
    service: str
    outcome: str = "unfinished"
    counter: int | None = None       # of the last call
    called_at: float | None = None   # the last call
    transferred: bool = False
    reinstated: bool = False
    wait: float | None = None
    walk: float | None = None
    service_time: float | None = None
    done_hour: int | None = None
    score: int | None = None
    staff: str | None = None
    done_at: float | None = None


def _summarise(events, tz):
    """Replay one ticket's events (in ``seq`` order) into its summary. An ``undone`` event
    puts the summary back as it was before the event it reverses."""
    summary = None
    started_at = None
    before = {}   # seq → (summary, started_at) just before that event
    for seq, kind, at, counter, service, data in events:
        before[seq] = (copy.copy(summary), started_at)
        if kind == "undone" and data.get("seq") in before:
            summary, started_at = before[data["seq"]]
            summary = copy.copy(summary)
            continue
        if kind == "issued":
            summary = _TicketSummary(issued_at=at, issued_hour=_local(at, tz).hour,
                                     channel=data.get("channel"), service=service)
        elif summary is None:
            continue  # the issued event is missing: not a ticket this report can place
        elif kind == "called":
            if summary.wait is None:
                summary.wait = at - summary.issued_at
            summary.counter, summary.called_at, started_at = counter, at, None
        elif kind == "started" and summary.called_at is not None:
            started_at = at
            summary.walk = at - summary.called_at
        elif kind == "done" and summary.called_at is not None:
            summary.service_time = at - (started_at if started_at is not None else summary.called_at)
            summary.done_hour, summary.done_at = _local(at, tz).hour, at
        elif kind == "transferred":
            summary.transferred = True
            summary.service = data.get("to", service)
            started_at = None
        elif kind == "reinstated":
            summary.reinstated = True
        summary.outcome = OUTCOME_AFTER.get(kind, summary.outcome)
    return summary


def _local(timestamp, tz):
    return datetime.fromtimestamp(timestamp, tz)


# The report form's boxes, as the refusals name them in Vietnamese (the English keeps the key).
DAY_BOXES = {"start_day": "Từ ngày", "end_day": "Đến ngày", "day": "Ngày"}


def _day(value, name):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise Invalid(f"{DAY_BOXES[name]}: ngày không hợp lệ {value!r} (YYYY-MM-DD)",
                      f"{name}: not a date {value!r} (YYYY-MM-DD)", code="invalid_date") from None


def _midnight(day, tz):
    return datetime(day.year, day.month, day.day, tzinfo=tz).timestamp()


def _staff_at(sessions, counter, at):
    """The username signed in to ``counter`` at ``at``, or None."""
    for started_at, ended_at, username, _ in sessions.get(counter, ()):
        if started_at <= at and (ended_at is None or at < ended_at):
            return username
    return None


def _load_tickets(db, config, start, end):
    """{ticket id: _TicketSummary} for the tickets issued in [start, end)."""
    tz = config.tz
    rows = db.execute(
        "SELECT event.ticket, event.seq, event.type, event.at, event.counter, event.service, event.data "
        "FROM events AS issue JOIN events AS event ON event.ticket = issue.ticket "
        "WHERE issue.type = 'issued' AND issue.at >= ? AND issue.at < ? ORDER BY event.ticket, event.seq",
        [start, end],
    ).fetchall()
    by_ticket = {}
    for ticket, seq, kind, at, counter, service, data in rows:
        by_ticket.setdefault(ticket, []).append((seq, kind, at, counter, service, json.loads(data or "{}")))
    tickets = {ticket: _summarise(events, tz) for ticket, events in by_ticket.items()}
    tickets = {ticket: summary for ticket, summary in tickets.items() if summary is not None}
    _leave_out_breaks(tickets.values(), _load_breaks(db, start, end))
    _add_ratings(db, tickets, start, end)
    return tickets


def _leave_out_breaks(summaries, breaks):
    """Take the counter's breaks that fell within a service out of its service time."""
    for summary in summaries:
        if summary.service_time is not None and summary.counter in breaks:
            began = summary.done_at - summary.service_time
            summary.service_time -= sum(resumed - paused for paused, resumed in breaks[summary.counter]
                                        if began <= paused and resumed <= summary.done_at)


def _add_ratings(db, tickets, start, end):
    """Each rated ticket's score, whenever the citizen sent it (it belongs to the ticket's day)."""
    for ticket, score in db.execute(
        "SELECT ticket_id, score FROM ratings JOIN events AS issue ON issue.ticket = ratings.ticket_id "
        "WHERE issue.type = 'issued' AND issue.at >= ? AND issue.at < ?", [start, end],
    ).fetchall():
        if ticket in tickets:
            tickets[ticket].score = score


def _load_breaks(db, start, end):
    """{counter: [(paused_at, resumed_at)]}: the counters' pauses that ended, from ``start`` to a
    day after ``end`` (a ticket ends on its own day, when the day's end expires it at the latest)."""
    breaks, paused = {}, {}
    for counter, kind, at in db.execute(
        "SELECT counter, type, at FROM events WHERE type IN ('counter_paused', 'counter_resumed') "
        "AND at >= ? AND at < ? ORDER BY seq", [start, end + 86400],
    ).fetchall():
        if kind == "counter_paused":
            paused.setdefault(counter, at)
        elif counter in paused:
            breaks.setdefault(counter, []).append((paused.pop(counter), at))
    return breaks


def _load_sessions(db, start, end):
    """{counter: [(started_at, ended_at, username, display name)]}, latest first, overlapping the range."""
    sessions = {}
    for counter, started_at, ended_at, username, display_name in db.execute(
        "SELECT counter, started_at, ended_at, username, display_name FROM counter_sessions "
        "JOIN users ON users.id = counter_sessions.user_id "
        "WHERE started_at < ? AND (ended_at IS NULL OR ended_at > ?) ORDER BY started_at DESC",
        [end, start],
    ).fetchall():
        sessions.setdefault(counter, []).append((started_at, ended_at, username, display_name or username))
    return sessions


def _former_labels(db, group_by):
    """{key: (label, label_en)} of every service or counter the hall has had, removed ones too
    (the store keeps their last names): a report reaching back before a removal names them."""
    if group_by == "service":
        return {code: (name, name_en or name) for code, name, name_en in
                db.execute("SELECT code, name, name_en FROM services").fetchall()}
    if group_by == "counter":
        return {number: (name or f"Quầy {number}", f"Counter {number}") for number, name in
                db.execute("SELECT number, name FROM counters").fetchall()}
    return {}


def _group_labels(config, group_by, tickets, sessions, former):
    """{key: (label, label_en)} of the groups in display order: the configured services,
    counters or channels (staff: those who called someone, by name), then keys seen but
    no longer configured (by their ``former`` names), then "—"."""
    seen = {getattr(ticket, group_by) for ticket in tickets}
    if group_by == "service":
        labels = {service.code: (service.name, service.name_en or service.name) for service in config.services}
    elif group_by == "counter":
        labels = {counter.number: (counter.name, f"Counter {counter.number}") for counter in config.counters}
    elif group_by == "channel":
        labels = {channel: CHANNEL_LABELS[channel] for channel in CHANNELS}
    else:
        names = {username: name for counter in sessions.values() for _, _, username, name in counter}
        staff = sorted((username for username in seen if username is not None),
                       key=lambda username: (names[username].casefold(), username))
        labels = {username: (names[username], names[username]) for username in staff}
    for key in sorted(seen - set(labels) - {None}, key=str):
        labels[key] = former.get(key) or ((f"Quầy {key}", f"Counter {key}") if group_by == "counter"
                                          else (str(key), str(key)))
    if None in seen:
        labels[None] = (NOBODY, NOBODY)
    return labels


def build_report(db, config, *, start_day, end_day, group_by=None, now=None):
    """The report of the local days ``start_day`` … ``end_day`` (inclusive; ``date`` or
    ``"YYYY-MM-DD"``), whole hall and, with ``group_by``, per service / counter / staff /
    channel. ``db`` is an open (reading) sqlite-utils Database or sqlite3 connection;
    ``now`` (epoch seconds, default the current time) stamps ``generated_at``."""
    first, last = _day(start_day, "start_day"), _day(end_day, "end_day")
    if last < first:
        raise Invalid("Ngày kết thúc không được trước ngày bắt đầu", "The end day must not be before the start day",
                      code="invalid_range")
    for day, name in ((first, "start_day"), (last, "end_day")):
        if not FIRST_DAY <= day <= LAST_DAY:   # 9999-12-31 + 1 day would not be a date at all
            raise Invalid(f"{DAY_BOXES[name]}: ngày {day:%d/%m/%Y} nằm ngoài {FIRST_DAY.year}–{LAST_DAY.year}",
                          f"{name}: {day.isoformat()} is outside {FIRST_DAY.year}–{LAST_DAY.year}",
                          code="invalid_range")
    if group_by is not None and group_by not in GROUPINGS:
        raise Invalid(f"Không nhóm được theo {group_by!r}", f"Cannot group by {group_by!r} "
                      f"(one of {', '.join(GROUPINGS)})", code="unknown_grouping")
    tz = config.tz
    start, end = _midnight(first, tz), _midnight(last + timedelta(days=1), tz)
    tickets = list(_load_tickets(db, config, start, end).values())
    groups = []
    if group_by is not None:
        sessions = _load_sessions(db, start, end) if group_by == "staff" else {}
        for ticket in tickets:
            if sessions and ticket.counter is not None:
                ticket.staff = _staff_at(sessions, ticket.counter, ticket.called_at)
        for key, (label, label_en) in _group_labels(config, group_by, tickets, sessions,
                                                         _former_labels(db, group_by)).items():
            members = [ticket for ticket in tickets if getattr(ticket, group_by) == key]
            groups.append(Group(key=key, label=label, label_en=label_en, figures=Figures.of(members)))
    generated_at = _local(time.time() if now is None else now, tz).isoformat(timespec="seconds")
    return Report(hall=config.name, start_day=first.isoformat(), end_day=last.isoformat(),
                  timezone=config.timezone, group_by=group_by, generated_at=generated_at,
                  total=Figures.of(tickets), groups=groups)


# -- one table for the page, the CSV and the spreadsheet -------------------------------

def wait_distribution(db, config, *, start_day, end_day):
    """Tickets per wait bucket (issue → first call; see WAIT_BUCKETS_MINUTES) over local days."""
    tz = config.tz
    first, last = _day(start_day, "start_day"), _day(end_day, "end_day")
    buckets = [0] * (len(WAIT_BUCKETS_MINUTES) + 1)
    for ticket in _load_tickets(db, config, _midnight(first, tz), _midnight(last + timedelta(days=1), tz)).values():
        if ticket.wait is not None:
            buckets[bisect.bisect_right(WAIT_BUCKETS_MINUTES, ticket.wait / 60)] += 1
    return buckets


def report_columns(report, language="vi"):
    """[(key, label)] of the report table: the group column, then COLUMN_LABELS."""
    index = 0 if language == "vi" else 1
    return [("group", GROUP_COLUMN_LABELS[report.group_by][index]),
            *((key, labels[index]) for key, labels in COLUMN_LABELS.items())]


def report_rows(report, language="vi"):
    """One {column key: value} per group, then the total row (last). Counts are ints, times
    are minutes (floats, unrounded), unknown values None; ``group`` is the row's label."""
    index = 0 if language == "vi" else 1
    rows = [{"group": (group.label, group.label_en)[index], **group.figures.column_values()}
            for group in report.groups]
    rows.append({"group": TOTAL_LABELS[index], **report.total.column_values()})
    return rows


def hourly_rows(report):
    """The hall's issued and served tickets per local hour, 0-23: [{hour, issued, served}]."""
    by_hour = zip(report.total.issued_by_hour, report.total.served_by_hour, strict=True)
    return [{"hour": f"{hour:02d}:00–{hour + 1:02d}:00", "issued": issued, "served": served}
            for hour, (issued, served) in enumerate(by_hour)]


def report_filename(report, extension):
    """A download name such as ``bao-cao-2026-11-01-2026-11-30-quay.xlsx`` (ASCII, no spaces)."""
    grouping = {"service": "linh-vuc", "counter": "quay", "staff": "can-bo", "channel": "kenh"}.get(report.group_by)
    return "-".join(filter(None, ["bao-cao", report.start_day, report.end_day, grouping])) + f".{extension}"


def _text(value, kind):
    if value is None:
        return ""
    if kind == "minutes":
        return f"{value:.1f}"
    if kind == "score":
        return f"{value:.2f}"
    return str(value)


# A cell a spreadsheet would run as a formula (a staff member named "=HYPERLINK(...)").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text):
    """Text that a spreadsheet shows as typed, never runs: a formula-like start gets a quote."""
    return f"'{text}" if isinstance(text, str) and text.startswith(FORMULA_STARTS) else text


def report_csv(report):
    """The report table as CSV text: a UTF-8 byte-order mark first (so Excel reads the
    Vietnamese correctly), Vietnamese header, one row per group and the total; minutes with
    one decimal, a point as the decimal separator; empty cells where nothing was measured."""
    output = io.StringIO()
    output.write("\ufeff")
    writer = csv.writer(output)
    columns = report_columns(report)
    writer.writerow(_inert(label) for _, label in columns)
    for row in report_rows(report):
        writer.writerow(_inert(_text(row[key], column_kind(key))) if column_kind(key) == "text"
                        else _text(row[key], column_kind(key)) for key, _ in columns)
    return output.getvalue()


NUMBER_FORMATS = {"count": "0", "minutes": "0.0", "score": "0.00", "text": "General"}
SUMMARY_SHEET = "Tổng hợp"
HOURLY_SHEET = "Theo giờ"
TITLE_ROWS = 4  # hall name, range, time zone and stamp, a blank line; the table starts below


def _vietnamese_date(day):
    return date.fromisoformat(day).strftime("%d/%m/%Y")


def _write_title(sheet, report, title_font):
    grouping = GROUP_COLUMN_LABELS[report.group_by][0].lower() if report.group_by else None
    generated = datetime.fromisoformat(report.generated_at)
    sheet.append([report.hall])
    sheet.append([f"Báo cáo từ ngày {_vietnamese_date(report.start_day)} đến ngày "
                  f"{_vietnamese_date(report.end_day)}" + (f", theo {grouping}" if grouping else "")])
    sheet.append([f"Giờ địa phương ({report.timezone}); lập lúc {generated:%H:%M %d/%m/%Y}"])
    sheet.append([])
    sheet["A1"].font = title_font


def _write_table(sheet, header, rows, kinds):
    """Append a header and rows under the title: bold header and total (last) row, number
    formats, widths, the header frozen."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    sheet.append(header)
    header_row = sheet.max_row
    for cell in sheet[header_row]:
        cell.font = bold
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    for row in rows:
        sheet.append(row)
        for cell, kind in zip(sheet[sheet.max_row], kinds, strict=True):
            cell.number_format = NUMBER_FORMATS[kind]
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                cell.data_type = "s"   # openpyxl would store "=…" as a formula
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for position, (label, kind) in enumerate(zip(header, kinds, strict=True), start=1):
        # Headers wrap, so their longest word, not the whole label, sets the width.
        widest = max([len(word) for word in label.split()]
                     + [len(_text(row[position - 1], kind)) for row in rows])
        sheet.column_dimensions[get_column_letter(position)].width = min(max(widest + 3, 11), 40)
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)


def report_xlsx(report):
    """The report as an .xlsx workbook (bytes): sheet "Tổng hợp" with the report table and
    sheet "Theo giờ" with the hall's tickets issued and served per local hour."""
    from openpyxl import Workbook  # only the spreadsheet export needs openpyxl
    from openpyxl.styles import Font

    workbook = Workbook()
    summary = workbook.active
    summary.title = SUMMARY_SHEET
    hourly = workbook.create_sheet(HOURLY_SHEET)
    for sheet in (summary, hourly):
        _write_title(sheet, report, Font(bold=True, size=14))

    columns = report_columns(report)
    _write_table(summary, [label for _, label in columns],
                 [[row[key] for key, _ in columns] for row in report_rows(report)],
                 [column_kind(key) for key, _ in columns])

    hours = hourly_rows(report)
    _write_table(hourly, [HOUR_LABELS[key][0] for key in HOUR_LABELS],
                 [[row[key] for key in HOUR_LABELS] for row in hours]
                 + [[TOTAL_LABELS[0], sum(row["issued"] for row in hours), sum(row["served"] for row in hours)]],
                 ["text", "count", "count"])

    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


# -- figures as people read them (the reports page; the exports keep plain numbers) ----------

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
UNKNOWN = "—"
SATISFIED_SCORES = (4, 3)  # "Rất hài lòng" and "Hài lòng" count as satisfied


def duration_text(seconds):
    """A duration as minutes and seconds: ``"4 ph 30 s"``, ``"45 s"``, ``"12 ph"``, ``"1 giờ 5 ph"``
    (whole seconds, rounded); ``"—"`` when nothing was measured."""
    if seconds is None:
        return UNKNOWN
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes} ph" if minutes else f"{hours} giờ"
    if minutes:
        return f"{minutes} ph {seconds} s" if seconds else f"{minutes} ph"
    return f"{seconds} s"


def minutes_text(minutes):
    """``duration_text`` of a value in minutes (the report rows keep minutes)."""
    return UNKNOWN if minutes is None else duration_text(minutes * 60)


def day_text(day, weekday=True):
    """``"Thứ Năm 26/11/2026"`` (or ``"26/11/2026"``) from a ``date`` or ``"YYYY-MM-DD"``."""
    day = _day(day, "day")
    return f"{WEEKDAYS[day.weekday()]} {day:%d/%m/%Y}" if weekday else f"{day:%d/%m/%Y}"


def range_text(start_day, end_day):
    """``"Thứ Năm 26/11/2026"`` for one day, ``"Thứ Hai 23/11/2026 – Thứ Năm 26/11/2026"`` for a range."""
    return day_text(start_day) if start_day == end_day else f"{day_text(start_day)} – {day_text(end_day)}"


def moment_text(iso):
    """``"09:15 Thứ Năm 26/11/2026"`` from an ISO 8601 time (``Report.generated_at``)."""
    moment = datetime.fromisoformat(iso)
    return f"{moment:%H:%M} {day_text(moment.date())}"


def satisfied_percent(figures):
    """The share of ratings that were "Rất hài lòng" or "Hài lòng", in whole percent; None without ratings."""
    if not figures.rating_count:
        return None
    satisfied = sum(figures.ratings.get(score, 0) for score in SATISFIED_SCORES)
    return round(100 * satisfied / figures.rating_count)


def satisfaction_text(figures, language="vi"):
    """``"75 % hài lòng, 4 lượt"`` (``"75 % satisfied, 4 ratings"``); ``"chưa có đánh giá"`` without ratings."""
    percent = satisfied_percent(figures)
    if language == "vi":
        return "chưa có đánh giá" if percent is None else f"{percent} % hài lòng, {figures.rating_count} lượt"
    if percent is None:
        return "no ratings yet"
    return f"{percent} % satisfied, {figures.rating_count} rating{'s' if figures.rating_count != 1 else ''}"


def time_columns():
    """[(time key, (vi, en), [(measure, (vi, en))])]: the report's three durations and their measures."""
    return [(key, labels, list(_MEASURES.items())) for key, labels in _TIMES.items()]
