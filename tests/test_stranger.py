"""The hub used as a stranger would: what people in the hall and on the internet send that
the other tests did not. Each test is a defect found that way, through public interfaces."""

import re
import unicodedata

import pytest

from hallserver.core import normalise_phone
from hallserver.errors import Conflict
from hallserver.hall import Hall
from hallserver.services import supervision
from hallserver.store import open_store
from tests.helpers import PHONE, bearer, csrf, make_token, shown_text


@pytest.fixture
def web(web_app):
    return web_app.test_client()


# -- pages answer in Vietnamese, whatever goes wrong --------------------------------------------

@pytest.mark.parametrize("method, path, body", [
    ("get", "/khong-co-trang-nay", None),          # a mistyped address
    ("get", "/t/", None),                          # a tracking link cut short
    ("get", "/counter/abc", None),                 # not a counter number
    ("delete", "/lay-so", None),                   # a method the page has not
    ("post", "/t/abc/danh-gia", "x" * 20000),      # a comment longer than any body the hub takes
])
def test_pages_never_answer_with_werkzeugs_english_error(web, method, path, body):
    answer = getattr(web, method)(path, data={"comment": body} if body else None)
    assert answer.status_code in (404, 405, 413)
    page = shown_text(answer)
    assert 'lang="vi"' in page and 'role="alert"' in page
    assert "The requested URL was not found" not in page and "Method Not Allowed" not in page
    assert "Request Entity Too Large" not in page
    if answer.status_code == 405:
        assert "POST" in answer.headers["Allow"]


def test_an_unknown_address_leads_a_citizen_back(web, web_app):
    page = shown_text(web.get("/dat-lich-cu"))
    assert "Không tìm thấy" in page and "/thu-tuc" in page and web_app.extensions["hall"].config.hotline in page


# -- phone numbers as people paste them ----------------------------------------------------------

@pytest.mark.parametrize("typed", [
    "\u202a0912 345 678\u202c",        # copied from a phone's contacts: wrapped in direction marks
    "0912\u200b345\u200b678",          # zero-width spaces from a chat message
    "\ufeff0912345678",                # a byte order mark from a pasted file
    "+84 (0) 912 345 678",             # the trunk 0 kept after the country code
    "0084 912 345 678",                # the international prefix dialled from abroad
])
def test_a_pasted_phone_number_is_the_same_phone(web, typed):
    assert normalise_phone(typed) == PHONE
    taken = web.post("/lay-so", data={"service": "HT", "phone": typed, "csrf_token": csrf(web, "/lay-so")})
    assert taken.status_code == 302 and "/t/" in taken.headers["Location"]


def test_a_wrong_phone_is_quoted_short(web):
    refused = web.post("/lay-so", data={"service": "HT", "phone": "0" * 5000, "csrf_token": csrf(web, "/lay-so")})
    assert refused.status_code == 422
    alert = re.search(r'role="alert">([^<]*)<', shown_text(refused)).group(1)
    assert alert == "Số điện thoại không hợp lệ: " + "0" * 20 + "…"


# -- bookings imported from elsewhere -------------------------------------------------------------

IMPORTED = "service,slot,name,phone\nHT,2026-11-26T14:00,Nguyễn Thị Hoa,0912345678\n"


def _import(web, admin, body, content_type="text/csv"):
    return web.post("/api/v1/bookings/import", data=body, headers={**bearer(admin), "Content-Type": content_type})


def test_a_csv_not_in_utf8_is_refused_not_imported_garbled(web, web_app):
    store = web_app.extensions["hall"].store
    admin, supervisor = make_token(store, "admin"), make_token(store, "supervisor")
    # Excel's plain "CSV" on Vietnamese Windows: code page 1258, tones as combining marks
    windows = IMPORTED.replace("ễ", "ê\u0303").replace("ị", "i\u0323").encode("cp1258")
    refused = _import(web, admin, windows)
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "malformed_import"
    assert "UTF-8" in refused.get_json()["error"]["message"]
    listed = web.get("/api/v1/bookings?day=2026-11-26", headers=bearer(supervisor)).get_json()["bookings"]
    assert listed == []
    # the same file with its charset named is read in it; UTF-8 as before
    assert _import(web, admin, windows, "text/csv; charset=cp1258").get_json()["rejected"] == []
    assert _import(web, admin, IMPORTED.replace("0912345678", "0912345679").encode()).get_json()["rejected"] == []
    names = {row["name"] for row in web.get("/api/v1/bookings?day=2026-11-26", headers=bearer(supervisor))
             .get_json()["bookings"]}
    assert {unicodedata.normalize("NFC", name) for name in names} == {"Nguyễn Thị Hoa"}
    unknown = _import(web, admin, IMPORTED.encode(), "text/csv; charset=klingon")
    assert unknown.status_code == 422 and unknown.get_json()["error"]["code"] == "malformed_import"


