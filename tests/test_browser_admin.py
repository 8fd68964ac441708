"""Supervisors' and admins' pages at 1440×900 in real headless Chromium against a hub on
loopback: where sign-in lands, the reports page at width, admin confirmations and refusals,
words instead of internal names, the counter picker, the front page, the site icon."""

from datetime import datetime, timedelta

import pytest
import requests

from hallserver.hall import Hall
from hallserver.services import users
from hallserver.store import open_store
from tests.helpers import (
    CT,
    HALL_TZ,
    HT,
    Clock,
    HubProcess,
    browser_sign_in,
    cli_user,
    init_hall,
    office_sign_in,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.hub]
WIDTH, HEIGHT = 1440, 900


@pytest.fixture
def wide(open_page):
    """A new page at 1440×900 per call, in its own context (separate sign-ins)."""
    return lambda: open_page(viewport={"width": WIDTH, "height": HEIGHT}, locale="vi-VN")


def fits(page):
    return page.evaluate("document.documentElement.scrollWidth") <= WIDTH


def test_sign_in_lands_where_each_role_works(hub_db, wide):
    cli_user(hub_db, "lan", "staff", "--counters", "1,2", "--name", "Nguyễn Thị Lan")
    cli_user(hub_db, "giamsat", "supervisor")
    cli_user(hub_db, "quantri", "admin")
    hub = HubProcess(hub_db).start()
    try:
        staff = wide()
        browser_sign_in(staff, hub.url, "lan")
        staff.wait_for_url(f"{hub.url}/counter")
        # the picker names each counter's services, not their codes
        assert staff.inner_text("li[data-counter='1'] .counter-services") == "Hộ tịch"
        assert staff.inner_text("li[data-counter='2'] .counter-services") == "Hộ tịch, Chứng thực"
        assert staff.locator("#role-nav").count() == 0
        screenshot(staff, "counter-pick-1440")

        supervisor = wide()
        browser_sign_in(supervisor, hub.url, "giamsat")
        supervisor.wait_for_url(f"{hub.url}/dashboard")
        nav = supervisor.inner_text("#role-nav")
        assert "Giám sát" in nav and "Báo cáo" in nav and "Quản trị" not in nav
        supervisor.click("#role-nav a:has-text('Báo cáo')")
        supervisor.wait_for_url(f"{hub.url}/reports")
        screenshot(supervisor, "dashboard-landing-1440")

        admin = wide()
        browser_sign_in(admin, hub.url, "quantri")
        admin.wait_for_url(f"{hub.url}/admin")
        assert "Quản trị" in admin.inner_text("#role-nav a[aria-current=page]")
        assert "Báo cáo" in admin.inner_text("#role-nav")

        # an explicit, safe next still wins
        asked = wide()
        asked.goto(f"{hub.url}/reports?start=2026-11-26")
        browser_sign_in(asked, hub.url, "quantri", path=None)
        asked.wait_for_url(f"{hub.url}/reports?start=2026-11-26")
    finally:
        hub.stop()


def _scripted_day(db):
    """Four tickets served today (wait 4 min 30 s, walk 30 s, service 5 min each; about 41
    minutes in all, ending now or, just after midnight, a little ahead), rated 4, 4, 3 and 2:
    75 % satisfied. Returns the local day."""
    store = open_store(db)
    now = datetime.now(HALL_TZ)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = max(now - timedelta(minutes=45), midnight + timedelta(minutes=1))
    clock = Clock(start)
    hall = Hall(store, clock=clock)
    for service, counter, score in (("HT", 1, 4), ("HT", 1, 4), ("CT", 3, 3), ("CT", 3, 2)):
        hall.issue_ticket(service)
        clock.advance(270)
        called = hall.counter_action(counter, "call-next")
        clock.advance(30)
        hall.counter_action(counter, "start")
        clock.advance(300)
        hall.counter_action(counter, "done")
        hall.rate_at_counter(counter, called["ticket"]["number"], score=score)
        clock.advance(5)
    store.close()
    return start.date().isoformat()


