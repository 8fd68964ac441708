"""The kiosk in real headless Chromium with touch, as an elderly citizen uses it, at
1080×1920 portrait and 1920×1080 landscape, against a hub on loopback (the demo hall: five
services, five priority categories, English names) printing on a fake network printer."""

import json
import re
import sqlite3

import pytest

from tests.helpers import (
    FakeNetworkPrinter,
    browser_pair_kiosk,
    hub_with_tokens,
    init_database,
    screenshot,
    texts_smaller_than,
)

pytestmark = [pytest.mark.browser, pytest.mark.hub]

PORTRAIT = {"width": 1080, "height": 1920}
LANDSCAPE = {"width": 1920, "height": 1080}
VIETNAMESE = re.compile(r"[À-ỹ]")


@pytest.fixture
def kiosk_hub(tmp_path, monkeypatch):
    """Start a demo-hall hub printing on a fake network printer: ``start(FakeNetworkPrinter(...))``."""
    started = []

    def start(printer):
        db = tmp_path / "hall.db"
        init_database(db)
        monkeypatch.setenv("HALL_PRINTER", printer.spec)
        hub = hub_with_tokens(db).start()
        hub.printer = printer
        started.append(hub)
        return hub
    yield start
    for hub in started:
        hub.stop()
        hub.printer.close()


def open_kiosk(browser, hub, viewport, query="", fake_clock=False):
    """A paired kiosk page; with ``fake_clock`` its time stands still until the test moves it."""
    context = browser.new_context(viewport=viewport, has_touch=True, locale="vi-VN")
    page = context.new_page()
    if fake_clock:
        page.clock.install()
    browser_pair_kiosk(page, hub.url, hub.kiosk)
    if query:
        page.goto(f"{hub.url}/kiosk{query}")
    page.wait_for_function("() => !document.querySelector('button.service[data-service=HT]').disabled")
    return page


def measure(page, selector, inner=None):
    """Each element's box and (of ``inner`` in it, or itself) computed font size in px."""
    return page.eval_on_selector_all(selector, """(elements, inner) => elements.map((element) => {
        const box = element.getBoundingClientRect();
        const text = inner ? element.querySelector(inner) : element;
        return {top: box.top, bottom: box.bottom, left: box.left, right: box.right, height: box.height,
                width: box.width, font: parseFloat(getComputedStyle(text).fontSize),
                color: getComputedStyle(text).color, background: getComputedStyle(element).backgroundColor};
    })""", inner)


ARMS_LENGTH_PX = 28   # the smallest text an elderly person reads on the kiosk without glasses


def assert_readable_at_arms_length(page):
    """Every text on the screen shown is at least ARMS_LENGTH_PX high."""
    small = texts_smaller_than(page, ARMS_LENGTH_PX)
    assert not small, small


def assert_tiles_for_a_finger(page, viewport):
    tiles = measure(page, "button.service", ".service-name")
    assert len(tiles) == 5
    for tile in tiles:
        assert tile["height"] >= 160 and tile["font"] >= 40, tile
        assert tile["bottom"] <= viewport["height"] and tile["right"] <= viewport["width"], tile  # no scrolling
        assert tile["color"] != tile["background"]
    # the tiles fill the screen: together they cover most of it
    area = sum(tile["width"] * tile["height"] for tile in tiles)
    assert area >= 0.45 * viewport["width"] * viewport["height"]


