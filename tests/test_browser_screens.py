"""The supervisor sees the hall's screens on the dashboard, in real Chromium against a hub on loopback."""

import time

import pytest

from tests.helpers import HubProcess, ScreenClient, browser_sign_in, cli_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.hub]


def test_dashboard_lists_the_screens_and_alerts_when_one_loses_sound_or_falls_off(hub_db, open_page):
    cli_user(hub_db, "giamsat", "supervisor")
    hub = HubProcess(hub_db).start()
    lobby = hallway = None
    try:
        page = open_page(viewport={"width": 1440, "height": 1000})
        browser_sign_in(page, hub.url, "giamsat")
        page.goto(f"{hub.url}/dashboard")
        page.wait_for_selector("#connection[data-state=online]")
        assert page.is_visible("#no-screens")

        lobby = ScreenClient(hub.url, "tv-sanh", name="TV sảnh chính")
        hallway = ScreenClient(hub.url, "pi-hanh-lang", kind="pygame", name="Hành lang tầng 2")
        assert lobby.report() == {"ok": True}
        assert hallway.report(last_announcement={"call_id": "1", "played_at": time.time()}) == {"ok": True}
        page.wait_for_selector("tr[data-screen=pi-hanh-lang][data-state=ok]", timeout=10_000)
        row = page.inner_text("tr[data-screen=tv-sanh]")
        assert "TV sảnh chính" in row and "Trình duyệt" in row and "Trực tuyến" in row and "Có tiếng" in row
        assert "Chưa đọc số nào" in row
        assert not page.is_visible("#no-screens")

        lobby.report(sound="blocked")  # the TV's browser rebooted and refuses to play
        page.wait_for_selector("tr[data-screen=tv-sanh][data-state=no_sound]", timeout=10_000)
        alert = page.locator(".alert[data-key='screen_sound:tv-sanh:blocked']")
        assert alert.inner_text().startswith("Màn hình “TV sảnh chính” mất tiếng: trình duyệt chặn âm thanh")
        assert "the browser blocks sound" in alert.inner_text()
        assert "Bị trình duyệt chặn" in page.inner_text("tr[data-screen=tv-sanh] td.screen-sound")

        hallway.close()  # its cable is pulled
        page.wait_for_selector("tr[data-screen=pi-hanh-lang][data-state=lost]", timeout=10_000)
        lost = page.locator(".alert[data-key='screen_lost:pi-hanh-lang']").inner_text()
        assert lost.startswith("Màn hình “Hành lang tầng 2” mất kết nối từ ") and "fell off" in lost
        assert page.inner_text("tr[data-screen=pi-hanh-lang] td.screen-connection").startswith("Mất kết nối — lần cuối")
        page.locator("section:has(#screens)").scroll_into_view_if_needed()
        screenshot(page, "dashboard-screens")
    finally:
        for client in (lobby, hallway):
            if client is not None and client.client.connected:
                client.close()
        hub.stop()
