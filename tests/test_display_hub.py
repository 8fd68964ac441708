"""The hall screen against a real hub process on loopback: calls, a hub restart, screenshots."""

import os
import queue
import subprocess
import sys
import time
from datetime import datetime

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
import pytest  # noqa: E402

from display.announcer import Announcer  # noqa: E402
from display.app import DisplayApp, hall_clock  # noqa: E402
from display.audio import ClipLibrary, FakeSpeaker  # noqa: E402
from display.health import Health, sound_state  # noqa: E402
from display.model import LOST, Board  # noqa: E402
from display.network import Backoff, HubLink  # noqa: E402
from display.render import THEME, BoardRenderer, hall_layout  # noqa: E402
from display.screen import OffscreenScreen  # noqa: E402
from hallserver import create_app  # noqa: E402
from hallserver.voice import clip_ids  # noqa: E402
from tests.helpers import (  # noqa: E402
    HALL_TZ,
    ROOT,
    Clock,
    DashboardClient,
    HubProcess,
    bearer,
    device_token,
    free_port,
    hall_time,
    init_database,
    init_hall,
    serve_app,
    write_pack,
)

pytestmark = pytest.mark.hub


def wait_for(condition, timeout, step=None, interval=0.02):
    """Poll ``condition`` (running ``step`` first) until true; return the seconds it took."""
    start = time.monotonic()
    while True:
        if step:
            step()
        if condition():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class Hub(HubProcess):
    """A hub with its own database, a kiosk token and one for counter 2; restartable on the same port."""

    def __init__(self, directory):
        super().__init__(directory / "hall.db")
        init_database(self.db)
        self.kiosk, self.counter = device_token(self.db, "kiosk"), device_token(self.db, "counter", 2)
        self.supervisor = device_token(self.db, "supervisor")

    def call_next(self, service="HT"):
        """Issue a ticket at the kiosk and call it to counter 2; return its number."""
        number = self.post("/api/v1/tickets", self.kiosk, {"service": service}).json()["ticket"]["number"]
        self.post("/api/v1/counters/2/done", self.counter)   # the last citizen served (409 when none)
        self.post("/api/v1/counters/2/call-next", self.counter)
        return number


def running_hub(directory):
    hub = Hub(directory)
    hub.start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def hub(tmp_path):
    """A hub of the test's own, which it may kill and restart."""
    yield from running_hub(tmp_path)


@pytest.fixture(scope="module")
def shared_hub(tmp_path_factory):
    """A hub for tests that only make calls."""
    yield from running_hub(tmp_path_factory.mktemp("hub"))


def board_on_hub(url, tmp_path, board=None, speaker=None, health=None):
    """A board app linked to the hub at ``url``, playing a tiny pack through a fake speaker."""
    pack = write_pack(tmp_path / "pack", clip_ids(), seconds=0.01)
    speaker = speaker or FakeSpeaker()
    board = board or Board()
    inbox = queue.Queue()
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(pack), min_slot_seconds=0, gap_seconds=0.01),
                     inbox=inbox, link=HubLink(url, inbox).start(), health=health)
    return app, board, speaker


