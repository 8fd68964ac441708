"""Reports from the event log: one scripted day (and a ticket after midnight), every figure
checked by hand-computed numbers, then the CSV and XLSX exports read back."""

import csv
import io
import json

import pytest

from hallserver.config import parse_config
from hallserver.errors import Invalid
from hallserver.hall import Hall
from hallserver.services import reports, users
from hallserver.store import open_store
from tests.helpers import Clock, hall_time, small_hall_mapping

DAY = "2026-11-26"
NEXT_DAY = "2026-11-27"
STAMP = hall_time(2026, 11, 27, 10, 0).timestamp()


def moment(hour, minute, second=0, day=26):
    return hall_time(2026, 11, day, hour, minute, second)


class Script:
    """Drives the Hall facade at given local times and remembers each ticket by letter."""

    def __init__(self, hall):
        self.hall = hall
        self.tickets = {}

    def issue(self, when, letter, service, channel="kiosk"):
        self.hall.clock.set(when)
        self.tickets[letter] = self.hall.issue_ticket(service, channel=channel)

    def act(self, when, counter, action, **arguments):
        self.hall.clock.set(when)
        answer = self.hall.counter_action(counter, action, **arguments)
        return answer["ticket"]["number"] if answer["ticket"] else None

    def ticket_id(self, letter):
        number, day = self.tickets[letter]["number"], self.tickets[letter]["issued_at"][:10]
        return self.hall.store.db.execute("SELECT id FROM tickets WHERE day = ? AND number = ?",
                                          [day, number]).fetchone()[0]


@pytest.fixture(scope="module")
def scripted_hall(tmp_path_factory):
    """Two services (HT, CT), counters 1 (HT), 2 (HT, CT), 3 (CT, HT; idle), open around the
    clock. Lan works counter 1 from 08:00 to 10:00, Bình counter 2 from 08:00 on."""
    store = open_store(tmp_path_factory.mktemp("reports") / "hall.db")
    store.apply_config(parse_config(small_hall_mapping(hours={"default": ["00:00-24:00"]})))
    hall = Hall(store, clock=Clock(moment(8, 0)))
    with store.transaction() as db:
        lan = users.add_user(db, username="lan", password="mat-khau-1", role="staff", counters=[1],
                             display_name="Nguyễn Thị Lan", now=hall.clock())
        binh = users.add_user(db, username="binh", password="mat-khau-2", role="staff", counters=[2],
                              display_name="Trần Văn Bình", now=hall.clock())
        users.start_counter_session(db, user=lan, counter=1, now=hall.clock())
        users.start_counter_session(db, user=binh, counter=2, now=hall.clock())

    script = Script(hall)
    script.issue(moment(9, 0), "A", "HT")
    script.issue(moment(9, 2), "B", "HT", channel="online")
    assert script.act(moment(9, 3), 1, "call-next") == "1001"           # A waited 180
    script.act(moment(9, 3, 30), 1, "recall")                            # does not restart anything
    script.act(moment(9, 4), 1, "start")                                 # A walked 60 (from the call)
    script.issue(moment(9, 5), "C", "CT")
    assert script.act(moment(9, 6), 2, "call-next") == "1002"           # B waited 240
    script.act(moment(9, 8), 2, "no-show")
    script.act(moment(9, 10), 1, "done")                                 # A served 360
    script.issue(moment(9, 10, 30), "D", "HT", channel="staff")
    assert script.act(moment(9, 11), 2, "call-next") == "B001"          # C waited 360
    script.act(moment(9, 12), 2, "transfer", service="HT")               # C: CT → HT
    script.act(moment(9, 13), 2, "reinstate", number="1002")             # B back in the queue
    assert script.act(moment(9, 14), 1, "call-next") == "B001"          # C again: the wait stays 360
    script.act(moment(9, 15), 1, "start")                                # C walked 60
    script.issue(moment(9, 20), "E", "CT", channel="appointment")
    assert script.act(moment(9, 21), 2, "call-next") == "1002"          # B again: the wait stays 240
    script.act(moment(9, 22), 2, "done")                                 # B without start: served 60 from the call
    script.act(moment(9, 25), 1, "done")                                 # C served 600
    hall.clock.set(moment(9, 30))
    hall.cancel(script.tickets["E"]["track_token"])                      # E never called
    assert script.act(moment(9, 31), 2, "call-next") == "1003"          # D waited 1230
    script.act(moment(9, 33), 2, "start")                                # D walked 120
    script.issue(moment(9, 40), "K", "CT")
    script.act(moment(9, 45), 2, "done")                                 # D served 720
    assert script.act(moment(9, 46), 2, "call-next") == "B003"          # K waited 360
    script.act(moment(9, 48), 2, "start")                                # K walked 120
    script.act(moment(9, 53), 2, "done")                                 # K served 300
    with store.transaction() as db:
        users.end_counter_sessions(db, user_id=lan["id"], now=moment(10, 0).timestamp())
    script.issue(moment(10, 5), "F", "HT")
    assert script.act(moment(10, 6), 1, "call-next") == "1004"          # F waited 60; nobody at counter 1
    script.act(moment(10, 7), 1, "start")                                # F walked 60
    script.act(moment(10, 17), 1, "done")                                # F served 600
    script.issue(moment(10, 20), "N", "HT")
    assert script.act(moment(10, 25), 2, "call-next") == "1005"         # N waited 300
    script.act(moment(10, 26), 2, "recall")
    script.act(moment(10, 27), 2, "recall")
    script.act(moment(10, 28), 2, "no-show")                             # N ends a no-show
    script.issue(moment(23, 50), "G", "HT")                              # never called
    script.issue(moment(0, 10, day=27), "H", "HT")                       # 17:10 UTC on the 26th; expires G
    assert script.tickets["H"]["number"] == "1001"

    ratings = {"A": (4, moment(9, 11)), "B": (3, moment(9, 23)), "C": (4, moment(9, 26)),
               "D": (1, moment(9, 46)), "K": (2, moment(0, 5, day=27))}  # K rated after midnight
    with store.transaction() as db:
        for letter, (score, when) in ratings.items():
            db["ratings"].insert({"ticket_id": script.ticket_id(letter), "score": score, "source": "tablet",
                                  "reasons": "[]", "comment": "", "at": when.timestamp()})
    yield hall
    store.close()


