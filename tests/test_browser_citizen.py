"""The citizen side in real headless Chromium against a hub on loopback: kiosk, tracking
page, browser hall screen, numbers from home."""

import re

import pytest

from tests.helpers import CT, HT, browser_pair_kiosk, hub_with_tokens, init_hall, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.hub]


@pytest.fixture
def citizen_hub(tmp_path):
    db = init_hall(tmp_path, hall={"name": "UBND xã Thử Nghiệm", "hotline": "0210 3 888 999"},
                   priorities=[{"code": "elderly", "name": "Người cao tuổi"}],
                   services=[dict(HT, description="Khai sinh, kết hôn, khai tử"),
                             dict(CT, description="Bản sao, chữ ký", daily_cap=1)],
                   counters=[{"number": 1, "services": ["HT", "CT"]}])
    hub = hub_with_tokens(db).start()
    yield hub
    hub.stop()


def call_next(hub):
    hub.post("/api/v1/counters/1/done", hub.counter)   # the last citizen served (409 when none)
    return hub.post("/api/v1/counters/1/call-next", hub.counter).json()


def test_kiosk_tracking_page_and_browser_screen(citizen_hub, browser):
    hub = citizen_hub
    kiosk = browser.new_page(viewport={"width": 1920, "height": 1080})
    browser_pair_kiosk(kiosk, hub.url, hub.kiosk)
    screenshot(kiosk, "kiosk-start")

    with kiosk.expect_response(f"{hub.url}/kiosk/tickets") as answer:
        kiosk.click("button.service[data-service=HT]")
    kiosk.wait_for_selector("#result:not([hidden])")
    assert kiosk.inner_text("#result-number") == "1001"
    assert "Số người đang chờ trước bạn: 0" in kiosk.inner_text("#result-ahead")
    assert "<svg" in kiosk.inner_html("#result-qr")
    track_url = answer.value.json()["track_url"]
    assert re.fullmatch(rf"{hub.url}/t/[\w-]{{24}}", track_url)
    screenshot(kiosk, "kiosk-ticket")

    screen = browser.new_page(viewport={"width": 1920, "height": 1080})
    screen.goto(f"{hub.url}/display")
    screen.wait_for_selector("body[data-connection=online]")
    # the citizen scans the kiosk's QR code; a second one took a number a moment later
    phone = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN")
    phone.goto(track_url)
    second = hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).json()["ticket"]
    other_phone = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN")
    other_phone.goto(f"{hub.url}/t/{second['track_token']}")
    for page in (phone, other_phone):
        page.wait_for_selector("#connection[data-state=online]")
    assert phone.inner_text("#number") == "1001" and other_phone.inner_text("#ahead") == "1 người phía trước"
    assert "Sắp đến lượt" in other_phone.inner_text("#headline")

    assert call_next(hub)["ticket"]["number"] == "1001"
    phone.wait_for_selector("#headline:has-text('Mời đến quầy số 1')")
    other_phone.wait_for_selector("#ahead:text-is('Không còn ai phía trước')")
    screen.wait_for_selector("#call-number:text-is('1001')")
    screen.wait_for_selector("tr[data-counter='1'] td.number:text-is('1001')")
    assert screen.is_visible("#sound-gate")
    screenshot(phone, "tracking-called")
    screenshot(screen, "browser-display")
    # after a first touch the screen speaks: the call's clips are fetched from the pack, chime first
    screen.click("#sound-gate")
    screen.wait_for_selector("body[data-sound=ok]")
    with screen.expect_request(re.compile(r".*/sounds/chime\.wav$")):
        assert call_next(hub)["ticket"]["number"] == "1002"
    other_phone.wait_for_selector("#headline:has-text('Mời đến quầy số 1')")
    screen.wait_for_selector("#call-number:text-is('1002')")
    screen.wait_for_function("() => performance.getEntriesByType('resource')"
                             ".filter(entry => entry.name.includes('/sounds/num.')).length >= 3")

    # cap reached: the kiosk says so instead of issuing
    kiosk.click("#done")
    kiosk.click("button.service[data-service=CT]")
    kiosk.wait_for_selector("#result:not([hidden])")
    assert kiosk.inner_text("#result-number") == "B001"
    kiosk.click("#done")
    kiosk.wait_for_selector("button.service[data-service=CT][disabled]")
    assert "Đã hết số hôm nay" in kiosk.inner_text("button.service[data-service=CT]")
    screenshot(kiosk, "kiosk-cap-reached")
    for page in (kiosk, phone, other_phone, screen):
        page.close()


def test_a_cut_short_link_on_a_phone_leads_back_in_vietnamese(citizen_hub, browser):
    """A tracking link cut short in a text message (``/t/``) or mistyped: a readable Vietnamese
    page at phone size with the way on (procedures, booking lookup, the hotline), not a server's
    English error."""
    hub = citizen_hub
    phone = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN")
    answer = phone.goto(f"{hub.url}/t/")
    assert answer.status == 404
    text = phone.inner_text("body")
    assert "Not Found" not in text and "0210 3 888 999" in text and "bị cắt ngắn" in text
    assert phone.locator("a[href='/thu-tuc']").count() and phone.locator("a[href='/dat-lich/tra-cuu']").count()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360      # nothing runs off the screen
    screenshot(phone, "citizen-not-found-phone")
    phone.close()


def test_take_a_number_from_home_and_cancel(citizen_hub, browser):
    hub = citizen_hub
    phone = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN")
    phone.goto(f"{hub.url}/lay-so")
    phone.check("input[name=service][value=HT]")
    phone.fill("input[name=phone]", "0912 345 678")
    phone.click("button[type=submit]")
    phone.wait_for_url(re.compile(r".*/t/[\w-]+\?moi=1$"))
    phone.wait_for_selector("#connection[data-state=online]")
    assert phone.inner_text("#number") == "1001"
    assert "0912" not in phone.content()
    screenshot(phone, "take-number-tracking")
    phone.on("dialog", lambda dialog: dialog.accept())
    phone.click("#cancel")
    phone.wait_for_selector("#status:text-is('Đã hủy')")
    state = hub.get("/api/v1/state").json()
    assert state["services"][0]["waiting"] == 0
    phone.goto(f"{hub.url}/lay-so?lang=en")
    assert "Take a number online" in phone.inner_text("h1")
    phone.close()
