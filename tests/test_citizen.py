"""Citizen pages through the Flask test client: kiosk pairing and issuing, numbers from
home with caps and rate limits, tracking, the browser screen, English, no personal data."""

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from hallserver import create_app
from hallserver.config import parse_config
from hallserver.errors import Conflict
from hallserver.store import open_store
from tests.helpers import ROOT, bearer, csrf, demo_app, hall_time, make_token, small_hall_mapping


def pair(client, token):
    return client.post("/kiosk/ghep-noi", data={"token": token, "csrf_token": csrf(client, "/kiosk/ghep-noi")})


def kiosk_issue(client, service="HT", priority=None):
    token = csrf(client, "/kiosk")
    return client.post("/kiosk/tickets", json={"service": service, "priority": priority},
                       headers={"X-CSRFToken": token})


def take_number(client, service="HT", phone=""):
    return client.post("/lay-so", data={"service": service, "phone": phone, "csrf_token": csrf(client, "/lay-so")})


@pytest.fixture
def public_app(store, clock):
    app = create_app({"db": store.path, "async_mode": "threading", "public_url": "http://192.168.1.10:5000",
                      "remote_rate_limit": "4 per minute"}, clock=clock)
    yield app
    app.extensions["hall"].store.close()


@pytest.fixture
def web(public_app):
    return public_app.test_client()


def test_kiosk_must_be_paired_with_a_kiosk_token(web, tokens):
    assert web.get("/kiosk").headers["Location"].endswith("/kiosk/ghep-noi")
    assert web.post("/kiosk/tickets", json={"service": "HT"}).status_code in (400, 401)
    for wrong in ("nonsense", tokens["display"], tokens["counter1"]):
        answer = pair(web, wrong)
        assert answer.status_code == 400 and "Token không hợp lệ" in answer.get_data(as_text=True)
    assert pair(web, tokens["kiosk"]).headers["Location"].endswith("/kiosk")
    page = web.get("/kiosk").get_data(as_text=True)
    assert "Hộ tịch" in page and "Người cao tuổi" in page and "Tôi có lịch hẹn" in page


def test_kiosk_issues_with_a_qr_of_the_public_tracking_link(web, tokens, store):
    pair(web, tokens["kiosk"])
    answer = kiosk_issue(web, priority="elderly")
    assert answer.status_code == 201
    body = answer.get_json()
    assert body["ticket"]["number"] == "1001" and body["ticket"]["priority"] == "elderly"
    assert "track_token" not in body["ticket"]
    assert re.fullmatch(r"http://192\.168\.1\.10:5000/t/[\w-]{24}", body["track_url"])
    assert body["qr_svg"].startswith("<svg") and body["printed"] is False and body["print_error"] is None
    tracked = web.get(body["track_url"].removeprefix("http://192.168.1.10:5000"))
    assert tracked.status_code == 200 and "1001" in tracked.get_data(as_text=True)


def test_a_revoked_kiosk_token_unpairs_the_kiosk(web, tokens, store):
    from hallserver.services import auth

    pair(web, tokens["kiosk"])
    with store.transaction() as db:
        auth.revoke_token(db, auth.principal_for(db, tokens["kiosk"]).token_id, now=0)
    assert web.get("/kiosk").headers["Location"].endswith("/kiosk/ghep-noi")


def test_kiosk_rejects_bad_input_without_a_500(web, tokens):
    pair(web, tokens["kiosk"])
    assert kiosk_issue(web, service="ZZ").status_code == 422
    assert kiosk_issue(web, priority="vip").status_code == 422
    token = csrf(web, "/kiosk")
    assert web.post("/kiosk/tickets", data="{oops", content_type="application/json",
                    headers={"X-CSRFToken": token}).status_code == 400
    assert web.post("/kiosk/tickets", json={"service": "HT"}).status_code == 400  # no CSRF header


def test_kiosk_page_says_why_a_service_is_off(tmp_path, clock):
    mapping = small_hall_mapping()
    store = open_store(tmp_path / "small.db")
    store.apply_config(parse_config(mapping))
    app = create_app({"db": store.path, "async_mode": "threading"}, clock=clock)
    web = app.test_client()
    pair(web, make_token(store, "kiosk"))
    for _ in range(3):
        assert kiosk_issue(web, service="CT").status_code == 201   # CT's daily cap is 3
    refused = kiosk_issue(web, service="CT")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "cap_reached"
    page = web.get("/kiosk").get_data(as_text=True)
    ct_button = re.search(r'<button class="service" data-service="CT"[^>]*>', page).group(0)
    assert "disabled" in ct_button
    state = web.get("/api/v1/state").get_json()
    assert {s["code"]: s["unavailable"] for s in state["services"]} == {"HT": None, "CT": "cap_reached"}
    clock.set(hall_time(2026, 11, 26, 12, 15))   # lunch break
    assert "disabled" in re.search(r'<button class="service" data-service="HT"[^>]*>',
                                   web.get("/kiosk").get_data(as_text=True)).group(0)
    assert kiosk_issue(web, service="HT").get_json()["error"]["code"] == "outside_hours"


