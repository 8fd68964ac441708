"""Appointments in real headless Chromium against a hub on loopback: search a procedure
without accents, book a slot, open the printable confirmation (its QR carries the
confirmation link), check in at the kiosk by scanning it (a keyboard-wedge scanner types
the link and Enter), get called at a counter; a booking for another day is refused at the
kiosk with the offer of a normal ticket."""

import io
import json
import re

import pytest

from hallserver.core.procedures import demo_procedures
from tests.helpers import (
    CT,
    HT,
    SMALL_PHONE,
    assert_fits,
    assert_readable_on_a_phone,
    assert_thumb_sized,
    browser_pair_kiosk,
    browser_sign_in,
    challenge_answer,
    cli_user,
    hub_secret,
    hub_with_tokens,
    init_hall,
    run_cli,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.hub]


@pytest.fixture
def booking_hub(tmp_path):
    db = init_hall(tmp_path, hall={"name": "UBND xã Thử Nghiệm", "hotline": "0210 3 888 999"},
                   booking={"slot_minutes": 30, "capacity": 2, "check_in_before_minutes": 30,
                            "check_in_after_minutes": 15},
                   services=[HT, CT], counters=[{"number": 1, "services": ["HT", "CT"]}])
    procedures = tmp_path / "procedures.json"
    demo = demo_procedures({"HT", "CT", "DD", "TP", "XH"})
    ours = [dict(p, **p.pop("details")) for p in demo if p["service"] in ("HT", "CT")]
    procedures.write_text(json.dumps(ours, ensure_ascii=False), encoding="utf-8")
    run_cli("procedures", "load", str(procedures), db=db)
    cli_user(db, "lan", "staff", "--counters", "1")
    hub = hub_with_tokens(db).start()
    yield hub
    hub.stop()


def solve_picture(page, hub):
    """The picture is drawn (loaded, wide) and nothing on the page reads as a sum; the test
    answers with the hub's own secret, as a citizen answers with their eyes. "Đổi hình khác"
    brings another picture and token without losing what was typed."""
    assert page.evaluate("() => document.getElementById('challenge-image').naturalWidth") == 260
    assert not re.search(r"\d+\s*(\+|cộng)\s*\d+", page.inner_text("#booking-form"))
    before = page.get_attribute("#challenge", "value")
    page.click("#new-challenge")
    page.wait_for_function("(old) => document.getElementById('challenge').value !== old", arg=before)
    token = page.get_attribute("#challenge", "value")
    page.fill("#answer", str(challenge_answer(hub_secret(hub.db), token)))


def decode_qr(element):
    import zxingcpp
    from PIL import Image

    image = Image.open(io.BytesIO(element.screenshot())).convert("L")
    return [result.text for result in zxingcpp.read_barcodes(image)]


def assert_for_a_thumb(page):
    """Nothing wider than the small phone, every control a thumb's size, no text too small."""
    assert_fits(page)
    assert_thumb_sized(page)
    assert_readable_on_a_phone(page)


def test_search_book_confirm_check_in_and_be_called(booking_hub, browser):
    hub = booking_hub
    phone = browser.new_page(**SMALL_PHONE)
    phone.goto(f"{hub.url}/thu-tuc")
    assert_for_a_thumb(phone)
    phone.fill("input[name=q]", "dang ky khai sinh")
    phone.click("form[role=search] button[type=submit]")
    phone.wait_for_selector("#procedures li[data-code=HT-KHAISINH]")
    assert "Đăng ký kết hôn" not in phone.inner_text("#procedures")
    phone.click("#procedures li[data-code=HT-KHAISINH] h2 a")
    assert "Giấy chứng sinh" in phone.inner_text("#documents")
    assert_for_a_thumb(phone)
    screenshot(phone, "procedure-khai-sinh")
    phone.click("#book")

    # the first free slot of the first day with room; the check question is a small sum in a picture
    slot = phone.locator("fieldset.day:not([hidden]) input[name=slot]:not([disabled])").first
    slot_value = slot.get_attribute("value")
    slot.check()
    phone.fill("input[name=name]", "Nguyễn Thị Hoa")
    phone.fill("input[name=phone]", "0912 345 678")
    assert "chưa có dịch vụ gửi mã xác minh" in phone.inner_text("#verification-note")
    solve_picture(phone, hub)
    assert_for_a_thumb(phone)
    screenshot(phone, "booking-form")
    phone.click("#booking-form button[type=submit]")
    phone.wait_for_url(re.compile(r".*/dat-lich/[A-Z0-9]{4}-[A-Z0-9]{4}\?moi=1$"))
    code = phone.inner_text("#booking-code")
    confirmation_url = f"{hub.url}/dat-lich/{code}"
    assert phone.inner_text("#booking-time").startswith(slot_value[-5:])
    assert "Đăng ký khai sinh" in phone.inner_text("#booking-procedure")
    assert "0912" not in phone.content() and "Nguyễn Thị Hoa" not in phone.content()
    assert decode_qr(phone.locator(".confirmation .result-qr svg")) == [confirmation_url]
    assert_for_a_thumb(phone)
    screenshot(phone, "booking-confirmation")

    # the counter signs in first, so it hears the new ticket live
    counter = browser.new_page(viewport={"width": 1366, "height": 800})
    browser_sign_in(counter, hub.url, "lan", path="/counter")
    counter.wait_for_url(f"{hub.url}/counter/1")
    counter.wait_for_selector("#connection[data-state=online]")

    kiosk = browser.new_page(viewport={"width": 1920, "height": 1080})
    browser_pair_kiosk(kiosk, hub.url, hub.kiosk)
    kiosk.wait_for_function("() => !document.querySelector('button.service[data-service=HT]').disabled")
    # the scanner "types" the QR's link and Enter, with nothing focused
    kiosk.keyboard.type(confirmation_url, delay=5)
    kiosk.keyboard.press("Enter")
    kiosk.wait_for_selector("#result:not([hidden])")
    number = kiosk.inner_text("#result-number")
    assert number == "1001" and "Lịch hẹn lúc" in kiosk.inner_text("#result-appointment")
    screenshot(kiosk, "kiosk-appointment-checked-in")

    # a booking for another day: the kiosk says so and offers a normal ticket instead
    later = hub.get("/api/v1/bookings/slots?service=CT").json()["days"][2]
    other = hub.post("/api/v1/bookings", hub.counter, {
        "service": "CT", "slot": later["slots"][0]["slot"], "name": "Lê Văn Cường", "phone": "0987654321"}
    ).json()["booking"]
    kiosk.click("#done")
    kiosk.wait_for_selector("body:not([data-settling])")   # a click at once on the same spot is a second tap
    kiosk.click("#appointment")
    kiosk.fill("#booking-code", other["code"].lower())
    kiosk.click("#check-in")
    kiosk.wait_for_selector("#check-in-error:not([hidden])")
    assert "không phải hôm nay" in kiosk.inner_text("#check-in-error")
    assert kiosk.inner_text("#check-in-fallback") == "Lấy số thường — Chứng thực"
    screenshot(kiosk, "kiosk-appointment-too-early")
    kiosk.click("#check-in-fallback")
    kiosk.wait_for_selector("#result:not([hidden])")
    assert kiosk.inner_text("#result-number") == "B001" and kiosk.is_hidden("#result-appointment")

    # the counter calls the next citizen: the appointment, checked in first
    counter.wait_for_selector(f"#waiting-list td:text-is('{number}')")
    counter.keyboard.press("Enter")
    counter.wait_for_selector(f"#current-number:text-is('{number}')")
    screenshot(counter, "counter-calls-appointment")

    phone.goto(confirmation_url)
    assert phone.get_attribute("#booking-status", "data-status") == "checked_in"
    assert number in phone.inner_text("#booking-status")
    for page in (phone, kiosk, counter):
        page.close()


