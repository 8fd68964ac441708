"""The counter's rating tablet in real headless Chromium (800×1280, touch) against a hub on
loopback: done at the counter → the question with the number → one tap → thanks → idle."""

import sqlite3
import time

import pytest

from tests.helpers import ARTIFACTS, HT, device_token, hub_with_tokens, init_hall, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.hub]

TABLET = {"viewport": {"width": 800, "height": 1280}, "has_touch": True, "is_mobile": True, "locale": "vi-VN"}


@pytest.fixture
def tablet_hub(tmp_path):
    db = init_hall(tmp_path, services=[dict(HT, name_en="Civil status")],
                   counters=[{"number": 1, "services": ["HT"]}])
    hub = hub_with_tokens(db)
    hub.rating = device_token(db, "rating", 1)
    hub.start()
    yield hub
    hub.stop()


def serve_one(hub):
    """A citizen takes a number, is called, served and finished at counter 1."""
    number = hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"}).json()["ticket"]["number"]
    assert hub.post("/api/v1/counters/1/call-next", hub.counter).json()["ticket"]["number"] == number
    hub.post("/api/v1/counters/1/start", hub.counter).raise_for_status()
    hub.post("/api/v1/counters/1/done", hub.counter).raise_for_status()
    return number


def paired_tablet(browser, hub, clock=False):
    """A tablet paired with counter 1; with ``clock``, its page clock is the test's to run on."""
    context = browser.new_context(**TABLET)
    tablet = context.new_page()
    if clock:
        tablet.clock.install()
    tablet.goto(f"{hub.url}/danh-gia/1")
    assert tablet.url == f"{hub.url}/danh-gia/1/ghep-noi"
    tablet.fill("input[name=token]", hub.rating)
    tablet.tap("button[type=submit]")
    tablet.wait_for_url(f"{hub.url}/danh-gia/1")
    tablet.wait_for_selector("#connection[data-state=online]")
    return context, tablet


def box(page, selector):
    return page.locator(selector).bounding_box()


def test_tablet_asks_after_done_and_one_tap_rates(tablet_hub, browser):
    hub = tablet_hub
    context, tablet = paired_tablet(browser, hub)
    errors = []
    tablet.on("pageerror", lambda error: errors.append(str(error)))
    assert tablet.is_visible("#idle") and not tablet.is_visible("#ask")
    screenshot(tablet, "rating-tablet-idle")

    number = serve_one(hub)
    tablet.wait_for_selector("#ask:not([hidden])")
    assert tablet.inner_text("#ask-number") == number
    assert f"giải quyết số {number}?" in tablet.inner_text("#ask h1")
    assert "<span" not in tablet.inner_text("#ask h1")
    scores = tablet.locator(".tablet-score")
    assert scores.count() == 4
    for index in range(4):
        size = scores.nth(index).bounding_box()
        assert size["height"] >= 64 and size["width"] >= 64, size
    screenshot(tablet, "rating-tablet-ask")

    # "Rất hài lòng": one tap sends it
    with tablet.expect_response(f"{hub.url}/danh-gia/1") as answer:
        tablet.tap(".tablet-score[data-score='4']")
    assert answer.value.status == 200
    tablet.wait_for_selector("#thanks:not([hidden])")
    screenshot(tablet, "rating-tablet-thanks")
    tablet.wait_for_selector("#idle:not([hidden])", timeout=8000)
    assert not tablet.is_visible("#ask")

    # "Không hài lòng" opens the reasons, each a big tap target, then "Gửi đánh giá"
    second = serve_one(hub)
    tablet.wait_for_function(f"() => document.getElementById('ask-number').textContent === '{second}'")
    tablet.tap(".tablet-score[data-score='1']")
    tablet.wait_for_selector("#details:not([hidden])")
    reasons = tablet.locator(".tablet-reason")
    assert reasons.count() == 6
    for index in range(reasons.count()):
        size = reasons.nth(index).bounding_box()
        assert size["height"] >= 64 and size["width"] >= 300, size
    assert box(tablet, "#send")["height"] >= 64
    tablet.tap(".tablet-reason:has(input[value=wait_long])")
    assert tablet.is_checked("input[value=wait_long]")
    screenshot(tablet, "rating-tablet-reasons")
    with tablet.expect_response(f"{hub.url}/danh-gia/1") as answer:
        tablet.tap("#send")
    assert answer.value.status == 200
    tablet.wait_for_selector("#thanks:not([hidden])")

    assert errors == []
    context.close()