def test_reports_are_readable_at_1440(hub_db, wide):
    day = _scripted_day(hub_db)
    cli_user(hub_db, "giamsat", "supervisor")
    hub = HubProcess(hub_db).start()
    try:
        page = wide()
        browser_sign_in(page, hub.url, "giamsat")
        page.wait_for_url(f"{hub.url}/dashboard")
        page.wait_for_selector("#totals .total")
        totals = page.inner_text("#totals")
        assert "4 ph 30 s" in totals and "75 % hài lòng, 4 lượt" in totals, totals
        screenshot(page, "dashboard-1440")
        for grouping in ("service", "counter", ""):
            page.goto(f"{hub.url}/reports?start={day}&end={day}&group_by={grouping}")
            assert fits(page), f"group_by={grouping!r}: {page.evaluate('document.documentElement.scrollWidth')} px"
            for table in ("#report-counts", "#report-times", "#report-satisfaction"):
                box = page.locator(table).bounding_box()
                assert box["x"] + box["width"] <= WIDTH, table
        total_times = page.locator("#report-times tr.total-row td").all_inner_texts()
        assert total_times == ["4 ph 30 s", "4 ph 30 s", "4 ph 30 s", "30 s", "30 s", "30 s", "5 ph", "5 ph", "5 ph"]
        assert page.inner_text("#report-satisfaction tr.total-row td.satisfaction") == "75 % hài lòng, 4 lượt"
        assert page.inner_text("#report-counts tr.total-row td:nth-of-type(1)") == "4"
        weekday = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
        date_shown = datetime.fromisoformat(day)
        assert f"{weekday[date_shown.weekday()]} {date_shown:%d/%m/%Y}" in page.inner_text("#report-range")
        assert "phút)" not in page.inner_text("main")   # no "(phút)" decimals left
        screenshot(page, "reports-1440")
        page.goto(f"{hub.url}/reports?start={day}&end={day}&group_by=service")
        assert page.inner_text("#report-satisfaction tr:has(th:has-text('Chứng thực')) td.satisfaction") == \
            "50 % hài lòng, 2 lượt"
        screenshot(page, "reports-by-service-1440")
    finally:
        hub.stop()


def test_admin_confirms_removals_and_keeps_refused_edits(hub_db, wide):
    cli_user(hub_db, "quantri", "admin")
    cli_user(hub_db, "lan", "staff", "--counters", "1,2")
    hub = HubProcess(hub_db).start()
    try:
        page = wide()
        browser_sign_in(page, hub.url, "quantri")
        page.wait_for_url(f"{hub.url}/admin")
        # roles and counters in words
        assert page.inner_text("tr[data-user=lan] td.role") == "Cán bộ quầy · Staff"
        assert page.inner_text("tr[data-user=lan] td.counters") == "Quầy 1, Quầy 2"
        assert page.inner_text("tr[data-user=quantri] td.counters") == "Tất cả quầy"
        assert fits(page)

        # removing a counter asks first; cancel changes nothing
        page.click("form[data-counter='6'] button[name=remove]")
        page.wait_for_selector("#confirm")
        assert "Xóa quầy số 6" in page.inner_text("#confirm") and "Remove counter 6?" in page.inner_text("#confirm")
        screenshot(page, "admin-confirm-1440")
        page.click("#confirm-no")
        page.wait_for_selector("form[data-counter='6']")
        assert "Quầy 6" in requests.get(f"{hub.url}/api/v1/state", timeout=10).text
        # confirm: done, with a banner in words
        page.click("form[data-counter='6'] button[name=remove]")
        page.click("#confirm-yes")
        page.wait_for_selector("#flashes")
        flashed = page.inner_text("#flashes")
        assert "Đã lưu thay đổi: Quầy" in flashed and "Saved: Counters" in flashed and "(counters)" not in flashed
        assert page.locator("form[data-counter='6']").count() == 0

        # disabling an account asks too
        page.click("tr[data-user=lan] button.danger")
        page.wait_for_selector("#confirm")
        page.click("#confirm-no")
        assert "Hoạt động" in page.inner_text("tr[data-user=lan] td.status")
        page.click("tr[data-user=lan] button.danger")
        page.click("#confirm-yes")
        page.wait_for_selector("tr[data-user=lan] td.status:has-text('Đã khóa')")

        # a refused edit keeps what was typed and explains in both languages
        page.fill("input[name='text:services.1.name']", "Chứng thực bản sao")
        page.fill("input[name='int:services.1.daily_cap']", "0")
        page.click("tr[data-service=CT] form.row-form button[type=submit]")
        error = page.inner_text("#admin-error")
        assert "Chưa lưu: ô «giới hạn/ngày» của lĩnh vực «Chứng thực» phải từ 1 trở lên (đã nhập 0)" in error
        assert "Not saved: services[1].daily_cap: must be at least 1, got 0" in error
        assert page.input_value("input[name='text:services.1.name']") == "Chứng thực bản sao"
        assert page.input_value("input[name='int:services.1.daily_cap']") == "0"
        screenshot(page, "admin-refused-1440")
        state = requests.get(f"{hub.url}/api/v1/state", timeout=10).json()
        assert [s["name"] for s in state["services"] if s["code"] == "CT"] == ["Chứng thực"]

        # a saved edit: the banner names the part in words, never "(hall)"
        page.fill("input[name='text:hall.hotline']", "0210 3 888 000")
        page.click("#hall form.grid-form button[type=submit] >> nth=0")
        flashed = page.inner_text("#flashes")
        assert "Đã lưu thay đổi: Trung tâm" in flashed and "(hall)" not in flashed
        screenshot(page, "admin-1440")
    finally:
        hub.stop()


