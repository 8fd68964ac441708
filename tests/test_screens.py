"""Hall screens report their health to a real hub process; the dashboard lists them and alerts.

A screen is a python-socketio client joined to ``display`` sending ``screen_status``; the
supervisor is another client joined to ``dashboard`` with a supervisor token.
"""

import sqlite3
import time

import pytest
import socketio

from hallserver.config import parse_config
from hallserver.store import open_store
from tests.helpers import DashboardClient, HubProcess, ScreenClient, hall_mapping, make_token

pytestmark = pytest.mark.hub


def screen_in(snapshot, screen_id):
    return next((screen for screen in snapshot["screens"] if screen["id"] == screen_id), None)


def alert_kinds(snapshot, screen_id):
    return {alert["kind"] for alert in snapshot["alerts"] if f":{screen_id}" in alert["key"]}


def small_hub(tmp_path, **policy):
    """A hub on the one-counter hall with ``policy``, a kiosk token, counter 1's and a supervisor's."""
    store = open_store(tmp_path / "hall.db")
    store.apply_config(parse_config(hall_mapping(policy=policy)))
    hub = HubProcess(store.path)
    hub.kiosk, hub.counter, hub.supervisor = (make_token(store, "kiosk"), make_token(store, "counter", 1),
                                              make_token(store, "supervisor"))
    store.close()
    return hub.start()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """One hub for the tests that each use screens of their own."""
    hub = small_hub(tmp_path_factory.mktemp("screens"))
    yield hub
    hub.stop()


@pytest.fixture(scope="module")
def supervisor(hub):
    dashboard = DashboardClient(hub.url, hub.supervisor)
    yield dashboard
    dashboard.close()


@pytest.fixture
def screens(hub):
    opened = []

    def open_screen(screen_id, **options):
        client = ScreenClient(hub.url, screen_id, **options)
        opened.append(client)
        return client

    yield open_screen
    for client in opened:
        if client.client.connected:
            client.close()


def test_a_screen_reports_and_the_dashboard_lists_it(supervisor, screens):
    assert screen_in(supervisor.fresh(), "sanh-tang-1") is None
    screen = screens("sanh-tang-1", kind="pygame", name="Sảnh tầng 1")
    assert screen.report() == {"ok": True}

    listed = screen_in(supervisor.fresh(), "sanh-tang-1")
    assert listed["name"] == "Sảnh tầng 1" and listed["kind"] == "pygame"
    assert listed["connected"] is True and listed["state"] == "ok" and listed["sound"] == "ok"
    assert listed["last_announcement"] is None and listed["last_seen_seconds"] <= 5

    # It plays a call: the dashboard names it, and says how long ago the screen reported it.
    played = time.time()
    assert screen.report(last_announcement={"call_id": "7", "played_at": played}) == {"ok": True}
    listed = screen_in(supervisor.wait_for("dashboard", lambda snapshot: (screen_in(snapshot, "sanh-tang-1") or {})
                                           .get("last_announcement")), "sanh-tang-1")
    assert listed["last_announcement"]["call_id"] == "7"
    assert listed["last_announcement"]["seconds_ago"] <= 5
    assert not alert_kinds(supervisor.fresh(), "sanh-tang-1")


def test_sound_blocked_raises_an_alert_and_off_by_choice_none(supervisor, screens):
    kiosk_tv = screens("tv-kiosk", name="TV cạnh kiosk")
    kiosk_tv.report()
    counter_top = screens("quay-2-nho", kind="pygame", sound="off")
    counter_top.report()

    kiosk_tv.report(sound="blocked")
    alert = supervisor.wait_for("alert", lambda alert: alert["key"].startswith("screen_sound:tv-kiosk"))
    assert alert["key"] == "screen_sound:tv-kiosk:blocked" and alert["kind"] == "screen_sound"
    assert alert["message"].startswith("Màn hình “TV cạnh kiosk” mất tiếng")
    assert "blocks sound" in alert["message_en"]
    snapshot = supervisor.fresh()
    assert screen_in(snapshot, "tv-kiosk")["state"] == "no_sound"
    assert screen_in(snapshot, "quay-2-nho")["state"] == "off" and not alert_kinds(snapshot, "quay-2-nho")

    kiosk_tv.report(sound="ok")  # someone tapped the screen
    snapshot = supervisor.until(lambda snapshot: screen_in(snapshot, "tv-kiosk")["state"] == "ok")
    assert not alert_kinds(snapshot, "tv-kiosk")