def test_a_bad_push_does_not_stop_the_tablet(tablet_hub, browser):
    """Pushes the hub never sends, slipped into the tablet's socket: ignored, and the next
    real one still asks."""
    hub = tablet_hub
    context = browser.new_context(**TABLET)
    tablet = context.new_page()
    sockets = []

    def relay(socket):
        server = socket.connect_to_server()
        sockets.append(socket)
        return server

    tablet.route_web_socket("**/socket.io/**", relay)
    errors = []
    tablet.on("pageerror", lambda error: errors.append(str(error)))
    tablet.goto(f"{hub.url}/danh-gia/1/ghep-noi")
    tablet.fill("input[name=token]", hub.rating)
    tablet.tap("button[type=submit]")
    tablet.wait_for_selector("#connection[data-state=online]")
    for bad in ('42["rate",null]', '42["rate","?"]', '42["rate",{"ticket":null}]', '42["rate",{"ticket":{}}]',
                '42["rate",{"ticket":{"number":null}}]', '42["rate",[1,2]]'):
        sockets[-1].send(bad)
    tablet.wait_for_timeout(300)
    assert tablet.is_visible("#idle") and not tablet.is_visible("#ask")
    number = serve_one(hub)
    tablet.wait_for_selector("#ask:not([hidden])")
    assert tablet.inner_text("#ask-number") == number
    tablet.tap(".tablet-score[data-score='4']")
    tablet.wait_for_selector("#thanks:not([hidden])")
    assert errors == []
    context.close()


def test_the_tablet_stays_paired_overnight(tablet_hub, browser):
    hub = tablet_hub
    context, tablet = paired_tablet(browser, hub)
    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    assert cookies["hall_devices"]["httpOnly"] and cookies["hall_devices"]["expires"] > time.time() + 300 * 86400
    # the session cookie (a staff sign-in's lifetime) is gone by the morning: still paired
    context.clear_cookies()
    context.add_cookies([dict(cookies["hall_devices"])])
    tablet.goto(f"{hub.url}/danh-gia/1")
    assert tablet.url == f"{hub.url}/danh-gia/1"
    tablet.wait_for_selector("#connection[data-state=online]")
    number = serve_one(hub)
    tablet.wait_for_selector("#ask:not([hidden])")
    with tablet.expect_response(f"{hub.url}/danh-gia/1") as answer:
        tablet.tap(".tablet-score[data-score='3']")
    assert answer.value.status == 200, number
    context.close()


def rating_of(hub, number):
    """(score, comment) stored for today's ticket ``number``, or None."""
    with sqlite3.connect(hub.db) as connection:
        return connection.execute("SELECT ratings.score, ratings.comment FROM ratings JOIN tickets ON "
                                  "tickets.id = ratings.ticket_id WHERE tickets.number = ?", [number]).fetchone()


def start_a_comment(tablet, score):
    """Asked about a number, the citizen taps ``score`` (one that opens the reasons), then the comment box."""
    tablet.wait_for_selector("#ask:not([hidden])")
    tablet.tap(f".tablet-score[data-score='{score}']")
    tablet.wait_for_selector("#details:not([hidden])")
    tablet.tap("textarea[name=comment]")


def test_a_tap_lost_to_the_network_then_sent_leaves_no_error_behind(tablet_hub, browser):
    """The Wi-Fi drops as the citizen taps 'Rất hài lòng': the tablet says it was not sent; the
    second tap goes through: 'Cảm ơn quý khách!' alone, and the next citizen finds a clean start."""
    hub = tablet_hub
    context, tablet = paired_tablet(browser, hub)
    lost = []

    def drop_the_first_rating(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.request)
            route.abort("internetdisconnected")
        else:
            route.continue_()
    tablet.route(f"{hub.url}/danh-gia/1", drop_the_first_rating)
    number = serve_one(hub)
    tablet.wait_for_selector("#ask:not([hidden])")
    tablet.tap(".tablet-score[data-score='4']")
    tablet.wait_for_selector("#message:has-text('Chưa gửi được đánh giá')")
    assert tablet.is_visible("#ask") and rating_of(hub, number) is None

    tablet.tap(".tablet-score[data-score='4']")
    tablet.wait_for_selector("#thanks:not([hidden])")
    screenshot(tablet, "rating-tablet-thanks-after-a-lost-tap")
    assert not tablet.is_visible("#message"), tablet.inner_text("#message")
    assert rating_of(hub, number)[0] == 4
    tablet.wait_for_selector("#idle:not([hidden])", timeout=8000)
    assert not tablet.is_visible("#message")
    context.close()


