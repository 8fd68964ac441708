"""The web counter page in real headless Chromium against a real hub on loopback."""

import requests

from tests.conftest import DisplayClient, HubProcess, cli_token, run_cli, screenshot

PASSWORD = "mat-khau-quay-2"


def test_sign_in_call_next_and_the_hall_screen_hears_it(hub_db, page):
    run_cli("user", "add", "lan", "--role", "staff", "--counters", "2", "--name", "Nguyễn Thị Lan",
            db=hub_db, input=PASSWORD + "\n")
    kiosk = cli_token(hub_db, "kiosk")
    hub = HubProcess(hub_db).start()
    try:
        display = DisplayClient(hub.url)
        page.goto(f"{hub.url}/counter")
        assert "/dang-nhap" in page.url
        page.fill("input[name=username]", "lan")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{hub.url}/counter/2")
        page.wait_for_selector("#connection[data-state=online]")

        issued = requests.post(f"{hub.url}/api/v1/tickets", json={"service": "CT"},
                               headers={"Authorization": f"Bearer {kiosk}"}, timeout=5).json()["ticket"]
        # the waiting list updates live, without a reload
        page.wait_for_selector(f"#waiting-list td:text-is('{issued['number']}')")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#current-number:text-is('{issued['number']}')")
        assert page.inner_text("#current-service") == "Chứng thực"
        called = display.wait_for("called", lambda payload: payload["ticket"]["number"] == issued["number"])
        assert called["counter"]["number"] == 2
        screenshot(page, "counter-page-called")

        # nothing else waits: the page says so in Vietnamese
        page.click("button[data-action=call-next]")
        page.wait_for_selector("#message:has-text('Không còn ai chờ quầy này')")

        page.keyboard.press("p")
        page.wait_for_selector("#pause-toggle[data-action=resume]")
        page.keyboard.press("Enter")
        page.wait_for_selector("#message:has-text('đang tạm dừng')")
        display.close()

        hub.kill()
        page.wait_for_selector("#connection[data-state=offline]", timeout=10_000)
        assert page.is_disabled("button[data-action=call-next]")
        screenshot(page, "counter-page-offline")
        hub = HubProcess(hub_db, port=hub.port).start()
        page.wait_for_selector("#connection[data-state=online]", timeout=15_000)
        assert page.is_enabled("button[data-action=call-next]")
    finally:
        hub.stop()