def test_a_screen_that_disconnects_fell_off(supervisor, screens):
    screen = screens("hanh-lang", name="Hành lang")
    screen.report()
    assert screen_in(supervisor.fresh(), "hanh-lang")["connected"] is True

    screen.close()
    alert = supervisor.wait_for("alert", lambda alert: alert["key"] == "screen_lost:hanh-lang")
    assert alert["kind"] == "screen_lost"
    assert alert["message"].startswith("Màn hình “Hành lang” mất kết nối từ ")
    assert "fell off" in alert["message_en"]
    listed = screen_in(supervisor.fresh(), "hanh-lang")
    assert listed["connected"] is False and listed["state"] == "lost"

    back = screens("hanh-lang", name="Hành lang")  # the same screen comes back on a new socket
    back.report()
    snapshot = supervisor.until(lambda snapshot: screen_in(snapshot, "hanh-lang")["connected"])
    assert not alert_kinds(snapshot, "hanh-lang")


def test_a_screen_that_stops_reporting_fell_off(tmp_path):
    hub = small_hub(tmp_path, screen_lost_seconds=1)
    supervisor = DashboardClient(hub.url, hub.supervisor)
    screen = ScreenClient(hub.url, "treo")
    try:
        screen.report()  # then nothing: the screen hung, or the hub process it reported to died
        snapshot = supervisor.until(lambda snapshot: screen_in(snapshot, "treo")["state"] == "lost")
        assert "screen_lost" in alert_kinds(snapshot, "treo")
        assert screen_in(snapshot, "treo")["last_seen_seconds"] >= 1
    finally:
        screen.close()
        supervisor.close()
        hub.stop()


def test_a_call_not_played_in_time_is_silent_unless_not_shown_or_sound_off(tmp_path):
    hub = small_hub(tmp_path, screen_silent_seconds=1)
    supervisor = DashboardClient(hub.url, hub.supervisor)
    hall_tv = ScreenClient(hub.url, "tv-sanh", name="TV sảnh")
    muted = ScreenClient(hub.url, "tv-tat-tieng", sound="off")
    upstairs = ScreenClient(hub.url, "tang-2", kind="pygame")
    try:
        hall_tv.report()
        muted.report()
        assert upstairs.report(counters=[5, 6]) == {"ok": True}  # shows only the counters upstairs
        hub.post("/api/v1/tickets", hub.kiosk, {"service": "HT"})
        hub.post("/api/v1/counters/1/call-next", hub.counter)
        call = hall_tv.wait_for("called")

        snapshot = supervisor.until(lambda snapshot: screen_in(snapshot, "tv-sanh")["state"] == "silent")
        [alert] = [alert for alert in snapshot["alerts"] if alert["kind"] == "screen_silent"]
        assert alert["key"] == "screen_silent:tv-sanh"
        assert alert["message"].startswith(f"Màn hình “TV sảnh” im lặng: chưa đọc số {call['ticket']['number']}")
        assert f"not announced {call['ticket']['number']}" in alert["message_en"]
        assert screen_in(snapshot, "tv-tat-tieng")["state"] == "off"  # sound off by choice: never "silent"
        assert screen_in(snapshot, "tang-2")["state"] == "ok"  # it does not show counter 1
        assert screen_in(snapshot, "tang-2")["counters"] == [5, 6]

        hall_tv.report(last_announcement={"call_id": call["call_id"], "played_at": time.time()})
        snapshot = supervisor.fresh()
        listed = screen_in(snapshot, "tv-sanh")
        assert listed["state"] == "ok" and not alert_kinds(snapshot, "tv-sanh")
        assert listed["last_announcement"]["number"] == call["ticket"]["number"]
        assert listed["last_announcement"]["counter"] == 1
    finally:
        for client in (hall_tv, muted, upstairs, supervisor):
            client.close()
        hub.stop()


def test_heartbeats_that_change_nothing_are_not_written_each_time(hub, screens):
    def last_seen():
        with sqlite3.connect(hub.db) as connection:
            return connection.execute("SELECT last_seen FROM screens WHERE id = 'nhip'").fetchone()[0]

    screen = screens("nhip")
    screen.report()
    first = last_seen()
    time.sleep(0.05)
    assert screen.report() == {"ok": True}  # a heartbeat: nothing changed, written at most every 20 s
    assert last_seen() == first
    assert screen.report(sound="failed") == {"ok": True}  # a change is written at once
    assert last_seen() > first


def test_two_hub_processes_share_the_screens(tmp_path):
    first = small_hub(tmp_path)
    second = HubProcess(first.db).start()
    supervisor = DashboardClient(second.url, first.supervisor)
    screen = ScreenClient(first.url, "qua-tien-trinh-a")
    try:
        screen.report(sound="failed")
        snapshot = supervisor.fresh()
        assert screen_in(snapshot, "qua-tien-trinh-a")["state"] == "no_sound"
        screen.close()
        supervisor.until(lambda snapshot: screen_in(snapshot, "qua-tien-trinh-a")["state"] == "lost")
    finally:
        supervisor.close()
        second.stop()
        first.stop()


