"""Appointments as their people live them over several days: moving a booking made on the
public form, a second scan at the kiosk once the appointment's ticket is finished or its day
is over, and an admin's edit that would leave booked citizens without their service or their
day. The clock starts on Thursday 26/11/2026 at 09:00, hall time; Friday 27/11 is a holiday
(the demo hall of ``web_app``: open every day around the clock, none)."""

import re
from datetime import datetime, timedelta

import pytest

from hallserver.config import demo_mapping, parse_config
from hallserver.errors import ConfigError
from tests.helpers import (
    HALL_TZ,
    PHONE,
    add_user,
    book,
    booking_hall,
    booking_mapping,
    browser_sign_in,
    csrf,
    demo_app,
    hall_time,
    make_token,
    refusal,
    screenshot,
    serve_app,
    text,
)


def checked_in(hall, clock, slot="2026-11-26T10:00", phone=PHONE):
    """A booking checked in 15 minutes before its slot: (booking code, ticket)."""
    booking = book(hall, slot, phone=phone)
    clock.set(datetime.fromisoformat(slot).replace(tzinfo=HALL_TZ) - timedelta(minutes=15))
    return booking["code"], hall.check_in(booking["code"])["ticket"]


# -- choosing --------------------------------------------------------------------------------------

def test_a_service_without_bookings_offers_a_number_not_closed_days(web_app):
    """CT takes no bookings (``booking_capacity = 0``): its procedures offered "Đặt lịch", and
    the form said "Trung tâm không làm việc ngày này" under every day of the week."""
    hall = web_app.extensions["hall"]
    mapping = demo_mapping()
    mapping["booking"]["rate_limit"] = "1000 per minute"
    next(service for service in mapping["services"] if service["code"] == "CT")["booking_capacity"] = 0
    hall.apply_config(parse_config(mapping))
    web = web_app.test_client()
    form = text(web.get("/dat-lich?thu_tuc=CT-BANSAO"))
    assert "Trung tâm không làm việc ngày này" not in form and 'name="slot"' not in form
    assert "Lĩnh vực Chứng thực không nhận đặt lịch hẹn trước" in form and "/lay-so?dich_vu=CT" in form
    assert 'id="book"' not in text(web.get("/thu-tuc/CT-BANSAO"))
    assert 'id="book"' in text(web.get("/thu-tuc/HT-KHAISINH"))
    listed = text(web.get("/thu-tuc"))
    assert "/dat-lich?thu_tuc=HT-KHAISINH" in listed and "/dat-lich?thu_tuc=CT-BANSAO" not in listed


@pytest.mark.parametrize("due_order, promised", [("ahead", True), ("after_priority", True), ("equal", False)])
def test_pages_promise_precedence_only_where_the_hall_gives_it(tmp_path, clock, due_order, promised):
    """With ``booking.due_order = "equal"`` appointments wait like everyone, yet the booking
    page, the confirmation and the kiosk told citizens they would be called before walk-ins."""
    app = demo_app(tmp_path, clock, due_order=due_order)
    hall = app.extensions["hall"]
    booking = hall.book(service="HT", slot="2026-11-28T08:00", name="Nguyễn Thị Hoa", phone=PHONE, source="api")
    web = app.test_client()
    web.post("/kiosk/ghep-noi", data={"token": make_token(hall.store, "kiosk"),
                                       "csrf_token": csrf(web, "/kiosk/ghep-noi")})
    for path in ("/dat-lich", f"/dat-lich/{booking['code']}", "/kiosk"):
        page = text(web.get(path))
        assert ("trước người lấy số thường" in page) is promised, path
        assert ("theo thứ tự nhận số" in page or "Đến đúng giờ hẹn và quét mã" in page) is not promised, path
    hall.store.close()


# -- looking it up later ---------------------------------------------------------------------------

def test_the_lookup_box_takes_the_confirmation_link_pasted_from_a_message(web_app):
    """The link (the QR's, sent on by Zalo) pasted into "Tra cứu lịch hẹn" gave "not found";
    the kiosk and the API read it. A code typed in small letters with a space opens the slot's
    own address too."""
    hall = web_app.extensions["hall"]
    booking = hall.book(service="HT", slot="2026-11-28T08:00", name="Nguyễn Thị Hoa", phone=PHONE, source="api")
    web = web_app.test_client()
    for typed in (f"http://192.168.1.10:5000/dat-lich/{booking['code']}", booking["code"].lower().replace("-", " ")):
        answer = web.get("/dat-lich/tra-cuu", query_string={"ma": typed})
        assert answer.headers["Location"] == f"/dat-lich/{booking['code']}"
        assert booking["code"] in text(web.get(answer.headers["Location"]))
    assert web.get("/dat-lich/tra-cuu", query_string={"ma": "ZZZZ-ZZZZ"}, follow_redirects=True).status_code == 404


