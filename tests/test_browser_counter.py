"""The web counter page in real headless Chromium against a real hub on loopback."""

import pytest

from tests.helpers import DisplayClient, HubProcess, browser_sign_in, cli_user, device_token, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.hub]


def test_sign_in_call_next_and_the_hall_screen_hears_it(hub_db, page):
    cli_user(hub_db, "lan", "staff", "--counters", "2", "--name", "Nguyễn Thị Lan")
    kiosk = device_token(hub_db, "kiosk")
    hub = HubProcess(hub_db).start()
    try:
        display = DisplayClient(hub.url)
        page.goto(f"{hub.url}/counter")
        assert "/dang-nhap" in page.url
        browser_sign_in(page, hub.url, "lan", path=None)
        page.wait_for_url(f"{hub.url}/counter/2")
        page.wait_for_selector("#connection[data-state=online]")

        issued = hub.post("/api/v1/tickets", kiosk, {"service": "CT"}).json()["ticket"]
        # the waiting list updates live, without a reload
        page.wait_for_selector(f"#waiting-list td:text-is('{issued['number']}')")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#current-number:text-is('{issued['number']}')")
        assert page.inner_text("#current-service") == "Chứng thực"
        called = display.wait_for("called", lambda payload: payload["ticket"]["number"] == issued["number"])
        assert called["counter"]["number"] == 2
        screenshot(page, "counter-page-called")

        # a reflex second press calls nobody else and says so
        page.click("button[data-action=call-next]")
        page.wait_for_selector(f"#message:has-text('Vừa mời số {issued['number']}')")
        assert page.inner_text("#current-number") == issued["number"]
        # served (H), then next: nothing else waits, and the page says so in Vietnamese
        page.keyboard.press("h")
        page.wait_for_selector("#current-number:text-is('—')")
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
        # back online: the buttons work again ("Gọi tiếp" stays disabled while the counter is paused)
        assert page.is_enabled("#pause-toggle")
        assert page.is_disabled("button[data-action=call-next]")
        page.keyboard.press("p")
        page.wait_for_selector("button[data-action=call-next]:enabled")
    finally:
        hub.stop()