# -- numbers from home --------------------------------------------------------------------

def test_take_a_number_from_home(web, store):
    answer = take_number(web, phone="+84 912 345 678")
    assert answer.status_code == 302
    location = answer.headers["Location"]
    assert re.search(r"/t/[\w-]{24}\?moi=1$", location)
    page = web.get(location).get_data(as_text=True)
    assert "1001" in page and "<svg" in page
    assert store.db.execute("SELECT channel FROM tickets").fetchone()[0] == "online"
    assert store.db.execute("SELECT phone FROM ticket_contacts").fetchone()[0] == "0912345678"


def test_the_phone_hint_promises_a_text_only_where_the_hall_sends_them(tmp_path, clock):
    quiet = demo_app(tmp_path, clock, name="quiet.db").test_client()
    texting = demo_app(tmp_path, clock, name="texting.db", reminder_url="http://127.0.0.1:9/hook").test_client()
    assert "nhắn tin khi sắp đến lượt" not in quiet.get("/lay-so").get_data(as_text=True)
    assert "nhắn tin khi sắp đến lượt" in texting.get("/lay-so").get_data(as_text=True)
    assert "text you when your turn is near" in texting.get("/lay-so?lang=en").get_data(as_text=True)
    refused = texting.post("/lay-so", data={"service": "", "csrf_token": csrf(texting, "/lay-so")})
    assert refused.status_code == 400 and "text you when your turn is near" in refused.get_data(as_text=True)


def test_caps_per_phone_and_per_address(web):
    assert take_number(web, phone="0912345678").status_code == 302
    assert take_number(web, service="CT", phone="0912 345 678").status_code == 302
    refused = take_number(web, service="DD", phone="0912345678")
    assert refused.status_code == 409
    assert "Số điện thoại này đã lấy 2 số hôm nay" in refused.get_data(as_text=True)
    assert take_number(web, phone="0987654321").status_code == 302


def test_address_cap(public_app, web):
    hall = public_app.extensions["hall"]
    for _ in range(5):
        hall.issue_remote_ticket("HT", phone=None, address_hash="same-place")
    with pytest.raises(Conflict) as refused:
        hall.issue_remote_ticket("HT", phone=None, address_hash="same-place")
    assert refused.value.code == "address_cap_reached"


@pytest.mark.parametrize("phone", ["12345", "09123456789", "abc"])
def test_invalid_phone_numbers_are_refused_in_vietnamese(web, phone):
    answer = take_number(web, phone=phone)
    assert answer.status_code == 422 and "Số điện thoại không hợp lệ" in answer.get_data(as_text=True)


def test_take_number_needs_a_service_and_csrf(web):
    assert take_number(web, service="").status_code == 400
    assert web.post("/lay-so", data={"service": "HT"}).status_code == 400


def test_numbers_from_home_are_rate_limited(web):
    statuses = [take_number(web, service="XH").status_code for _ in range(6)]
    assert statuses[:2] == [302, 302]
    assert statuses[-1] == 429


def test_walk_ins_first_policy(tmp_path, clock):
    store = open_store(tmp_path / "policy.db")
    store.apply_config(parse_config(small_hall_mapping(policy={"remote_order": "walk_ins_first"})))
    app = create_app({"db": store.path, "async_mode": "threading"}, clock=clock)
    hall = app.extensions["hall"]
    remote = hall.issue_remote_ticket("HT", phone=None, address_hash="home")
    clock.advance(5)
    walk_in = hall.issue_ticket("HT")
    assert hall.ticket_by_token(walk_in["track_token"])["position"] == 1
    assert hall.counter_action(1, "call-next")["ticket"]["number"] == walk_in["number"]
    clock.advance(180)
    assert hall.counter_action(1, "call-next")["ticket"]["number"] == remote["number"]


# -- tracking, the screen, privacy, language --------------------------------------------------

def test_unknown_or_foreign_tracking_tokens_are_404(web, tmp_path, clock):
    other = open_store(tmp_path / "other.db")
    other.apply_config(parse_config(small_hall_mapping()))
    other_app = create_app({"db": other.path, "async_mode": "threading"}, clock=clock)
    foreign = other_app.extensions["hall"].issue_ticket("HT")["track_token"]
    for token in (foreign, "x" * 24, "không-có"):
        answer = web.get(f"/t/{token}")
        assert answer.status_code == 404 and "Không tìm thấy phiếu" in answer.get_data(as_text=True)
        assert web.get(f"/api/v1/tickets/{token}").status_code == 404