def test_book_with_the_picture_and_the_code_sent_to_the_phone(tmp_path, browser, gateway):
    db = init_hall(tmp_path, hall={"name": "UBND xã Thử Nghiệm"}, booking={"reminder_url": gateway.url},
                   services=[HT], counters=[{"number": 1, "services": ["HT"]}])
    hub = hub_with_tokens(db).start()
    try:
        phone = browser.new_page(viewport={"width": 412, "height": 900}, is_mobile=True, locale="vi-VN")
        phone.goto(f"{hub.url}/dat-lich?dich_vu=HT")
        assert "sẽ gửi mã xác minh" in phone.inner_text("#verification-note")
        phone.locator("fieldset.day:not([hidden]) input[name=slot]:not([disabled])").first.check()
        phone.fill("input[name=name]", "Nguyễn Thị Hoa")
        phone.fill("input[name=phone]", "0912 345 678")
        solve_picture(phone, hub)
        phone.click("#booking-form button[type=submit]")
        phone.wait_for_selector("#booking-form[data-step=code] #code")
        screenshot(phone, "booking-code-step")
        code = gateway.requests[-1]["json"]["code"]
        assert gateway.requests[-1]["json"]["to"]["phone"] == "0912345678" and code not in phone.content()
        phone.fill("#code", f"{(int(code) + 1) % 1000000:06d}")
        phone.click("#booking-form button[type=submit]")
        phone.wait_for_selector("#booking-error")
        assert "còn 4 lần thử" in phone.inner_text("#booking-error")
        phone.fill("#code", code)
        phone.click("#booking-form button[type=submit]")
        phone.wait_for_url(re.compile(r".*/dat-lich/[A-Z0-9]{4}-[A-Z0-9]{4}\?moi=1$"))
        assert phone.inner_text("#booking-code")
        phone.close()
    finally:
        hub.stop()


def test_a_new_picture_asked_without_network_keeps_the_form(booking_hub, browser):
    """On a phone whose network drops, "Đổi hình khác" reloaded the page: the browser's error
    page, and the slot, name and phone typed in were gone. The form stays and says why."""
    hub = booking_hub
    phone = browser.new_page(**SMALL_PHONE)
    phone.goto(f"{hub.url}/dat-lich?dich_vu=HT")
    phone.locator("fieldset.day:not([hidden]) input[name=slot]:not([disabled])").first.check()
    phone.fill("input[name=name]", "Nguyễn Thị Hoa")
    phone.fill("input[name=phone]", "0912 345 678")
    before = phone.get_attribute("#challenge", "value")
    phone.context.set_offline(True)
    phone.tap("#new-challenge")
    phone.wait_for_selector("#challenge-failed:not([hidden])")
    assert "mất kết nối mạng" in phone.inner_text("#challenge-failed")
    assert phone.input_value("input[name=name]") == "Nguyễn Thị Hoa" and phone.url.endswith("/dat-lich?dich_vu=HT")
    assert_for_a_thumb(phone)
    screenshot(phone, "booking-new-picture-offline")
    phone.context.set_offline(False)
    phone.tap("#new-challenge")
    phone.wait_for_function("(old) => document.getElementById('challenge').value !== old", arg=before)
    assert phone.is_hidden("#challenge-failed") and phone.input_value("input[name=phone]") == "0912 345 678"
    phone.close()
