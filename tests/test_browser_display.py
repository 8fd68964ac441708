"""The browser hall screen (/display) in real headless Chromium against a hub on loopback:
what a citizen reads from 10 m at 1920×1080, 1280×720 and 1080×1920 portrait, the
disconnect banner, sound without a touch when Chromium runs as the kiosk launcher starts it,
calls missed in a short cut said once, and the screen's health reaching the hub."""

import json
import os
import re
import subprocess
import time
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest

from hallserver import create_app
from hallserver.hall import Hall
from hallserver.store import open_store
from tests.helpers import (
    CT,
    HT,
    ROOT,
    Clock,
    DashboardClient,
    HubProcess,
    bearer,
    device_token,
    init_hall,
    screenshot,
    serve_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.hub]

HALL_ZONE = "Asia/Ho_Chi_Minh"
BROWSER_ZONE = "America/Los_Angeles"   # the TV's own zone is not the hall's
LAUNCHER = ROOT / "deploy" / "hall-screen-browser.sh"
SCREEN_NAME = "Sảnh tầng 1"
NOTICE = "Nộp hồ sơ trực tuyến tại dichvucong.gov.vn"


@pytest.fixture
def hall_hub(request, tmp_path):
    """Four counters, two services, back-to-back calls allowed; tokens for every counter.
    Parametrized indirectly, its parameter is the hall's ``[announcement]`` table."""
    extra = {"announcement": request.param} if hasattr(request, "param") else {}
    db = init_hall(tmp_path, hall={"name": "UBND xã Thử Nghiệm", "timezone": HALL_ZONE, "hotline": "0210 3 888 999",
                                   "notices": [NOTICE]},
                   policy={"repeat_guard_seconds": 0, "confirm_arrival_seconds": 0},
                   services=[dict(HT, name_en="Civil status"), dict(CT, name_en="Certification")],
                   counters=[{"number": n, "services": ["HT", "CT"]} for n in (1, 2, 3, 4)], **extra)
    hub = HubProcess(db)
    hub.kiosk = device_token(db, "kiosk")
    hub.counters = {n: device_token(db, "counter", n) for n in (1, 2, 3, 4)}
    hub.supervisor = device_token(db, "supervisor")
    hub.start()
    yield hub
    hub.stop()


def issue(hub, count, service="HT"):
    for _ in range(count):
        assert hub.post("/api/v1/tickets", hub.kiosk, {"service": service}).status_code == 201


def call(hub, counter, action="call-next"):
    """The counter finishes its citizen (if any) and calls the next; the called number."""
    if action == "call-next":
        hub.post(f"/api/v1/counters/{counter}/done", hub.counters[counter])
    answer = hub.post(f"/api/v1/counters/{counter}/{action}", hub.counters[counter])
    assert answer.status_code == 200, answer.text
    return answer.json()["ticket"]["number"]


def hall_clock_now():
    return datetime.now(ZoneInfo(HALL_ZONE))


def shot(page, name):
    """Keep the screen as a hall TV shows it (the viewport) under /tmp, and as a test artifact."""
    page.screenshot(path=f"/tmp/{name}.png")
    screenshot(page, name)


def font_px(page, selector):
    """The smallest computed font size (px) of the elements matching ``selector``."""
    return page.eval_on_selector_all(selector, "elements => Math.min(...elements.map("
                                               "element => parseFloat(getComputedStyle(element).fontSize)))")


def box(page, selector):
    return page.locator(selector).bounding_box()


def overlap(a, b):
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and \
        a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def fits_viewport(page):
    """Nothing spills out of the screen: no scrolling, every part inside the viewport."""
    return page.evaluate("""() => {
      const root = document.scrollingElement;
      const inside = [...document.querySelectorAll('body > header, body > section, body > footer')]
        .every(e => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight + 1
                                                                  && r.left >= 0 && r.right <= innerWidth + 1; });
      return inside && root.scrollHeight <= innerHeight + 1 && root.scrollWidth <= innerWidth + 1;
    }""")


