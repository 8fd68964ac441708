"""Appointments in the core and the facade: settings, slots, caps, cancel and move,
check-in window edges, the call-next order with due appointments, no-shows, retention,
import with bad rows. The clock starts on Thursday 26/11/2026 at 09:00, hall time."""

import json

import pytest

from hallserver.config import BookingSettings, parse_config
from hallserver.core.bookings import booking_figures
from hallserver.errors import ConfigError, Conflict, Invalid, NotFound
from hallserver.hall import Hall
from hallserver.store import open_store
from tests.helpers import (
    PHONE,
    book,
    booking_hall,
    booking_mapping,
    hall_time,
    init_hall,
    refusal,
    run_cli,
    small_hall_mapping,
)


def booking_row(hall, code):
    return next(hall.store.db.query("SELECT * FROM bookings WHERE code = ?", [code.replace("-", "")]))


# -- settings ------------------------------------------------------------------------------

def test_booking_settings_default_so_old_hall_files_stay_valid():
    config = parse_config(small_hall_mapping())
    assert config.booking == BookingSettings() and config.holidays == ()
    assert config.booking.capacity == 2 and config.booking.reminder_day_before == 17 * 60


@pytest.mark.parametrize("change, message", [
    ({"booking": {"slot_minutes": 2}}, "booking.slot_minutes: must be at least 5, got 2"),
    ({"booking": {"due_order": "vip"}}, "booking.due_order: expected one of ahead, after_priority, equal"),
    ({"booking": {"colour": "red"}}, "booking.colour: unknown key"),
    ({"booking": {"rate_limit": "lots"}}, "booking.rate_limit: expected limits such as"),
    ({"booking": {"reminder_url": "ftp://x"}}, "booking.reminder_url: expected an http:// or https:// address"),
    ({"booking": {"reminder_day_before": "25:00"}}, "booking.reminder_day_before: expected \"HH:MM\""),
    ({"booking": {"capacity": True}}, "booking.capacity: expected a whole number"),
    ({"hours": {"holidays": ["2026-09-02", "2-9"]}}, "hours.holidays[1]: expected a date \"YYYY-MM-DD\""),
    ({"hours": {"holidays": "2026-09-02"}}, "hours.holidays: expected a list"),
])
def test_booking_settings_are_refused_with_the_key(change, message):
    mapping = small_hall_mapping(**change)
    with pytest.raises(ConfigError) as refused:
        parse_config(mapping)
    assert message in refused.value.message


def test_service_booking_capacity_and_holidays_survive_the_store(tmp_path, clock):
    mapping = booking_mapping(slot_minutes=60)
    mapping["services"][1]["booking_capacity"] = 0
    store = open_store(tmp_path / "h.db")
    store.apply_config(parse_config(mapping))
    config = store.config()
    assert config.holidays == ("2026-11-27",) and config.booking.slot_minutes == 60
    assert [service.booking_capacity for service in config.services] == [None, 0]
    hall = Hall(store, clock=clock)
    assert all(not day["slots"] for day in hall.booking_slots("CT"))
    assert refusal(book, hall, "2026-11-26T13:30", service="CT").code == "not_bookable"
    store.close()


# -- slots ------------------------------------------------------------------------------------

def test_slots_follow_hours_holidays_slot_length_and_days_ahead(tmp_path, clock):
    hall = booking_hall(tmp_path, clock, slot_minutes=60, days_ahead=3)
    days = hall.booking_slots("HT")
    assert [(day["day"], day["closed"]) for day in days] == [
        ("2026-11-26", None), ("2026-11-27", "holiday"), ("2026-11-28", None), ("2026-11-29", "closed")]
    # Thursday at 09:00: slots that already began are gone; 15:30-16:30 is the day's last one
    assert [slot["time"] for slot in days[0]["slots"]] == ["09:30", "10:30", "13:30", "14:30", "15:30"]
    assert [slot["time"] for slot in days[2]["slots"]] == ["07:30", "08:30", "09:30", "10:30"]
    assert days[0]["slots"][0] == {"slot": "2026-11-26T09:30", "time": "09:30", "ends": "10:30", "free": 2}


