"""The supervisor's dashboard and reports: who may see them, the live figures and alerts,
the pushes, and the downloads."""

import csv
import io
import re

import openpyxl
import pytest

from hallserver.services import users
from hallserver.services.supervision import dashboard_snapshot
from hallserver.web.extensions import socketio
from tests.helpers import add_user, bearer, hall_time, sign_in


@pytest.fixture
def people(store):
    add_user(store, "giamsat", "supervisor", display_name="Giamsat")
    add_user(store, "quantri", "admin", display_name="Quantri")
    add_user(store, "lan", "staff", counters=[1], display_name="Lan")


@pytest.mark.parametrize("path", ["/dashboard", "/reports", "/reports.csv", "/reports.xlsx"])
def test_only_supervisors_and_admins_see_dashboard_and_reports(app, people, path):
    anonymous = app.test_client()
    assert anonymous.get(path).status_code == 302
    staff = app.test_client()
    sign_in(staff, "lan")
    refused = staff.get(path)
    assert refused.status_code == 403 and "không có quyền" in refused.get_data(as_text=True)
    for username in ("giamsat", "quantri"):
        allowed = app.test_client()
        sign_in(allowed, username)
        assert allowed.get(path).status_code == 200


def test_dashboard_figures_and_alerts(hall, store, clock, people):
    hall.issue_ticket("HT")
    clock.advance(60)
    hall.issue_ticket("HT")
    clock.advance(60)
    hall.issue_ticket("CT")
    with store.transaction() as db:
        lan = next(db.query("SELECT * FROM users WHERE username = 'lan'"))
        users.start_counter_session(db, user=lan, counter=1, now=clock())
    clock.advance(120)
    hall.counter_action(1, "call-next")            # 1001 waited 4 min
    clock.advance(6 * 60)
    hall.counter_action(1, "done")
    hall.counter_action(1, "call-next")            # 1002 waited 9 min
    clock.advance(40 * 60)                          # 1002 at counter 1 for 40 min; 3001 waits 48 min
    hall.record_fault("printer", "Máy in gặp sự cố: hết giấy", "The printer has a fault: out of paper")
    snapshot = hall.read(dashboard_snapshot)

    ht, ct = snapshot["services"][0], snapshot["services"][1]
    assert (ht["code"], ht["waiting"], ht["served"], ht["issued"]) == ("HT", 0, 1, 2)
    assert ht["wait_mean_minutes"] == 6.5 and ht["wait_p90_minutes"] == 9.0
    assert (ct["waiting"], ct["longest_wait_minutes"], ct["over_target"]) == (1, 48.0, True)
    counter_1 = snapshot["counters"][0]
    assert counter_1["staff"] == "Lan" and counter_1["served"] == 1 and counter_1["service_mean_minutes"] == 6.0
    assert counter_1["current"] == {"number": "1002", "service": "HT", "status": "called",
                                    "elapsed_minutes": 40.0, "long_service": True}
    assert snapshot["counters"][1]["staff"] is None and snapshot["counters"][1]["current"] is None
    kinds = {alert["kind"]: alert["message"] for alert in snapshot["alerts"]}
    assert kinds["wait_target"] == "Chứng thực: có người đã chờ 48 phút (mục tiêu 30 phút)"
    assert kinds["long_service"] == "Quầy 1 đang phục vụ số 1002 đã 40 phút"
    assert "hết giấy" in kinds["device_fault"]
    fault = next(alert for alert in snapshot["alerts"] if alert["kind"] == "device_fault")
    assert fault["message_en"].endswith("printer: The printer has a fault: out of paper")   # not the Vietnamese
    assert snapshot["totals"]["issued"] == 3 and snapshot["hours"]["issued"][9] == 3
    assert snapshot["wait_distribution"]["counts"][:2] == [1, 1]


def test_dashboard_room_gets_snapshots_and_each_alert_once(app, client, tokens, clock):
    dashboard = socketio.test_client(app)
    assert dashboard.emit("join", {"room": "dashboard", "token": tokens["supervisor"]}, callback=True)["ok"]
    first = [event["args"][0] for event in dashboard.get_received() if event["name"] == "dashboard"]
    assert first and first[0]["totals"]["issued"] == 0
    client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"]))
    clock.advance(45 * 60)
    app.extensions["publisher"].push_dashboard()
    app.extensions["publisher"].push_dashboard()
    received = dashboard.get_received()
    snapshots = [event["args"][0] for event in received if event["name"] == "dashboard"]
    alerts = [event["args"][0] for event in received if event["name"] == "alert"]
    assert snapshots[-1]["totals"]["issued"] == 1 and snapshots[-1]["services"][0]["over_target"]
    assert [alert["kind"] for alert in alerts] == ["wait_target"]
    dashboard.disconnect()


def test_reports_page_table_and_downloads(app, hall, clock, people):
    hall.issue_ticket("HT")
    clock.advance(300)
    hall.counter_action(1, "call-next")
    clock.advance(600)
    hall.counter_action(1, "done")
    web = app.test_client()
    sign_in(web, "giamsat")
    page = web.get("/reports?start=2026-11-26&end=2026-11-26&group_by=counter").get_data(as_text=True)
    assert "Số phiếu đã cấp" in page and "Tổng cộng" in page and "Tải Excel" in page
    assert "@media print" in web.get("/static/hall.css").get_data(as_text=True)
    download = web.get("/reports.csv?start=2026-11-26&end=2026-11-26&group_by=counter")
    assert download.mimetype == "text/csv" and download.data.startswith(b"\xef\xbb\xbf")
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Quầy" and rows[1][0] == "Quầy 1" and rows[-1][0] == "Tổng cộng"
    book = openpyxl.load_workbook(io.BytesIO(web.get("/reports.xlsx?start=2026-11-26&group_by=service").data))
    assert book.sheetnames == ["Tổng hợp", "Theo giờ"]


def test_bad_report_requests_get_a_vietnamese_page(app, people):
    web = app.test_client()
    sign_in(web, "giamsat")
    answer = web.get("/reports?start=2026-13-40")
    assert answer.status_code == 422 and "ngày không hợp lệ" in answer.get_data(as_text=True)
    answer = web.get("/reports?start=2026-11-26&end=2026-11-01")
    assert answer.status_code == 422
    assert web.get("/reports.csv?group_by=color").status_code == 422


def test_dashboard_page_renders_with_charts(app, people):
    web = app.test_client()
    sign_in(web, "giamsat")
    page = web.get("/dashboard").get_data(as_text=True)
    assert "vendor/chart.js/chart.umd.min.js" in page and "Theo lĩnh vực" in page


def test_reports_count_appointments_never_checked_in_as_no_shows(app, hall, clock, people):
    hall.book(service="HT", slot="2026-11-26T09:30", name="Nguyễn Văn An", phone="0912345678", source="api")
    hall.book(service="HT", slot="2026-11-26T10:00", name="Lê Thị Bích", phone="0987654321", source="api")
    clock.set(hall_time(2026, 11, 26, 9, 50))        # the 09:30 booking's check-in window has closed
    hall.booking_upkeep()                             # the hub's timer does this every half minute
    web = app.test_client()
    sign_in(web, "giamsat")
    page = web.get("/reports?start=2026-11-26&end=2026-11-26").get_data(as_text=True)
    row = re.search(r'id="booking-figures".*?<tbody><tr>(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r"<td>(.*?)</td>", row) == ["Hộ tịch", "1", "0", "0", "1", "2"]
