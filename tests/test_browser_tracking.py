"""Numbers from home and the tracking page on a phone (390×844, touch) in real headless
Chromium against a hub on loopback: nothing wider than the phone, what to do after a
no-show, the notification button only while waiting, English from the browser's language
(names from ``name_en``, plurals), language links that keep the page's query, and the
estimate asked again every minute with no push at all (Playwright's fake clock)."""

import re

import pytest
import requests

from tests.helpers import (
    CT,
    HT,
    SMALL_PHONE,
    assert_fits,
    assert_readable_on_a_phone,
    assert_thumb_sized,
    hub_with_tokens,
    init_hall,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.hub]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone_hub(tmp_path):
    db = init_hall(tmp_path, hall={"name": "UBND xã Thử Nghiệm", "name_en": "Thu Nghiem Commune Service Center"},
                   priorities=[{"code": "elderly", "name": "Người cao tuổi", "name_en": "Elderly"}],
                   services=[dict(HT, name_en="Civil status"), dict(CT, name_en="Certification")],
                   counters=[{"number": 1, "services": ["HT", "CT"]}])
    hub = hub_with_tokens(db).start()
    yield hub
    hub.stop()


@pytest.fixture
def phone_in(open_page):
    """A phone page in the given locale, in its own context."""
    return lambda locale: open_page(locale=locale, **PHONE)


def assert_language_links_tap_sized(page):
    links = page.locator("nav.lang a")
    assert links.count() == 2
    for index in range(2):
        size = links.nth(index).bounding_box()
        assert size["height"] >= 44 and size["width"] >= 44, size


def test_number_from_home_called_then_absent(phone_hub, phone_in):
    hub = phone_hub
    phone = phone_in("vi-VN")
    phone.goto(f"{hub.url}/lay-so")
    assert phone.inner_text("h1") == "Lấy số trực tuyến"
    assert_fits(phone)
    assert_language_links_tap_sized(phone)
    phone.tap("label.choice:has(input[value=HT])")
    phone.tap("button[type=submit]")
    phone.wait_for_url(re.compile(r".*/t/[\w-]+\?moi=1$"))
    phone.wait_for_selector("#connection[data-state=online]")
    # the link to this page, to keep: inside the phone's width, the page too
    link = phone.locator("#track-url").bounding_box()
    assert link["x"] >= 0 and link["x"] + link["width"] <= 390
    assert_fits(phone)
    assert_language_links_tap_sized(phone)
    assert phone.inner_text("#ahead") == "Không còn ai phía trước"
    assert phone.is_visible("#notify") and not phone.is_visible("#no-show")
    screenshot(phone, "tracking-phone-new")

    hub.post("/api/v1/counters/1/call-next", hub.counter).raise_for_status()
    phone.wait_for_selector("#headline:has-text('Mời đến quầy số 1')")
    assert not phone.is_visible("#notify")   # called: nothing left to switch on
    screenshot(phone, "tracking-phone-called")

    hub.post("/api/v1/counters/1/no-show", hub.counter).raise_for_status()
    phone.wait_for_selector("#no-show:not([hidden])")
    guidance = phone.inner_text("#no-show-text")
    assert guidance == ("Bạn đã bị đánh dấu vắng mặt: hãy đến quầy số 1 hôm nay để được gọi lại, "
                        "hoặc lấy số mới.")
    assert not phone.is_visible("#notify") and not phone.is_visible("#cancel")
    assert_fits(phone)
    screenshot(phone, "tracking-phone-no-show")
    # the same after reloading the page (rendered by the hub, not only pushed)
    phone.reload()
    assert "hãy đến quầy số 1 hôm nay" in phone.inner_text("#no-show")
    phone.tap("#new-number")
    phone.wait_for_url(re.compile(r".*/lay-so\?dich_vu=HT$"))
    assert phone.is_checked("input[name=service][value=HT]")


