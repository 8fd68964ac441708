"""The wait as a range ("khoảng 15–25 phút") where citizens see it, in real headless Chromium
against a hub on loopback: the kiosk result (1080×1920 portrait), /lay-so and the tracking
page on a phone (390×844)."""

import re

import pytest
import requests

from tests.helpers import CT, HT, bearer, browser_pair_kiosk, hub_with_tokens, init_hall, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.hub]

PORTRAIT = {"width": 1080, "height": 1920}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
RANGE = r"khoảng (\d+)–(\d+) phút"


@pytest.fixture
def busy_hub(tmp_path):
    """A hub whose one counter has five tickets waiting for it: every new wait is a real range."""
    db = init_hall(tmp_path, services=[dict(HT, service_minutes=6), dict(CT, service_minutes=4)],
                   counters=[{"number": 1, "services": ["HT", "CT"]}],
                   policy={"repeat_guard_seconds": 0, "confirm_arrival_seconds": 0})
    hub = hub_with_tokens(db).start()
    for _ in range(5):
        answer = requests.post(f"{hub.url}/api/v1/tickets", json={"service": "HT"}, headers=bearer(hub.kiosk),
                               timeout=10)
        assert answer.status_code == 201
    yield hub
    hub.stop()


def assert_range(text, pattern):
    match = re.fullmatch(pattern, text.strip())
    assert match, text
    low, high = int(match[1]), int(match[2])
    assert 0 <= low < high, text
    return low, high


def test_kiosk_result_shows_the_range(busy_hub, browser):
    context = browser.new_context(viewport=PORTRAIT, has_touch=True, locale="vi-VN")
    kiosk = context.new_page()
    browser_pair_kiosk(kiosk, busy_hub.url, busy_hub.kiosk)
    kiosk.wait_for_function("() => !document.querySelector('button.service[data-service=HT]').disabled")
    with kiosk.expect_response(f"{busy_hub.url}/kiosk/tickets") as answer:
        kiosk.tap("button.service[data-service=HT]")
    ticket = answer.value.json()["ticket"]
    kiosk.wait_for_selector("#result:not([hidden])")
    low, high = assert_range(kiosk.inner_text("#result-eta"), "Thời gian chờ dự kiến: " + RANGE)
    assert (low, high) == (ticket["eta_low_minutes"], ticket["eta_high_minutes"])
    assert low <= ticket["eta_minutes"] <= high
    size = kiosk.eval_on_selector("#result-eta", "e => parseFloat(getComputedStyle(e).fontSize)")
    assert size >= 32    # read at arm's length
    screenshot(kiosk, "estimates-kiosk-result")
    kiosk.screenshot(path="/tmp/shots/kiosk-result.png", full_page=True)
    context.close()


def test_take_number_and_tracking_show_the_range(busy_hub, open_page):
    phone = open_page(locale="vi-VN", **PHONE)
    phone.goto(f"{busy_hub.url}/lay-so")
    label = phone.inner_text("label.choice:has(input[value=HT]) .eta")
    assert_range(label, "Chờ " + RANGE)
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "estimates-take-number")
    phone.screenshot(path="/tmp/shots/take-number.png", full_page=True)
    phone.tap("label.choice:has(input[value=HT])")
    phone.tap("button[type=submit]")
    phone.wait_for_url(re.compile(r".*/t/[\w-]+\?moi=1$"))
    phone.wait_for_selector("#connection[data-state=online]")
    low, high = assert_range(phone.inner_text("#eta"), RANGE)
    token = phone.url.split("/t/")[1].split("?")[0]
    ticket = requests.get(f"{busy_hub.url}/api/v1/tickets/{token}", timeout=10).json()["ticket"]
    assert (low, high) == (ticket["eta_low_minutes"], ticket["eta_high_minutes"])
    assert phone.inner_text("#headline") == ""      # six ahead, half an hour: not near yet
    screenshot(phone, "estimates-tracking")
    phone.screenshot(path="/tmp/shots/tracking.png", full_page=True)

    # the line moves (the counter calls four): the page hears it, says "Sắp đến lượt", range shrinks
    for _ in range(4):
        answer = requests.post(f"{busy_hub.url}/api/v1/counters/1/call-next", json={"arrived": True},
                               headers=bearer(busy_hub.counter), timeout=10)
        assert answer.status_code == 200, answer.text
    phone.wait_for_selector("#headline[data-kind=soon]", timeout=10_000)
    assert phone.inner_text("#headline") == "Sắp đến lượt! Vui lòng có mặt tại trung tâm."
    eta = phone.inner_text("#eta").strip()
    later = re.fullmatch(RANGE, eta)
    assert eta == "dưới 1 phút" or (later and int(later[2]) <= high), eta
    phone.screenshot(path="/tmp/shots/tracking-near.png", full_page=True)
