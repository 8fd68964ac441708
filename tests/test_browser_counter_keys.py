"""The counter page as a civil servant uses it, keys first, at 1366×768 in real Chromium
against a real hub: double presses, the B/V arrival question, undo, the number box, toasts,
the paused banner, the waiting list in calling order, and taking a counter over.

The hall has small guards (repeat_guard_seconds = 1, confirm_arrival_seconds = 30) so the
rules show within a few seconds."""

import contextlib
import sqlite3
import time

import pytest

from hallserver import create_app
from hallserver.core import issue_ticket
from hallserver.hall import Hall
from hallserver.store import open_store
from tests.helpers import (
    Clock,
    HubProcess,
    bearer,
    browser_sign_in,
    cli_user,
    device_token,
    hall_time,
    init_hall,
    screenshot,
    serve_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.hub]

VIEWPORT = {"width": 1366, "height": 768}
SERVICES = [{"code": "HT", "name": "Hộ tịch", "block": "1001-1999"},
            {"code": "TP", "name": "Tư pháp - Cư trú", "block": "6001-6999"}]
COUNTERS = [{"number": 1, "name": "Quầy 1", "services": ["HT", "TP"]},
            {"number": 2, "name": "Quầy 2", "services": ["TP"]}]
PRIORITIES = [{"code": "elderly", "name": "Người cao tuổi"}]
POLICY = {"repeat_guard_seconds": 1, "confirm_arrival_seconds": 30, "max_recalls": 2, "priority_streak": 2}


def quick_hall(tmp_path):
    return init_hall(tmp_path, services=SERVICES, counters=COUNTERS, priorities=PRIORITIES, policy=POLICY)


def issue(db, count=1, service="HT", **fields):
    """Tickets issued straight into the hall's database: their numbers."""
    store = open_store(db)
    try:
        hall = Hall(store)
        return [hall.perform(issue_ticket, service=service, **fields)["number"] for _ in range(count)]
    finally:
        store.close()


def events(db, kind):
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT COUNT(*) FROM events WHERE type = ?", [kind]).fetchone()[0]


def open_counter(page, hub, username, counter=1):
    page.set_viewport_size(VIEWPORT)
    browser_sign_in(page, hub.url, username, path=f"/dang-nhap?next=/counter/{counter}")
    page.wait_for_url(f"{hub.url}/counter/{counter}")
    page.wait_for_selector("#connection[data-state=online]")


@contextlib.contextmanager
def lan_at_counter_1(tmp_path, page, tickets):
    """Lan signed in at counter 1 of a quick hall's hub, ``tickets`` HT numbers waiting (1001…): (db, hub)."""
    db = quick_hall(tmp_path)
    cli_user(db, "lan", "staff", "--counters", "1")
    issue(db, tickets)
    hub = HubProcess(db).start()
    try:
        open_counter(page, hub, "lan")
        yield db, hub
    finally:
        hub.stop()


def toast(page, words, timeout=5000):
    return page.wait_for_selector(f"#message .toast:has-text('{words}')", timeout=timeout)


def current(page, number):
    page.wait_for_selector(f"#current-number:text-is('{number}')")


