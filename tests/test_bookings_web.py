"""Booking pages through the Flask test client: the form with its check question and
idempotency key, the confirmation, cancel and move, rate limits, kiosk and staff check-in,
the staff's list and its access log, and no personal data anywhere public."""

import re
import sqlite3

import pytest

from hallserver.web import guards
from tests.helpers import (
    NAME,
    PHONE,
    add_user,
    challenge_answer,
    csrf,
    demo_app,
    hall_time,
    make_token,
    signed_in,
    text,
)


@pytest.fixture
def web(web_app):
    return web_app.test_client()


def form_fields(web, path="/dat-lich?thu_tuc=HT-KHAISINH"):
    """The hidden fields of the booking form, and the answer to its question."""
    html = text(web.get(path))
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))
    return dict(fields, answer=str(challenge_answer(web.application.secret_key, fields["challenge"])))


def submit(web, slot="2026-11-26T10:00", fields=None, **changes):
    data = dict(fields or form_fields(web), slot=slot, name=NAME, phone=PHONE)
    return web.post("/dat-lich", data={**data, **changes})


def booked_code(answer):
    assert answer.status_code == 302, text(answer)
    return re.search(r"/dat-lich/([\w-]+)\?moi=1$", answer.headers["Location"]).group(1)


# -- the form -----------------------------------------------------------------------------------

def test_pick_a_procedure_then_a_day_then_a_slot(web):
    choose = text(web.get("/dat-lich"))
    assert "Đặt lịch hẹn" in choose and "/dat-lich?thu_tuc=HT-KHAISINH" in choose
    form = text(web.get("/dat-lich?thu_tuc=HT-KHAISINH&ngay=2026-11-28"))
    assert "Đăng ký khai sinh" in form and "Hộ tịch" in form
    assert re.search(r'data-day="2026-11-28" aria-current="true"', form)
    assert 'value="2026-11-26T09:30"' in form and 'value="2026-11-26T09:00"' not in form   # 09:00 has begun
    assert "còn 1 chỗ" in form and "Câu hỏi kiểm tra" in form      # 3 places, 1 for an unverified phone
    assert text(web.get("/dat-lich?dich_vu=CT")).count('name="slot"') > 100


def test_book_and_open_the_printable_confirmation(web, web_app):
    answer = submit(web, dossier_code="000.00.12.H57-261126-0001")
    code = booked_code(answer)
    page = text(web.get(answer.headers["Location"]))
    assert "Đặt lịch thành công" in page and f'id="booking-code">{code}<' in page
    assert "Đăng ký khai sinh" in page and "Giấy chứng sinh" in page and "10:00–10:30" in page
    assert "từ 09:30 đến 10:15" in page and 'id="print"' in page and "<svg" in page
    for personal in (NAME, PHONE, "912345678", "H57-261126"):
        assert personal not in page
    store = web_app.extensions["hall"].store
    row = store.db.execute("SELECT name, phone, dossier_code, source FROM bookings").fetchone()
    assert row == (NAME, PHONE, "000.00.12.H57-261126-0001", "web")


def test_a_double_submit_gives_the_same_booking(web, web_app):
    fields = form_fields(web)
    first, second = submit(web, fields=fields), submit(web, fields=fields)
    assert booked_code(first) == booked_code(second)
    assert web_app.extensions["hall"].store.db.execute("SELECT COUNT(*) FROM bookings").fetchone()[0] == 1


def test_the_check_question(web, monkeypatch):
    wrong = submit(web, answer="99")
    assert wrong.status_code == 422 and "Câu trả lời kiểm tra chưa đúng" in text(wrong)
    assert f'value="{NAME}"' in text(wrong) and f'value="{PHONE}"' in text(wrong)   # what was typed stays
    missing = submit(web, challenge="")
    assert missing.status_code == 422 and "Thiếu hoặc sai câu hỏi kiểm tra" in text(missing)
    fields = form_fields(web)
    booked_code(submit(web, fields=fields))
    replay = submit(web, fields=dict(fields, idempotency_key="another-form"), phone="0987654321",
                    slot="2026-11-26T11:00")
    assert replay.status_code == 409 and "Câu hỏi kiểm tra đã được dùng" in text(replay)
    monkeypatch.setattr(guards, "CHALLENGE_SECONDS", -1)
    expired = submit(web, phone="0987654321")
    assert expired.status_code == 422 and "Câu hỏi kiểm tra đã hết hạn" in text(expired)