def test_english_phone_sees_english_names_and_plurals(phone_hub, phone_in):
    hub = phone_hub
    ahead = [hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).json()["ticket"] for _ in range(3)]
    elderly = hub.post("/api/v1/tickets", hub.kiosk, {"service": "CT", "priority": "elderly"}).json()["ticket"]

    phone = phone_in("en-US")   # Accept-Language: en-US; nothing chosen on the page
    phone.goto(f"{hub.url}/lay-so")
    assert phone.inner_text("h1") == "Take a number online"
    assert phone.inner_text("#topbar .brand") == "Thu Nghiem Commune Service Center"
    services = phone.inner_text("form.take-number fieldset")
    assert "Civil status" in services and "Certification" in services and "Hộ tịch" not in services
    assert "Waiting: 3 people" in services and "Waiting: 1 person" in services
    assert_fits(phone)
    screenshot(phone, "take-number-english")
    phone.tap("label.choice:has(input[value=HT])")
    phone.tap("button[type=submit]")
    phone.wait_for_url(re.compile(r".*/t/[\w-]+\?moi=1$"))
    phone.wait_for_selector("#connection[data-state=online]")
    assert phone.inner_text("#service") == "Civil status"
    assert phone.get_attribute("html", "lang") == "en"   # a screen reader reads it with an English voice
    assert phone.inner_text("#ahead") == "3 people ahead"
    assert re.fullmatch(r"about \d+–\d+ minutes", phone.inner_text("#eta"))   # the range, in English
    assert_fits(phone)
    screenshot(phone, "tracking-english")
    # positions move live: the pushes bring numbers, the page its plural
    for ticket in ahead[:2]:
        requests.post(f"{hub.url}/api/v1/tickets/{ticket['track_token']}/cancel", timeout=10).raise_for_status()
    phone.wait_for_selector("#ahead:text-is('1 person ahead')")

    # the priority ticket: English priority and service names, also after a transfer (pushed)
    other = phone_in("en-GB")
    other.goto(f"{hub.url}/t/{elderly['track_token']}")
    other.wait_for_selector("#connection[data-state=online]")
    assert other.inner_text("#service") == "Certification"
    assert other.inner_text("#priority") == "Priority: Elderly"
    called = hub.post("/api/v1/counters/1/call-next", hub.counter).json()["ticket"]
    assert called["number"] == elderly["number"]
    other.wait_for_selector("#headline:has-text('Please go to counter 1')")
    hub.post("/api/v1/counters/1/transfer", hub.counter, {"service": "HT"}).raise_for_status()
    other.wait_for_selector("#service:text-is('Civil status')")
    assert other.inner_text("#priority") == "Priority: Elderly"
    screenshot(other, "tracking-english-transferred")


def test_browser_language_and_language_links(phone_hub, phone_in):
    hub = phone_hub
    # a Vietnamese phone that also reads English stays Vietnamese
    phone = phone_in("vi-VN")
    phone.goto(f"{hub.url}/thu-tuc?q=ket+hon")
    english = phone.locator("nav.lang a[hreflang=en]")
    assert english.get_attribute("href") == "/thu-tuc?q=ket+hon&lang=en"
    assert_language_links_tap_sized(phone)
    english.tap()
    phone.wait_for_url(f"{hub.url}/thu-tuc?q=ket+hon&lang=en")
    assert phone.input_value("input[name=q]") == "ket hon"
    assert phone.locator("nav.lang a[aria-current]").inner_text() == "English"
    # the choice is remembered, and going back keeps the query too
    phone.goto(f"{hub.url}/lay-so?dich_vu=HT")
    assert phone.inner_text("h1") == "Take a number online"
    phone.locator("nav.lang a[hreflang=vi]").tap()
    phone.wait_for_url(f"{hub.url}/lay-so?dich_vu=HT&lang=vi")
    assert phone.inner_text("h1") == "Lấy số trực tuyến"
    assert phone.is_checked("input[name=service][value=HT]")
    assert_fits(phone)
    screenshot(phone, "take-number-language-links")


def shown_wait(ticket):
    """The estimate as track.js words it in Vietnamese (its waitText)."""
    if ticket["eta_after_closure"]:
        return f"sau giờ nghỉ trưa, khoảng {ticket['eta_at']}"
    if ticket["eta_minutes"] < 1:
        return "dưới 1 phút"
    return f"khoảng {ticket['eta_low_minutes']}–{ticket['eta_high_minutes']} phút"