def test_a_citizen_still_typing_is_not_taken_for_gone(tablet_hub, browser):
    """An elderly citizen types a comment with diacritics for over a minute: the tablet waits while
    they type, sends the whole comment; one who walks away leaves it back at its start."""
    hub = tablet_hub
    context, tablet = paired_tablet(browser, hub, clock=True)
    first = serve_one(hub)
    start_a_comment(tablet, score=2)
    tablet.keyboard.type("Chờ hơi lâu, ")
    tablet.clock.run_for(50_000)
    tablet.keyboard.type("nhưng cán bộ hướng dẫn ")
    tablet.clock.run_for(50_000)                       # 100 s after the tap, 50 s after the last key
    tablet.keyboard.type("rất tận tình.")
    screenshot(tablet, "rating-tablet-comment-typed")
    tablet.tap("#send", timeout=5000)
    tablet.wait_for_selector("#thanks:not([hidden])")
    assert rating_of(hub, first) == (2, "Chờ hơi lâu, nhưng cán bộ hướng dẫn rất tận tình.")

    # the next citizen taps 'Bình thường' and walks away: that score counts, the tablet starts again
    second = serve_one(hub)
    tablet.wait_for_function(f"() => document.getElementById('ask-number').textContent === '{second}'")
    tablet.tap(".tablet-score[data-score='2']")
    tablet.clock.run_for(61_000)
    tablet.wait_for_selector("#thanks:not([hidden])")
    tablet.clock.run_for(5_000)
    tablet.wait_for_selector("#idle:not([hidden])")
    assert rating_of(hub, second) == (2, "")
    context.close()


@pytest.mark.parametrize("width, height", [(800, 1280), (1280, 800)])
def test_after_a_low_score_the_reasons_and_the_send_button_are_in_view(tablet_hub, browser, width, height):
    """'Bình thường' opens the reasons below the four scores: the tablet brings them and
    'Gửi đánh giá' into view, so a citizen who never scrolls still sees where to send."""
    hub = tablet_hub
    context, tablet = paired_tablet(browser, hub)
    tablet.set_viewport_size({"width": width, "height": height})
    serve_one(hub)
    tablet.wait_for_selector("#ask:not([hidden])")
    tablet.tap(".tablet-score[data-score='2']")
    tablet.wait_for_selector("#details:not([hidden])")
    for selector in ("#details legend", "#send"):
        tablet.wait_for_function("""selector => {
          const box = document.querySelector(selector).getBoundingClientRect();
          return box.top >= 0 && box.bottom <= innerHeight;
        }""", arg=selector, timeout=5000)
    tablet.screenshot(path=str(ARTIFACTS / f"rating-tablet-reasons-in-view-{width}x{height}.png"))   # what is in view
    context.close()


def test_the_next_citizen_finished_before_this_one_sent_keeps_this_one_s_rating(tablet_hub, browser):
    """Citizen 1001 taps 'Không hài lòng' and types; the counter finishes a quick 1002 meanwhile:
    the tablet asks about 1002, and 1001's score and words are not lost."""
    hub = tablet_hub
    context, tablet = paired_tablet(browser, hub)
    first = serve_one(hub)
    start_a_comment(tablet, score=1)
    tablet.keyboard.type("Phải chờ gần một tiếng")
    second = serve_one(hub)
    tablet.wait_for_function(f"() => document.getElementById('ask-number').textContent === '{second}'")
    assert tablet.input_value("textarea[name=comment]") == "" and not tablet.is_visible("#details")
    deadline = time.monotonic() + 10
    while rating_of(hub, first) is None:
        assert time.monotonic() < deadline, "1001's rating was never sent"
        tablet.wait_for_timeout(100)
    assert rating_of(hub, first) == (1, "Phải chờ gần một tiếng")
    tablet.tap(".tablet-score[data-score='4']")
    tablet.wait_for_selector("#thanks:not([hidden])")
    assert rating_of(hub, second)[0] == 4
    context.close()