def report(hall, start_day=DAY, end_day=DAY, group_by=None):
    with hall.store.reading() as db:
        return reports.build_report(db, hall.config, start_day=start_day, end_day=end_day, group_by=group_by,
                                    now=STAMP)


def durations(count=0, mean=None, median=None, p90=None):
    return {"count": count, "mean": mean, "median": median, "p90": p90}


def figures(issued=0, served=0, no_show=0, cancelled=0, expired=0, unfinished=0, transferred=0, reinstated=0,
            wait=(), walk=(), service=(), issued_hours=None, served_hours=None, ratings=None, rating_mean=None):
    """The expected ``as_dict`` figures, hand-computed: hours and ratings given sparsely."""
    ratings = ratings or {}
    return {
        "issued": issued, "served": served, "no_show": no_show, "cancelled": cancelled, "expired": expired,
        "unfinished": unfinished, "transferred": transferred, "reinstated": reinstated,
        "wait": durations(*wait), "walk": durations(*walk), "service": durations(*service),
        "issued_by_hour": [(issued_hours or {}).get(hour, 0) for hour in range(24)],
        "served_by_hour": [(served_hours or {}).get(hour, 0) for hour in range(24)],
        "ratings": {str(score): ratings.get(score, 0) for score in (4, 3, 2, 1)},
        "rating_count": sum(ratings.values()), "rating_mean": rating_mean,
    }