def focused(page):
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_double_press_arrival_question_and_undo(tmp_path, page):
    db = quick_hall(tmp_path)
    cli_user(db, "lan", "staff", "--counters", "1", "--name", "Nguyễn Thị Lan")
    issue(db, 3)                                                         # 1001-1003
    hub = HubProcess(db).start()
    try:
        open_counter(page, hub, "lan")
        page.wait_for_selector("#waiting-list tr.next td.number:text-is('1001')")

        # Enter, and Enter again 150 ms later: one call, and the page says why nothing else happened
        page.keyboard.press("Enter")
        current(page, "1001")
        toast(page, "Đã gọi 1001")
        page.wait_for_timeout(150)
        page.keyboard.press("Enter")
        info = toast(page, "Vừa mời số 1001")
        assert info.get_attribute("data-kind") == "info"
        assert events(db, "called") == 1 and events(db, "done") == 0
        assert page.inner_text("#current-number") == "1001"

        # later, still never started: the page asks whether the citizen came
        page.wait_for_timeout(1200)
        page.keyboard.press("Enter")
        prompt = page.wait_for_selector("#arrival-prompt:visible")
        assert "Số 1001 đã đến quầy chưa? B: Đã đến (xong) · V: Vắng mặt · Esc: thôi" in prompt.inner_text()
        screenshot(page, "counter-keys-arrival-question")
        page.keyboard.press("Escape")                                   # never mind: nothing changes
        page.wait_for_selector("#arrival-prompt", state="hidden")
        assert events(db, "called") == 1 and page.inner_text("#current-number") == "1001"

        page.keyboard.press("Enter")
        page.wait_for_selector("#arrival-prompt:visible")
        page.keyboard.press("v")                                        # V: never came
        current(page, "1002")
        toast(page, "Đã đánh dấu vắng 1001 · Đã gọi 1002")
        assert events(db, "no_show") == 1

        # Ctrl+Z: both halves of that press come back
        page.keyboard.press("Control+z")
        current(page, "1001")
        toast(page, "Đã hoàn tác: gọi 1002 (trở lại hàng chờ) · vắng mặt 1001")
        page.wait_for_selector("#waiting-list tr.next td.number:text-is('1002')")
        assert page.inner_text("#current-status") == "Đã gọi"

        page.keyboard.press("Enter")
        page.wait_for_selector("#arrival-prompt:visible")
        page.keyboard.press("b")                                        # B: came, served
        current(page, "1002")
        toast(page, "Đã hoàn thành 1001 · Đã gọi 1002")
        page.keyboard.press("Control+z")
        current(page, "1001")
        page.keyboard.press("Control+z")                                # an undo is not undone
        warn = toast(page, "Không có thao tác nào để hoàn tác")
        assert warn.get_attribute("data-kind") == "warn"
        page.click("#undo")                                              # the button does the same
        page.wait_for_function("() => document.querySelectorAll('#message .toast[data-kind=warn]').length >= 2")
        assert page.inner_text("#current-number") == "1001" and events(db, "undone") == 4

        # ? opens the keys and the rules, with this hall's figures
        page.keyboard.press("?")
        help_panel = page.wait_for_selector("#help:visible")
        rules = help_panel.inner_text()
        assert "trong vòng 1 giây" in rules and "chưa tới 30 giây" in rules and "Sau 30 giây" in rules
        screenshot(page, "counter-keys-help")
        page.keyboard.press("Escape")
        page.wait_for_selector("#help", state="hidden")
    finally:
        hub.stop()


def test_number_box_gives_the_keys_back_toasts_and_the_paused_banner(tmp_path, page):
    with lan_at_counter_1(tmp_path, page, tickets=4) as (db, hub):      # 1001-1004
        page.keyboard.press("Enter")
        current(page, "1001")
        page.keyboard.press("b")
        toast(page, "Bắt đầu phục vụ 1001")

        # G: the number box takes digits only; Enter calls that number and gives the keys back
        page.keyboard.press("g")
        assert focused(page) == "call-number"
        page.keyboard.type("h1b0x03")
        assert page.input_value("#call-number") == "1003"
        page.keyboard.press("Enter")
        current(page, "1003")
        toast(page, "Đã hoàn thành 1001 · Đã gọi 1003")
        assert focused(page) != "call-number" and page.input_value("#call-number") == ""
        page.keyboard.press("h")                                         # H works again at once
        page.wait_for_selector("#current-number:text-is('—')")
        toast(page, "Đã hoàn thành 1003")
        assert page.input_value("#call-number") == ""

        # Esc leaves the box without calling
        page.keyboard.press("g")
        page.keyboard.type("1004")
        page.keyboard.press("Escape")
        assert focused(page) != "call-number" and page.input_value("#call-number") == ""
        page.wait_for_timeout(300)
        assert page.inner_text("#current-number") == "—" and events(db, "called") == 2

        page.keyboard.press("Enter")
        current(page, "1002")
        page.keyboard.press("r")
        toast(page, "Đã gọi lại 1002 (1/2)")
        page.keyboard.press("c")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("Enter")
        toast(page, "Đã chuyển 1002 → Tư pháp - Cư trú")
        page.wait_for_selector("#waiting-list tr.next td.number:text-is('1002')")
        page.wait_for_selector("#waiting-list tr.next .badge-transferred:has-text('Chuyển từ Hộ tịch')")
        page.keyboard.press("v")                                         # nobody at the counter now
        error = toast(page, "chưa gọi số nào")
        assert error.get_attribute("data-kind") == "error"

        # paused: a banner nobody can miss, "Gọi tiếp" disabled, Enter explains
        page.keyboard.press("p")
        page.wait_for_selector("#paused-banner:visible")
        toast(page, "Đã tạm dừng quầy")
        assert "QUẦY ĐANG TẠM DỪNG" in page.inner_text("#paused-banner")
        assert "bấm P để tiếp tục" in page.inner_text("#paused-banner")
        assert page.is_disabled("button[data-action=call-next]")
        assert page.is_disabled("button[data-action=call]")
        page.keyboard.press("Enter")
        toast(page, "Quầy đang tạm dừng — bấm P để tiếp tục")
        assert events(db, "called") == 3
        screenshot(page, "counter-keys-paused")
        page.keyboard.press("p")
        page.wait_for_selector("#paused-banner", state="hidden")
        toast(page, "Đã mở lại quầy")
        assert page.is_enabled("button[data-action=call-next]")