@pytest.fixture(scope="module")
def quiet_screen(hub):
    """A screen in the display room whose reports are all refused."""
    screen = ScreenClient(hub.url, "tv-1")
    yield screen
    screen.close()


GOOD = {"screen": "tv-1", "kind": "browser", "name": None, "sound": "ok", "last_announcement": None}


@pytest.mark.parametrize("payload", [
    None, "tv-1", [], 7,
    {key: value for key, value in GOOD.items() if key != "screen"},
    dict(GOOD, screen=""), dict(GOOD, screen="x" * 65), dict(GOOD, screen="tv\n1"), dict(GOOD, screen=7),
    dict(GOOD, kind="tv"), dict(GOOD, kind=None),
    dict(GOOD, sound="loud"), dict(GOOD, sound=None),
    dict(GOOD, name=5), dict(GOOD, name="n" * 101),
    dict(GOOD, last_announcement="41"), dict(GOOD, last_announcement={"call_id": "41"}),
    dict(GOOD, last_announcement={"call_id": 41, "played_at": 1764465125.0}),
    dict(GOOD, last_announcement={"call_id": "41", "played_at": "hôm qua"}),
    dict(GOOD, last_announcement={"call_id": "41", "played_at": True}),
    dict(GOOD, last_announcement={"call_id": "41", "played_at": -1}),
    dict(GOOD, last_announcement={"call_id": "41", "played_at": 1764465125.0, "volume": 3}),
    dict(GOOD, volume=11), dict(GOOD, counters="1-3"), dict(GOOD, counters=[True]),
], ids=repr)
def test_bad_reports_are_refused(supervisor, quiet_screen, payload):
    ack = quiet_screen.client.call("screen_status", payload, timeout=10)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_screen_status"
    assert ack["error"]["message"].startswith("Báo cáo màn hình không hợp lệ")
    assert ack["error"]["message_en"].startswith("Invalid screen status")
    assert screen_in(supervisor.fresh(), "tv-1") is None


def test_a_socket_outside_the_display_room_may_not_report(hub, supervisor):
    stranger = socketio.Client(reconnection=False)
    stranger.connect(hub.url, transports=["websocket"], wait_timeout=10)
    try:
        ack = stranger.call("screen_status", GOOD, timeout=10)
        assert ack["ok"] is False and ack["error"]["code"] == "not_joined"
        assert stranger.call("join", {"room": "dashboard"}, timeout=10)["ok"] is False
        assert stranger.call("screen_status", GOOD, timeout=10)["error"]["code"] == "not_joined"
    finally:
        stranger.disconnect()
    assert screen_in(supervisor.fresh(), "tv-1") is None


def test_on_the_hall_clock_a_screen_working_through_a_burst_is_not_silent_until_it_stops(hall, clock):
    """The rules on an injected clock (no hub process): ``hall`` is the demo hall, open all day."""
    from hallserver.services import supervision
    from hallserver.services.screens import parse_status

    def report(**fields):
        status = parse_status(dict({"screen": "tv", "kind": "browser", "sound": "ok", "last_announcement": None},
                                   **fields))
        return hall.report_screen(status, sid="sid-1")

    def state():
        snapshot = hall.read(supervision.dashboard_snapshot)
        return screen_in(snapshot, "tv")["state"], alert_kinds(snapshot, "tv")

    assert report() is True
    assert report() is False  # nothing new to show
    calls = []
    for counter in (1, 2, 3):
        hall.issue_ticket("HT")
        calls.append(hall.counter_action(counter, "call-next")["seq"])
    clock.advance(20)
    assert report(last_announcement={"call_id": str(calls[0]), "played_at": clock()}) is True
    clock.advance(11)  # 31 s after the burst: two calls not said yet, but it spoke 11 s ago
    assert state() == ("ok", set())
    clock.advance(20)  # 31 s since it last said anything
    assert state() == ("silent", {"screen_silent"})
    report(last_announcement={"call_id": str(calls[2]), "played_at": clock()})
    assert state() == ("ok", set())
    clock.advance(46)  # no report for longer than screen_lost_seconds
    assert state() == ("lost", {"screen_lost"})
    assert report(last_announcement={"call_id": str(calls[2]), "played_at": 1.0}) is True  # heard again
    assert report(last_announcement={"call_id": str(calls[2]), "played_at": 1.0}) is False  # a heartbeat
    assert state() == ("ok", set())
    hall.screen_disconnected("another-socket")
    assert state() == ("ok", set())  # only its own socket's close disconnects it
    assert hall.screen_disconnected("sid-1") is True
    assert state() == ("lost", {"screen_lost"})