def launcher_command(hub, home):
    """What deploy/hall-screen-browser.sh would run for this hub: (Chromium flags, page URL).
    It waits until the hub answers, so this also shows it reaches the hub."""
    environment = dict(os.environ, HOME=str(home), HALL_HUB=hub.url, HALL_SCREEN_NAME=SCREEN_NAME,
                       HALL_CHROMIUM="/usr/bin/chromium")
    environment.pop("XDG_CONFIG_HOME", None)
    printed = subprocess.run(["sh", str(LAUNCHER), "--print"], env=environment, capture_output=True, text=True,
                             timeout=60, check=True).stdout.split()
    assert printed[0] == "/usr/bin/chromium"
    return printed[1:-1], printed[-1]


class SentFrames:
    """The Socket.IO events a page sends, read from its websocket frames (the browser's own
    wire, not a Python client): ``events("screen_status")`` → their payloads, in order."""

    FRAME = re.compile(r"^42\d*(\[.*\])$", re.S)

    def __init__(self, page):
        self.page = page
        self.frames = []
        page.on("websocket", lambda socket: socket.on("framesent", lambda frame: self.frames.append(frame)))

    def wait_for(self, name, predicate=lambda payload: True, after=0, timeout=20):
        """The first ``name`` event sent after the first ``after`` ones for which ``predicate`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            found = [payload for payload in self.events(name)[after:] if predicate(payload)]
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"the page sent no such {name}: {self.events(name)}")
            self.page.wait_for_timeout(100)   # lets Playwright deliver the frames

    def events(self, name):
        found = []
        for frame in list(self.frames):
            match = self.FRAME.match(frame if isinstance(frame, str) else "")
            if match:
                event, *payload = json.loads(match.group(1))
                if event == name:
                    found.append(payload[0] if payload else None)
        return found


@pytest.fixture
def kiosk_chromium(hall_hub, launch_chromium, tmp_path):
    """Chromium started with the flags deploy/hall-screen-browser.sh gives it (its profile aside:
    Playwright keeps its own); ``.launcher_url`` is the page the launcher opens."""
    flags, url = launcher_command(hall_hub, tmp_path)
    assert "--kiosk" in flags and "--autoplay-policy=no-user-gesture-required" in flags
    kiosk = launch_chromium(*(flag for flag in flags if not flag.startswith("--user-data-dir=")))
    kiosk.launcher_url = url
    return kiosk


def open_screen(browser, url, sound, width=1920, height=1080):
    """``url`` on a new page of ``browser``, online with this sound state: (page, its sent frames).
    The "Bấm để bật âm thanh" gate shows exactly when sound is blocked."""
    page = browser.new_page(viewport={"width": width, "height": height})
    sent = SentFrames(page)
    page.goto(url)
    page.wait_for_selector(f"body[data-connection=online][data-sound={sound}]")
    assert page.locator("#sound-gate").is_visible() == (sound == "blocked")
    return page, sent


def listed(dashboard, predicate, timeout=30):
    """The first screen on the hub's dashboard for which ``predicate`` holds (fresh snapshots until one does)."""
    snapshot = dashboard.until(lambda snapshot: any(predicate(screen) for screen in snapshot["screens"]), timeout)
    return next(screen for screen in snapshot["screens"] if predicate(screen))