def test_the_page_asks_again_every_minute_with_no_push_at_all(phone_hub, phone_in):
    """The estimate moves with time alone, so the page asks the hub every minute. Here the
    socket is up but every push to the page is dropped on the way; the hub's answer changes
    (its only counter pauses); the page shows the new wait once its clock moves a minute on."""
    hub = phone_hub
    for _ in range(4):
        hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).raise_for_status()
    token = hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).json()["ticket"]["track_token"]
    phone = phone_in("vi-VN")

    def without_pushes(socket):
        """Relay the page's socket, all but the hub's ``ticket`` pushes (the handshake, the
        join's answer and the pings pass)."""
        hub_side = socket.connect_to_server()
        hub_side.on_message(lambda message: None if str(message).startswith('42["ticket"') else socket.send(message))

    asked = []
    ticket_api = f"{hub.url}/api/v1/tickets/{token}"
    phone.on("request", lambda request: asked.append(request.url) if request.url == ticket_api else None)
    phone.route_web_socket("**/socket.io/**", without_pushes)
    phone.clock.install()
    phone.goto(f"{hub.url}/t/{token}")
    phone.wait_for_selector("#connection[data-state=online]")
    before = phone.inner_text("#eta")
    assert before == shown_wait(hub.get(f"/api/v1/tickets/{token}").json()["ticket"])

    hub.post("/api/v1/counters/1/pause", hub.counter).raise_for_status()
    changed = hub.get(f"/api/v1/tickets/{token}").json()["ticket"]
    assert shown_wait(changed) != before                     # the hub's answer moved...
    assert phone.inner_text("#eta") == before and asked == []   # ...and nothing told the page

    with phone.expect_response(ticket_api) as answer:
        phone.clock.fast_forward("01:01")
    fresh = answer.value.json()["ticket"]
    phone.wait_for_selector(f"#eta:text-is('{shown_wait(fresh)}')")
    assert shown_wait(fresh) != before and asked == [ticket_api]
    assert phone.inner_text("#ahead") == "4 người phía trước"
    # A minute without the hub's pings looks like a lost socket: the page reconnects by itself.
    phone.wait_for_selector("#connection[data-state=online]")
    assert phone.inner_text("#eta") == shown_wait(fresh)
    assert_fits(phone)
    screenshot(phone, "tracking-refreshed-by-the-minute")


SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 50_000, "uploadThroughput": 50_000}


def waiting(hub):
    return {service["code"]: service["waiting"] for service in hub.get("/api/v1/state").json()["services"]}


def test_lay_so_tapped_twice_on_a_slow_network_takes_one_number(phone_hub, open_page):
    """On slow 3G nothing seems to happen after "Lấy số", so the citizen taps it again: one
    number, not two. Back from the number, the form still works (a number for her husband)."""
    hub = phone_hub
    phone = open_page(**SMALL_PHONE)
    phone.goto(f"{hub.url}/lay-so")
    assert_fits(phone)
    assert_thumb_sized(phone)
    assert_readable_on_a_phone(phone)   # "Đang chờ: 0 người", "Chờ khoảng …" were 13 px
    network = phone.context.new_cdp_session(phone)
    network.send("Network.emulateNetworkConditions", SLOW_3G)
    phone.tap("label.choice:has(input[value=HT])")
    phone.locator("button[type=submit]").scroll_into_view_if_needed()
    submit = phone.locator("button[type=submit]").bounding_box()
    for _ in range(2):   # the second tap while the first is on its way (a tap does not wait for the page)
        phone.touchscreen.tap(submit["x"] + submit["width"] / 2, submit["y"] + submit["height"] / 2)
    phone.wait_for_url(re.compile(r".*/t/[\w-]+\?moi=1$"), wait_until="commit")
    phone.wait_for_selector("#number")
    assert waiting(hub) == {"HT": 1, "CT": 0} and phone.inner_text("#number") == "1001"
    phone.wait_for_selector("#connection[data-state=online]")
    assert_fits(phone)
    assert_thumb_sized(phone)
    assert_readable_on_a_phone(phone)
    screenshot(phone, "tracking-small-phone")

    network.send("Network.emulateNetworkConditions", {**SLOW_3G, "latency": 0})
    phone.go_back()
    phone.wait_for_url(f"{hub.url}/lay-so")
    phone.tap("label.choice:has(input[value=CT])")
    phone.tap("button[type=submit]")
    phone.wait_for_url(re.compile(r".*/t/[\w-]+\?moi=1$"))
    phone.wait_for_selector("#number:text-is('B001')")
    assert waiting(hub) == {"HT": 1, "CT": 1}