# Waits A 180, B 240, C 360, D 1230, K 360, F 60, N 300; walks A 60, C 60, D 120, K 120, F 60;
# service A 360, B 60 (call → done), C 600, D 720, K 300, F 600. p90 = the ceil(0.9 n)-th smallest.
DAY_TOTAL = figures(
    issued=9, served=6, no_show=1, cancelled=1, expired=1, transferred=1, reinstated=1,
    wait=(7, 390.0, 300.0, 1230), walk=(5, 84.0, 60.0, 120), service=(6, 440.0, 480.0, 720),
    issued_hours={9: 6, 10: 2, 23: 1}, served_hours={9: 5, 10: 1},
    ratings={4: 2, 3: 1, 2: 1, 1: 1}, rating_mean=2.8,
)
COUNTER_2 = figures(  # B, D, K, N, all called by Bình
    issued=4, served=3, no_show=1, reinstated=1,
    wait=(4, 532.5, 330.0, 1230), walk=(2, 120.0, 120.0, 120), service=(3, 360.0, 300.0, 720),
    issued_hours={9: 3, 10: 1}, served_hours={9: 3}, ratings={3: 1, 2: 1, 1: 1}, rating_mean=2.0,
)


def groups(report):
    return [(group["key"], group["label"], group["label_en"], group["figures"]) for group in report.as_dict()["groups"]]


def test_whole_hall_figures_for_one_day(scripted_hall):
    day = report(scripted_hall).as_dict()
    assert day == {
        "hall": "Xã Thử", "start_day": DAY, "end_day": DAY, "timezone": "Asia/Ho_Chi_Minh", "group_by": None,
        "generated_at": "2026-11-27T10:00:00+07:00", "total": DAY_TOTAL, "groups": [],
    }
    assert json.loads(json.dumps(day)) == day


def test_range_boundaries_follow_the_halls_midnight(scripted_hall):
    after_midnight = figures(issued=1, unfinished=1, issued_hours={0: 1})  # H, 00:10 local, still waiting
    # G's expiry is written at 00:10 on the 27th but belongs to the 26th, the day G was issued.
    assert report(scripted_hall, NEXT_DAY, NEXT_DAY).as_dict()["total"] == after_midnight
    both = report(scripted_hall, DAY, NEXT_DAY).as_dict()["total"]
    assert both == dict(DAY_TOTAL, issued=10, unfinished=1,
                        issued_by_hour=[1] + DAY_TOTAL["issued_by_hour"][1:])
    assert report(scripted_hall, "2026-11-25", "2026-11-25").as_dict()["total"] == figures()


def test_grouped_by_service_the_ticket_counts_where_it_was_served(scripted_hall):
    assert groups(report(scripted_hall, group_by="service")) == [
        ("HT", "Hộ tịch", "Hộ tịch", figures(  # A, B, C (transferred from CT), D, F, N, G
            issued=7, served=5, no_show=1, expired=1, transferred=1, reinstated=1,
            wait=(6, 395.0, 270.0, 1230), walk=(4, 75.0, 60.0, 120), service=(5, 468.0, 600.0, 720),
            issued_hours={9: 4, 10: 2, 23: 1}, served_hours={9: 4, 10: 1},
            ratings={4: 2, 3: 1, 1: 1}, rating_mean=3.0)),
        ("CT", "Chứng thực", "Chứng thực", figures(  # E, K
            issued=2, served=1, cancelled=1,
            wait=(1, 360.0, 360.0, 360), walk=(1, 120.0, 120.0, 120), service=(1, 300.0, 300.0, 300),
            issued_hours={9: 2}, served_hours={9: 1}, ratings={2: 1}, rating_mean=2.0)),
    ]


def test_grouped_by_counter_of_the_last_call(scripted_hall):
    assert groups(report(scripted_hall, group_by="counter")) == [
        (1, "Quầy 1", "Counter 1", figures(  # A, C, F
            issued=3, served=3, transferred=1,
            wait=(3, 200.0, 180.0, 360), walk=(3, 60.0, 60.0, 60), service=(3, 520.0, 600.0, 600),
            issued_hours={9: 2, 10: 1}, served_hours={9: 2, 10: 1}, ratings={4: 2}, rating_mean=4.0)),
        (2, "Quầy 2", "Counter 2", COUNTER_2),
        (3, "Quầy 3", "Counter 3", figures()),
        (None, "—", "—", figures(issued=2, cancelled=1, expired=1, issued_hours={9: 1, 23: 1})),  # E, G
    ]