def test_a_hall_tv_at_1080p_shows_calls_counters_waits_and_the_hall_clock(hall_hub, open_page):
    hub = hall_hub
    issue(hub, 10)
    issue(hub, 2, "CT")
    numbers = [call(hub, counter) for counter in (1, 2, 3, 4, 1, 2, 3)]
    assert numbers == ["1001", "1002", "1003", "1004", "1005", "1006", "1007"]
    assert call(hub, 2, "recall") == "1006"
    hub.post("/api/v1/counters/4/pause", hub.counters[4])
    tv = open_page(viewport={"width": 1920, "height": 1080}, timezone_id=BROWSER_ZONE)
    tv.goto(f"{hub.url}/display")
    tv.wait_for_selector("body[data-connection=online]")

    # the last call is a recall, and says so
    assert tv.inner_text("#call-number") == "1006"
    assert re.sub(r"\s+", " ", tv.inner_text("#call-label")) == "MỜI LẠI · Recall"
    assert "Quầy 2" in tv.inner_text("#call-counter")
    # the five calls before it, newest first, each with its counter (a recall replaces its first call)
    recent = tv.locator("#recent li")
    assert recent.locator(".number").all_inner_texts() == ["1007", "1005", "1004", "1003", "1002"]
    assert recent.locator(".where").all_inner_texts() == ["→ Quầy 3", "→ Quầy 1", "→ Quầy 4", "→ Quầy 3",
                                                          "→ Quầy 2"]
    # every counter with its number; the paused one says so
    assert tv.locator("#counters tr td.number").all_inner_texts()[:3] == ["1005", "1006", "1007"]
    assert "Tạm nghỉ" in tv.inner_text("#counters tr[data-counter='4']")
    assert "1004" in tv.inner_text("#counters tr[data-counter='4'] td.number")
    # readable from 10 m: counter names, their numbers and the recent numbers at least 64 px
    assert font_px(tv, "#counters td.name") >= 64
    assert font_px(tv, "#counters td.number:not(.paused)") >= 64
    assert font_px(tv, "#recent .number") >= 64
    assert font_px(tv, "#call-number") >= 200
    # waiting per service, with the expected wait; the ticker
    waiting = tv.locator("#services li[data-service=HT]")
    assert waiting.locator(".count").inner_text() == "3"
    assert re.fullmatch(r"≈ \d+ phút|\d+–\d+ phút", waiting.locator(".eta").inner_text())
    assert "Hotline: 0210 3 888 999" in tv.inner_text("#ticker") and NOTICE in tv.inner_text("#ticker")
    # the date and clock are the hall's, not the TV's time zone
    before = hall_clock_now()
    clock, date = tv.inner_text("#clock"), tv.inner_text("#date")
    after = hall_clock_now()
    assert clock in {before.strftime("%H:%M"), after.strftime("%H:%M")}
    weekdays = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
    assert date in {f"{weekdays[moment.weekday()]}, {moment:%d/%m/%Y}" for moment in (before, after)}
    assert fits_viewport(tv)
    shot(tv, "display-1920x1080")

    # a new call: big, highlighted, its counter's row too
    assert call(hub, 1) == "1008"
    tv.wait_for_selector("#call.fresh #call-number:text-is('1008')")
    assert re.sub(r"\s+", " ", tv.inner_text("#call-label")) == "ĐANG MỜI · Now calling"
    assert tv.locator("#counters tr.hot").get_attribute("data-counter") == "1"
    assert tv.locator("#recent .number").all_inner_texts()[0] == "1006"
    shot(tv, "display-1920x1080-calling")

    # the hub goes away: a banner, but the hall's name and clock stay readable, nothing stays highlighted
    hub.stop()
    tv.wait_for_selector("#offline:visible")
    banner = box(tv, "#offline")
    for part in ("#hall-name", "#clock", "#date"):
        assert not overlap(banner, box(tv, part)), part
    tv.wait_for_selector("#call:not(.fresh)")
    assert tv.locator("#counters tr.hot").count() == 0
    assert float(tv.evaluate("getComputedStyle(document.getElementById('call')).opacity")) < 1
    shot(tv, "display-1920x1080-offline")
    # back: the banner goes, the board is whole again
    hub.start()
    tv.wait_for_selector("#offline", state="hidden", timeout=20000)
    assert tv.inner_text("#call-number") == "1008"


@pytest.mark.parametrize("width, height", [(1080, 1920), (1280, 720)])
def test_portrait_and_720p_fit_the_screen(hall_hub, open_page, width, height):
    hub = hall_hub
    issue(hub, 8)
    for counter in (1, 2, 3, 4, 1, 2, 3):
        call(hub, counter)
    tv = open_page(viewport={"width": width, "height": height}, timezone_id=BROWSER_ZONE)
    tv.goto(f"{hub.url}/display")
    tv.wait_for_selector("body[data-connection=online]")
    assert tv.locator("#recent li").count() == 5
    assert tv.locator("#counters tr").count() == 4
    assert fits_viewport(tv)
    # the same proportions as 64 px on 1080 lines: 64 px on a 1080-wide portrait screen, 42 px at 720p
    smallest = 64 * min(width, height) / 1080
    for selector in ("#counters td.name", "#counters td.number", "#recent .number"):
        assert font_px(tv, selector) >= smallest - 0.5, selector
    call_box, recent_box, counters_box = box(tv, "#call"), box(tv, "#recent-strip"), box(tv, ".board-counters")
    if height > width:   # portrait: one column, now calling on top, then the recent calls, then the counters
        assert call_box["y"] + call_box["height"] <= recent_box["y"] <= counters_box["y"]
        assert call_box["width"] > width * 0.9 and counters_box["width"] > width * 0.9
    else:                # landscape: now calling beside the counters
        assert call_box["x"] + call_box["width"] <= counters_box["x"]
    shot(tv, f"display-{width}x{height}")