def test_no_personal_data_on_public_pages_or_api(web, client, tokens):
    take_number(web, phone="0912345678")
    client.post("/api/v1/counters/1/call-next", headers=bearer(tokens["counter1"]))
    public = [web.get(path).get_data(as_text=True) for path in ("/api/v1/state", "/display", "/lay-so")]
    track = web.get("/api/v1/state").get_json()
    assert track["recent_calls"][0]["number"] == "1001"
    for text in public:
        assert "0912345678" not in text and "912345678" not in text


def test_display_page_and_sound_pack(web):
    page = web.get("/display").get_data(as_text=True)
    assert "Bấm để bật âm thanh" in page and "Mất kết nối" in page
    manifest = web.get("/sounds/manifest.json").get_json()
    chime = manifest["clips"]["chime"]["file"]
    assert web.get(f"/sounds/{chime}").status_code == 200
    assert web.get("/sounds/../setup.cfg").status_code == 404
    assert web.get("/sounds/%2e%2e/setup.cfg").status_code == 404


def test_english_is_one_click_away(web):
    assert "Lấy số trực tuyến" in web.get("/lay-so").get_data(as_text=True)
    english = web.get("/lay-so?lang=en").get_data(as_text=True)
    assert "Take a number online" in english and "Phone number (optional)" in english
    assert "Take a number online" in web.get("/lay-so").get_data(as_text=True)   # remembered
    assert "Lấy số trực tuyến" in web.get("/lay-so?lang=vi").get_data(as_text=True)


def test_english_catalog_is_complete_and_compiled():
    """Every message the pages use is in the catalog, translated, and compiled into the .mo
    (compared by content: Babel writes its own version into the file's header)."""
    folder = ROOT / "hallserver" / "web" / "translations" / "en" / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as po:
        catalog = read_po(po, locale="en")
    # a plural message (ngettext) has a tuple of forms (a list in the .mo): every one translated
    untranslated = [message.id for message in catalog
                    if message.id and not (all(message.string) if message.pluralizable else message.string)]
    assert untranslated == []
    method_map = [("hallserver/**.py", "python"), ("hallserver/web/templates/**.html", "jinja2")]
    used = {message[2] for message in extract_from_dir(ROOT, method_map)}
    missing = sorted(str(message) for message in used if message not in catalog)
    assert missing == [], "run the pybabel commands in README.md"
    with open(folder / "messages.mo", "rb") as mo:
        compiled = read_mo(mo)
    def plain(value):
        return tuple(value) if isinstance(value, (list, tuple)) else value

    assert {plain(m.id): plain(m.string) for m in compiled if m.id} == \
        {plain(m.id): plain(m.string) for m in catalog if m.id}, "run pybabel compile"


# -- the printed ticket ---------------------------------------------------------------------

def printing_app(store, clock, printer):
    return create_app({"db": store.path, "async_mode": "threading", "printer": printer}, clock=clock)


def test_kiosk_prints_the_committed_ticket(store, clock, tmp_path, tokens):
    target = tmp_path / "printer.bin"
    app = printing_app(store, clock, f"file:{target}")
    web = app.test_client()
    pair(web, tokens["kiosk"])
    body = kiosk_issue(web).get_json()
    assert body["printed"] is True and body["print_error"] is None
    printed = target.read_bytes()
    # initialise, one raster image 576 dots (72 bytes) wide, feed, cut
    assert printed.startswith(b"\x1b@\x1dv0\x00\x48\x00") and printed.endswith(b"\x1bd\x06\x1dV\x00")


def test_a_printer_fault_never_loses_the_ticket(store, clock, tmp_path, tokens):
    from hallserver.web.extensions import socketio

    app = printing_app(store, clock, f"file:{tmp_path}/no-such-folder/lp0")
    web = app.test_client()
    dashboard = socketio.test_client(app)
    assert dashboard.emit("join", {"room": "dashboard", "token": tokens["supervisor"]}, callback=True)["ok"]
    pair(web, tokens["kiosk"])
    answer = kiosk_issue(web)
    body = answer.get_json()
    assert answer.status_code == 201 and body["printed"] is False
    assert body["print_error"].startswith("Máy in gặp sự cố")
    assert body["ticket"]["number"] == "1001" and "<svg" in body["qr_svg"]
    assert store.db.execute("SELECT number FROM tickets").fetchall() == [("1001",)]
    alerts = [event["args"][0] for event in dashboard.get_received() if event["name"] == "alert"]
    assert alerts and alerts[0]["kind"] == "device_fault" and alerts[0]["device"] == "printer"
    dashboard.disconnect()