def test_grouped_by_staff_signed_in_at_the_call(scripted_hall):
    assert groups(report(scripted_hall, group_by="staff")) == [
        ("lan", "Nguyễn Thị Lan", "Nguyễn Thị Lan", figures(  # A, C; F came after her session
            issued=2, served=2, transferred=1,
            wait=(2, 270.0, 270.0, 360), walk=(2, 60.0, 60.0, 60), service=(2, 480.0, 480.0, 600),
            issued_hours={9: 2}, served_hours={9: 2}, ratings={4: 2}, rating_mean=4.0)),
        ("binh", "Trần Văn Bình", "Trần Văn Bình", COUNTER_2),
        (None, "—", "—", figures(  # F (counter 1, nobody signed in), E and G (never called)
            issued=3, served=1, cancelled=1, expired=1,
            wait=(1, 60.0, 60.0, 60), walk=(1, 60.0, 60.0, 60), service=(1, 600.0, 600.0, 600),
            issued_hours={9: 1, 10: 1, 23: 1}, served_hours={10: 1})),
    ]


def test_grouped_by_channel(scripted_hall):
    assert groups(report(scripted_hall, group_by="channel")) == [
        ("kiosk", "Kiosk lấy số", "Kiosk", figures(  # A, C, K, F, N, G
            issued=6, served=4, no_show=1, expired=1, transferred=1,
            wait=(5, 252.0, 300.0, 360), walk=(4, 75.0, 60.0, 120), service=(4, 465.0, 480.0, 600),
            issued_hours={9: 3, 10: 2, 23: 1}, served_hours={9: 3, 10: 1},
            ratings={4: 2, 2: 1}, rating_mean=3.33)),
        ("online", "Trực tuyến", "Online", figures(  # B
            issued=1, served=1, reinstated=1, wait=(1, 240.0, 240.0, 240), service=(1, 60.0, 60.0, 60),
            issued_hours={9: 1}, served_hours={9: 1}, ratings={3: 1}, rating_mean=3.0)),
        ("staff", "Cán bộ cấp số", "Issued by staff", figures(  # D
            issued=1, served=1, wait=(1, 1230.0, 1230.0, 1230), walk=(1, 120.0, 120.0, 120),
            service=(1, 720.0, 720.0, 720), issued_hours={9: 1}, served_hours={9: 1},
            ratings={1: 1}, rating_mean=1.0)),
        ("appointment", "Lịch hẹn", "Appointment", figures(issued=1, cancelled=1, issued_hours={9: 1})),  # E
    ]


@pytest.mark.parametrize("group_by", reports.GROUPINGS)
def test_groups_add_up_to_the_total(scripted_hall, group_by):
    grouped = report(scripted_hall, group_by=group_by)
    assert grouped.total == report(scripted_hall).total
    for key in ("issued", "served", "no_show", "cancelled", "expired", "transferred", "reinstated", "rating_count"):
        assert sum(getattr(group.figures, key) for group in grouped.groups) == getattr(grouped.total, key)


def test_durations_use_the_nearest_rank_p90():
    assert reports.Durations.of([]) == reports.Durations()
    assert reports.Durations.of([5]) == reports.Durations(1, 5.0, 5.0, 5)
    assert reports.Durations.of(range(1, 11)).p90 == 9    # ceil(9.0) = 9th of 10
    assert reports.Durations.of(range(1, 12)).p90 == 10   # ceil(9.9) = 10th of 11
    assert reports.Durations.of([1, 2, 4]).mean == 2.3


