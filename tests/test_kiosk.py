"""The kiosk through the Flask test client: its page data (both languages, timeouts, names in
English), no priority without a category, and printing that tells the truth — the number at
once, then the printer's confirmation or doubt, with an alert a supervisor can act on."""

import json
import re

import pytest

from hallserver import create_app
from hallserver.services import printing
from hallserver.services.supervision import dashboard_snapshot
from tests.helpers import FakeNetworkPrinter, closed_port, csrf, text

NOT_CONFIRMED = "Máy in chưa xác nhận — hãy ghi lại số của bạn trên màn hình"


def pair(client, token):
    client.post("/kiosk/ghep-noi", data={"token": token, "csrf_token": csrf(client, "/kiosk/ghep-noi")})
    return csrf(client, "/kiosk")


def post(client, csrf_token, path, body):
    return client.post(path, json=body, headers={"X-CSRFToken": csrf_token})


def kiosk_data(page):
    return json.loads(re.search(r'id="kiosk-data" type="application/json">(.*?)</script>', page, re.S).group(1))


@pytest.fixture
def kiosk_app(store, clock, monkeypatch):
    """An app printing on ``kiosk_app.printer`` (set before the first request)."""
    monkeypatch.setattr(printing, "STATUS_TIMEOUT_SECONDS", 0.3)
    apps = []

    def make(printer="none"):
        app = create_app({"db": store.path, "async_mode": "threading", "printer": printer}, clock=clock)
        apps.append(app)
        return app
    yield make


@pytest.fixture
def dashboard(store, tokens):
    clients = []

    def join(app):
        from hallserver.web.extensions import socketio

        client = socketio.test_client(app)
        assert client.emit("join", {"room": "dashboard", "token": tokens["supervisor"]}, callback=True)["ok"]
        clients.append(client)
        return client
    yield join
    for client in clients:
        client.disconnect()


def alerts(dashboard_client):
    return [event["args"][0] for event in dashboard_client.get_received() if event["name"] == "alert"]


# -- the page ---------------------------------------------------------------------------------

def test_kiosk_page_carries_both_languages_names_and_timeouts(kiosk_app, tokens):
    web = kiosk_app().test_client()
    pair(web, tokens["kiosk"])
    page = text(web.get("/kiosk"))
    data = kiosk_data(page)
    assert data["text"]["vi"]["lang_button"] == "English" and data["text"]["en"]["lang_button"] == "Tiếng Việt"
    assert data["text"]["en"]["not_printed"].startswith("The printer has not confirmed")
    assert data["text"]["vi"]["not_printed"] == NOT_CONFIRMED
    assert data["text"]["en"]["waiting"] == ["Waiting: {count} person", "Waiting: {count} people"]
    assert data["timeouts"] == {"idle_seconds": 60, "result_seconds": 20}
    assert {p["code"]: p["name_en"] for p in data["priorities"]}["elderly"] != ""
    assert all("name_en" in service for service in data["services"])
    assert data["hall"]["name_en"]
    # no checkbox: a priority is chosen by its category's button, or not at all
    assert 'type="checkbox"' not in page and 'class="priority" data-priority="elderly"' in page
    short = kiosk_data(text(web.get("/kiosk?idle=2&result=3")))
    assert short["timeouts"] == {"idle_seconds": 2, "result_seconds": 3}
    assert kiosk_data(text(web.get("/kiosk?idle=abc&result=0")))["timeouts"] == {"idle_seconds": 60,
                                                                                "result_seconds": 20}


def test_kiosk_starts_in_vietnamese_even_after_english_was_chosen(kiosk_app, tokens):
    web = kiosk_app().test_client()
    pair(web, tokens["kiosk"])
    web.get("/lay-so?lang=en")
    assert "Chạm vào dịch vụ bạn cần để lấy số thứ tự" in text(web.get("/kiosk"))


def test_a_priority_needs_a_real_category(kiosk_app, tokens):
    web = kiosk_app().test_client()
    token = pair(web, tokens["kiosk"])
    for wrong in ("", "  ", True, "vip"):
        assert post(web, token, "/kiosk/tickets", {"service": "HT", "priority": wrong}).status_code == 422
    answer = post(web, token, "/kiosk/tickets", {"service": "HT", "priority": "elderly", "print_later": True})
    assert answer.status_code == 201 and answer.get_json()["ticket"]["priority"] == "elderly"


# -- printing tells the truth ----------------------------------------------------------------

def test_number_at_once_then_the_printers_confirmation(kiosk_app, tokens):
    fake = FakeNetworkPrinter()
    try:
        app = kiosk_app(fake.spec)
        web = app.test_client()
        token = pair(web, tokens["kiosk"])
        issued = post(web, token, "/kiosk/tickets", {"service": "HT", "print_later": True}).get_json()
        assert issued["ticket"]["number"] == "1001" and issued["printed"] is None
        assert fake.jobs == []   # nothing printed yet: the page shows the number and "Printing…"
        assert issued["print"]["url"] == "/kiosk/in-phieu"
        printed = post(web, token, issued["print"]["url"], {"token": issued["print"]["token"]}).get_json()
        assert printed == {"printed": True, "print_error": None}
    finally:
        fake.close()
    assert len(fake.jobs) == 1 and fake.queries == [1, 2, 4, 1, 2, 4]