def test_portrait_priority_ticket_for_an_elderly_finger(kiosk_hub, browser):
    hub = kiosk_hub(FakeNetworkPrinter())
    kiosk = open_kiosk(browser, hub, PORTRAIT)
    assert_tiles_for_a_finger(kiosk, PORTRAIT)
    names = measure(kiosk, "button.service", ".service-name")
    assert all(tile["width"] >= 0.8 * PORTRAIT["width"] for tile in names)   # one column: wide tiles
    assert kiosk.locator("input[type=checkbox]").count() == 0
    assert_readable_at_arms_length(kiosk)
    screenshot(kiosk, "kiosk-portrait-start")

    # the priority button opens the categories: big buttons, each choosing the priority itself
    kiosk.tap("#priority-open")
    kiosk.wait_for_selector("#priority-screen:not([hidden])")
    categories = measure(kiosk, "button.priority")
    assert len(categories) == 5 and all(b["height"] >= 160 and b["font"] >= 40 for b in categories)
    assert_readable_at_arms_length(kiosk)
    screenshot(kiosk, "kiosk-portrait-priority")
    # going back chooses nothing: the next tap gives a normal ticket
    kiosk.tap("#priority-back")
    kiosk.wait_for_selector("#choose:not([hidden])")
    assert kiosk.is_hidden("#priority-banner")

    kiosk.tap("#priority-open")
    kiosk.tap("button.priority[data-priority=elderly]")
    kiosk.wait_for_selector("#priority-banner:not([hidden])")
    assert kiosk.inner_text("#priority-chosen") == "Ưu tiên: Người cao tuổi"
    assert kiosk.inner_text("#hint") == "Chạm vào dịch vụ để lấy số ưu tiên"
    screenshot(kiosk, "kiosk-portrait-priority-chosen")
    with kiosk.expect_response(f"{hub.url}/kiosk/tickets") as answer:
        kiosk.tap("button.service[data-service=HT]")
    assert answer.value.json()["ticket"]["priority"] == "elderly"
    kiosk.wait_for_selector("#result:not([hidden])")
    assert kiosk.inner_text("#result-number") == "1001"
    assert kiosk.inner_text("#result-priority") == "Ưu tiên: Người cao tuổi"
    kiosk.wait_for_selector("#result-print[data-state=printed]")
    assert kiosk.inner_text("#result-print") == "Phiếu đã được in. Vui lòng nhận phiếu."
    assert re.fullmatch(r"Màn hình tự trở về sau \d+ giây", kiosk.inner_text("#countdown"))
    assert measure(kiosk, "#done")[0]["height"] >= 96
    assert_readable_at_arms_length(kiosk)   # the QR's help, the hotline and the countdown too
    screenshot(kiosk, "kiosk-portrait-priority-ticket")

    # "Xong" goes back to the start with the priority forgotten: the next citizen gets a normal ticket
    kiosk.tap("#done")
    kiosk.wait_for_selector("#choose:not([hidden])")
    assert kiosk.is_hidden("#priority-banner")
    with kiosk.expect_response(f"{hub.url}/kiosk/tickets") as answer:
        kiosk.tap("button.service[data-service=CT]")
    assert answer.value.json()["ticket"]["priority"] is None
    kiosk.wait_for_selector("#result:not([hidden])")
    assert kiosk.is_hidden("#result-priority")
    kiosk.context.close()


def test_landscape_english_idle_timeout_and_auto_return(kiosk_hub, browser):
    hub = kiosk_hub(FakeNetworkPrinter())
    kiosk = open_kiosk(browser, hub, LANDSCAPE, query="?idle=4&result=6")  # seconds a busy CI still keeps
    assert_tiles_for_a_finger(kiosk, LANDSCAPE)
    screenshot(kiosk, "kiosk-landscape-start")

    # English: the kiosk's words and the hall's, services' and priorities' names from name_en
    assert kiosk.inner_text("#lang") == "English"
    kiosk.tap("#lang")
    kiosk.wait_for_selector("html[lang=en]")
    assert kiosk.inner_text("#lang") == "Tiếng Việt"
    assert kiosk.inner_text("#hall-name") == "Demo Commune Public Administration Service Center"
    assert kiosk.inner_text("button.service[data-service=HT] .service-name") == "Civil status"
    assert kiosk.inner_text("button.service[data-service=DD] .service-name") == "Land and construction"
    assert kiosk.inner_text("#hint") == "Touch the service you need to take a number"
    status = kiosk.inner_text("button.service[data-service=HT] .service-status")
    assert status == "Waiting: 0 people"
    kiosk.tap("#priority-open")
    assert kiosk.inner_text("button.priority[data-priority=disabled]") == "People with disabilities"
    screenshot(kiosk, "kiosk-landscape-english-priority")
    # left alone on a sub-screen in English: back to the start, in Vietnamese, after idle_seconds
    kiosk.wait_for_timeout(1000)
    assert kiosk.is_visible("#priority-screen")
    kiosk.wait_for_selector("#choose:not([hidden])", timeout=8000)
    assert kiosk.get_attribute("html", "lang") == "vi"
    assert kiosk.inner_text("button.service[data-service=HT] .service-name") == "Hộ tịch"

    # an English ticket, then the ticket screen returns by itself, counting down
    kiosk.tap("#lang")
    kiosk.tap("#priority-open")
    kiosk.tap("button.priority[data-priority=pregnant]")
    kiosk.tap("button.service[data-service=TP]")
    kiosk.wait_for_selector("#result-print[data-state=printed]")
    assert kiosk.inner_text("#result-service") == "Justice and residence"
    assert kiosk.inner_text("#result-priority") == "Priority: Pregnant women"
    assert kiosk.inner_text("#result-print") == "Your ticket has been printed. Please take it."
    assert "ahead of you" in kiosk.inner_text("#result-ahead")
    assert re.fullmatch(r"This screen goes back in [1-6] seconds", kiosk.inner_text("#countdown"))
    for element in ("#result", "#choose", "#hall-name"):
        assert not VIETNAMESE.search(kiosk.inner_text(element)), element
    assert_readable_at_arms_length(kiosk)
    assert measure(kiosk, "#countdown")[0]["bottom"] <= LANDSCAPE["height"]   # all of it on the screen
    screenshot(kiosk, "kiosk-landscape-english-ticket")
    kiosk.wait_for_selector("#choose:not([hidden])", timeout=10000)
    assert kiosk.get_attribute("html", "lang") == "vi" and kiosk.is_hidden("#priority-banner")
    kiosk.context.close()