# -- moving ----------------------------------------------------------------------------------------

def slot_label(page, slot):
    """The slot's radio button and its words on a page: ("disabled" or "", "còn 1 chỗ")."""
    match = re.search(rf'value="{slot}"\s*(disabled)?\s*>\s*<span>[^<]*<small>([^<]*)</small>', page)
    return match.group(1) or "", match.group(2)


def test_the_move_page_offers_only_the_places_a_public_booking_may_take(web_app):
    """Each slot takes one booking from an unverified phone: the move page said "còn 2 chỗ"
    for a slot another public booking held, and the move was then refused."""
    hall = web_app.extensions["hall"]
    mine = hall.book(service="HT", slot="2026-11-28T08:00", name="Nguyễn Thị Hoa", phone="0912000001",
                     source="web", unverified=True)
    hall.book(service="HT", slot="2026-11-28T09:00", name="Trần Văn Bình", phone="0912000002", source="web",
              unverified=True)
    page = text(web_app.test_client().get(f"/dat-lich/{mine['code']}/doi-gio"))
    assert slot_label(page, "2026-11-28T09:00") == ("disabled", "Hết chỗ")
    assert slot_label(page, "2026-11-28T09:30") == ("", "còn 1 chỗ")
    assert refusal(hall.move_booking, mine["code"], phone="0912000001",
                   slot="2026-11-28T09:00").code == "slot_full_unverified"
    assert hall.move_booking(mine["code"], phone="0912000001", slot="2026-11-28T09:30")["time"] == "09:30"


# -- cancelling ------------------------------------------------------------------------------------

def test_a_cancelled_or_missed_booking_says_so_above_its_code(web_app, clock):
    """After "Hủy lịch hẹn" a phone's first screen was the slip as before (code and QR), the
    "Đã hủy" far below; the same page served a missed booking. Now it says so first, without
    the QR or the print button, and offers a new booking."""
    hall = web_app.extensions["hall"]
    booking = hall.book(service="HT", procedure="HT-KHAISINH", slot="2026-11-28T08:00", name="Nguyễn Thị Hoa",
                        phone=PHONE, source="api")
    web = web_app.test_client()
    answer = web.post(f"/dat-lich/{booking['code']}/huy",
                      data={"phone": PHONE, "csrf_token": csrf(web, f"/dat-lich/{booking['code']}")})
    page = text(web.get(answer.headers["Location"]))
    banner = page.index('id="void"')
    assert banner < page.index('id="booking-code"')
    assert "Đã hủy lịch hẹn. Khung giờ được nhường cho người khác" in page
    assert "<svg" not in page and 'id="print"' not in page and "/dat-lich?thu_tuc=HT-KHAISINH" in page
    assert "Lịch hẹn này đã bị hủy" in text(web.get(f"/dat-lich/{booking['code']}"))

    missed = hall.book(service="HT", slot="2026-11-26T10:00", name="Trần Văn Bình", phone="0912000002",
                       source="api")
    clock.set(hall_time(2026, 11, 26, 10, 16))
    hall.booking_upkeep()
    page = text(web.get(f"/dat-lich/{missed['code']}?lang=en"))
    assert "check-in time has passed; this confirmation is no longer valid" in page and "<svg" not in page


@pytest.mark.browser
def test_the_staff_list_asks_before_cancelling_a_citizens_booking(web_app, browser):
    """"Hủy" sits beside "Tiếp nhận" in every row: one slip cancelled the citizen's booking for
    good (no undo) and gave the slot away. Now it asks, naming the code, time and citizen."""
    hall = web_app.extensions["hall"]
    booking = hall.book(service="HT", slot="2026-11-26T10:00", name="Nguyễn Thị Hoa", phone=PHONE, source="api")
    add_user(hall.store, "lan", counters=[1])
    server = serve_app(web_app)
    try:
        page = browser.new_page(viewport={"width": 1366, "height": 800})
        browser_sign_in(page, server.url, "lan", path="/lich-hen")
        page.wait_for_selector(f"#bookings tr[data-code='{booking['code']}']")
        questions = []

        def answer(dialog):
            questions.append(dialog.message)
            dialog.dismiss() if len(questions) == 1 else dialog.accept()
        page.on("dialog", answer)
        cancel = f"#bookings tr[data-code='{booking['code']}'] button.danger"
        page.click(cancel)
        assert questions == [f"Hủy lịch hẹn {booking['code']} lúc 10:00 của Nguyễn Thị Hoa? Không hoàn tác được; "
                             "khung giờ sẽ nhường cho người khác."]
        assert hall.booking(booking["code"])["status"] == "booked"
        with page.expect_navigation():
            page.click(cancel)
        assert hall.booking(booking["code"])["status"] == "cancelled"
        assert f"Đã hủy lịch hẹn {booking['code']}" in page.inner_text("#staff-message")
        screenshot(page, "staff-bookings-cancelled")
    finally:
        server.shutdown()