def test_the_kiosk_launcher_s_chromium_speaks_without_a_touch_and_reports_to_the_hub(
        hall_hub, kiosk_chromium, browser):
    hub = hall_hub
    assert kiosk_chromium.launcher_url == f"{hub.url}/display?name={quote(SCREEN_NAME)}"
    supervisor = DashboardClient(hub.url, hub.supervisor)
    try:
        tv, sent = open_screen(kiosk_chromium, kiosk_chromium.launcher_url, "ok")
        # it tells the hub at once, by the protocol, and the hub takes it
        first = sent.wait_for("screen_status")
        tv.wait_for_function("() => document.body.dataset.health === 'ok'")
        assert first["kind"] == "browser" and first["name"] == SCREEN_NAME and first["sound"] == "ok"
        assert first["last_announcement"] is None and re.fullmatch(r"browser-[0-9a-f]{16}", first["screen"])
        screen = listed(supervisor, lambda screen: screen["id"] == first["screen"])
        assert (screen["name"], screen["kind"], screen["sound"], screen["connected"]) == (
            SCREEN_NAME, "browser", "ok", True)

        # a call is announced from the pack, and the hub hears that it was played
        issue(hub, 1)
        number = call(hub, 1)
        tv.wait_for_selector(f"#call-number:text-is('{number}')")
        call_id = tv.get_attribute("#call", "data-call-id")
        tv.wait_for_selector(f"body[data-last-announcement='{call_id}']", timeout=30000)
        played = sent.wait_for("screen_status", lambda status: status["last_announcement"])["last_announcement"]
        assert played["call_id"] == call_id and abs(played["played_at"] - time.time()) < 120
        assert tv.evaluate("performance.getEntriesByType('resource').filter(e => e.name.endsWith('/sounds/chime.wav'))"
                           ".length") == 1
        screen = listed(supervisor, lambda screen: screen["id"] == first["screen"] and screen["last_announcement"]
                        and screen["last_announcement"]["call_id"] == call_id)
        assert screen["last_announcement"]["number"] == number

        # the same screen after a reload (a power cut): the same id
        reports = len(sent.events("screen_status"))
        tv.reload()
        tv.wait_for_function("() => document.body.dataset.health === 'ok'")   # the new page reported
        assert sent.wait_for("screen_status", after=reports)["screen"] == first["screen"]
        assert {status["screen"] for status in sent.events("screen_status")} == {first["screen"]}
    finally:
        supervisor.close()

    # Chromium as a browser starts it (no flag): sound is refused, the gate shows, the hub is told
    plain, plain_sent = open_screen(browser, f"{hub.url}/display?name=TV%20ph%C3%B2ng%20ch%E1%BB%9D", "blocked")
    assert plain_sent.wait_for("screen_status")["sound"] == "blocked"
    assert plain_sent.events("screen_status")[0]["name"] == "TV phòng chờ"
    shot(plain, "display-1920x1080-sound-gate")
    # one touch: sound works, the gate goes, the hub is told at once
    plain.click("#sound-gate")
    plain.wait_for_selector("body[data-sound=ok]")
    assert plain.locator("#sound-gate").is_hidden()
    plain_sent.wait_for("screen_status", lambda status: status["sound"] == "ok")
    plain.close()

    # a screen whose sound is turned off says so
    silent, silent_sent = open_screen(browser, f"{hub.url}/display?sound=off&counters=1-2", "off", 1280, 720)
    report = silent_sent.wait_for("screen_status")
    assert report["sound"] == "off" and report["counters"] == [1, 2] and "name" not in report
    silent.close()