def test_front_page_without_estimate_and_the_site_icon(tmp_path, wide):
    # CT is served by no counter: no estimate can be made for it
    db = init_hall(tmp_path, services=[dict(HT), dict(CT)])
    cli_user(db, "quantri", "admin")
    hub = HubProcess(db).start()
    try:
        page = wide()
        page.goto(hub.url)
        assert "None" not in page.inner_text("body")
        assert page.inner_text("tr[data-service=CT] td.eta").startswith("chưa có")
        screenshot(page, "home-1440")
        for path in ("/", "/dang-nhap", "/lay-so", "/thu-tuc"):
            page.goto(f"{hub.url}{path}")
            icon = page.get_attribute("link[rel=icon]", "href")
            assert icon, path
            answer = requests.get(f"{hub.url}{icon}", timeout=10)
            assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("image/svg+xml")
        assert requests.get(f"{hub.url}/favicon.ico", timeout=10).status_code == 200
        browser_sign_in(page, hub.url, "quantri")
        page.wait_for_url(f"{hub.url}/admin")
        assert page.get_attribute("link[rel=icon]", "href")
    finally:
        hub.stop()


def test_two_admins_editing_at_once_lose_nothing_silently(hub_db, open_page):
    """Two admins with the page open since morning at 1366×768: what one saved stays when the
    other saves another box of the same form; the same box changed by both is refused, saying
    to what and keeping what was typed; a row that moved under a stale page is not edited."""
    cli_user(hub_db, "quantri", "admin")
    cli_user(hub_db, "quantri2", "admin")
    hub = HubProcess(hub_db).start()
    try:
        first, second = (office_sign_in(open_page, hub.url, name, "/admin") for name in ("quantri", "quantri2"))

        # first sets the daily cap of Chứng thực, second (page from before) renames it: both stay
        first.fill("input[name='int:services.1.daily_cap']", "40")
        first.click("tr[data-service=CT] form.row-form button[type=submit]")
        first.wait_for_selector("#flashes")
        second.fill("input[name='text:services.1.name']", "Chứng thực bản sao")
        second.click("tr[data-service=CT] form.row-form button[type=submit]")
        assert "Đã lưu thay đổi: Lĩnh vực" in second.inner_text("#flashes")
        assert second.input_value("input[name='int:services.1.daily_cap']") == "40"
        assert second.input_value("input[name='text:services.1.name']") == "Chứng thực bản sao"

        # the same box changed by both: the second is told, and keeps what was typed
        first.reload()
        first.fill("input[name='text:hall.hotline']", "0210 3 888 000")
        first.click("#hall form.grid-form button[type=submit] >> nth=0")
        first.wait_for_selector("#flashes")
        second.fill("input[name='text:hall.hotline']", "0210 3 999 111")
        second.click("#hall form.grid-form button[type=submit] >> nth=0")
        error = second.inner_text("#admin-error")
        assert ("Chưa lưu: ô «đường dây nóng» của trung tâm vừa được người khác sửa thành «0210 3 888 000» "
                "sau khi bạn mở trang (bạn nhập «0210 3 999 111»)") in error, error
        assert second.input_value("input[name='text:hall.hotline']") == "0210 3 999 111"
        screenshot(second, "admin-edited-meanwhile-1366")

        # a priority removed by first: second's stale row 2 is no longer "Phụ nữ mang thai"
        first.reload()
        assert first.input_value("input[name='text:hall.hotline']") == "0210 3 888 000"
        second.reload()
        second.fill("input[name='text:priorities.2.name']", "Phụ nữ có thai")
        first.click("form:has(input[name='text:priorities.0.name']) button[name=remove]")
        first.click("#confirm-yes")
        first.wait_for_selector("#flashes")
        second.click("form:has(input[name='text:priorities.2.name']) button[type=submit]")
        error = second.inner_text("#admin-error")
        assert "danh sách vừa được người khác thay đổi" in error and "«pregnant», nay là của «child»" in error
        first.reload()
        names = [first.input_value(f"input[name='text:priorities.{index}.name']") for index in range(3)]
        assert names == ["Người khuyết tật", "Phụ nữ mang thai", "Người đi cùng trẻ em dưới 6 tuổi"]
    finally:
        hub.stop()