def test_check_in_errors_in_english(kiosk_hub, browser):
    hub = kiosk_hub(FakeNetworkPrinter())
    kiosk = open_kiosk(browser, hub, LANDSCAPE)
    kiosk.tap("#lang")
    kiosk.tap("#appointment")
    kiosk.wait_for_selector("#appointment-info:not([hidden])")
    assert kiosk.get_attribute("#booking-code", "placeholder") == "Booking code"
    kiosk.fill("#booking-code", "ZZZZZZZZ")
    kiosk.tap("#check-in")
    kiosk.wait_for_selector("#check-in-error:not([hidden])")
    error = kiosk.inner_text("#check-in-error")
    assert error and not VIETNAMESE.search(error), error
    assert_readable_at_arms_length(kiosk)
    screenshot(kiosk, "kiosk-english-check-in-error")
    kiosk.context.close()


def test_a_printer_that_never_reads_gets_the_citizen_to_note_the_number(kiosk_hub, browser):
    hub = kiosk_hub(FakeNetworkPrinter(reads=False))
    kiosk = open_kiosk(browser, hub, PORTRAIT)
    kiosk.tap("button.service[data-service=HT]")
    kiosk.wait_for_selector("#result:not([hidden])")
    # the number is on screen at once, while the kiosk waits for the printer's word
    assert kiosk.inner_text("#result-number") == "1001"
    assert kiosk.get_attribute("#result-print", "data-state") == "printing"
    assert kiosk.inner_text("#result-print") == "Đang in phiếu…"
    screenshot(kiosk, "kiosk-printing")
    kiosk.wait_for_selector("#result-print[data-state=doubt]", timeout=10000)
    assert kiosk.inner_text("#result-print") == "Máy in chưa xác nhận — hãy ghi lại số của bạn trên màn hình"
    screenshot(kiosk, "kiosk-printer-not-confirmed")
    with sqlite3.connect(hub.db) as db:
        faults = [json.loads(row[0]) for row in db.execute("SELECT data FROM events WHERE type = 'device_fault'")]
    where = f"mạng 127.0.0.1:{hub.printer.port}"
    message = f"Máy in kiosk không phản hồi ({where}): kiểm tra giấy, nắp và cáp"
    message_en = (f"The kiosk printer does not answer (network 127.0.0.1:{hub.printer.port}): "
                  "check paper, cover and cable")
    assert faults == [{"device": "printer", "message": message, "message_en": message_en}]
    kiosk.context.close()


def centre(page, selector):
    box = page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def inside(point, box):
    return box["x"] <= point[0] <= box["x"] + box["width"] and box["y"] <= point[1] <= box["y"] + box["height"]