def test_a_slot_fills_up_and_is_refused_then(bhall):
    first = book(bhall, "2026-11-26T10:00", phone="0912000001")
    assert first["status"] == "booked" and first["slot"] == "2026-11-26T10:00" and len(first["code"]) == 9
    book(bhall, "2026-11-26T10:00", phone="0912000002")
    full = refusal(book, bhall, "2026-11-26T10:00", phone="0912000003")
    assert full.code == "slot_full" and isinstance(full, Conflict)
    assert "10:00 ngày 26/11/2026 đã hết chỗ" in full.message
    slots = {slot["slot"]: slot["free"] for slot in bhall.booking_slots("HT")[0]["slots"]}
    assert slots["2026-11-26T10:00"] == 0 and slots["2026-11-26T10:30"] == 2


def test_a_name_is_kept_in_one_spelling_without_invisible_characters(bhall):
    """A phone may send accents as combining marks, and a copied name may carry format
    characters (U+202E shows "Nguyễn" reversed on the staff's list): the same name, once."""
    book(bhall, "2026-11-26T10:00", name="\u202eNguye\u0302\u0303n Va\u0306n\u200b An\u202c")
    names = [booking["name"] for booking in bhall.staff_bookings(day="2026-11-26", services=["HT"], who="test",
                                                                  role="admin")]
    assert names == ["Nguyễn Văn An"]


@pytest.mark.parametrize("slot, code", [
    ("2026-11-26T08:30", "slot_past"),
    ("2026-11-26T09:45", "not_a_slot"),        # not on the 30-minute grid
    ("2026-11-26T12:00", "not_a_slot"),        # lunch break
    ("2026-11-27T09:00", "holiday"),
    ("2026-11-29T09:00", "not_a_slot"),        # Sunday: closed
    ("2026-12-03T09:00", "too_far_ahead"),     # today + 7
    ("26/11/2026 10:00", "invalid_slot"),
    ("2026-11-26T25:00", "invalid_slot"),
])
def test_slots_that_cannot_be_booked(bhall, slot, code):
    assert refusal(book, bhall, slot).code == code


@pytest.mark.parametrize("fields, code", [
    ({"phone": "12345"}, "invalid_phone"),
    ({"phone": ""}, "missing_field"),
    ({"name": "   "}, "missing_field"),
    ({"name": "x" * 101}, "invalid_value"),
    ({"dossier_code": "<script>"}, "invalid_dossier_code"),
    ({"service": "ZZ"}, "unknown_service"),
])
def test_bad_booking_fields(bhall, fields, code):
    assert refusal(book, bhall, "2026-11-26T10:00", **fields).code == code


def test_one_active_booking_per_phone_and_service(bhall):
    first = book(bhall, "2026-11-26T10:00", phone="0912 345 678")
    again = refusal(book, bhall, "2026-11-28T08:00", phone="+84912345678")
    assert again.code == "phone_service_cap" and "đã có 1 lịch hẹn Hộ tịch" in again.message
    assert PHONE not in again.message and first["code"] not in again.message
    book(bhall, "2026-11-28T08:00", service="CT")                        # another service is fine
    bhall.cancel_booking(first["code"], phone=PHONE)
    book(bhall, "2026-11-28T08:00")                                      # the cancelled one no longer counts


def test_caps_per_phone_in_all(tmp_path, clock):
    hall = booking_hall(tmp_path, clock, per_phone=2, per_phone_per_service=2)
    book(hall, "2026-11-26T10:00")
    book(hall, "2026-11-26T10:30", service="CT")
    assert refusal(book, hall, "2026-11-26T11:00").code == "phone_cap"
    hall.store.close()


def test_a_no_show_frees_the_phone_again(bhall, clock):
    book(bhall, "2026-11-26T09:30")
    clock.set(hall_time(2026, 11, 26, 9, 46))                           # window closed at 09:45
    book(bhall, "2026-11-26T10:00")


def test_the_same_idempotency_key_gives_the_same_booking(bhall):
    first = book(bhall, "2026-11-26T10:00", idempotency_key="form-1")
    second = book(bhall, "2026-11-26T10:00", idempotency_key="form-1")
    assert second == first
    assert refusal(bhall.book, service="HT", slot="2026-11-26T11:00", name="Nguyễn Văn An", phone=PHONE,
                   source="api", idempotency_key="form-1").code == "idempotency_key_reused"   # another request
    assert bhall.store.db.execute("SELECT COUNT(*) FROM bookings").fetchone()[0] == 1


