"""Abuse of booking from home: the check question is a picture (no digit of it as text in the
page or the API), phones are verified by a one-time code sent through the hall's webhook
(a gateway on loopback here), unverified phones are capped per slot where the hall cannot
send codes, and the move page is rate-limited like the other code look-ups."""

import hashlib
import hmac
import io
import json
import re

import pytest
from PIL import Image

from hallserver.web import guards
from tests.helpers import NAME, PHONE, bearer, challenge_answer, demo_app, make_token, text

SECRET = "bi-mat-cong-sms"
SLOT = "2026-11-26T10:00"


class FixedSecrets:
    """``secrets`` for guards.new_challenge with known operands: 10 + 27 = 37 and 1 + 7 = 8."""

    token_urlsafe = staticmethod(guards.secrets.token_urlsafe)

    @staticmethod
    def randbelow(limit):
        return 27 if limit == 40 else 7


@pytest.fixture
def vapp(tmp_path, clock, gateway):
    """The demo hall with an SMS gateway: public bookings verify the phone."""
    app = demo_app(tmp_path, clock, name="verify.db", reminder_url=gateway.url, reminder_secret=SECRET)
    yield app
    app.extensions["hall"].store.close()


def hidden_fields(html):
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', html))


def without_attributes(html):
    """The page without its attribute values (tokens, the picture's data URL)."""
    return re.sub(r'="[^"]*"', '=""', html)


# -- the question is a picture -----------------------------------------------------------------

def test_a_script_cannot_read_the_question_from_the_page_or_the_api(web_app, monkeypatch):
    monkeypatch.setattr(guards, "secrets", FixedSecrets)
    web = web_app.test_client()
    html = text(web.get("/dat-lich?thu_tuc=HT-KHAISINH"))
    shown = without_attributes(html)
    assert "Câu hỏi kiểm tra" in shown and 'id="challenge-image"' in html
    for number in ("37", "45"):                    # 37 + 8 = 45
        assert not re.search(rf"\b{number}\b", shown), number
    assert not re.search(r"\b8\s*(cộng|\+)|(cộng|\+)\s*8\b", shown)
    image_url = re.search(r'id="challenge-image" src="(data:image/png;base64,[^"]+)"', html).group(1)

    body = web.get("/api/v1/bookings/challenge").get_json()
    assert set(body) >= {"challenge", "image", "expires_in"}
    readable = json.dumps({key: value for key, value in body.items() if key not in ("challenge", "image")})
    assert not re.search(r"\d+\s*\+\s*\d+", readable) and "37" not in readable and "45" not in readable
    for url in (image_url, body["image"]):
        assert url.startswith("data:image/png;base64,")
        data = __import__("base64").b64decode(url.split(",", 1)[1])
        picture = Image.open(io.BytesIO(data))
        assert picture.format == "PNG" and picture.size == (260, 84)
        assert b"37" not in data.split(b"IDAT")[0] and not any("37" in str(v) for v in picture.info.values())
    # the hub itself still knows the answer (a keyed hash in the signed token)
    assert challenge_answer(web_app.secret_key, body["challenge"]) == 45
    assert challenge_answer(web_app.secret_key, hidden_fields(html)["challenge"]) == 45


def test_every_picture_differs_and_answers_span_many_values(web_app):
    web = web_app.test_client()
    bodies = [web.get("/api/v1/bookings/challenge").get_json() for _ in range(12)]
    assert len({body["image"] for body in bodies}) == 12
    answers = {challenge_answer(web_app.secret_key, body["challenge"]) for body in bodies}
    assert all(11 <= answer <= 58 for answer in answers) and len(answers) > 3


# -- no gateway: unverified phones are capped per slot ------------------------------------------

def form_fields(web, app):
    fields = hidden_fields(text(web.get("/dat-lich?thu_tuc=HT-KHAISINH")))
    return dict(fields, answer=str(challenge_answer(app.secret_key, fields["challenge"])))


