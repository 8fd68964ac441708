"""Supervisors' pages: the live dashboard and reports (table, chart, CSV, XLSX, print)."""

from datetime import date, timedelta

from flask import Blueprint, Response, render_template, request

from ...core import bookings
from ...core.ratings import SCORES
from ...errors import HallError
from ...services import reports
from ...services.supervision import dashboard_snapshot
from ..access import roles_required
from ..extensions import get_hall, today

bp = Blueprint("dashboard", __name__)
SUPERVISORS = ("supervisor", "admin")
# The reports page's first table: how many tickets, and how each ended.
COUNT_COLUMNS = ("issued", "served", "no_show", "cancelled", "expired", "unfinished", "transferred", "reinstated")


@bp.app_template_filter("duration")
def duration_filter(seconds):
    """``{{ seconds|duration }}``: "4 ph 30 s"."""
    return reports.duration_text(seconds)


@bp.app_template_filter("vn_day")
def vn_day_filter(day, weekday=True):
    """``{{ "2026-11-26"|vn_day }}``: "Thứ Năm 26/11/2026"."""
    return reports.day_text(day, weekday)


@bp.get("/dashboard")
@roles_required(*SUPERVISORS)
def dashboard():
    hall = get_hall()
    return render_template("supervisor/dashboard.html", snapshot=hall.read(dashboard_snapshot))


def _report_request():
    """The report asked for in the query string; defaults: today, no grouping."""
    start = request.args.get("start") or today()
    end = request.args.get("end") or start
    group_by = request.args.get("group_by") or None

    def build(db, config, now):
        return reports.build_report(db, config, start_day=start, end_day=end, group_by=group_by, now=now)
    return {"start": start, "end": end, "group_by": group_by}, get_hall().read(build)


def _booking_rows(report):
    """Appointments whose slot fell in the report's days, per service: a booking never
    checked in counts as a no-show here, beside the tickets' own no-shows."""
    hall = get_hall()
    figures = hall.read(lambda db, config, now: bookings.booking_figures(
        db, start_day=report.start_day, end_day=report.end_day))
    return [(service.name, figures[service.code]) for service in hall.config.services if service.code in figures]


@bp.get("/reports")
@roles_required(*SUPERVISORS)
def report_page():
    day = date.fromisoformat(today())
    presets = {"Hôm nay / Today": (day, day), "7 ngày qua / Last 7 days": (day - timedelta(days=6), day),
               "Tháng này / This month": (day.replace(day=1), day)}
    try:
        asked, report = _report_request()
    except HallError as error:
        return render_template("supervisor/reports.html", error=error, asked=request.args, report=None,
                               presets=presets, groupings=reports.GROUPINGS), error.status
    lines = [(group.label, group.label_en, group.figures, False) for group in report.groups]
    lines.append((*reports.TOTAL_LABELS, report.total, True))
    return render_template(
        "supervisor/reports.html", asked=asked, report=report, error=None, presets=presets,
        groupings=reports.GROUPINGS, lines=lines, group_label=reports.GROUP_COLUMN_LABELS[report.group_by],
        counts=COUNT_COLUMNS, labels=reports.COLUMN_LABELS, times=reports.time_columns(),
        scores=sorted(SCORES.items(), reverse=True), hours=reports.hourly_rows(report),
        booking_rows=_booking_rows(report), satisfaction=reports.satisfaction_text,
        report_moment=reports.moment_text(report.generated_at),
    )


@bp.get("/reports.csv")
@roles_required(*SUPERVISORS)
def report_csv():
    _, report = _report_request()
    return _download(reports.report_csv(report).encode("utf-8"), "text/csv; charset=utf-8",
                     reports.report_filename(report, "csv"))


@bp.get("/reports.xlsx")
@roles_required(*SUPERVISORS)
def report_xlsx():
    _, report = _report_request()
    return _download(reports.report_xlsx(report),
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     reports.report_filename(report, "xlsx"))


def _download(body, mimetype, filename):
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
