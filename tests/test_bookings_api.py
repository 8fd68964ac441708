"""The bookings JSON API: slots, the check question, book, look up, cancel, move, check in,
the staff's list (access logged), import; roles and refusals in the API's error format."""

import pytest

from tests.helpers import NAME, PHONE, bearer, challenge_answer, hall_time, make_token


@pytest.fixture
def api(web_app):
    return web_app.test_client()


@pytest.fixture
def keys(web_app):
    store = web_app.extensions["hall"].store
    return {role: make_token(store, role) for role in ("kiosk", "display", "supervisor", "admin")} | {
        "counter": make_token(store, "counter", 1)}


def challenge(api):
    body = api.get("/api/v1/bookings/challenge").get_json()
    return {"challenge": body["challenge"], "answer": challenge_answer(api.application.secret_key, body["challenge"])}


def public_book(api, slot="2026-11-26T10:00", phone=PHONE, **fields):
    body = {"procedure": "HT-KHAISINH", "slot": slot, "name": NAME, "phone": phone, **challenge(api), **fields}
    return api.post("/api/v1/bookings", json=body)


def test_slots_and_procedures_are_public(api, keys):
    slots = api.get("/api/v1/bookings/slots?procedure=HT-KHAISINH").get_json()
    assert slots["service"] == "HT" and slots["slot_minutes"] == 30 and len(slots["days"]) == 7
    # the demo hall sends no codes: the public may take 1 place a slot (unverified_per_slot), staff all 3
    assert slots["days"][0]["slots"][0] == {"slot": "2026-11-26T09:30", "time": "09:30", "ends": "10:00", "free": 1}
    assert slots["phone_verification"] is False
    staff = api.get("/api/v1/bookings/slots?procedure=HT-KHAISINH", headers=bearer(keys["counter"])).get_json()
    assert staff["days"][0]["slots"][0]["free"] == 3
    assert api.get("/api/v1/bookings/slots?service=DD").get_json()["days"][0]["slots"][0]["free"] == 1
    assert api.get("/api/v1/bookings/slots").status_code == 422
    assert api.get("/api/v1/bookings/slots?service=ZZ").get_json()["error"]["code"] == "unknown_service"
    assert api.get("/api/v1/bookings/slots?procedure=ZZ").get_json()["error"]["code"] == "unknown_procedure"
    found = api.get("/api/v1/procedures?q=chung thuc ban sao").get_json()["procedures"]
    assert [procedure["code"] for procedure in found] == ["CT-BANSAO"]


def test_public_booking_needs_the_answer(api):
    refused = api.post("/api/v1/bookings", json={"service": "HT", "slot": "2026-11-26T10:00", "name": NAME,
                                                 "phone": PHONE})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "missing_field"
    wrong = public_book(api, answer=99)
    assert wrong.status_code == 422 and wrong.get_json()["error"]["code"] == "challenge_failed"
    answer = public_book(api, idempotency_key="app-42")
    assert answer.status_code == 201
    booking = answer.get_json()["booking"]
    assert booking["status"] == "booked" and booking["procedure_name"] == "Đăng ký khai sinh"
    assert booking["check_in_from"] == "2026-11-26T09:30:00+07:00" and booking["ticket"] is None
    assert NAME not in str(booking) and PHONE not in str(booking)
    same = public_book(api, idempotency_key="app-42").get_json()["booking"]
    assert same["code"] == booking["code"]


def test_staff_tokens_book_without_the_question_others_may_not(api, keys):
    body = {"service": "CT", "slot": "2026-11-26T10:00", "name": NAME, "phone": PHONE}
    answer = api.post("/api/v1/bookings", json=body, headers=bearer(keys["counter"]))
    assert answer.status_code == 201
    assert api.post("/api/v1/bookings", json=body, headers=bearer(keys["display"])).status_code == 403


def test_refusals_use_the_api_error_format(api):
    public_book(api)
    capped = public_book(api, slot="2026-11-26T11:00").get_json()["error"]
    assert capped["code"] == "phone_service_cap" and capped["message"] and capped["message_en"]
    assert public_book(api, slot="2026-11-26T10:10", phone="0987654321").get_json()["error"]["code"] == "not_a_slot"
    assert api.post("/api/v1/bookings", data="{x", content_type="application/json").status_code == 400


def test_lookup_cancel_and_move(api, keys):
    code = public_book(api).get_json()["booking"]["code"]
    assert api.post("/api/v1/bookings/lookup", json={"code": code.lower()}).get_json()["booking"]["code"] == code
    assert api.post("/api/v1/bookings/lookup", json={"code": "nope"}).status_code == 404
    moved = api.post("/api/v1/bookings/move", json={"code": code, "phone": PHONE, "slot": "2026-11-27T08:00"})
    assert moved.status_code == 200 and moved.get_json()["booking"]["slot"] == "2026-11-27T08:00"
    wrong = api.post("/api/v1/bookings/cancel", json={"code": code, "phone": "0900000000"})
    assert wrong.status_code == 404 and wrong.get_json()["error"]["code"] == "booking_not_found"
    assert api.post("/api/v1/bookings/cancel", json={"code": code}).status_code == 422       # phone needed
    cancelled = api.post("/api/v1/bookings/cancel", json={"code": code}, headers=bearer(keys["supervisor"]))
    assert cancelled.get_json()["booking"]["status"] == "cancelled"
    again = api.post("/api/v1/bookings/cancel", json={"code": code, "phone": PHONE})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_changeable"