def test_form_refusals_are_shown_on_the_form(web):
    no_slot = submit(web, slot="")
    assert no_slot.status_code == 422 and "Hãy chọn một khung giờ." in text(no_slot)
    booked_code(submit(web))
    capped = submit(web, slot="2026-11-26T11:00")
    assert capped.status_code == 409 and "Số điện thoại này đã có 1 lịch hẹn Hộ tịch" in text(capped)
    assert web.get("/dat-lich?thu_tuc=KHONG-CO").status_code == 404
    assert web.post("/dat-lich", data={"slot": "2026-11-26T10:00"}).status_code == 400     # no CSRF token


def test_bookings_are_rate_limited_per_address(tmp_path, clock):
    app = demo_app(tmp_path, clock, rate_limit="3 per minute")
    web = app.test_client()
    statuses = [submit(web, slot=f"2026-11-26T1{index}:00", phone=f"091200000{index}").status_code
                for index in range(4)]
    assert statuses == [302, 302, 302, 429]
    assert "Bạn thao tác quá nhanh" in text(submit(web, phone="0912000009"))
    app.extensions["hall"].store.close()


def test_cancel_and_move_from_the_confirmation(web):
    code = booked_code(submit(web))
    token = csrf(web, f"/dat-lich/{code}")
    wrong = web.post(f"/dat-lich/{code}/huy", data={"phone": "0900000000", "csrf_token": token})
    assert wrong.status_code == 404 and "Không tìm thấy lịch hẹn với mã và số điện thoại này" in text(wrong)
    move_page = text(web.get(f"/dat-lich/{code}/doi-gio"))
    assert "Giờ hẹn hiện tại: 10:00" in move_page
    moved = web.post(f"/dat-lich/{code}/doi-gio", data={"phone": PHONE, "slot": "2026-11-27T14:00",
                                                         "csrf_token": token})
    assert moved.status_code == 302 and moved.headers["Location"].endswith(f"/dat-lich/{code}?doi=1")
    assert "14:00–14:30" in text(web.get(f"/dat-lich/{code}"))
    assert "Đã đổi giờ hẹn" in text(web.get(moved.headers["Location"]))
    cancelled = web.post(f"/dat-lich/{code}/huy", data={"phone": "0912 345 678", "csrf_token": token})
    assert cancelled.status_code == 302
    page = text(web.get(f"/dat-lich/{code}"))
    assert 'data-status="cancelled"' in page and "cancel-form" not in page


def test_lookup_by_code(web):
    code = booked_code(submit(web))
    assert "Mã lịch hẹn" in text(web.get("/dat-lich/tra-cuu"))
    assert web.get(f"/dat-lich/tra-cuu?ma={code.lower()}").headers["Location"].endswith(f"/dat-lich/{code}")
    assert f'id="booking-code">{code}<' in text(web.get(f"/dat-lich/{code.lower()}"))
    missing = web.get("/dat-lich/ZZZZ-ZZZZ")
    assert missing.status_code == 404 and "Không tìm thấy lịch hẹn với mã này" in text(missing)


def test_english_booking_pages(web):
    code = booked_code(submit(web))
    english = text(web.get(f"/dat-lich/{code}?lang=en"))
    assert "Booking code" in english and "Birth registration" in english
    assert "Book an appointment" in text(web.get("/dat-lich?lang=en"))


# -- the kiosk ------------------------------------------------------------------------------------

def pair_kiosk(web, store):
    token = make_token(store, "kiosk")
    web.post("/kiosk/ghep-noi", data={"token": token, "csrf_token": csrf(web, "/kiosk/ghep-noi")})
    return csrf(web, "/kiosk")


def test_kiosk_check_in_by_code_or_scanned_link(web, web_app, clock):
    hall = web_app.extensions["hall"]
    code = booked_code(submit(web))
    kiosk = web_app.test_client()
    token = pair_kiosk(kiosk, hall.store)
    page = text(kiosk.get("/kiosk"))
    assert "Tôi có lịch hẹn" in page and 'id="booking-code"' in page and "đang được hoàn thiện" not in page
    early = kiosk.post("/kiosk/check-in", json={"code": code}, headers={"X-CSRFToken": token})
    error = early.get_json()["error"]
    assert early.status_code == 409 and error["code"] == "too_early" and error["service"] == "HT"
    assert "Kiosk nhận lịch hẹn từ 09:30" in error["message"]
    clock.set(hall_time(2026, 11, 26, 9, 45))
    scanned = f"http://192.168.1.10:5000/dat-lich/{code}"
    answer = kiosk.post("/kiosk/check-in", json={"code": scanned}, headers={"X-CSRFToken": token})
    body = answer.get_json()
    assert answer.status_code == 201 and body["ticket"]["number"] == "1001"
    assert body["ticket"]["channel"] == "appointment" and "track_token" not in body["ticket"]
    assert body["booking"]["time"] == "10:00" and body["again"] is False
    assert body["track_url"].startswith("http://192.168.1.10:5000/t/") and body["qr_svg"].startswith("<svg")
    again = kiosk.post("/kiosk/check-in", json={"code": code}, headers={"X-CSRFToken": token}).get_json()
    assert again["again"] is True and again["ticket"]["number"] == "1001"
    assert kiosk.post("/kiosk/check-in", json={"code": "x"}, headers={"X-CSRFToken": token}).status_code == 404
    assert web.post("/kiosk/check-in", json={"code": code},
                    headers={"X-CSRFToken": csrf(web, "/dat-lich")}).status_code == 401   # not a kiosk