def test_wrong_arguments_are_refused(scripted_hall):
    with pytest.raises(Invalid) as refused:
        report(scripted_hall, NEXT_DAY, DAY)
    assert refused.value.code == "invalid_range"
    with pytest.raises(Invalid) as refused:
        report(scripted_hall, group_by="weather")
    assert refused.value.code == "unknown_grouping"
    with pytest.raises(Invalid) as refused:
        report(scripted_hall, "26/11/2026")
    assert refused.value.code == "invalid_date"


def test_every_column_has_both_labels():
    assert all(len(labels) == 2 and all(labels) for labels in reports.COLUMN_LABELS.values())
    assert reports.COLUMN_LABELS["rating_4"] == ("Rất hài lòng", "Very satisfied")
    assert reports.COLUMN_LABELS["rating_1"] == ("Không hài lòng", "Not satisfied")


def test_csv_by_counter(scripted_hall):
    text = reports.report_csv(report(scripted_hall, group_by="counter"))
    assert text.startswith("\ufeff")
    header, *rows = list(csv.reader(io.StringIO(text[1:])))
    assert header == ["Quầy"] + [vi for vi, _ in reports.COLUMN_LABELS.values()]
    blank_times = [""] * 9
    assert rows == [
        # group, issued, served, no-show, cancelled, expired, unfinished, transferred, reinstated,
        # wait / walk / service minutes (mean, median, p90), ratings: count, 4, 3, 2, 1, mean
        ["Quầy 1", "3", "3", "0", "0", "0", "0", "1", "0", "3.3", "3.0", "6.0", "1.0", "1.0", "1.0",
         "8.7", "10.0", "10.0", "2", "2", "0", "0", "0", "4.00"],
        ["Quầy 2", "4", "3", "1", "0", "0", "0", "0", "1", "8.9", "5.5", "20.5", "2.0", "2.0", "2.0",
         "6.0", "5.0", "12.0", "3", "0", "1", "1", "1", "2.00"],
        ["Quầy 3", "0", "0", "0", "0", "0", "0", "0", "0", *blank_times, "0", "0", "0", "0", "0", ""],
        ["—", "2", "0", "0", "1", "1", "0", "0", "0", *blank_times, "0", "0", "0", "0", "0", ""],
        ["Tổng cộng", "9", "6", "1", "1", "1", "0", "1", "1", "6.5", "5.0", "20.5", "1.4", "1.0", "2.0",
         "7.3", "8.0", "12.0", "5", "2", "1", "1", "1", "2.80"],
    ]
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")


def test_download_names():
    assert reports.report_filename(report_for_names(None), "csv") == "bao-cao-2026-11-01-2026-11-30.csv"
    assert reports.report_filename(report_for_names("staff"), "xlsx") == "bao-cao-2026-11-01-2026-11-30-can-bo.xlsx"


def report_for_names(group_by):
    return reports.Report(hall="", start_day="2026-11-01", end_day="2026-11-30", timezone="Asia/Ho_Chi_Minh",
                          group_by=group_by, generated_at="", total=reports.Figures(), groups=[])


def test_csv_without_grouping_is_the_total_row(scripted_hall):
    header, *rows = list(csv.reader(io.StringIO(reports.report_csv(report(scripted_hall))[1:])))
    assert header[0] == "Phạm vi"
    assert [row[:3] for row in rows] == [["Tổng cộng", "9", "6"]]


def test_rows_in_english_for_the_page(scripted_hall):
    by_channel = report(scripted_hall, group_by="channel")
    assert [label for _, label in reports.report_columns(by_channel, "en")][:3] == ["Channel", "Issued", "Served"]
    rows = reports.report_rows(by_channel, "en")
    assert [row["group"] for row in rows] == ["Kiosk", "Online", "Issued by staff", "Appointment", "Total"]
    assert rows[-1]["wait_mean_minutes"] == 6.5
    assert rows[-1]["walk_mean_minutes"] == pytest.approx(1.4)