def test_without_a_gateway_the_page_says_so_and_a_slot_takes_one_unverified_booking(web_app):
    web = web_app.test_client()
    page = text(web.get("/dat-lich?thu_tuc=HT-KHAISINH"))
    assert "chưa có dịch vụ gửi mã xác minh" in page and "chỉ nhận 1 lịch hẹn đặt trực tuyến" in page
    assert "Gửi mã xác minh" not in page
    first = web.post("/dat-lich", data=dict(form_fields(web, web_app), slot=SLOT, name=NAME, phone=PHONE))
    assert first.status_code == 302
    rotated = web.post("/dat-lich", data=dict(form_fields(web, web_app), slot=SLOT, name=NAME, phone="0987000001"))
    assert rotated.status_code == 409 and "hết chỗ đặt trực tuyến" in text(rotated)
    api = web.get("/api/v1/bookings/challenge").get_json()
    answer = web.post("/api/v1/bookings", json={
        "service": "HT", "slot": SLOT, "name": NAME, "phone": "0987000002", "challenge": api["challenge"],
        "answer": challenge_answer(web_app.secret_key, api["challenge"])})
    assert answer.status_code == 409 and answer.get_json()["error"]["code"] == "slot_full_unverified"
    public = web.get("/api/v1/bookings/slots?service=HT").get_json()["days"][0]["slots"]
    assert [slot["free"] for slot in public if slot["slot"] == SLOT] == [0]     # shown full to the public
    # the hall's own staff still fill the slot (hotline, counter)
    counter = make_token(web_app.extensions["hall"].store, "counter", 1)
    staff = web.post("/api/v1/bookings", json={"service": "HT", "slot": SLOT, "name": NAME, "phone": "0987000003"},
                     headers=bearer(counter))
    assert staff.status_code == 201
    # an unverified booking cannot be moved into a slot that has its unverified one
    code = web.post("/dat-lich", data=dict(form_fields(web, web_app), slot="2026-11-26T11:00", name=NAME,
                                           phone="0987000004")).headers["Location"].split("/")[-1].split("?")[0]
    moved = web.post("/api/v1/bookings/move", json={"code": code, "phone": "0987000004", "slot": SLOT})
    assert moved.status_code == 409 and moved.get_json()["error"]["code"] == "slot_full_unverified"


# -- a gateway: phones are verified by a one-time code -----------------------------------------

def send_code(web, app, gateway, phone=PHONE, slot=SLOT):
    """Step 1 of the form: the check question → a code sent; (the code page's fields, the code)."""
    fields = form_fields(web, app)
    page = web.post("/dat-lich", data=dict(fields, slot=slot, name=NAME, phone=phone))
    assert page.status_code == 200, text(page)
    code = gateway.requests[-1]["json"]["code"]
    assert code not in text(page)
    return hidden_fields(text(page)), code