def test_display_follows_the_hub_through_a_restart(hub, tmp_path):
    old = hub.call_next()  # made before the screen starts: history, shown but never announced
    pack = write_pack(tmp_path / "pack", clip_ids(), seconds=0.02)
    speaker = FakeSpeaker()
    board = Board(highlight_seconds=30)
    inbox = queue.Queue()
    link = HubLink(hub.url, inbox, backoff=Backoff(initial=0.1, maximum=0.5)).start()
    screen = OffscreenScreen((1280, 720))
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(pack), min_slot_seconds=0.05, gap_seconds=0.05),
                     BoardRenderer(), screen, inbox=inbox, link=link)
    try:
        wait_for(lambda: board.online, timeout=10, step=app.step)
        assert board.now_calling.number == old and not board.highlighted

        first = hub.call_next()
        wait_for(lambda: len(speaker.played) == 1, timeout=5, step=app.step)
        wait_for(lambda: board.counters[2].current == first, timeout=5, step=app.step)
        assert board.highlighted and board.now_calling.number == first
        assert speaker.played[0].clip_ids[0] == "chime" and len(speaker.played[0].clip_ids) > 5
        seq_before = board.seq

        hub.kill()
        took = wait_for(lambda: board.status == LOST, timeout=5, step=app.step)
        assert took < 5
        app.render()
        banner = hall_layout(1280, 720)["banner"]
        assert screen.surface.get_at((banner.left + 2, banner.top + 2))[:3] == THEME["lost"]
        assert not board.highlighted

        hub.start()
        wait_for(lambda: board.online, timeout=10, step=app.step)
        assert board.snapshot_seq >= seq_before
        assert board.counters[2].current == first and not board.highlighted
        app.render()
        panel = hall_layout(1280, 720)["now_calling"]
        assert screen.surface.get_at((panel.left + 3, panel.top + 3))[:3] == THEME["panel"]

        second = hub.call_next()
        wait_for(lambda: len(speaker.played) >= 2, timeout=5, step=app.step)
        time.sleep(0.2)
        app.step()
        assert [p.call_id for p in speaker.played] == [speaker.played[0].call_id, speaker.played[1].call_id]
        assert len(speaker.played) == 2  # the first call was not replayed after the restart
        assert board.now_calling.number == second and board.highlighted
    finally:
        app.close()


def test_a_burst_of_calls_is_announced_in_order(shared_hub, tmp_path):
    hub = shared_hub
    app, board, speaker = board_on_hub(hub.url, tmp_path)
    try:
        wait_for(lambda: board.online, timeout=10, step=app.step)
        numbers = [hub.call_next() for _ in range(5)]
        wait_for(lambda: len(speaker.played) == 5, timeout=10, step=app.step)
        seqs = [int(p.call_id) for p in speaker.played]
        assert seqs == sorted(seqs)
        assert [call.number for call in board.recent_calls[:5]] == numbers[::-1]
        for earlier, later in zip(speaker.played, speaker.played[1:], strict=False):
            assert later.started_at >= earlier.ends_at
    finally:
        app.close()


def test_the_board_reports_its_health_to_the_dashboard(shared_hub, tmp_path):
    hub = shared_hub
    speaker = FakeSpeaker()
    health = Health("pygame-test-sanh", name="Sảnh chờ", counters={1, 2, 3},
                    sound=lambda: sound_state("fake", speaker))
    app, board, _ = board_on_hub(hub.url, tmp_path, board=Board(counters_filter={1, 2, 3}), speaker=speaker,
                                 health=health)
    supervisor = DashboardClient(hub.url, hub.supervisor)
    try:
        wait_for(lambda: board.online, timeout=10, step=app.step)
        wait_for(lambda: any(screen["id"] == "pygame-test-sanh" for screen in supervisor.fresh()["screens"]),
                 timeout=10, step=app.step)
        number = hub.call_next()
        wait_for(lambda: health.last_announcement is not None, timeout=10, step=app.step)
        app.step()  # the report goes out at once
        [listed] = [screen for screen in supervisor.until(
            lambda snapshot: any((screen["last_announcement"] or {}).get("number") == number
                                 for screen in snapshot["screens"])
        )["screens"] if screen["id"] == "pygame-test-sanh"]
        assert listed["kind"] == "pygame" and listed["name"] == "Sảnh chờ" and listed["counters"] == [1, 2, 3]
        assert listed["sound"] == "off" and listed["state"] == "off"  # the fake speaker, chosen
        assert listed["last_announcement"]["call_id"] == speaker.played[-1].call_id
        assert listed["last_announcement"]["counter"] == 2

        app.close()  # the board is switched off: the dashboard says so
        supervisor.until(lambda snapshot: next(screen for screen in snapshot["screens"]
                                               if screen["id"] == "pygame-test-sanh")["state"] == "lost")
    finally:
        app.close()
        supervisor.close()