def test_xlsx_sheets_table_and_hours(scripted_hall):
    from openpyxl import load_workbook

    grouped = report(scripted_hall, group_by="staff")
    workbook = load_workbook(io.BytesIO(reports.report_xlsx(grouped)))
    assert workbook.sheetnames == ["Tổng hợp", "Theo giờ"]

    summary = workbook["Tổng hợp"]
    assert summary["A1"].value == "Xã Thử" and summary["A1"].font.bold
    assert summary["A2"].value == "Báo cáo từ ngày 26/11/2026 đến ngày 26/11/2026, theo cán bộ"
    assert summary["A3"].value == "Giờ địa phương (Asia/Ho_Chi_Minh); lập lúc 10:00 27/11/2026"
    header_row = reports.TITLE_ROWS + 1
    header = [cell.value for cell in summary[header_row]]
    assert header == ["Cán bộ"] + [vi for vi, _ in reports.COLUMN_LABELS.values()]
    assert all(cell.font.bold for cell in summary[header_row])
    assert [summary.cell(row, 1).value for row in range(header_row + 1, summary.max_row + 1)] == [
        "Nguyễn Thị Lan", "Trần Văn Bình", "—", "Tổng cộng"]
    wait_mean = summary.cell(header_row + 1, header.index("Chờ TB (phút)") + 1)
    assert wait_mean.value == pytest.approx(4.5) and wait_mean.number_format == "0.0"   # Lan: 270 s
    issued = summary.cell(summary.max_row, 2)
    assert issued.value == 9 and issued.number_format == "0" and issued.font.bold
    assert summary.cell(summary.max_row, header.index("Điểm hài lòng TB (1-4)") + 1).value == 2.8
    assert summary.cell(header_row + 3, header.index("Chờ P90 (phút)") + 1).value == 1.0  # "—": F, 60 s
    assert summary.column_dimensions["A"].width >= len("Nguyễn Thị Lan")
    assert summary.freeze_panes == f"B{header_row + 1}"

    hourly = workbook["Theo giờ"]
    assert [cell.value for cell in hourly[header_row]] == ["Giờ", "Số phiếu đã cấp", "Đã phục vụ"]
    hours = [[cell.value for cell in row] for row in hourly.iter_rows(min_row=header_row + 1)]
    assert len(hours) == 25
    assert hours[0] == ["00:00–01:00", 0, 0]
    assert hours[9] == ["09:00–10:00", 6, 5]
    assert hours[10] == ["10:00–11:00", 2, 1]
    assert hours[23] == ["23:00–24:00", 1, 0]
    assert hours[24] == ["Tổng cộng", 9, 6]


def test_wait_distribution_buckets_the_first_call_waits(scripted_hall):
    # waits A 3, B 4, F 1 min (< 5); C 6, K 6, N 5 min (5–10); D 20.5 min (20–30)
    with scripted_hall.store.reading() as db:
        buckets = reports.wait_distribution(db, scripted_hall.config, start_day=DAY, end_day=DAY)
        assert reports.wait_distribution(db, scripted_hall.config, start_day=NEXT_DAY, end_day=NEXT_DAY) == [0] * 8
    assert buckets == [3, 3, 0, 0, 1, 0, 0, 0]
    assert reports.wait_bucket_labels() == ["< 5", "5–10", "10–15", "15–20", "20–30", "30–45", "45–60", "≥ 60"]