def test_refusals_name_the_box_and_what_was_typed_in_vietnamese(hub_db, open_page):
    """Refusals at 1366×768: a new item is named as typed (not "lĩnh vực «6»" or "diện ưu tiên
    «»"), a box by its label (not "policy.priority_streak"), what is wrong is said in Vietnamese,
    and no command line is quoted."""
    cli_user(hub_db, "quantri", "admin")
    hub = HubProcess(hub_db).start()
    try:
        page = office_sign_in(open_page, hub.url, "quantri", "/admin")
        adding = "#services form.add"

        def refusal():
            return page.inner_text("#admin-error").split("\n")[0]

        page.fill(f"{adding} input[name='text:new.code']", "GD")
        page.fill(f"{adding} input[name='text:new.name']", "Giáo dục")
        page.click(f"{adding} button[name=add]")
        assert refusal() == "Chưa lưu: ô «dãy số» của lĩnh vực «Giáo dục» không được để trống."
        assert page.input_value(f"{adding} input[name='text:new.name']") == "Giáo dục"

        page.fill(f"{adding} input[name='text:new.code']", "gd 1")
        page.fill(f"{adding} input[name='text:new.block']", "9001-9999")
        page.click(f"{adding} button[name=add]")
        assert refusal() == ("Chưa lưu: ô «mã» của lĩnh vực «Giáo dục» chỉ gồm chữ cái không dấu, chữ số, "
                             "'-' hoặc '_', bắt đầu bằng chữ cái (đã nhập 'gd 1').")
        screenshot(page, "admin-refused-new-service-1366")

        page.fill("#priorities form.add input[name='text:new.code']", "elderly")
        page.fill("#priorities form.add input[name='text:new.name']", "Cao tuổi")
        page.click("#priorities form.add button[name=add]")
        assert refusal() == "Chưa lưu: ô «mã» của diện ưu tiên «Cao tuổi» bị trùng 'elderly'."

        page.fill("input[name='int:policy.priority_streak']", "2.5")
        page.click("#hours form.grid-form button[type=submit]")
        assert refusal() == ("Chưa lưu: ô «số lượt ưu tiên liên tiếp» của chính sách cần một số nguyên "
                             "(đã nhập '2.5').")
        assert page.input_value("input[name='int:policy.priority_streak']") == "2.5"

        page.select_option("#tokens form.add select[name=role]", "counter")
        page.click("#tokens form.add button")
        assert refusal() == "Chưa tạo: bàn phím quầy và máy đánh giá cần số quầy của chúng."
    finally:
        hub.stop()


def test_disabling_a_clerk_at_work_says_who_is_at_their_desk(hub_db, open_page):
    """Lan works counter 1 with citizen 1001 at her desk; the admin disables her account (1366×768).
    The confirmation says so before anything is done: the counter, and that 1001 stays there."""
    cli_user(hub_db, "quantri", "admin")
    cli_user(hub_db, "lan", "staff", "--counters", "1", "--name", "Nguyễn Thị Lan")
    store = open_store(hub_db)
    hall = Hall(store)
    with store.transaction() as db:
        lan = next(db.query("SELECT * FROM users WHERE username = 'lan'"))
        users.start_counter_session(db, user=lan, counter=1, now=hall.clock())
    hall.issue_ticket("HT")
    hall.counter_action(1, "call-next")
    store.close()
    hub = HubProcess(hub_db).start()
    try:
        page = office_sign_in(open_page, hub.url, "quantri", "/admin")
        page.click("tr[data-user=lan] button.danger")
        page.wait_for_selector("#confirm")
        asked = page.inner_text("#confirm")
        assert "Nguyễn Thị Lan đang làm ở Quầy 1, công dân số 1001 đang ở quầy" in asked, asked
        screenshot(page, "admin-disable-at-work-1366")
    finally:
        hub.stop()