def test_the_code_is_sent_signed_through_the_webhook_and_kept_only_hashed(vapp, gateway):
    web = vapp.test_client()
    form = text(web.get("/dat-lich?thu_tuc=HT-KHAISINH"))
    assert "Trung tâm sẽ gửi mã xác minh" in form and "còn 3 chỗ" in form and "Gửi mã xác minh" in form
    fields, code = send_code(web, vapp, gateway)
    [request] = gateway.requests
    payload = request["json"]
    assert payload["kind"] == "verification" and payload["to"]["phone"] == PHONE
    assert re.fullmatch(r"\d{6}", code) and code in payload["text"] and payload["expires_in"] == 600
    expected = hmac.new(SECRET.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Hall-Signature"] == f"sha256={expected}"
    assert fields["verification"] and fields["slot"] == SLOT
    rows = vapp.extensions["hall"].store.db.execute("SELECT * FROM phone_verifications").fetchall()
    assert len(rows) == 1 and code not in str(rows)


def test_wrong_code_refused_right_code_books_once(vapp, gateway):
    web = vapp.test_client()
    fields, code = send_code(web, vapp, gateway)
    wrong = web.post("/dat-lich", data=dict(fields, code="000000" if code != "000000" else "111111"))
    assert wrong.status_code == 422 and "Mã xác minh chưa đúng (còn 4 lần thử)" in text(wrong)
    assert 'name="code"' in text(wrong)                                   # still the code step
    right = web.post("/dat-lich", data=dict(fields, code=code))
    assert right.status_code == 302 and "?moi=1" in right.headers["Location"]
    again = web.post("/dat-lich", data=dict(fields, code=code))           # a double submit: the same booking
    assert again.headers["Location"] == right.headers["Location"]
    reused = web.post("/dat-lich", data=dict(fields, code=code, idempotency_key="other", procedure="", service="CT",
                                             slot="2026-11-26T11:00"))
    assert reused.status_code == 409 and "Mã xác minh đã được dùng" in text(reused)
    store = vapp.extensions["hall"].store
    assert store.db.execute("SELECT verified FROM bookings").fetchall() == [(1,)]


def test_without_a_code_the_api_refuses_and_with_one_it_books(vapp, gateway):
    web = vapp.test_client()
    challenge = web.get("/api/v1/bookings/challenge").get_json()
    assert challenge["phone_verification"] is True
    answer = challenge_answer(vapp.secret_key, challenge["challenge"])
    body = {"procedure": "HT-KHAISINH", "slot": SLOT, "name": NAME, "phone": PHONE}
    refused = web.post("/api/v1/bookings", json=dict(body, challenge=challenge["challenge"], answer=answer))
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "verification_required"
    sent = web.post("/api/v1/bookings/verify-phone", json={"phone": PHONE, "challenge": challenge["challenge"],
                                                           "answer": answer})
    assert sent.status_code == 202 and sent.get_json()["expires_in"] == 600
    verification, code = sent.get_json()["verification"], gateway.requests[-1]["json"]["code"]
    other_phone = web.post("/api/v1/bookings", json=dict(body, phone="0987000001", verification=verification,
                                                         code=code))
    assert other_phone.get_json()["error"]["code"] == "verification_phone_mismatch"
    booked = web.post("/api/v1/bookings", json=dict(body, verification=verification, code=code))
    assert booked.status_code == 201
    used = web.post("/api/v1/bookings", json=dict(body, procedure=None, service="CT", verification=verification,
                                                  code=code))
    assert used.status_code == 409 and used.get_json()["error"]["code"] == "verification_used"
    spent = web.post("/api/v1/bookings/verify-phone", json={"phone": PHONE, "challenge": challenge["challenge"],
                                                            "answer": answer})
    assert spent.status_code == 409 and spent.get_json()["error"]["code"] == "challenge_used"


def test_a_code_expires(vapp, gateway, clock):
    web = vapp.test_client()
    fields, code = send_code(web, vapp, gateway)
    clock.advance(10 * 60 + 1)
    expired = web.post("/dat-lich", data=dict(fields, code=code))
    assert expired.status_code == 422 and "Mã xác minh đã hết hạn" in text(expired)
    assert 'id="challenge-image"' in text(expired)                       # back to the start: a new question


def test_wrong_tries_are_limited(vapp, gateway):
    web = vapp.test_client()
    fields, code = send_code(web, vapp, gateway)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    for left in (4, 3, 2, 1, 0):
        assert f"còn {left} lần thử" in text(web.post("/dat-lich", data=dict(fields, code=wrong)))
    locked = web.post("/dat-lich", data=dict(fields, code=code))
    assert locked.status_code == 409 and "Đã nhập sai mã quá nhiều lần" in text(locked)
    assert vapp.extensions["hall"].store.db.execute("SELECT COUNT(*) FROM bookings").fetchone()[0] == 0


def test_codes_per_phone_are_limited_and_a_failing_gateway_is_said(vapp, gateway):
    web = vapp.test_client()

    def ask(phone):
        challenge = web.get("/api/v1/bookings/challenge").get_json()["challenge"]
        return web.post("/api/v1/bookings/verify-phone", json={
            "phone": phone, "challenge": challenge, "answer": challenge_answer(vapp.secret_key, challenge)})

    assert [ask(PHONE).status_code for _ in range(4)] == [202, 202, 202, 429]
    assert ask(PHONE).get_json()["error"]["code"] == "too_many_codes"
    gateway.statuses = [500]
    failed = ask("0987000001")
    assert failed.status_code == 503 and failed.get_json()["error"]["code"] == "code_not_sent"
    verification = vapp.extensions["hall"].store.db.execute(
        "SELECT id FROM phone_verifications WHERE status = 'failed'").fetchone()[0]
    refused = web.post("/api/v1/bookings", json={"service": "HT", "slot": SLOT, "name": NAME, "phone": "0987000001",
                                                 "verification": verification, "code": "123456"})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "verification_invalid"


# -- the move page is a code look-up -------------------------------------------------------------

def test_the_move_page_is_rate_limited_like_other_lookups(tmp_path, clock):
    app = demo_app(tmp_path, clock, name="limits.db")
    counter = make_token(app.extensions["hall"].store, "counter", 1)
    web = app.test_client()
    code = web.post("/api/v1/bookings", json={"service": "HT", "slot": SLOT, "name": NAME, "phone": PHONE},
                    headers=bearer(counter)).get_json()["booking"]["code"]
    statuses = [web.get(f"/dat-lich/{code}/doi-gio").status_code for _ in range(int(guards.LOOKUP_LIMIT.split()[0]))]
    assert statuses == [200] * len(statuses)
    assert web.get(f"/dat-lich/{code}/doi-gio").status_code == 429
    assert web.get("/dat-lich/ZZZZ-ZZZZ/doi-gio").status_code == 429                 # guessing codes too
    app.extensions["hall"].store.close()