def test_check_in_through_the_api(api, keys, clock):
    code = public_book(api).get_json()["booking"]["code"]
    assert api.post("/api/v1/bookings/check-in", json={"code": code}).status_code == 401
    refused = api.post("/api/v1/bookings/check-in", json={"code": code}, headers=bearer(keys["display"]))
    assert refused.status_code == 403
    early = api.post("/api/v1/bookings/check-in", json={"code": code}, headers=bearer(keys["kiosk"]))
    assert early.status_code == 409 and early.get_json()["error"] | {"message": "", "message_en": ""} == {
        "code": "too_early", "service": "HT", "message": "", "message_en": ""}
    clock.set(hall_time(2026, 11, 26, 10, 5))
    answer = api.post("/api/v1/bookings/check-in", json={"code": code}, headers=bearer(keys["counter"]))
    body = answer.get_json()
    assert answer.status_code == 201 and body["ticket"]["channel"] == "appointment" and body["ticket"]["track_token"]
    again = api.post("/api/v1/bookings/check-in", json={"code": code}, headers=bearer(keys["kiosk"]))
    assert again.status_code == 200 and again.get_json()["again"] is True
    tracked = api.get(f"/api/v1/tickets/{body['ticket']['track_token']}").get_json()["ticket"]
    assert tracked["position"] == 1 and tracked["channel"] == "appointment"


def test_the_day_list_is_for_supervisors_and_logged(api, web_app, keys):
    public_book(api, dossier_code="H57-1")
    assert api.get("/api/v1/bookings").status_code == 401
    for role in ("kiosk", "counter", "display"):
        assert api.get("/api/v1/bookings", headers=bearer(keys[role])).status_code == 403
    answer = api.get("/api/v1/bookings?day=2026-11-26&service=HT", headers=bearer(keys["supervisor"])).get_json()
    assert answer["day"] == "2026-11-26"
    assert [(b["name"], b["phone"], b["dossier_code"], b["source"]) for b in answer["bookings"]] == [
        (NAME, PHONE, "H57-1", "api")]
    assert api.get("/api/v1/bookings?day=hôm-nay", headers=bearer(keys["admin"])).status_code == 422
    logged = web_app.extensions["hall"].store.db.execute("SELECT who, role, detail, rows FROM booking_access_log")
    assert [tuple(row) for row in logged] == [("token:3", "supervisor", "2026-11-26 HT", 1)]


def test_import_through_the_api_is_for_admins(api, keys):
    csv_text = ("service,date,time,name,phone,ref\n"
                "HT,2026-11-27,09:00,Trần Bình,0912000001,P-1\n"
                "HT,2026-11-27,09:05,Lê Cường,0912000002,P-2\n")
    headers = {**bearer(keys["supervisor"]), "Content-Type": "text/csv"}
    assert api.post("/api/v1/bookings/import", data=csv_text, headers=headers).status_code == 403
    headers = {**bearer(keys["admin"]), "Content-Type": "text/csv"}
    report = api.post("/api/v1/bookings/import", data=csv_text, headers=headers).get_json()
    assert [row["row"] for row in report["imported"]] == [2]
    assert [(row["row"], row["code"]) for row in report["rejected"]] == [(3, "not_a_slot")]
    rows = [{"service": "HT", "slot": "2026-11-27T09:30", "name": "An", "phone": "0912000003"}]
    json_report = api.post("/api/v1/bookings/import", json={"rows": rows}, headers=bearer(keys["admin"])).get_json()
    assert len(json_report["imported"]) == 1
    assert api.post("/api/v1/bookings/import", json={}, headers=bearer(keys["admin"])).status_code == 422


def test_admins_edit_procedures_through_the_api(api, keys):
    body = {"code": "HT-GIAMHO", "name": "Đăng ký giám hộ", "service": "HT", "documents": ["Tờ khai"],
            "fee": "Miễn lệ phí"}
    assert api.post("/api/v1/procedures", json=body, headers=bearer(keys["supervisor"])).status_code == 403
    saved = api.post("/api/v1/procedures", json=body, headers=bearer(keys["admin"])).get_json()["procedure"]
    assert saved["name_en"] == "Đăng ký giám hộ" and saved["documents"] == ["Tờ khai"]
    assert api.get("/api/v1/procedures?q=giam ho").get_json()["procedures"][0]["code"] == "HT-GIAMHO"
    bad = api.post("/api/v1/procedures", json={**body, "service": "ZZ"}, headers=bearer(keys["admin"]))
    assert bad.status_code == 422 and "service: unknown service 'ZZ'" in bad.get_json()["error"]["message"]
    hidden = api.post("/api/v1/procedures", json={**body, "active": False}, headers=bearer(keys["admin"]))
    assert hidden.status_code == 200 and api.get("/api/v1/procedures?q=giam ho").get_json()["procedures"] == []