# -- cancel and move ----------------------------------------------------------------------------

def test_cancel_needs_the_code_and_its_phone(bhall):
    booking = book(bhall, "2026-11-26T10:00")
    for code, phone in ((booking["code"], "0987654321"), ("ZZZZ-ZZZZ", PHONE), (booking["code"], "")):
        refused = refusal(bhall.cancel_booking, code, phone=phone)
        assert isinstance(refused, NotFound) and refused.code == "booking_not_found"
    cancelled = bhall.cancel_booking(booking["code"].lower(), phone="0912.345.678")
    assert cancelled["status"] == "cancelled"
    assert refusal(bhall.cancel_booking, booking["code"], phone=PHONE).code == "not_changeable"
    assert bhall.booking_slots("HT")[0]["slots"][1]["free"] == 2       # the place is back


def test_staff_cancel_without_the_phone(bhall):
    booking = book(bhall, "2026-11-26T10:00")
    assert bhall.cancel_booking(booking["code"], by_staff=True)["status"] == "cancelled"


def test_move_to_another_slot(bhall):
    booking = book(bhall, "2026-11-26T10:00")
    book(bhall, "2026-11-26T10:30", phone="0912000001")
    book(bhall, "2026-11-26T10:30", phone="0912000002")
    assert refusal(bhall.move_booking, booking["code"], phone=PHONE, slot="2026-11-26T10:30").code == "slot_full"
    assert refusal(bhall.move_booking, booking["code"], phone="0900000000",
                   slot="2026-11-26T11:00").code == "booking_not_found"
    moved = bhall.move_booking(booking["code"], phone=PHONE, slot="2026-11-28T08:00")
    assert moved["code"] == booking["code"] and moved["slot"] == "2026-11-28T08:00"
    free = {slot["slot"]: slot["free"] for day in bhall.booking_slots("HT") for slot in day["slots"]}
    assert free["2026-11-26T10:00"] == 2 and free["2026-11-28T08:00"] == 1
    bhall.move_booking(booking["code"], phone=PHONE, slot="2026-11-28T08:30")
    bhall.move_booking(booking["code"], phone=PHONE, slot="2026-11-28T09:00")
    assert refusal(bhall.move_booking, booking["code"], phone=PHONE, slot="2026-11-28T09:30").code == "move_limit"
    events = [row[0] for row in bhall.store.db.execute("SELECT type FROM events ORDER BY seq")]
    assert events.count("booking_moved") == 3


# -- check-in ----------------------------------------------------------------------------------------

def test_check_in_window_edges(bhall, clock):
    ten = book(bhall, "2026-11-26T10:00", phone="0912000001")
    half_past = book(bhall, "2026-11-26T10:30", phone="0912000002")
    late = book(bhall, "2026-11-26T10:30", phone="0912000003")
    clock.set(hall_time(2026, 11, 26, 9, 29, 59))
    early = refusal(bhall.check_in, ten["code"])
    assert early.code == "too_early" and early.service == "HT"
    assert "Bạn đến sớm: lịch hẹn lúc 10:00. Kiosk nhận lịch hẹn từ 09:30" in early.message
    assert early.as_dict()["service"] == "HT"
    clock.set(hall_time(2026, 11, 26, 9, 30))
    checked = bhall.check_in(ten["code"])
    ticket = checked["ticket"]
    assert ticket["channel"] == "appointment" and ticket["number"] == "1001" and len(ticket["track_token"]) == 24
    assert checked["booking"]["status"] == "checked_in" and checked["booking"]["ticket"]["number"] == "1001"
    assert checked["again"] is False
    again = bhall.check_in(ten["code"].replace("-", "").lower())        # a second scan: the same ticket
    assert again["again"] is True and again["ticket"]["number"] == "1001"
    clock.set(hall_time(2026, 11, 26, 10, 45))
    assert bhall.check_in(half_past["code"])["ticket"]["number"] == "1002"
    clock.set(hall_time(2026, 11, 26, 10, 45, 1))
    too_late = refusal(bhall.check_in, late["code"])
    assert too_late.code == "too_late" and "Đã quá giờ nhận lịch hẹn (10:30 ngày 26/11/2026, nhận đến 10:45)" in (
        too_late.message)