def test_calls_missed_during_a_short_cut_are_said_once_older_ones_only_shown(tmp_path):
    db = init_hall(tmp_path, announcement={"catchup_seconds": 3, "repeat": "once"})  # said once: a shorter wait
    hub = HubProcess(db)
    kiosk, counter = device_token(db, "kiosk"), device_token(db, "counter", 1)
    hub.start()
    app, board, speaker = board_on_hub(hub.url, tmp_path)

    def call_next():
        number = hub.post("/api/v1/tickets", kiosk, {"service": "HT"}).json()["ticket"]["number"]
        hub.post("/api/v1/counters/1/done", counter)
        assert hub.post("/api/v1/counters/1/call-next", counter).status_code == 200
        return number

    try:
        wait_for(lambda: board.online, timeout=10, step=app.step)
        app.link.stop()  # the cable is pulled: the hub goes on calling
        app.inbox.put(("lost", "cable pulled"))
        app.step()
        old = call_next()
        time.sleep(4.5)  # older than catchup_seconds by the time the screen is back
        recent = call_next()
        app.link = HubLink(hub.url, app.inbox).start()  # the cable is back
        wait_for(lambda: board.online and speaker.played, timeout=10, step=app.step)
        wait_for(lambda: not app.announcer.pending and not speaker.busy(), timeout=10, step=app.step)
        assert [playback.call_id for playback in speaker.played] == [board.recent_calls[0].call_id]
        assert [call.number for call in board.recent_calls[:2]] == [recent, old]  # the old one only shown
        assert board.now_calling.number == recent and board.highlighted

        app.link.stop()  # a second cut, nothing new: nothing said again
        app.inbox.put(("lost", "again"))
        app.step()
        app.link = HubLink(hub.url, app.inbox).start()
        wait_for(lambda: board.online, timeout=10, step=app.step)
        app.step()
        assert len(speaker.played) == 1
    finally:
        app.close()
        hub.stop()


def run_display(*arguments, timeout=30):
    return subprocess.run([sys.executable, "-m", "display", *arguments], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, HALL_DISPLAY_AUDIO="fake"))


def test_screenshot_of_the_current_state(shared_hub, tmp_path):
    hub = shared_hub
    called = hub.call_next()
    shot = tmp_path / "board.png"
    done = run_display("--hub", hub.url, "--screenshot", str(shot), "--size", "1080x1920", "--counters", "1-3")
    assert done.returncode == 0, done.stderr
    image = pygame.image.load(str(shot))
    assert image.get_size() == (1080, 1920)
    panel = hall_layout(1080, 1920)["now_calling"]
    assert image.get_at((panel.left + 3, panel.top + 3))[:3] == THEME["panel"]
    assert "current state" in done.stdout and called


def test_screenshot_without_a_hub_shows_the_lost_board(tmp_path):
    shot = tmp_path / "lost.png"
    done = run_display("--hub", f"http://127.0.0.1:{free_port()}", "--screenshot", str(shot), "--wait", "3")
    assert done.returncode == 0, done.stderr
    image = pygame.image.load(str(shot))
    banner = hall_layout(1920, 1080)["banner"]
    assert image.get_at((banner.left + 2, banner.top + 2))[:3] == THEME["lost"]
    assert "connection lost" in done.stdout


def test_systemd_unit_parses():
    unit = ROOT / "deploy" / "hall-display.service"
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=30)
    # The ExecStart path exists only on a Pi; anything else systemd complains about is our mistake.
    problems = [line for line in done.stderr.splitlines()
                if line.strip() and "is not executable" not in line and "hall-display" in line]
    assert unit.is_file() and problems == [], done.stderr


def served_hub(db, clock):
    """The hub app on ``db`` with the hall's clock ``clock``, served on loopback: (app, server)."""
    hub = create_app({"db": str(db), "async_mode": "threading"}, clock=clock)
    return hub, serve_app(hub)