def test_waiting_list_in_calling_order_with_the_next_marked(tmp_path, page):
    db = quick_hall(tmp_path)
    cli_user(db, "lan", "staff", "--counters", "1")
    normal = issue(db, 2)                                                # 1001, 1002
    priority = issue(db, 1, priority="elderly")                          # 1003
    transferred = issue(db, 1, service="TP")                             # 6001
    store = open_store(db)
    try:                                                                  # counter 2 sends 6001 to HT
        hall = Hall(store)
        hall.counter_action(2, "call-next")
        hall.counter_action(2, "transfer", service="HT")
    finally:
        store.close()
    appointment = issue(db, 1, channel="appointment", due_at=time.time() - 60)   # 1004, its slot has begun
    expected = [transferred[0], appointment[0], priority[0], normal[0], normal[1]]
    hub = HubProcess(db).start()
    try:
        open_counter(page, hub, "lan")
        page.wait_for_selector(f"#waiting-list tr.next td.number:text-is('{expected[0]}')")
        rows = page.locator("#waiting-list tr")
        assert [rows.nth(index).locator("td.number").inner_text() for index in range(5)] == expected
        assert page.locator("#waiting-list tr.next").count() == 1
        assert "Tiếp theo" in page.inner_text("#waiting-list tr.next")
        assert "Chuyển từ Tư pháp - Cư trú" in rows.nth(0).inner_text()
        assert "Lịch hẹn" in rows.nth(1).locator(".badge-appointment").inner_text()
        assert rows.nth(2).locator(".badge-priority").inner_text() == "Người cao tuổi"
        screenshot(page, "counter-keys-calling-order")

        # Enter calls exactly the marked one, every time (B then Enter: served, no question)
        called = []
        for _ in expected:
            marked = page.inner_text("#waiting-list tr.next td.number")
            page.keyboard.press("Enter")
            current(page, marked)
            called.append(marked)
            page.keyboard.press("b")
            page.wait_for_selector("#current-status:text-is('Đang phục vụ')")
        assert called == expected
        page.wait_for_selector("#waiting-list td.empty")
    finally:
        hub.stop()