def test_check_in_on_another_day_or_after_cancel(bhall):
    saturday = book(bhall, "2026-11-28T08:00")
    refused = refusal(bhall.check_in, saturday["code"])
    assert refused.code == "too_early" and "08:00 ngày 28/11/2026, không phải hôm nay" in refused.message
    bhall.cancel_booking(saturday["code"], phone=PHONE)
    assert refusal(bhall.check_in, saturday["code"]).code == "booking_cancelled"
    assert refusal(bhall.check_in, "nothing").code == "booking_not_found"
    scanned = book(bhall, "2026-11-26T09:30", phone="0912000009")
    link = f"http://192.168.1.10:5000/dat-lich/{scanned['code']}"      # what a scanner types from the QR
    assert bhall.check_in(link)["booking"]["code"] == scanned["code"]


def test_appointments_skip_the_daily_cap_and_may_check_in_before_opening(bhall, clock):
    clock.set(hall_time(2026, 11, 26, 9, 0))
    booking = book(bhall, "2026-11-28T07:30", service="CT")
    for _ in range(3):
        bhall.issue_ticket("CT")                                        # CT's daily cap is 3
    clock.set(hall_time(2026, 11, 28, 7, 0))                             # the hall opens at 07:30
    assert refusal(bhall.issue_ticket, "CT").code == "outside_hours"
    assert bhall.check_in(booking["code"])["ticket"]["number"] == "B001"


# -- the call-next order -------------------------------------------------------------------------------

def scripted_morning(hall, clock):
    """Walk-ins at 09:05 and 09:10, a priority ticket at 09:06, an appointment for 10:00
    checked in at 09:40: {name: ticket}."""
    booking = book(hall, "2026-11-26T10:00")
    tickets = {}
    for name, minute, priority in (("walk_in_1", 5, None), ("priority", 6, "elderly"), ("walk_in_2", 10, None)):
        clock.set(hall_time(2026, 11, 26, 9, minute))
        tickets[name] = hall.issue_ticket("HT", priority=priority)
    clock.set(hall_time(2026, 11, 26, 9, 40))
    tickets["appointment"] = hall.check_in(booking["code"])["ticket"]
    return tickets


def calls(hall, count, counter=1):
    numbers = []
    for _ in range(count):
        hall.clock.advance(180)   # each citizen served for a few minutes
        numbers.append(hall.counter_action(counter, "call-next")["ticket"]["number"])
    return numbers


def position(hall, ticket):
    return hall.ticket_by_token(ticket["track_token"])["position"]


def test_due_appointments_go_ahead_of_walk_ins(bhall, clock):
    tickets = scripted_morning(bhall, clock)
    number = {name: ticket["number"] for name, ticket in tickets.items()}
    # before its slot the appointment waits like everyone, by its check-in time
    assert position(bhall, tickets["appointment"]) == 4
    assert calls(bhall, 1) == [number["priority"]]
    clock.set(hall_time(2026, 11, 26, 10, 0))
    assert position(bhall, tickets["appointment"]) == 1
    assert calls(bhall, 3) == [number["appointment"], number["walk_in_1"], number["walk_in_2"]]


def test_requeued_tickets_still_come_before_due_appointments(bhall, clock):
    tickets = scripted_morning(bhall, clock)
    first = calls(bhall, 1)[0]
    bhall.counter_action(1, "no-show")
    clock.set(hall_time(2026, 11, 26, 10, 0))
    bhall.counter_action(1, "reinstate", number=first)
    assert calls(bhall, 2) == [first, tickets["appointment"]["number"]]