def test_a_counters_break_during_a_service_is_not_service_time(tmp_path):
    """Lunch 11:30-13:30. Counter 1 pauses for lunch with a citizen at its desk and finishes
    after it; counter 2 pauses to take nobody new and finishes its citizen before its break;
    a citizen waits through lunch (a wait is the citizen's: the break counts there)."""
    store = open_store(tmp_path / "hall.db")
    store.apply_config(parse_config(small_hall_mapping()))
    hall = Hall(store, clock=Clock(moment(7, 30)))
    script = Script(hall)
    script.issue(moment(11, 20), "X", "HT")
    script.issue(moment(11, 21), "Z", "CT")
    script.issue(moment(11, 22), "Y", "HT")
    assert script.act(moment(11, 25), 1, "call-next") == "1001"          # X waited 300
    script.act(moment(11, 26), 1, "start")
    assert script.act(moment(11, 25), 2, "call-next") == "B001"          # Z waited 240
    script.act(moment(11, 26), 2, "start")
    script.act(moment(11, 29), 2, "pause")                                 # nobody new: Z is still served
    script.act(moment(11, 30), 1, "pause")                                 # lunch, X at the desk
    script.act(moment(11, 34), 2, "done")                                  # Z served 480, pause and all
    script.act(moment(13, 30), 1, "resume")
    script.act(moment(13, 30), 2, "resume")
    script.act(moment(13, 40), 1, "done")                                  # X served 240 + 600, not the 2 h break
    assert script.act(moment(13, 41), 1, "call-next") == "1002"          # Y waited 8340, lunch and all
    script.act(moment(13, 42), 1, "start")
    script.act(moment(13, 50), 1, "done")                                  # Y served 480
    with store.reading() as db:
        by_counter = reports.build_report(db, hall.config, start_day=DAY, end_day=DAY, group_by="counter",
                                          now=STAMP)
    store.close()
    total = by_counter.as_dict()["total"]
    assert (total["issued"], total["served"]) == (3, 3)
    assert total["wait"] == durations(3, 2960.0, 300.0, 8340)
    assert total["service"] == durations(3, 600.0, 480.0, 840)
    assert [group["figures"]["service"] for group in by_counter.as_dict()["groups"]][:2] == [
        durations(2, 660.0, 660.0, 840), durations(1, 480.0, 480.0, 480)]
    rows = list(csv.reader(io.StringIO(reports.report_csv(by_counter).lstrip("\ufeff"))))
    header = rows[0]
    counter_1 = dict(zip(header, rows[1], strict=True))
    assert (counter_1["Quầy"], counter_1["Phục vụ TB (phút)"], counter_1["Phục vụ P90 (phút)"]) == (
        "Quầy 1", "11.0", "14.0")
    assert dict(zip(header, rows[-1], strict=True))["Chờ TB (phút)"] == "49.3"


def test_a_range_across_a_configuration_change_names_what_was_removed(tmp_path):
    """Thursday a third service (Lao động, at its own counter "Quầy Lao động") serves one citizen;
    Friday the admin removes both. The month's report still names them, never the bare code
    "XH" or "Quầy 4", in the page's rows, the CSV and the XLSX."""
    store = open_store(tmp_path / "hall.db")
    before = small_hall_mapping(hours={"default": ["00:00-24:00"]})
    before["services"].append({"code": "XH", "name": "Lao động - Bảo trợ xã hội", "name_en": "Labour",
                               "block": "8001-8999"})
    before["counters"].append({"number": 4, "name": "Quầy Lao động", "services": ["XH"]})
    store.apply_config(parse_config(before), source=before)
    hall = Hall(store, clock=Clock(moment(8, 0)))
    script = Script(hall)
    script.issue(moment(9, 0), "L", "XH")
    script.act(moment(9, 5), 4, "call-next")
    script.act(moment(9, 15), 4, "done")
    hall.clock.set(moment(8, 0, day=27))
    hall.change_config(small_hall_mapping(hours={"default": ["00:00-24:00"]}), by="quantri", section="services")
    with store.reading() as db:
        by_service, by_counter = (
            reports.build_report(db, hall.config, start_day=DAY, end_day=NEXT_DAY, group_by=grouping, now=STAMP)
            for grouping in ("service", "counter"))
    store.close()
    assert [(group.label, group.label_en) for group in by_service.groups if group.key == "XH"] == [
        ("Lao động - Bảo trợ xã hội", "Labour")]
    assert [group.label for group in by_counter.groups if group.key == 4] == ["Quầy Lao động"]
    rows = list(csv.reader(io.StringIO(reports.report_csv(by_service).lstrip("\ufeff"))))
    assert [row[:2] for row in rows if row[0].startswith("Lao")] == [["Lao động - Bảo trợ xã hội", "1"]]