# -- staff -------------------------------------------------------------------------------------------------

def access_log(store):
    return [(row["who"], row["detail"], row["rows"]) for row in store.db.query("SELECT * FROM booking_access_log")]


def test_the_staff_list_shows_personal_data_only_to_staff_and_logs_each_look(web, web_app):
    hall = web_app.extensions["hall"]
    store = hall.store
    booked_code(submit(web))
    booked_code(submit(web, fields=form_fields(web, "/dat-lich?thu_tuc=DD-GPXD"), phone="0987654321",
                       name="Trần Văn Đất"))
    assert web.get("/lich-hen").headers["Location"].startswith("/dang-nhap")
    add_user(store, "lan", counters=[1])          # counter 1 serves HT only
    add_user(store, "giamsat", role="supervisor")
    lan = signed_in(web_app, "lan")
    page = text(lan.get("/lich-hen"))
    assert NAME in page and PHONE in page and "Trần Văn Đất" not in page
    supervisor = signed_in(web_app, "giamsat")
    page = text(supervisor.get("/lich-hen?ngay=2026-11-26"))
    assert NAME in page and "Trần Văn Đất" in page and "0987654321" in page
    assert access_log(store) == [("user:lan", "2026-11-26 HT", 1), ("user:giamsat", "2026-11-26 HT,CT,DD,TP,XH", 2)]
    log_page = supervisor.get("/lich-hen/nhat-ky")
    assert log_page.status_code == 200 and "user:lan" in text(log_page)
    assert lan.get("/lich-hen/nhat-ky").status_code == 403
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        store.db.execute("DELETE FROM booking_access_log")


def test_staff_check_in_cancel_and_a_normal_ticket(web, web_app, clock):
    store = web_app.extensions["hall"].store
    code = booked_code(submit(web))
    other = booked_code(submit(web, slot="2026-11-26T15:00", phone="0987654321"))
    add_user(store, "lan")
    lan = signed_in(web_app, "lan")
    token = csrf(lan, "/lich-hen")
    early = lan.post("/lich-hen/tiep-nhan", data={"code": other, "csrf_token": token})
    assert early.status_code == 409 and "Bạn đến sớm" in text(early) and "Cấp số thường — Hộ tịch" in text(early)
    normal = lan.post("/lich-hen/cap-so", data={"service": "HT", "csrf_token": token})
    assert "Đã cấp số thường 1001 (Hộ tịch)" in text(normal)
    clock.set(hall_time(2026, 11, 26, 9, 50))
    checked = lan.post("/lich-hen/tiep-nhan", data={"code": code.lower(), "csrf_token": token})
    assert checked.status_code == 200 and f"Lịch hẹn {code}: số thứ tự 1002 (Hộ tịch)" in text(checked)
    cancelled = lan.post("/lich-hen/huy", data={"code": other, "csrf_token": token})
    assert f"Đã hủy lịch hẹn {other}" in text(cancelled)
    assert lan.post("/lich-hen/huy", data={"code": other}).status_code == 400                      # CSRF


# -- no personal data in public ----------------------------------------------------------------------------------

def test_names_and_phones_never_reach_public_pages_api_events_or_pushes(web, web_app, clock):
    from hallserver.web.extensions import socketio

    hall = web_app.extensions["hall"]
    screen = socketio.test_client(web_app)
    assert screen.emit("join", {"room": "display"}, callback=True)["ok"]
    code = booked_code(submit(web, dossier_code="H57-0001"))
    clock.set(hall_time(2026, 11, 26, 9, 45))
    hall.check_in(code)
    public = [text(web.get(path)) for path in (
        "/api/v1/state", "/display", "/thu-tuc", "/dat-lich?thu_tuc=HT-KHAISINH", f"/dat-lich/{code}",
        "/api/v1/bookings/slots?service=HT", "/api/v1/procedures")]
    public.append(str(web.post("/api/v1/bookings/lookup", json={"code": code}).get_json()))
    public.append(str(screen.get_received()))
    public += [row[0] for row in hall.store.db.execute("SELECT data FROM events")]
    for personal in (NAME, PHONE, "912345678", "H57-0001"):
        assert not any(personal in page for page in public), personal
    screen.disconnect()