def test_after_priority_and_equal_policies(tmp_path, clock):
    hall = booking_hall(tmp_path, clock, name="after.db", due_order="after_priority")
    tickets = scripted_morning(hall, clock)
    clock.set(hall_time(2026, 11, 26, 10, 0))
    extra_priority = hall.issue_ticket("HT", priority="disabled")
    assert position(hall, tickets["appointment"]) == 3
    assert calls(hall, 4) == [tickets["priority"]["number"], extra_priority["number"],
                              tickets["appointment"]["number"], tickets["walk_in_1"]["number"]]
    hall.store.close()

    clock.set(hall_time(2026, 11, 26, 9, 0))
    hall = booking_hall(tmp_path, clock, name="equal.db", due_order="equal")
    tickets = scripted_morning(hall, clock)
    clock.set(hall_time(2026, 11, 26, 10, 0))
    assert calls(hall, 4) == [tickets[name]["number"] for name in ("priority", "walk_in_1", "walk_in_2",
                                                                   "appointment")]
    hall.store.close()


# -- no-shows and retention --------------------------------------------------------------------------------

def test_bookings_not_checked_in_expire_as_no_shows(bhall, clock):
    booking = book(bhall, "2026-11-26T10:00")
    clock.set(hall_time(2026, 11, 26, 10, 15))
    assert bhall.booking_upkeep()[0] == 0                                # the window closes at 10:15:00
    clock.set(hall_time(2026, 11, 26, 10, 15, 1))
    assert bhall.booking_upkeep()[0] == 1
    assert bhall.booking(booking["code"])["status"] == "no_show"
    assert refusal(bhall.check_in, booking["code"]).code == "too_late"
    no_shows = bhall.store.db.execute("SELECT service, data FROM events WHERE type = 'booking_no_show'").fetchall()
    assert len(no_shows) == 1 and no_shows[0][0] == "HT" and PHONE not in no_shows[0][1]
    assert bhall.booking_upkeep()[0] == 0


def test_retention_deletes_personal_data_and_keeps_the_counts(tmp_path, clock):
    hall = booking_hall(tmp_path, clock, retention_days=30)
    booking = book(hall, "2026-11-26T10:00", dossier_code="000.00.12.H57-261126-0001")
    hall.issue_remote_ticket("HT", phone="0987654321", address_hash="home")
    clock.set(hall_time(2026, 12, 26, 12, 0))                            # 30 days later: kept
    assert hall.booking_upkeep()[1] == 0
    assert booking_row(hall, booking["code"])["phone"] == PHONE
    clock.set(hall_time(2026, 12, 27, 0, 0))
    no_shows, purged = hall.booking_upkeep()
    assert purged == 1
    row = booking_row(hall, booking["code"])
    assert (row["name"], row["phone"], row["dossier_code"]) == (None, None, None)
    assert row["status"] == "no_show" and row["service"] == "HT" and row["purged_at"] is not None
    assert hall.read(lambda db, config, now: booking_figures(db, start_day="2026-11-01", end_day="2026-11-30")) == {
        "HT": {"booked": 0, "checked_in": 0, "cancelled": 0, "no_show": 1, "total": 1}}
    assert hall.store.db.execute("SELECT phone FROM ticket_contacts").fetchall() == [(None,)]
    hall.store.close()


# -- import ---------------------------------------------------------------------------------------------------

IMPORT_CSV = """service;procedure;date;time;name;phone;dossier_code;code;ref;portal_note
HT;;2026-11-28;08:00;Trần Thị Bình;0912000001;;;P-1;a
HT;;2026-11-28;08:00;Lê Văn Cường;0912000002;;portal-77;P-2;b
HT;;2026-11-28;08:00;Phạm Dũng;0912000003;;;P-3;slot full now
ZZ;;2026-11-28;08:00;Hồ Em;0912000004;;;P-4;
HT;;2026-11-27;09:00;Ngô Gia;0912000005;;;P-5;holiday
HT;;2026-11-28;08:10;Vũ Hà;0912000006;;;P-6;
HT;;2026-11-28;09:00;;0912000007;;;P-7;
HT;;2026-11-28;09:00;Đỗ Khánh;12345;;;P-8;
HT;;2026-11-25;09:00;Lý Lan;0912000009;;;P-9;
HT;;2026-11-28;09:00;Tạ Minh;0912000010;;;P-1;
HT;;28/11/2026;09:00;Mai Nam;0912000011;;;P-11;
HT;;2026-12-30;09:00;"Quách, Oanh";0912000012;000.00.12.H57-1;;P-12;beyond days_ahead is fine
"""


