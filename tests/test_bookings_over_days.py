"""Appointments as their people live them over several days: a second scan at the kiosk once
the appointment's ticket is finished or its day is over, and an admin's edit that would
leave booked citizens without their service or their day. The clock starts on Thursday
26/11/2026 at 09:00, hall time; Friday 27/11 is a holiday."""

from datetime import datetime, timedelta

import pytest

from hallserver.errors import HallError
from tests.helpers import HALL_TZ, PHONE, book, booking_hall, hall_time


@pytest.fixture
def bhall(tmp_path, clock):
    hall = booking_hall(tmp_path, clock)
    yield hall
    hall.store.close()


def refusal(call, *args, **kwargs):
    with pytest.raises(HallError) as refused:
        call(*args, **kwargs)
    return refused.value


def checked_in(hall, clock, slot="2026-11-26T10:00", phone=PHONE):
    """A booking checked in 15 minutes before its slot: (booking code, ticket)."""
    booking = book(hall, slot, phone=phone)
    clock.set(datetime.fromisoformat(slot).replace(tzinfo=HALL_TZ) - timedelta(minutes=15))
    return booking["code"], hall.check_in(booking["code"])["ticket"]


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