def test_a_second_account_opening_the_counter_takes_nothing_until_it_confirms(tmp_path, page, browser):
    db = quick_hall(tmp_path)
    cli_user(db, "lan", "staff", "--counters", "1", "--name", "Nguyễn Thị Lan")
    cli_user(db, "minh", "staff", "--counters", "1,2", "--name", "Trần Văn Minh")
    kiosk = device_token(db, "kiosk")
    hub = HubProcess(db).start()
    other = browser.new_context(viewport=VIEWPORT, locale="vi-VN")
    try:
        open_counter(page, hub, "lan")
        hub.post("/api/v1/tickets", kiosk, {"service": "HT"})
        hub.post("/api/v1/tickets", kiosk, {"service": "HT"})
        page.wait_for_selector("#waiting-list td.number:text-is('1002')")

        minh = other.new_page()
        open_counter(minh, hub, "minh")
        banner = minh.wait_for_selector("#held-by:visible")
        assert "Nguyễn Thị Lan" in banner.inner_text()
        assert minh.is_disabled("button[data-action=call-next]")
        minh.keyboard.press("Enter")
        toast(minh, "Nhận quầy")
        assert events(db, "called") == 0
        screenshot(minh, "counter-keys-held-by-another")

        page.keyboard.press("Enter")                                    # Lan still works it
        current(page, "1001")

        minh.click("#take-over summary")                                # a confirm step first
        confirm = minh.wait_for_selector("#take-over-confirm:visible")
        assert "Nguyễn Thị Lan" in minh.inner_text("#take-over form")
        screenshot(minh, "counter-keys-take-over-confirm")
        confirm.click()
        minh.wait_for_selector("#flashes:has-text('Đã nhận quầy số 1 từ Nguyễn Thị Lan')")
        minh.wait_for_selector("#connection[data-state=online]")
        assert minh.is_hidden("#held-by")
        minh.wait_for_selector("button[data-action=call-next]:enabled")
        minh.keyboard.press("b")                                        # 1001 came: serving
        toast(minh, "Bắt đầu phục vụ 1001")
        minh.keyboard.press("Enter")
        current(minh, "1002")

        page.keyboard.press("h")                                        # Lan's page is refused now
        page.wait_for_selector("#held-by:visible")
        assert "Trần Văn Minh" in page.inner_text("#held-by")
        toast(page, "Trần Văn Minh")
        assert page.is_disabled("button[data-action=call-next]")
        screenshot(page, "counter-keys-taken-over")
        with sqlite3.connect(db) as connection:
            holders = connection.execute(
                "SELECT username FROM counter_sessions JOIN users ON users.id = user_id "
                "WHERE counter = 1 AND ended_at IS NULL").fetchall()
        assert holders == [("minh",)]
    finally:
        other.close()
        hub.stop()


def test_transfer_by_keys_alone_asks_which_service_first(tmp_path, page):
    """C opens the service chooser (a reflex second C transfers nothing): ↓ picks, Enter
    transfers and gives the keys back, Esc leaves it without a transfer."""
    with lan_at_counter_1(tmp_path, page, tickets=2) as (db, hub):      # 1001, 1002
        page.keyboard.press("Enter")
        current(page, "1001")
        page.keyboard.press("c")
        assert focused(page) == "transfer-service"
        toast(page, "Chọn dịch vụ bằng ↑ ↓")
        page.keyboard.press("c")
        page.keyboard.press("Escape")                                    # never mind
        assert focused(page) != "transfer-service"
        assert page.inner_text("#current-number") == "1001"

        page.keyboard.press("c")
        page.keyboard.press("ArrowDown")
        assert page.input_value("#transfer-service") == "TP"
        screenshot(page, "counter-keys-transfer-chooser")
        page.keyboard.press("Enter")
        toast(page, "Đã chuyển 1001 → Tư pháp - Cư trú")
        page.wait_for_selector("#current-number:text-is('—')")
        assert focused(page) != "transfer-service" and events(db, "transferred") == 1
        page.keyboard.press("?")                                         # the keys are the page's again
        page.wait_for_selector("#help:visible")


def test_after_a_lunch_break_longer_than_the_sign_in_the_first_key_leads_back_to_the_counter(tmp_path, page):
    """The page is left open from 11:30 to 13:35, longer than a sign-in lasts without a page
    (120 min): the first Enter after lunch takes the clerk to the sign-in form, and signing in
    brings them back to their counter, where Enter calls the next citizen."""
    db = quick_hall(tmp_path)
    cli_user(db, "lan", "staff", "--counters", "1")
    kiosk = bearer(device_token(db, "kiosk"))
    clock = Clock(hall_time(2026, 11, 26, 11, 30))
    app = create_app({"db": str(db), "async_mode": "threading"}, clock=clock)
    server = serve_app(app)
    try:
        for _ in range(2):
            assert app.test_client().post("/api/v1/tickets", json={"service": "HT"}, headers=kiosk).status_code == 201
        open_counter(page, server, "lan")
        page.keyboard.press("Enter")
        current(page, "1001")
        clock.set(hall_time(2026, 11, 26, 13, 35))
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.url}/dang-nhap?next=/counter/1")
        screenshot(page, "counter-after-lunch-sign-in")
        browser_sign_in(page, server.url, "lan", path=None)
        page.wait_for_url(f"{server.url}/counter/1")
        page.wait_for_selector("#connection[data-state=online]")
        page.keyboard.press("Enter")
        current(page, "1002")
    finally:
        page.close()
        server.shutdown()
        app.extensions["hall"].store.close()