def cut_off_while_two_calls_are_made(hub, tv):
    """The hub stops; while it is down two calls are made on its database, one a minute ago by
    the hall's clock and one just now; it starts again and the screen is back online.
    The two numbers: (a minute ago, just now)."""
    hub.stop()
    tv.wait_for_selector("#offline:visible")
    store = open_store(hub.db)
    try:
        old = Hall(store, clock=Clock(datetime.fromtimestamp(time.time() - 60))).counter_action(2, "call-next")
        fresh = Hall(store).counter_action(3, "call-next")
    finally:
        store.close()
    hub.start()
    tv.wait_for_selector("#offline", state="hidden", timeout=20000)
    return old["ticket"]["number"], fresh["ticket"]["number"]


# Each call said once (not the default twice): what is tested is which calls are said, and half
# as long a wait for each.
@pytest.mark.parametrize("hall_hub", [{"repeat": "once"}], indirect=True)
def test_calls_missed_in_a_short_cut_are_said_once_older_ones_only_shown(hall_hub, kiosk_chromium):
    hub = hall_hub
    issue(hub, 4)
    call(hub, 1)
    tv, sent = open_screen(kiosk_chromium, f"{hub.url}/display", "ok")
    old_number, fresh_number = cut_off_while_two_calls_are_made(hub, tv)   # 60 s ago is too old to say

    # back: the fresh call is announced (once) and shown large; the old one only listed
    tv.wait_for_selector(f"#call.fresh #call-number:text-is('{fresh_number}')")
    fresh_id = tv.get_attribute("#call", "data-call-id")
    tv.wait_for_selector(f"body[data-last-announcement='{fresh_id}']", timeout=30000)
    assert old_number in tv.locator("#recent .number").all_inner_texts()
    said = [status["last_announcement"]["call_id"] for status in sent.events("screen_status")
            if status["last_announcement"]]
    assert set(said) == {fresh_id}
    # a later snapshot (another reconnect) does not say it again: the screen joined and reported
    # (after the snapshot, which would have started the announcement) and nothing is being called
    reports = len(sent.events("screen_status"))
    hub.stop()
    tv.wait_for_selector("#offline:visible")
    hub.start()
    tv.wait_for_selector("#offline", state="hidden", timeout=20000)
    sent.wait_for("screen_status", after=reports)
    assert tv.locator("#call.fresh").count() == 0 and tv.inner_text("#call-number") == fresh_number
    played = [status["last_announcement"] for status in sent.events("screen_status") if status["last_announcement"]]
    # every report names the one announcement, played once (one time of play)
    assert {announcement["call_id"] for announcement in played} == {fresh_id}
    assert len({announcement["played_at"] for announcement in played}) == 1


@pytest.mark.parametrize("hall_hub", [{"catchup_seconds": 90, "repeat": "once"}], indirect=True)
def test_a_hall_with_a_longer_catch_up_says_every_missed_call_oldest_first(hall_hub, kiosk_chromium):
    hub = hall_hub
    issue(hub, 4)
    call(hub, 1)
    tv, sent = open_screen(kiosk_chromium, f"{hub.url}/display", "ok")
    old_number, fresh_number = cut_off_while_two_calls_are_made(hub, tv)
    ids = {entry["number"]: entry["call_id"] for entry in hub.get("/api/v1/state").json()["recent_calls"]}
    sent.wait_for("screen_status", lambda status: (status["last_announcement"] or {}).get("call_id")
                  == ids[fresh_number], timeout=60)
    said = [status["last_announcement"]["call_id"] for status in sent.events("screen_status")
            if status["last_announcement"]]
    assert [call_id for index, call_id in enumerate(said) if index == 0 or said[index - 1] != call_id] == [
        ids[old_number], ids[fresh_number]]


def test_a_screen_whose_voice_pack_cannot_load_says_its_sound_failed(hall_hub, kiosk_chromium, tmp_path,
                                                                       monkeypatch):
    hub = hall_hub
    empty = tmp_path / "no-pack"
    empty.mkdir()
    hub.stop()
    monkeypatch.setenv("HALL_SOUNDS_DIR", str(empty))   # the hub serves no manifest and no clip
    hub.start()
    tv, sent = open_screen(kiosk_chromium, f"{hub.url}/display?name=TV", "failed")   # no gate: a touch would not help
    assert sent.wait_for("screen_status", lambda status: status["sound"] == "failed")["name"] == "TV"
    # calls are still shown
    issue(hub, 1)
    number = call(hub, 1)
    tv.wait_for_selector(f"#call-number:text-is('{number}')")
    supervisor = DashboardClient(hub.url, hub.supervisor)
    try:
        screen = listed(supervisor, lambda screen: screen["name"] == "TV")
        assert (screen["sound"], screen["state"]) == ("failed", "no_sound")
    finally:
        supervisor.close()