def test_a_printer_that_never_reads_is_doubt_and_an_alert_in_words(kiosk_app, dashboard, tokens, store):
    fake = FakeNetworkPrinter(reads=False)
    try:
        app = kiosk_app(fake.spec)
        web = app.test_client()
        supervisor = dashboard(app)
        token = pair(web, tokens["kiosk"])
        issued = post(web, token, "/kiosk/tickets", {"service": "HT", "print_later": True}).get_json()
        printed = post(web, token, issued["print"]["url"], {"token": issued["print"]["token"]}).get_json()
    finally:
        fake.close()
    assert printed["printed"] is False   # the page tells the citizen to note the number
    [alert] = alerts(supervisor)
    assert alert["kind"] == "device_fault" and alert["device"] == "printer"
    assert alert["message"] == f"Máy in kiosk không phản hồi (mạng 127.0.0.1:{fake.port}): kiểm tra giấy, nắp và cáp"
    assert store.db.execute("SELECT number FROM tickets").fetchall() == [("1001",)]


def test_a_refused_connection_alert_never_shows_an_errno(kiosk_app, dashboard, tokens):
    port = closed_port()
    app = kiosk_app(f"network:127.0.0.1:{port}")
    web = app.test_client()
    supervisor = dashboard(app)
    token = pair(web, tokens["kiosk"])
    body = post(web, token, "/kiosk/tickets", {"service": "HT"}).get_json()   # printed before answering
    assert body["printed"] is False and "Errno" in body["print_error"]         # the technician's detail
    [alert] = alerts(supervisor)
    assert "Errno" not in alert["message"]
    assert alert["message"] == (f"Máy kiosk không kết nối được máy in (mạng 127.0.0.1:{port}): "
                                "kiểm tra máy in đã bật và cáp")


def test_paper_running_low_prints_and_warns(kiosk_app, dashboard, tokens):
    fake = FakeNetworkPrinter({1: 0x12, 2: 0x12, 4: 0x1E})
    try:
        app = kiosk_app(fake.spec)
        web = app.test_client()
        supervisor = dashboard(app)
        token = pair(web, tokens["kiosk"])
        assert post(web, token, "/kiosk/tickets", {"service": "HT"}).get_json()["printed"] is True
    finally:
        fake.close()
    assert [a["message"] for a in alerts(supervisor)] == [
        f"Máy in kiosk sắp hết giấy (mạng 127.0.0.1:{fake.port}): chuẩn bị cuộn giấy mới"]


def test_print_tokens_are_checked(kiosk_app, tokens, tmp_path):
    app = kiosk_app(f"file:{tmp_path}/lp0")
    web = app.test_client()
    token = pair(web, tokens["kiosk"])
    issued = post(web, token, "/kiosk/tickets", {"service": "HT", "print_later": True}).get_json()
    assert post(web, token, "/kiosk/in-phieu", {"token": "forged"}).status_code == 422
    stranger = app.test_client()
    assert post(stranger, csrf(stranger, "/lay-so"), "/kiosk/in-phieu",
                {"token": issued["print"]["token"]}).status_code == 401
    assert post(web, token, "/kiosk/in-phieu", {"token": issued["print"]["token"]}).get_json()["printed"] is True
    assert (tmp_path / "lp0").read_bytes().startswith(b"\x1b@")


def test_without_a_printer_nothing_to_wait_for(kiosk_app, tokens):
    web = kiosk_app().test_client()
    token = pair(web, tokens["kiosk"])
    body = post(web, token, "/kiosk/tickets", {"service": "HT", "print_later": True}).get_json()
    assert body["print"] is None and body["printed"] is None and body["print_error"] is None


def test_a_printer_out_of_paper_alerts_the_supervisor_once_and_every_number_stands(kiosk_app, dashboard, tokens,
                                                                                    store):
    fake = FakeNetworkPrinter({1: 0x1A, 2: 0x32, 4: 0x72})   # out of paper
    try:
        app = kiosk_app(fake.spec)
        web = app.test_client()
        supervisor = dashboard(app)
        token = pair(web, tokens["kiosk"])
        out_of_paper = [post(web, token, "/kiosk/tickets", {"service": "HT"}).get_json() for _ in range(3)]
        fake.status = {1: 0x12, 2: 0x12, 4: 0x12}              # a new roll
        refilled = post(web, token, "/kiosk/tickets", {"service": "HT"}).get_json()
        fake.status = {1: 0x1A, 2: 0x32, 4: 0x72}              # out again: a new fault
        again = post(web, token, "/kiosk/tickets", {"service": "HT"}).get_json()
    finally:
        fake.close()
    for body in [*out_of_paper, again]:   # each kiosk says so, beside its number
        assert body["printed"] is False and "hết giấy" in body["print_error"]
    assert refilled["printed"] is True
    out = f"Máy in kiosk hết giấy (mạng 127.0.0.1:{fake.port}): thay cuộn giấy"
    assert [a["message"] for a in alerts(supervisor)] == [out, out]   # the first ticket, then after the refill
    snapshot = app.extensions["hall"].read(dashboard_snapshot)
    assert [a["message"].split("Máy in phiếu: ")[1] for a in snapshot["alerts"]
            if a["kind"] == "device_fault"] == [out, out]
    numbers = [body["ticket"]["number"] for body in [*out_of_paper, refilled, again]]
    assert numbers == ["1001", "1002", "1003", "1004", "1005"]
    assert store.db.execute("SELECT number FROM tickets WHERE status = 'waiting' ORDER BY number").fetchall() == [
        (number,) for number in numbers]
