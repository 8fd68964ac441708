"""Supervisors' pages in real headless Chromium against a hub on loopback."""

import pytest

from tests.helpers import (
    HubProcess,
    browser_pair_kiosk,
    browser_sign_in,
    cli_user,
    device_token,
    office_sign_in,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.hub]


def test_dashboard_follows_the_hall_live(hub_db, page):
    cli_user(hub_db, "giamsat", "supervisor")
    kiosk, counter = device_token(hub_db, "kiosk"), device_token(hub_db, "counter", 2)
    hub = HubProcess(hub_db).start()
    try:
        browser_sign_in(page, hub.url, "giamsat")
        page.goto(f"{hub.url}/dashboard")
        page.wait_for_selector("#connection[data-state=online]")
        assert page.inner_text("tr[data-service=CT] td.waiting") == "0"
        hub.post("/api/v1/tickets", kiosk, {"service": "CT"})
        page.wait_for_selector("tr[data-service=CT] td.waiting:text-is('1')", timeout=10_000)
        hub.post("/api/v1/counters/2/call-next", counter)
        page.wait_for_selector("tr[data-counter='2'] td.current:text-is('3001')", timeout=10_000)
        assert page.inner_text("tr[data-service=CT] td.waiting") == "0"
        issued = "() => Chart.getChart('hours-chart').data.datasets[0].data.reduce((a, b) => a + b, 0)"
        assert page.evaluate(issued) == 1
        screenshot(page, "dashboard-live")

        page.goto(f"{hub.url}/reports")
        assert "Số phiếu đã cấp" in page.inner_text("table")
        screenshot(page, "reports-today")
    finally:
        hub.stop()


def test_admin_renames_a_service_and_kiosk_and_screen_follow(hub_db, browser):
    cli_user(hub_db, "quantri", "admin")
    kiosk_token = device_token(hub_db, "kiosk")
    hub = HubProcess(hub_db).start()
    try:
        kiosk = browser.new_page(viewport={"width": 1920, "height": 1080})
        browser_pair_kiosk(kiosk, hub.url, kiosk_token)
        screen = browser.new_page(viewport={"width": 1920, "height": 1080})
        screen.goto(f"{hub.url}/display")
        screen.wait_for_selector("body[data-connection=online]")
        admin = browser.new_page(viewport={"width": 1366, "height": 900})
        browser_sign_in(admin, hub.url, "quantri")
        admin.goto(f"{hub.url}/admin")
        admin.fill("input[name='text:services.1.name']", "Chứng thực bản sao")
        admin.click("tr[data-service=CT] form.row-form button[type=submit]")
        admin.wait_for_selector("text=Đã lưu thay đổi")
        kiosk.wait_for_selector("button.service[data-service=CT] .service-name:text-is('Chứng thực bản sao')")
        screen.wait_for_selector("#services li:has-text('Chứng thực bản sao')")
        screenshot(admin, "admin-page")
        for page in (kiosk, screen, admin):
            page.close()
    finally:
        hub.stop()


def test_dashboard_says_when_its_figures_stopped_and_resumes_after_a_hub_restart(hub_db, open_page):
    """The dashboard open since morning at 1366×768; the hub restarts. While it is gone the
    page says, over the figures, that they stopped and since when (a small badge at the top
    corner is easy to miss), and the figures are greyed; back, the notice goes and the
    figures follow the hall again."""
    cli_user(hub_db, "giamsat", "supervisor")
    kiosk = device_token(hub_db, "kiosk")
    hub = HubProcess(hub_db).start()
    try:
        page = office_sign_in(open_page, hub.url, "giamsat", "/dashboard")
        page.wait_for_selector("#connection[data-state=online]")
        assert not page.is_visible("#stale")
        hub.stop()
        page.wait_for_selector("#stale", state="visible", timeout=30_000)
        notice = page.inner_text("#stale")
        assert notice.startswith("Mất kết nối với máy chủ từ ") and "số liệu bên dưới dừng ở lúc đó" in notice, notice
        assert page.evaluate("getComputedStyle(document.getElementById('services').closest('section')).opacity") != "1"
        screenshot(page, "dashboard-stale-1366")
        hub.start()
        hub.post("/api/v1/tickets", kiosk, {"service": "CT"})
        page.wait_for_selector("tr[data-service=CT] td.waiting:text-is('1')", timeout=30_000)
        page.wait_for_selector("#stale", state="hidden")
        assert page.evaluate("getComputedStyle(document.getElementById('services').closest('section')).opacity") == "1"
    finally:
        hub.stop()


def test_a_mistyped_report_day_is_refused_in_the_forms_words(hub_db, open_page):
    """The supervisor types the year 1999 into "Từ ngày" (1366×768): the refusal names the box
    as the page does, in Vietnamese, never the parameter "start_day", and keeps the days typed."""
    cli_user(hub_db, "giamsat", "supervisor")
    hub = HubProcess(hub_db).start()
    try:
        page = office_sign_in(open_page, hub.url, "giamsat", "/dashboard")
        page.goto(f"{hub.url}/reports")
        page.fill("input[name=start]", "1999-11-01")
        page.fill("input[name=end]", "2026-11-30")
        page.click("button:has-text('Xem báo cáo')")
        message = page.inner_text("p.message[role=alert]")
        assert message.startswith("Từ ngày: ngày 01/11/1999 nằm ngoài 2000–2099"), message
        assert page.input_value("input[name=start]") == "1999-11-01"
        screenshot(page, "reports-refused-day-1366")
    finally:
        hub.stop()