# -- a number typed at the counter ----------------------------------------------------------------

@pytest.mark.parametrize("typed", ["b001", " B001 ", "B００１"])
def test_a_number_is_called_as_staff_type_it(small_hall, typed):
    """The screen shows B001; staff type it at the counter's "call number" box in lower case,
    with a space, or with a Vietnamese IME's full-width digits: the same ticket."""
    issued = small_hall.issue_ticket("CT")
    assert issued["number"] == "B001"
    called = small_hall.counter_action(3, "call", number=typed)
    assert called["ticket"]["number"] == "B001" and called["ticket"]["status"] == "called"
    with pytest.raises(Conflict) as again:
        small_hall.counter_action(3, "call", number=typed)
    assert again.value.code == "not_waiting" and "B001" in again.value.message


# -- a repeated request_id, when the repeat reaches another hub process first ---------------------

def test_a_repeat_answered_by_another_process_is_everyones_answer(small_hall, clock):
    """Process A has committed a call-next and not yet stored its answer when the keypad's
    retry reaches process B (another hub on the same file): B builds and stores the answer,
    and A gives that same answer. The citizen is called once."""
    other = Hall(open_store(small_hall.store.path), clock=clock)
    small_hall.issue_ticket("HT")
    small_hall.issue_ticket("HT")
    repeats = []

    def retry_elsewhere(events, db, config, now):
        if not repeats and any(event.type == "called" for event in events):
            clock.advance(3)   # B's answer is built later: it shows 3 s at the counter, A's would show 0
            repeats.append(other.counter_action(1, "call-next", request_id="press-7"))
    small_hall.subscribe(retry_elsewhere)
    try:
        first = small_hall.counter_action(1, "call-next", request_id="press-7")
    finally:
        other.store.close()
    assert repeats == [first] and first["ticket"]["number"] == "1001"
    assert small_hall.counter_action(1, "call-next", request_id="press-7") == first
    state = small_hall.state()
    assert [service["waiting"] for service in state["services"] if service["code"] == "HT"] == [1]
    assert [call["number"] for call in state["recent_calls"]] == ["1001"]


# -- made-up screens ----------------------------------------------------------------------------

def _screen_socket(app):
    from hallserver.web.extensions import socketio as hub_socketio

    socket = hub_socketio.test_client(app)
    assert socket.emit("join", {"room": "display"}, callback=True)["ok"]
    return socket


def _report(socket, screen):
    return socket.emit("screen_status", {"screen": screen, "kind": "browser", "sound": "blocked",
                                         "last_announcement": None}, callback=True)


def test_anyone_cannot_fill_the_dashboard_with_made_up_screens(app):
    """The display room is public (browser screens are not paired): a script that joins it used
    to add a screen, and a "no sound" alert, for every id it made up (3,000 in 1.5 s of CPU: a
    2.3 MB dashboard). One address keeps at most 16; a screen back with a fresh id after its
    old one disconnected takes the old one's place."""
    hall = app.extensions["hall"]
    flood = _screen_socket(app)
    answers = [_report(flood, f"fake-{index}") for index in range(40)]
    assert all(answer["ok"] for answer in answers[:16])
    assert {answer["error"]["code"] for answer in answers[16:]} == {"too_many_screens"}
    snapshot = hall.read(supervision.dashboard_snapshot)
    assert len(snapshot["screens"]) == 16
    assert len([alert for alert in snapshot["alerts"] if alert["kind"] == "screen_sound"]) == 16
    assert _report(flood, "fake-3")["ok"]          # a known screen goes on reporting
    flood.disconnect()
    rebooted = _screen_socket(app)
    assert _report(rebooted, "tv-after-reboot")["ok"]
    listed = [screen["id"] for screen in hall.read(supervision.dashboard_snapshot)["screens"]]
    assert len(listed) == 16 and "tv-after-reboot" in listed
    rebooted.disconnect()