def test_the_board_starts_the_new_day_without_yesterdays_calls(tmp_path):
    """A hub on the hall's (fake) clock, served on loopback, and a board with the same clock: the
    day's last citizen was served, so nothing is left to expire and the hub pushes nothing at
    midnight. Past midnight the board asks for the new day itself: yesterday's 1001 leaves the
    'Vừa mời' strip before today's 1001 (numbers start again from the block) is called, and
    today's is said once."""
    db = init_hall(tmp_path)  # open around the clock: HT, counter 1
    clock = Clock(hall_time(2026, 11, 26, 16, 0))
    kiosk, counter = device_token(db, "kiosk"), device_token(db, "counter", 1)
    hub, server = served_hub(db, clock)
    web = hub.test_client()

    def call_next():
        number = web.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(kiosk)).get_json()["ticket"]
        assert web.post("/api/v1/counters/1/call-next", headers=bearer(counter)).status_code == 200
        return number["number"]

    pack = write_pack(tmp_path / "pack", clip_ids(), seconds=0.01)
    speaker, board, inbox = FakeSpeaker(), Board(), queue.Queue()
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(pack), min_slot_seconds=0, gap_seconds=0.01),
                     inbox=inbox, link=HubLink(server.url, inbox).start(),
                     wall_clock=lambda: datetime.fromtimestamp(clock(), HALL_TZ))
    try:
        wait_for(lambda: board.online, timeout=10, step=app.step)
        yesterday = call_next()
        wait_for(lambda: len(speaker.played) == 1, timeout=5, step=app.step)
        assert web.post("/api/v1/counters/1/done", headers=bearer(counter)).status_code == 200
        wait_for(lambda: board.counters[1].current is None, timeout=5, step=app.step)
        assert [call.number for call in board.recent_calls] == [yesterday] and board.day == "2026-11-26"

        clock.set(hall_time(2026, 11, 27, 0, 0, 30))
        assert hub.extensions["hall"].expire() == 0  # nothing left: no push
        wait_for(lambda: board.day == "2026-11-27", timeout=5, step=app.step)
        assert board.recent_calls == [] and board.now_calling is None and board.online

        clock.set(hall_time(2026, 11, 27, 7, 30))
        today = call_next()
        assert today == yesterday == "1001"
        wait_for(lambda: len(speaker.played) == 2, timeout=5, step=app.step)
        assert [call.number for call in board.recent_calls] == [today] and board.now_calling.number == today
        time.sleep(0.2)
        app.step()
        assert len(speaker.played) == 2
    finally:
        app.close()
        server.shutdown()
        hub.extensions["hall"].store.close()


def test_a_hall_reconfigured_during_an_announcement_keeps_the_call_being_said_on_the_panel(tmp_path):
    """Counter 1 calls 1001, counter 2 calls 1002 just after; while 1001 is being said an admin
    renames a service (every screen takes a new snapshot). The big panel keeps 1001, lit, the
    number the hall hears; it switched to 1002 (not yet said) and went dark."""
    db = init_hall(tmp_path, counters=[{"number": 1, "services": ["HT"]}, {"number": 2, "services": ["HT"]}])
    kiosk = device_token(db, "kiosk")
    counters = {number: bearer(device_token(db, "counter", number)) for number in (1, 2)}
    hub, server = served_hub(db, Clock(hall_time(2026, 11, 26, 9, 0)))
    web = hub.test_client()
    pack = write_pack(tmp_path / "pack", clip_ids(), seconds=0.3)  # an announcement of several seconds
    speaker, board, inbox = FakeSpeaker(), Board(highlight_seconds=60), queue.Queue()
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(pack), min_slot_seconds=0, gap_seconds=0.01),
                     inbox=inbox, link=HubLink(server.url, inbox).start())
    try:
        wait_for(lambda: board.online, timeout=10, step=app.step)
        for number in (1, 2):
            web.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(kiosk))
            assert web.post(f"/api/v1/counters/{number}/call-next", headers=counters[number]).status_code == 200
        wait_for(lambda: len(speaker.played) == 1 and len(board.recent_calls) == 2, timeout=5, step=app.step)
        assert board.now_calling.number == "1001" and board.highlighted

        hall = hub.extensions["hall"]
        mapping = hall.config_source()
        mapping["services"][0]["name"] = "Hộ tịch - Khai sinh, kết hôn"
        hall.change_config(mapping, by="quantri", section="services")
        wait_for(lambda: board.services[0].name == "Hộ tịch - Khai sinh, kết hôn", timeout=5, step=app.step)
        assert speaker.busy() and len(speaker.played) == 1  # 1001 is still being said
        assert board.now_calling.number == "1001" and board.highlighted

        wait_for(lambda: len(speaker.played) == 2, timeout=30, step=app.step)
        assert board.now_calling.number == "1002" and board.highlighted
    finally:
        app.close()
        server.shutdown()
        hub.extensions["hall"].store.close()