def test_past_the_halls_midnight_the_board_drops_yesterdays_calls(browser, tmp_path):
    """A hub on the hall's clock (held by the test), served on loopback; the day's last citizen
    was served, so nothing is left to expire and the hub pushes nothing at midnight. The page,
    open since 23:59:52, crosses midnight on the hub's clock and joins again: yesterday's 1001
    leaves the board before today's 1001 is called (it stayed on the big panel overnight)."""
    db = init_hall(tmp_path, hall={"name": "UBND xã Thử Nghiệm", "timezone": HALL_ZONE})
    clock = Clock(datetime(2026, 11, 26, 23, 59, 52, tzinfo=ZoneInfo(HALL_ZONE)))
    kiosk, counter = bearer(device_token(db, "kiosk")), bearer(device_token(db, "counter", 1))
    hub = create_app({"db": str(db), "async_mode": "threading"}, clock=clock)
    server = serve_app(hub)
    web = hub.test_client()
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    try:
        assert web.post("/api/v1/tickets", json={"service": "HT"}, headers=kiosk).status_code == 201
        assert web.post("/api/v1/counters/1/call-next", headers=counter).get_json()["ticket"]["number"] == "1001"
        assert web.post("/api/v1/counters/1/done", headers=counter).status_code == 200
        page.goto(f"{server.url}/display?sound=off")
        page.wait_for_selector("body[data-connection=online]")
        board = "$('#call-number').textContent + ' ' + $('#recent').textContent".replace("$", "document.querySelector")
        assert "1001" in page.evaluate(board)

        clock.set(datetime(2026, 11, 27, 0, 0, 5, tzinfo=ZoneInfo(HALL_ZONE)))
        deadline = time.monotonic() + 20
        while "27/11/2026" not in page.text_content("#date") or "1001" in page.evaluate(board):
            assert time.monotonic() < deadline, f"still {page.evaluate(board)!r} on {page.text_content('#date')}"
            page.wait_for_timeout(200)
        assert page.locator("body").get_attribute("data-connection") == "online"
    finally:
        page.close()
        server.shutdown()
        hub.extensions["hall"].store.close()


LONG_COUNTER_NAMES = {1: "Tiếp nhận và trả kết quả hộ tịch", 2: "Tiếp nhận và trả kết quả đất đai",
                      3: "Chính sách xã hội, bảo trợ", 4: "Đăng ký kinh doanh hộ cá thể"}


def counter_row_problems(page):
    """Counters whose name and number are not both wholly readable: each row's counter line
    clipped or cut with an ellipsis, or its name under its called number."""
    return page.evaluate("""() => [...document.querySelectorAll('#counters tr')].flatMap(row => {
      const name = row.querySelector('td.name'), number = row.querySelector('td.number');
      const label = name.firstChild, a = name.getBoundingClientRect(), b = number.getBoundingClientRect();
      const range = document.createRange(); range.selectNodeContents(label);
      const line = range.getBoundingClientRect();
      const problems = [];
      const whole = line.right <= a.right + 1 && a.right <= b.left + 1;
      if (!whole) problems.push(`${row.dataset.counter}: ${name.textContent}`);
      return problems;
    })""")