# -- a second scan ----------------------------------------------------------------------------------

def test_a_second_scan_while_the_ticket_waits_gives_the_same_number(bhall, clock):
    code, ticket = checked_in(bhall, clock)
    again = bhall.check_in(code)
    assert again["again"] is True and again["ticket"]["number"] == ticket["number"] == "1001"


def test_a_scan_on_a_later_day_is_not_given_yesterdays_number(bhall, clock):
    """Checked in on Thursday and never called (expired at midnight): on Saturday the kiosk
    said "đây là số của bạn" with Thursday's 1001, today another citizen's number."""
    code, ticket = checked_in(bhall, clock)
    clock.set(hall_time(2026, 11, 28, 8, 0))
    walk_in = bhall.issue_ticket("HT")
    assert walk_in["number"] == ticket["number"] == "1001"
    refused = refusal(bhall.check_in, code)
    assert refused.code == "too_late" and refused.service == "HT"
    assert "đã nhận số 1001 ngày 26/11/2026; số đó chỉ có giá trị trong ngày" in refused.message
    assert "number 1001 on 26/11/2026" in refused.message_en
    assert bhall.state()["services"][0]["waiting"] == 1          # no second ticket either


def served(hall, clock, counter=1):
    clock.advance(120)
    hall.counter_action(counter, "call-next")
    clock.advance(120)
    hall.counter_action(counter, "start")
    clock.advance(300)
    hall.counter_action(counter, "done")


def test_a_scan_after_being_served_or_marked_absent_says_so(bhall, clock):
    code, _ = checked_in(bhall, clock)
    served(bhall, clock)
    refused = refusal(bhall.check_in, code)
    assert refused.code == "too_late" and "đã được phục vụ xong (số 1001)" in refused.message

    absent, ticket = checked_in(bhall, clock, slot="2026-11-26T13:30", phone="0912000002")
    clock.advance(60)
    assert bhall.counter_action(2, "call-next")["ticket"]["number"] == ticket["number"]
    bhall.counter_action(2, "no-show")
    refused = refusal(bhall.check_in, absent)
    assert refused.code == "too_late"
    assert f"Số {ticket['number']} của lịch hẹn này đã được mời nhưng bạn vắng mặt" in refused.message
    assert "quầy số 2 để được gọi lại" in refused.message

    gave_up, ticket = checked_in(bhall, clock, slot="2026-11-26T15:00", phone="0912000003")
    bhall.cancel(ticket["track_token"])                             # "Tôi không đến nữa" on the phone
    refused = refusal(bhall.check_in, gave_up)
    assert refused.code == "too_late" and "đã hủy hoặc hết hạn" in refused.message


# -- an admin's edit and the bookings ahead ---------------------------------------------------------

def without_ct(mapping):
    """The hall without its service CT (counters keep their other services)."""
    mapping["services"] = [service for service in mapping["services"] if service["code"] != "CT"]
    for counter in mapping["counters"]:
        counter["services"] = [code for code in counter["services"] if code != "CT"]
    mapping["counters"] = [counter for counter in mapping["counters"] if counter["services"]]
    return mapping


def refused_config(hall, mapping):
    with pytest.raises(ConfigError) as refused:
        hall.apply_config(parse_config(mapping))
    return refused.value.message