def test_rating_on_a_small_phone_once_served(phone_hub, open_page):
    """The tracking page asks for a rating once the ticket is done (pushed live): every choice
    a thumb's size at 360 px, one tap on a score, "Gửi đánh giá", thanks."""
    hub = phone_hub
    token = hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).json()["ticket"]["track_token"]
    phone = open_page(**SMALL_PHONE)
    phone.goto(f"{hub.url}/t/{token}")
    phone.wait_for_selector("#connection[data-state=online]")
    hub.post("/api/v1/counters/1/call-next", hub.counter).raise_for_status()
    hub.post("/api/v1/counters/1/done", hub.counter).raise_for_status()
    phone.wait_for_selector("#rating:not([hidden])")
    assert_fits(phone)
    assert_thumb_sized(phone)
    screenshot(phone, "tracking-small-phone-rating")
    phone.tap("label.score:has(span:text-is('Hài lòng'))")
    phone.tap("#rating button[type=submit]")
    phone.wait_for_selector("#rating-thanks")
    assert phone.inner_text("#rating-thanks") == "Cảm ơn bạn đã đánh giá!"


CHIME = re.compile(r".*/sounds/chime\.wav$")


def test_offline_the_page_says_since_when_and_catches_up_when_back(phone_hub, open_page):
    """The phone loses its network in the morning; meanwhile the two ahead are served and her
    number is called. The page says since when its figures are old, then catches up by itself
    when the network returns, and rings for the call it missed. The hub restarting is the same."""
    hub = phone_hub
    for _ in range(2):
        hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).raise_for_status()
    token = hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).json()["ticket"]["track_token"]
    phone = open_page(**SMALL_PHONE)
    phone.goto(f"{hub.url}/t/{token}")
    phone.wait_for_selector("#connection[data-state=online]")
    assert phone.inner_text("#ahead") == "2 người phía trước" and phone.is_hidden("#stale")
    assert phone.locator("[aria-live=polite] #ahead").count() == 1   # a screen reader says the position

    phone.context.set_offline(True)
    phone.wait_for_selector("#stale:not([hidden])")
    assert re.fullmatch(r"Chưa cập nhật được từ \d\d:\d\d: số người phía trước và thời gian chờ dưới đây có thể "
                        r"đã cũ\. Trang sẽ tự cập nhật khi có mạng trở lại\.", phone.inner_text("#stale"))
    assert_fits(phone)
    screenshot(phone, "tracking-offline")
    for _ in range(3):   # the two ahead, then her
        hub.post("/api/v1/counters/1/done", hub.counter)   # 409 for the first: nobody at the counter yet
        hub.post("/api/v1/counters/1/call-next", hub.counter).raise_for_status()
    assert phone.inner_text("#ahead") == "2 người phía trước"

    with phone.expect_request(CHIME):   # the call she missed rings when the page catches up
        phone.context.set_offline(False)
        phone.wait_for_selector("#headline:has-text('Mời đến quầy số 1')")
    phone.wait_for_selector("#stale", state="hidden")
    screenshot(phone, "tracking-back-online-called")

    hub.stop()
    phone.wait_for_selector("#stale:not([hidden])")
    hub.start()
    hub.post("/api/v1/counters/1/done", hub.counter).raise_for_status()
    phone.wait_for_selector("#rating:not([hidden])")
    phone.wait_for_selector("#stale", state="hidden")
    assert phone.inner_text("#status") == "Đã hoàn thành"