def test_twelve_counters_with_long_names_still_say_which_counter(tmp_path, open_page):
    """A hall whose counters are named after what they do ("Quầy 12 - Tiếp nhận và trả kết quả
    hộ tịch"): from 10 m every row, every recent call and the big call say 'Quầy N' whole, as the
    voice does; the long name is the smaller line under it. At 1920×1080, 1366×768 and portrait."""
    counters = [{"number": n, "name": f"Quầy {n} - {LONG_COUNTER_NAMES[n % 4 + 1]}", "services": ["HT"]}
                for n in range(1, 13)]
    db = init_hall(tmp_path, hall={"name": "Trung tâm Phục vụ hành chính công xã Tân Lập", "timezone": HALL_ZONE},
                   policy={"repeat_guard_seconds": 0, "confirm_arrival_seconds": 0},
                   services=[dict(HT, name_en="Civil status")], counters=counters)
    hub = HubProcess(db)
    hub.kiosk = device_token(db, "kiosk")
    hub.counters = {n: device_token(db, "counter", n) for n in range(1, 13)}
    hub.start()
    try:
        issue(hub, 14)
        assert [call(hub, n) for n in range(1, 13)][-1] == "1012"
        for width, height in ((1920, 1080), (1366, 768), (1080, 1920)):
            tv = open_page(viewport={"width": width, "height": height})
            tv.goto(f"{hub.url}/display?sound=off")
            tv.wait_for_selector("body[data-connection=online]")
            assert tv.locator("#counters tr").count() == 12
            assert counter_row_problems(tv) == [], (width, height)
            assert tv.locator("#recent .where").all_inner_texts() == ["→ Quầy 11", "→ Quầy 10", "→ Quầy 9",
                                                                       "→ Quầy 8", "→ Quầy 7"]
            assert tv.evaluate("[...document.querySelectorAll('#recent .where')]"
                               ".every(where => where.scrollWidth <= where.clientWidth)")
            big = tv.locator("#call-counter")
            assert big.inner_text().startswith("→ Quầy 12\n")
            assert "Tiếp nhận và trả kết quả hộ tịch" in big.inner_text()
            panel, said = box(tv, "#call"), box(tv, "#call-counter")
            assert said["y"] + said["height"] <= panel["y"] + panel["height"] + 1
            assert font_px(tv, "#counters td.name") >= 64 * min(width, height) / 1080 - 0.5
            assert fits_viewport(tv)
            shot(tv, f"display-{width}x{height}-long-counter-names")
            tv.close()
    finally:
        hub.stop()


def said_call_ids(sent):
    """The call ids the screen reported as played to the end, each once, in the order said."""
    said = [status["last_announcement"]["call_id"] for status in sent.events("screen_status")
            if status["last_announcement"]]
    return [call_id for index, call_id in enumerate(said) if index == 0 or said[index - 1] != call_id]


@pytest.mark.parametrize("hall_hub", [{"repeat": "once"}], indirect=True)
def test_a_call_undone_while_the_screen_is_still_speaking_is_neither_said_nor_shown(hall_hub, kiosk_chromium):
    """Counter 2 presses Enter by mistake while the screen is still saying counter 1's call, and
    undoes it at once: 1002 was waiting its turn to be said. It must not be said afterwards, nor
    sit on the big panel sending citizen 1002 to a counter that is not calling them."""
    hub = hall_hub
    issue(hub, 3)
    tv, sent = open_screen(kiosk_chromium, f"{hub.url}/display", "ok")
    held = []   # the chime of the first call, held back: the screen is still on its first announcement
    tv.route("**/sounds/chime.wav", lambda route: held.append(route) if not held else route.continue_())
    assert call(hub, 1) == "1001"
    tv.wait_for_selector("#call.fresh #call-number:text-is('1001')")
    first_id = tv.get_attribute("#call", "data-call-id")
    assert hub.post("/api/v1/counters/2/call-next", hub.counters[2]).json()["ticket"]["number"] == "1002"
    tv.wait_for_selector("#recent li .number:text-is('1002')")          # shown, waiting to be said
    assert hub.post("/api/v1/counters/2/undo", hub.counters[2]).status_code == 200
    tv.wait_for_selector("#recent li .number:text-is('1002')", state="detached")   # the hub's new snapshot
    held[0].continue_()
    tv.wait_for_selector(f"body[data-last-announcement='{first_id}']", timeout=30000)

    assert call(hub, 3) == "1002"                                         # 1002's real call, at counter 3
    again_id = str(hub.get("/api/v1/state").json()["recent_calls"][0]["call_id"])
    tv.wait_for_selector(f"body[data-last-announcement='{again_id}']", timeout=30000)
    assert said_call_ids(sent) == [first_id, again_id]
    assert tv.inner_text("#call-number") == "1002" and "Quầy 3" in tv.inner_text("#call-counter")