def test_a_service_with_bookings_ahead_is_not_removed(bhall, clock):
    """The edit was saved: Saturday's citizen was reminded the evening before, and the kiosk
    told them "Không có dịch vụ 'CT'" with nothing to offer; the staff's list no longer
    showed the booking at all."""
    booking = book(bhall, "2026-11-28T08:00", service="CT")
    message = refused_config(bhall, without_ct(booking_mapping()))
    assert "lĩnh vực «Chứng thực» (CT) bị xóa trong khi còn 1 lịch hẹn" in message
    assert f"28/11 08:00 {booking['code']}" in message and "Hãy hủy các lịch hẹn đó" in message
    assert [service.code for service in bhall.config.services] == ["HT", "CT"]
    clock.set(hall_time(2026, 11, 28, 7, 45))
    assert bhall.check_in(booking["code"])["ticket"]["number"] == "B001"

    bhall.cancel_booking(book(bhall, "2026-11-28T09:00", service="CT", phone="0912000002")["code"], by_staff=True)
    clock.set(hall_time(2026, 11, 28, 9, 0))
    bhall.counter_action(3, "call-next")
    clock.advance(60)
    bhall.counter_action(3, "done")                                  # B001 served, nothing left ahead
    bhall.apply_config(parse_config(without_ct(booking_mapping())))
    assert [service.code for service in bhall.config.services] == ["HT"]


def test_a_holiday_or_shorter_hours_over_bookings_are_refused(bhall, clock):
    book(bhall, "2026-11-28T10:30")
    book(bhall, "2026-12-01T16:30", phone="0912000002")
    holiday = booking_mapping()
    holiday["hours"]["holidays"] = ["2026-11-27", "2026-11-28"]
    assert "ngày 28/11/2026 thành ngày nghỉ lễ trong khi còn 1 lịch hẹn" in refused_config(bhall, holiday)
    shorter = booking_mapping()
    shorter["hours"]["default"] = ["07:30-11:30", "13:30-16:30"]
    assert "trung tâm không làm việc lúc 16:30 ngày 01/12/2026 theo giờ mới" in refused_config(bhall, shorter)
    assert bhall.config.holidays == ("2026-11-27",)

    later = booking_mapping()
    later["hours"]["holidays"] = ["2026-11-27", "2026-12-02"]        # a day nobody booked
    later["hours"]["saturday"] = ["07:30-11:00"]                      # 10:30 still open
    bhall.apply_config(parse_config(later))
    assert bhall.config.holidays == ("2026-11-27", "2026-12-02")


# -- reminders ----------------------------------------------------------------------------------------

def test_bookings_made_before_the_gateway_are_reminded_too(bhall, clock, gateway):
    """The hall set up its SMS gateway on Thursday: Saturday's bookings made before then got
    no reminder at all (reminders were queued only when booking or moving)."""
    from hallserver.services.reminders import run_upkeep

    early = book(bhall, "2026-11-28T10:00")
    given_up = book(bhall, "2026-11-28T10:30", phone="0912000002")
    bhall.cancel_booking(given_up["code"], phone="0912000002")
    bhall.apply_config(parse_config(booking_mapping(reminder_url=gateway.url)))
    later = book(bhall, "2026-11-28T11:00", phone="0912000003")
    clock.advance(30)
    run_upkeep(bhall)                                                   # the next round of the hub's task
    for moment in (hall_time(2026, 11, 27, 17, 0, 30), hall_time(2026, 11, 28, 9, 0, 30),
                   hall_time(2026, 11, 28, 10, 0, 30)):
        clock.set(moment)
        run_upkeep(bhall)
    sent = sorted((request["json"]["booking"]["code"], request["json"]["kind"]) for request in gateway.requests)
    assert sent == sorted([(early["code"], "day_before"), (early["code"], "soon"),
                           (later["code"], "day_before"), (later["code"], "soon")])
    clock.advance(30)
    run_upkeep(bhall)
    assert len(gateway.requests) == 4                                   # once each


def test_a_day_before_reminder_sent_on_the_day_says_today(tmp_path, clock, gateway):
    """The hall's PC is off from 16:30 to 07:00: Friday's 17:00 reminder went out on Saturday
    morning saying "lúc 10:00 ngày mai (28/11/2026)", and the citizen came on Sunday."""
    from hallserver.services.reminders import run_upkeep

    hall = booking_hall(tmp_path, clock, name="late.db", reminder_url=gateway.url, reminder_minutes_before=0)
    booking = book(hall, "2026-11-28T10:00")
    clock.set(hall_time(2026, 11, 28, 7, 0))                            # the hub is back the next morning
    run_upkeep(hall)
    [request] = gateway.requests
    assert request["json"]["kind"] == "day_before"
    assert f"lúc 10:00 hôm nay (28/11/2026), mã {booking['code']}" in request["json"]["text"]
    assert "ngày mai" not in request["json"]["text"]
    hall.store.close()