def test_import_reports_every_bad_row_and_imports_the_rest(bhall):
    from hallserver.core.bookings import parse_import

    report = bhall.import_bookings(parse_import(IMPORT_CSV, "csv"))
    assert [(row["row"], row["slot"]) for row in report["imported"]] == [
        (2, "2026-11-28T08:00"), (3, "2026-11-28T08:00"), (13, "2026-12-30T09:00")]
    assert report["imported"][1]["code"] == "PORTAL77"                   # the citizen's own code is kept
    assert {row["row"]: row["code"] for row in report["rejected"]} == {
        4: "slot_full", 5: "unknown_service", 6: "holiday", 7: "not_a_slot", 8: "missing_field",
        9: "invalid_phone", 10: "slot_past", 11: "already_imported", 12: "invalid_slot"}
    assert all(row["message"] and row["message_en"] for row in report["rejected"])
    assert bhall.store.db.execute("SELECT COUNT(*) FROM bookings WHERE source = 'import'").fetchone()[0] == 3
    again = bhall.import_bookings(parse_import(IMPORT_CSV, "csv"))
    assert again["imported"] == [] and {row["code"] for row in again["rejected"]} >= {"already_imported"}


def test_an_import_with_a_quote_left_open_is_refused_whole(bhall):
    """The open quote on line 3 swallows lines 4 and 5 into one name: the file is refused with
    the line (it was 1 imported, 1 rejected, and two rows gone without a word)."""
    from hallserver.core.bookings import parse_import

    broken = ("service;slot;name;phone\nHT;2026-11-28T08:00;An;0912000001\n"
              'HT;2026-11-28T08:30;"Bình;0912000002\nHT;2026-11-28T09:00;Chi;0912000003\n'
              "HT;2026-11-28T09:30;Dũng;0912000004\n")
    with pytest.raises(Invalid) as refused:
        parse_import(broken, "csv")
    assert refused.value.code == "malformed_import" and "dòng 3" in refused.value.message
    assert bhall.store.db.execute("SELECT COUNT(*) FROM bookings").fetchone()[0] == 0


def test_import_json_rows(bhall):
    from hallserver.core.bookings import parse_import

    rows = parse_import(json.dumps({"rows": [
        {"procedure": None, "service": "CT", "slot": "2026-11-26T10:00", "name": "An", "phone": 912345678},
        {"service": "CT", "slot": "2026-11-26T10:00", "name": "Bình", "phone": "0912000002", "ref": 17},
        "not an object",
        {"service": "CT", "slot": "2026-11-26T10:00", "name": ["x"], "phone": "0912000003"},
    ]}), "json")
    report = bhall.import_bookings(rows)
    assert [row["row"] for row in report["imported"]] == [2]
    assert {row["row"]: row["code"] for row in report["rejected"]} == {
        1: "invalid_phone", 3: "wrong_type", 4: "wrong_type"}
    with pytest.raises(Invalid):
        parse_import("{oops", "json")



def test_import_and_upkeep_from_the_command_line(tmp_path):
    from datetime import date, timedelta

    db = init_hall(tmp_path, hall={"name": "Xã CLI"}, booking={"capacity": 1})
    day = date.today() + timedelta(days=3)
    export = tmp_path / "export.csv"
    export.write_text("\ufeffservice,date,time,name,phone,ref\n"
                      f"HT,{day},09:00,Trần Bình,0912000001,P-1\n"
                      f"HT,{day},09:00,Lê Cường,0912000002,P-2\n"
                      f"HT,{day},09:30,Phạm Dũng,0912000003,P-3\n", encoding="utf-8")
    result = run_cli("bookings", "import", str(export), db=db, check=False)
    assert result.returncode == 1
    assert "dòng/row 2: " in result.stdout and f"{day}T09:00" in result.stdout
    assert "dòng/row 3: TỪ CHỐI / REJECTED [slot_full]" in result.stdout
    assert "imported 2, từ chối / rejected 1" in result.stdout
    again = run_cli("bookings", "import", str(export), db=db, check=False)
    assert again.stdout.count("already_imported") == 2
    upkeep = run_cli("bookings", "upkeep", db=db)
    assert "no-shows 0" in upkeep.stdout and "purged 0" in upkeep.stdout
    missing = run_cli("bookings", "import", str(tmp_path / "nope.csv"), db=db, check=False)
    assert missing.returncode == 2