def test_a_second_tap_of_the_same_finger_does_not_act_on_the_next_screen(kiosk_hub, browser):
    """An unsure finger taps twice on the same spot; by the second tap the screen under it has
    changed. The kiosk's clock stands still here, so the second tap always comes "at once"."""
    hub = kiosk_hub(FakeNetworkPrinter())
    kiosk = open_kiosk(browser, hub, PORTRAIT, fake_clock=True)
    issued = []
    kiosk.on("request", lambda request: issued.append(request.post_data_json["service"])
             if request.url.endswith("/kiosk/tickets") else None)

    def tap_twice(point, then):
        """Tap ``point``, wait for the screen it leads to (``then``), tap the same spot again."""
        kiosk.touchscreen.tap(*point)
        kiosk.wait_for_selector(then)
        kiosk.touchscreen.tap(*point)

    def settled():
        """Whatever the second tap did is done once a later tap elsewhere is (the language
        button: English, then, a moment later, Vietnamese again)."""
        kiosk.tap("#lang")
        kiosk.wait_for_selector("html[lang=en]")
        kiosk.clock.fast_forward(1000)
        kiosk.tap("#lang")
        kiosk.wait_for_selector("html[lang=vi]")

    # "Tôi thuộc diện ưu tiên" twice: the second tap lands on "Quay lại" of the categories
    tap_twice(centre(kiosk, "#priority-open"), "#priority-screen:not([hidden])")
    settled()
    assert kiosk.is_visible("#priority-screen")
    # a category twice: the second lands on "Hộ tịch", which she did not choose
    tap_twice(centre(kiosk, "button.priority[data-priority=elderly]"), "#priority-banner:not([hidden])")
    settled()
    assert kiosk.is_visible("#choose") and issued == []
    # her service, tapped twice low on its tile, where "Xong" comes: the number stays on screen
    tile = kiosk.locator("button.service[data-service=DD]").bounding_box()
    low_on_the_tile = (tile["x"] + tile["width"] / 2, tile["y"] + tile["height"] - 20)
    tap_twice(low_on_the_tile, "#result:not([hidden])")
    assert inside(low_on_the_tile, kiosk.locator("#done").bounding_box())
    settled()
    assert kiosk.is_visible("#result") and issued == ["DD"]
    assert kiosk.inner_text("#result-priority") == "Ưu tiên: Người cao tuổi"
    screenshot(kiosk, "kiosk-second-tap-ticket-stays")
    # "Xong" twice: the second lands on a service tile; no ticket for the next citizen
    tap_twice(centre(kiosk, "#done"), "#choose:not([hidden])")
    settled()
    assert kiosk.is_visible("#choose") and issued == ["DD"]
    # "English" twice: the kiosk does not switch straight back
    kiosk.clock.fast_forward(1000)
    tap_twice(centre(kiosk, "#lang"), "html[lang=en]")
    kiosk.clock.fast_forward(1000)
    kiosk.tap("#appointment")
    kiosk.wait_for_selector("#appointment-info:not([hidden])")
    assert kiosk.get_attribute("html", "lang") == "en"
    waiting = {service["code"]: service["waiting"] for service in hub.get("/api/v1/state").json()["services"]}
    assert waiting["HT"] == 0 and waiting["DD"] == 1
    kiosk.context.close()


def test_a_kiosk_left_with_a_message_is_found_clean_or_told_why(kiosk_hub, browser):
    """A citizen walks away from a refusal ("Không lấy được số…"): the next one finds the start
    without it. One walks away from the categories while the hub is gone: the start the next one
    finds still says the kiosk has lost the hub (its buttons do not work). The kiosk's clock is
    the test's: "a while" is its idle time."""
    hub = kiosk_hub(FakeNetworkPrinter())
    kiosk = open_kiosk(browser, hub, PORTRAIT, query="?idle=5", fake_clock=True)   # less than a ping's timeout
    kiosk.route("**/kiosk/tickets", lambda route: route.abort())   # the ticket's request is lost
    kiosk.tap("button.service[data-service=HT]")
    kiosk.wait_for_selector("#kiosk-error:not([hidden])")
    assert kiosk.inner_text("#kiosk-error") == "Không lấy được số. Vui lòng thử lại hoặc hỏi cán bộ hướng dẫn."
    kiosk.clock.fast_forward("00:06")
    kiosk.wait_for_selector("#kiosk-error", state="hidden")

    kiosk.tap("#priority-open")
    kiosk.wait_for_selector("#priority-screen:not([hidden])")
    hub.stop()
    kiosk.wait_for_selector("body[data-connection=offline]")
    kiosk.clock.fast_forward("00:06")
    kiosk.wait_for_selector("#choose:not([hidden])")
    assert kiosk.inner_text("#kiosk-error") == "Mất kết nối với máy chủ. Vui lòng chờ trong giây lát."
    assert kiosk.locator("button.service:enabled").count() == 0
    screenshot(kiosk, "kiosk-offline-after-idle")
    kiosk.tap("#lang")   # a visitor reading English is told too
    kiosk.wait_for_selector("html[lang=en]")
    assert kiosk.inner_text("#kiosk-error") == "Connection to the server lost. Please wait a moment."
    kiosk.context.close()