def test_a_board_whose_own_clock_is_wrong_shows_the_hubs_and_keeps_it_when_its_clock_is_set(shared_hub, tmp_path):
    """A Pi back from a power cut without a clock chip: it starts with the time it was switched
    off, three days behind. The board showed that date and time all day (and turned its day at
    the wrong midnight); it shows the hub's, learnt when it joins. A minute later the Pi reaches
    a time server and its clock jumps to the right time: the board then showed the hub's time
    plus those three days, until it next lost the hub; it keeps showing the hub's."""
    behind = {"seconds": 3 * 86400}

    def machine_clock():
        return time.time() - behind["seconds"]

    pack = write_pack(tmp_path / "pack", clip_ids(), seconds=0.01)
    board, inbox = Board(), queue.Queue()
    app = DisplayApp(board, Announcer(FakeSpeaker(), ClipLibrary(pack)), inbox=inbox,
                     link=HubLink(shared_hub.url, inbox).start(), wall_clock=hall_clock(board, now=machine_clock))
    try:
        assert abs(app.wall_clock().timestamp() - machine_clock()) < 2  # before the hub answers: its own
        wait_for(lambda: board.online, timeout=10, step=app.step)
        wait_for(lambda: abs(app.wall_clock().timestamp() - time.time()) < 2, timeout=10, step=app.step)
        assert app.wall_clock().tzinfo.key == board.hall["timezone"] == "Asia/Ho_Chi_Minh"

        behind["seconds"] = 0  # the time server sets the Pi's clock
        app.step()
        assert abs(app.wall_clock().timestamp() - time.time()) < 2
        assert board.online
    finally:
        app.close()


def test_a_call_undone_before_its_turn_on_the_speaker_is_not_said(tmp_path):
    """Counters 1 and 2 call together; while 1001 is being said, counter 2 undoes its wrong
    press (1002 back in line). The screen said "1002 đến quầy số 2" after 1001 anyway, sending
    the citizen to a counter that had put them back in line. The hub's snapshot after the undo
    no longer lists 1002's call: the screen drops it from what it has still to say."""
    db = init_hall(tmp_path, counters=[{"number": 1, "services": ["HT"]}, {"number": 2, "services": ["HT"]}])
    kiosk = device_token(db, "kiosk")
    counters = {number: device_token(db, "counter", number) for number in (1, 2)}
    hub = HubProcess(db).start()
    pack = write_pack(tmp_path / "pack", clip_ids(), seconds=0.01)
    speaker_time = Clock(hall_time(2026, 11, 26, 9, 0))  # the speaker plays as long as the test says
    speaker, board, inbox = FakeSpeaker(clock=speaker_time), Board(), queue.Queue()
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(pack), clock=speaker_time, min_slot_seconds=0,
                                      gap_seconds=0), inbox=inbox, link=HubLink(hub.url, inbox).start())
    try:
        wait_for(lambda: board.online, timeout=10, step=app.step)
        for number in (1, 2):
            assert hub.post("/api/v1/tickets", kiosk, {"service": "HT"}).status_code == 201
            assert hub.post(f"/api/v1/counters/{number}/call-next", counters[number]).status_code == 200
        wait_for(lambda: len(speaker.played) == 1 and len(board.recent_calls) == 2, timeout=5, step=app.step)
        assert board.now_calling.number == "1001" and speaker.busy()

        assert hub.post("/api/v1/counters/2/undo", counters[2]).status_code == 200
        wait_for(lambda: board.counters[2].current is None, timeout=5, step=app.step)
        speaker_time.advance(60)  # 1001 has been said
        wait_for(lambda: not app.announcer.pending, timeout=5, step=app.step)
        assert [playback.call_id for playback in speaker.played] == [board.now_calling.call_id]
        assert board.now_calling.number == "1001" and board.highlighted
        assert [call.number for call in board.recent_calls] == ["1001"]
    finally:
        app.close()
        hub.stop()
