"""Supervisors' pages in real headless Chromium against a hub on loopback."""

import requests

from tests.conftest import HubProcess, cli_token, run_cli, screenshot

PASSWORD = "giam-sat-mat-khau"


def sign_in(page, hub, username):
    page.goto(f"{hub.url}/dang-nhap")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_dashboard_follows_the_hall_live(hub_db, page):
    run_cli("user", "add", "giamsat", "--role", "supervisor", db=hub_db, input=PASSWORD + "\n")
    kiosk, counter = cli_token(hub_db, "kiosk"), cli_token(hub_db, "counter", 2)
    hub = HubProcess(hub_db).start()
    try:
        sign_in(page, hub, "giamsat")
        page.goto(f"{hub.url}/dashboard")
        page.wait_for_selector("#connection[data-state=online]")
        assert page.inner_text("tr[data-service=CT] td.waiting") == "0"
        requests.post(f"{hub.url}/api/v1/tickets", json={"service": "CT"},
                      headers={"Authorization": f"Bearer {kiosk}"}, timeout=5)
        page.wait_for_selector("tr[data-service=CT] td.waiting:text-is('1')", timeout=10_000)
        requests.post(f"{hub.url}/api/v1/counters/2/call-next", json={},
                      headers={"Authorization": f"Bearer {counter}"}, timeout=5)
        page.wait_for_selector("tr[data-counter='2'] td.current:text-is('3001')", timeout=10_000)
        assert page.inner_text("tr[data-service=CT] td.waiting") == "0"
        assert page.evaluate("() => Chart.getChart('hours-chart').data.datasets[0].data.reduce((a, b) => a + b, 0)") == 1
        screenshot(page, "dashboard-live")

        page.goto(f"{hub.url}/reports")
        assert "Số phiếu đã cấp" in page.inner_text("table")
        screenshot(page, "reports-today")
    finally:
        hub.stop()
