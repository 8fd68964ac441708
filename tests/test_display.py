"""The hall screen without a hub: board rules, announcement queue, speakers, fonts, drawing."""

import logging
import os
from datetime import datetime
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"  # headless, before pygame starts
os.environ["SDL_AUDIODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402
import pytest  # noqa: E402

from display.announcer import Announcer  # noqa: E402
from display.app import DisplayApp  # noqa: E402
from display.audio import ClipLibrary, FakeSpeaker, PygameSpeaker, make_speaker  # noqa: E402
from display.fonts import VIETNAMESE_SAMPLE, Typeface, covers, find_font_files  # noqa: E402
from display.model import LOST, ONLINE, Board, Call, parse_counters  # noqa: E402
from display.render import THEME, BoardRenderer, counter_layout, hall_layout  # noqa: E402
from display.screen import OffscreenScreen  # noqa: E402
from hallclient import Backoff  # noqa: E402
from hallserver.voice import compose_announcement  # noqa: E402
from tests.helpers import write_pack  # noqa: E402

SOUNDS = os.path.join(os.path.dirname(__file__), os.pardir, "sounds")


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def hall_state(seq=10, recent=(), counters=None, waiting=None, current=None, ages=None, timezone=None):
    """A ``state`` snapshot shaped like GET /api/v1/state, for the demo hall's first counters.
    ``recent`` is (call_id, number, counter), newest first; as on the hub, each counter's newest
    call is its current ticket unless ``current`` says otherwise ({counter: number or None});
    ``ages`` gives calls their ``age_seconds`` (a hub without it: none)."""
    counters = counters or {1: ("HT",), 2: ("HT", "CT"), 3: ("CT",), 4: ("DD",)}
    waiting = waiting or {}
    at_counter = {}
    for _, number, counter in recent:
        at_counter.setdefault(counter, number)
    at_counter.update(current or {})
    hall = {"name": "Trung tâm Phục vụ hành chính công xã Demo", "name_en": "Demo Center", "hotline": "1900 0000",
            "catchup_seconds": 20}
    if timezone:
        hall["timezone"] = timezone
    return {
        "seq": seq,
        "day": "2026-11-26",
        "hall": hall,
        "services": [
            {"code": code, "name": name, "name_en": name_en, "waiting": waiting.get(code, 0), "eta_minutes": 5}
            for code, name, name_en in (("HT", "Hộ tịch", "Civil status"), ("CT", "Chứng thực", "Certification"),
                                        ("DD", "Đất đai - Xây dựng", "Land and construction"))
        ],
        "counters": [
            {"number": number, "name": f"Quầy {number}", "status": "open", "services": list(services),
             "current": {"number": at_counter[number], "service": "HT"} if at_counter.get(number) else None}
            for number, services in counters.items()
        ],
        "recent_calls": [
            dict({"call_id": str(call_id), "number": number, "counter": counter,
                  "called_at": "2026-11-26T09:00:00+07:00", "recall": False,
                  "text": f"Xin mời công dân có số thứ tự {number} đến quầy số {counter}", "text_en": None,
                  "clips": ["chime", f"num.{number}"]},
                 **({"age_seconds": ages[call_id]} if ages and call_id in ages else {}))
            for call_id, number, counter in recent
        ],
    }


def called(seq, number, counter, clips=("chime",), recall=False):
    return {"seq": seq, "call_id": str(seq), "ticket": {"number": number, "service": "HT"},
            "counter": {"number": counter, "name": f"Quầy {counter}"},
            "text": f"Xin mời công dân có số thứ tự {number} đến quầy số {counter}", "text_en": None,
            "clips": list(clips), "recall": recall}


def counter_push(seq, number, current=None, status="open"):
    return {"seq": seq, "counter": {"number": number, "name": f"Quầy {number}", "status": status,
                                    "services": ["HT"], "current": {"number": current, "service": "HT"}
                                    if current else None}}


@pytest.fixture(scope="module")
def typeface():
    return Typeface()


# -- the board model -------------------------------------------------------------------


def test_snapshot_calls_are_history_and_new_calls_are_announced_once():
    board = Board()
    board.apply_state(hall_state(seq=10, recent=[(9, "1002", 2), (7, "1001", 1)]))
    assert board.status == ONLINE
    assert [call.number for call in board.recent_calls] == ["1002", "1001"]
    assert board.now_calling.number == "1002" and not board.highlighted
    assert board.apply_push("called", called(9, "1002", 2)) == []  # in the snapshot: history
    new = board.apply_push("called", called(12, "1003", 2, clips=("chime", "num.hai")))
    assert [(call.call_id, call.number, call.counter, call.clips) for call in new] == [
        ("12", "1003", 2, ("chime", "num.hai"))]
    assert board.apply_push("called", called(12, "1003", 2)) == []  # the same call twice
    assert board.counters[2].current == "1003"


def test_pushes_already_in_the_snapshot_are_ignored():
    board = Board()
    board.apply_state(hall_state(seq=10))
    board.apply_push("counter", counter_push(10, 1, current="1005"))
    board.apply_push("queue", {"seq": 9, "services": []})
    assert board.counters[1].current is None and len(board.services) == 3
    board.apply_push("counter", counter_push(11, 1, current="1005"))
    board.apply_push("counter", counter_push(10, 1, current="9999"))  # older than what we have
    assert board.counters[1].current == "1005"
    board.apply_push("queue", {"seq": 11, "services": [
        {"code": "HT", "name": "Hộ tịch", "name_en": "Civil status", "waiting": 4, "eta_minutes": 12}]})
    assert [(s.code, s.waiting) for s in board.services] == [("HT", 4)]


def test_reconnect_resyncs_without_replaying_or_highlighting_old_calls():
    clock = FakeClock()
    board = Board(clock=clock)
    board.apply_state(hall_state(seq=10, recent=[(9, "1002", 2)]))
    [call] = board.apply_push("called", called(12, "1003", 2))
    board.start_calling(call)
    assert board.highlighted
    board.connection_lost("hub restarted")
    assert board.status == LOST and not board.highlighted
    # Call 14 was made while we were away: shown, not announced, not highlighted.
    board.apply_state(hall_state(seq=15, recent=[(14, "1004", 1), (12, "1003", 2), (9, "1002", 2)]))
    assert board.status == ONLINE and not board.highlighted
    assert board.now_calling.number == "1004"
    assert board.apply_push("called", called(12, "1003", 2)) == []
    assert board.apply_push("called", called(14, "1004", 1)) == []
    assert [call.number for call in board.apply_push("called", called(16, "1005", 1))] == ["1005"]


def test_a_recall_is_a_new_call():
    board = Board()
    board.apply_state(hall_state(seq=10))
    first = board.apply_push("called", called(11, "1001", 1))
    again = board.apply_push("called", called(13, "1001", 1, recall=True))
    assert [call.call_id for call in first + again] == ["11", "13"] and again[0].recall


def test_hub_history_restarting_forgets_old_call_ids():
    board = Board()
    board.apply_state(hall_state(seq=40, recent=[(3, "1001", 1)]))
    board.apply_state(hall_state(seq=2))  # a fresh database: seq went back
    assert [call.number for call in board.apply_push("called", called(3, "1001", 1))] == ["1001"]


def test_counters_filter_hides_other_counters_their_calls_and_services():
    board = Board(counters_filter=parse_counters("1-2"))
    board.apply_state(hall_state(seq=10, recent=[(9, "3001", 3), (8, "1001", 1)]))
    assert list(board.counters) == [1, 2]
    assert [call.number for call in board.recent_calls] == ["1001"]
    assert [service.code for service in board.visible_services()] == ["HT", "CT"]
    assert board.apply_push("called", called(11, "3002", 3)) == []
    board.apply_push("counter", counter_push(11, 3, current="3002"))
    assert 3 not in board.counters and board.recent_calls[0].number == "1001"
    assert len(board.apply_push("called", called(12, "1002", 2))) == 1


def test_highlight_lasts_its_time_on_the_injected_clock():
    clock = FakeClock()
    board = Board(clock=clock, highlight_seconds=8)
    board.apply_state(hall_state(seq=1))
    [call] = board.apply_push("called", called(2, "1001", 1))
    assert not board.highlighted  # highlighted when its announcement starts, not before
    board.start_calling(call)
    clock.advance(7.9)
    assert board.highlighted and board.highlighted_counter() == 1
    clock.advance(0.2)
    assert not board.highlighted and board.highlighted_counter() is None


def test_parse_counters():
    assert parse_counters("1-5") == {1, 2, 3, 4, 5}
    assert parse_counters("1, 3,7-9") == {1, 3, 7, 8, 9}
    for bad in ("", "a", "5-1", "1-", "-3"):
        with pytest.raises(ValueError):
            parse_counters(bad)


def test_backoff_doubles_up_to_its_cap_and_resets():
    backoff = Backoff(initial=0.5, maximum=4, jitter=0, rand=lambda: 0.5)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1, 2, 4, 4, 4]
    backoff.reset()
    assert backoff.next_delay() == 0.5


# -- the announcement queue and the speakers ----------------------------------------------------


def test_a_burst_plays_in_order_one_at_a_time(tmp_path):
    clock = FakeClock()
    clip_ids = ["chime", "phrase.xin", "num.mo6t5", "num.hai", "num.ba"]
    library = ClipLibrary(write_pack(tmp_path / "pack", clip_ids, seconds=0.4))
    speaker = FakeSpeaker(clock)
    started = []
    announcer = Announcer(speaker, library, clock=clock, on_start=started.append, gap_seconds=0.5,
                          min_slot_seconds=0)
    board = Board(clock=clock)
    board.apply_state(hall_state(seq=1))
    for seq, number in ((2, "1001"), (3, "1002"), (4, "1003")):
        for call in board.apply_push("called", called(seq, number, 2, clips=clip_ids)):
            announcer.enqueue(call)
    for _ in range(400):
        announcer.tick()
        clock.advance(0.05)
    played = speaker.played
    assert [p.call_id for p in played] == ["2", "3", "4"] and [c.number for c in started] == ["1001", "1002", "1003"]
    assert all(p.clip_ids == tuple(clip_ids) for p in played)
    # 5 clips of 0.4 s, 0.02 s after the chime and 0.01 s between the others
    assert played[0].ends_at - played[0].started_at == pytest.approx(2.05)
    for earlier, later in zip(played, played[1:], strict=False):
        assert later.started_at >= earlier.ends_at + 0.5  # never overlapping, never cut off
    assert announcer.idle


def test_missing_clips_are_logged_and_skipped(tmp_path, caplog):
    clock = FakeClock()
    pack = write_pack(tmp_path / "pack", ["chime", "num.hai", "num.ba"], missing_files=["num.ba"])
    speaker = FakeSpeaker(clock)
    started = []
    announcer = Announcer(speaker, ClipLibrary(pack), clock=clock, on_start=started.append)
    announcer.enqueue(Call("5", "1002", 2, clips=("chime", "num.nowhere", "num.hai", "num.ba")))
    announcer.enqueue(Call("6", "1003", 2, clips=("num.nowhere",)))
    with caplog.at_level(logging.WARNING):
        announcer.tick()
        clock.advance(10)
        announcer.tick()
    assert [p.clip_ids for p in speaker.played] == [("chime", "num.hai")]
    assert [call.call_id for call in started] == ["5", "6"]  # shown even when nothing can be heard
    assert "num.nowhere" in caplog.text and "num.ba" in caplog.text


def test_a_call_with_missing_or_broken_clips_tells_the_dashboard_the_sound_failed(tmp_path, caplog):
    """As the browser screen does: the hall heard "mời ... số hai ..." with words left out."""
    from display.health import Health, sound_state

    pack = write_pack(tmp_path / "pack", ["chime", "num.hai", "num.ba", "num.bo6n1"], missing_files=["num.ba"])
    (pack / "num.bo6n1.wav").write_bytes(b"RIFF....WAVE but not really")
    library = ClipLibrary(pack)
    pygame.mixer.init()
    try:
        speaker = PygameSpeaker()
        health = Health("pygame-sanh-1", sound=lambda: sound_state("pygame", speaker, library))
        assert health.status()["sound"] == "ok"
        with caplog.at_level(logging.WARNING):
            played = library.resolve(["chime", "num.hai", "num.ba", "num.bo6n1"])
        assert [clip.id for clip in played] == ["chime", "num.hai"]
        assert health.status()["sound"] == "failed" and "num.bo6n1" in caplog.text
        library.resolve(["chime", "num.hai"])   # a whole announcement: the sound is back
        assert health.status()["sound"] == "ok"
        assert sound_state("fake", FakeSpeaker(), ClipLibrary(tmp_path / "no-pack")) == "off"   # silent by choice
        assert sound_state("pygame", speaker, ClipLibrary(tmp_path / "no-pack")) == "failed"
    finally:
        pygame.mixer.quit()


def test_a_missing_pack_leaves_the_board_silent_but_working(tmp_path, caplog):
    library = ClipLibrary(tmp_path / "nothing-here")
    assert library.resolve(["chime"]) == []
    assert "silent" in caplog.text


def test_shipped_pack_has_every_clip_of_an_announcement():
    library = ClipLibrary(SOUNDS)
    for number, counter in (("1015", 2), ("A012", 11), ("2105", 21)):
        clip_ids = compose_announcement(number, counter).clips
        assert [clip.id for clip in library.resolve(clip_ids)] == list(clip_ids)


def test_pygame_speaker_joins_the_clips_on_one_channel(tmp_path):
    library = ClipLibrary(write_pack(tmp_path / "pack", ["chime", "num.hai"], seconds=0.05))
    pygame.mixer.pre_init(frequency=library.sample_rate(), size=-16, channels=2, buffer=512)
    pygame.mixer.init()
    try:
        speaker = make_speaker("pygame")
        assert isinstance(speaker, PygameSpeaker)
        clips = library.resolve(["chime", "num.hai"])
        assert speaker.play("1", clips) == pytest.approx(0.05 + 0.02 + 0.05, abs=0.005)
        assert speaker.channel.get_sound() is not None
        speaker.close()
    finally:
        pygame.mixer.quit()


def test_app_turns_pushes_into_announcements_and_highlights():
    clock = FakeClock()
    speaker = FakeSpeaker(clock)
    board = Board(clock=clock)
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(None), clock=clock, min_slot_seconds=1))
    app.inbox.put(("state", hall_state(seq=5, recent=[(4, "1001", 1)])))
    app.inbox.put(("called", called(6, "1002", 2)))
    app.inbox.put(("called", {"seq": 7, "call_id": "7"}))  # malformed: logged, ignored
    app.inbox.put(("called", called(8, "1003", 1)))
    app.step()
    assert board.now_calling.number == "1002" and board.highlighted
    clock.advance(2)
    app.step()
    assert board.now_calling.number == "1003"
    app.inbox.put(("lost", "hub gone"))
    app.step()
    assert board.status == LOST and not board.highlighted


# -- fonts and drawing --------------------------------------------------------------------------


def test_the_chosen_font_draws_vietnamese_and_the_default_would_not(typeface):
    regular, bold = find_font_files()
    assert regular and covers(regular) and covers(bold)
    assert not covers(None)  # pygame's own font: boxes
    pygame.font.init()
    missing = "\u0378"  # an unassigned code point: every font draws its .notdef box
    chosen = pygame.font.Font(regular, 40)
    default = pygame.font.Font(None, 40)
    assert default.metrics("ạ") == default.metrics(missing)
    for letter in VIETNAMESE_SAMPLE:
        assert chosen.metrics(letter) != chosen.metrics(missing), letter
    surface, rect = typeface.face(True).render("Mất kết nối · ạặưừỹ", (255, 255, 255), size=40)
    assert rect.width > 200 and pygame.mask.from_surface(surface).count() > 500


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (1080, 1920)])
def test_layouts_fit_the_screen_without_overlap(size):
    regions = hall_layout(*size)
    screen = pygame.Rect((0, 0), size)
    parts = [regions[name] for name in ("header", "now_calling", "recent", "counters", "services", "ticker")]
    for part in parts:
        assert screen.contains(part) and part.width > 0 and part.height > 0
    for index, part in enumerate(parts):
        assert part.collidelist(parts[index + 1:]) == -1
    assert regions["now_calling"].height >= size[1] * 0.2  # the called number is large


LONG_SERVICES = [
    ("HT", "Hộ tịch, chứng thực bản sao từ bản chính, chứng thực chữ ký", "Civil status and certification"),
    ("DD", "Đất đai - Xây dựng - Tài nguyên và Môi trường", "Land, construction, natural resources and environment"),
    ("TP", "Tư pháp - Cư trú - Đăng ký thường trú, tạm trú", "Justice and residence"),
    ("XH", "Lao động - Thương binh và Xã hội, bảo trợ xã hội", "Labour, invalids and social affairs"),
    ("KD", "Đăng ký kinh doanh hộ cá thể, hợp tác xã", "Household business registration"),
]


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_expected_wait_is_readable_beside_long_service_names(typeface, size):
    """Five services with long names: "~35 phút" is sized by its own column (it followed the
    longest English name beside it: 5 px tall at 720p, 7 px at 1080p), and stays in the strip."""
    def waiting_strip(eta_minutes):
        state = hall_state(seq=20)
        state["services"] = [{"code": code, "name": name, "name_en": name_en, "waiting": 12,
                              "eta_minutes": eta_minutes} for code, name, name_en in LONG_SERVICES]
        board = Board()
        board.apply_state(state)
        screen = OffscreenScreen(size)
        BoardRenderer(typeface).draw(screen.surface, board, datetime(2026, 11, 26, 9, 5))
        return screen.surface

    with_wait, without = waiting_strip(35), waiting_strip(None)
    strip = hall_layout(*size)["services"]
    changed = pygame.mask.from_threshold(with_wait, (0, 0, 0), (1, 1, 1, 255), without, 1)
    changed.invert()  # the pixels where the two frames differ: the waits' ink
    ink = changed.get_bounding_rects()
    top, bottom = min(rect.top for rect in ink), max(rect.bottom for rect in ink)
    assert bottom - top >= size[1] * 0.014
    assert all(strip.contains(rect) for rect in ink)


def busy_board(clock, **options):
    board = Board(clock=clock, **options)
    board.apply_state(hall_state(seq=10, recent=[(9, "1002", 2)], waiting={"HT": 12, "CT": 3}))
    board.apply_push("counter", counter_push(11, 1, current="1003"))
    board.apply_push("counter", counter_push(11, 4, status="paused"))
    return board


def count_colour(surface, rect, colour, tolerance=30):
    """How many pixels of ``rect`` are within ``tolerance`` of ``colour``."""
    region = surface.subsurface(rect)
    return pygame.mask.from_threshold(region, colour, (tolerance + 1,) * 3 + (255,)).count()


@pytest.mark.parametrize("size", [(1280, 720), (1080, 1920)])
def test_the_called_number_is_drawn_large_and_highlighted(typeface, tmp_path, size):
    clock = FakeClock()
    board = busy_board(clock)
    renderer = BoardRenderer(typeface)
    screen = OffscreenScreen(size)
    [call] = board.apply_push("called", called(12, "1004", 3))
    regions = renderer.draw(screen.surface, board)
    panel = regions["now_calling"]
    corner = (panel.left + 3, panel.top + 3)
    assert screen.surface.get_at(corner)[:3] == THEME["panel"]  # queued, not yet announced
    board.start_calling(call)
    renderer.draw(screen.surface, board)
    screen.save(tmp_path / "called.png")
    assert screen.surface.get_at(corner)[:3] == THEME["highlight"]
    number_row = pygame.Rect(panel.left, panel.top + panel.height * 0.25, panel.width, panel.height * 0.45)
    assert count_colour(screen.surface, number_row, THEME["highlight_text"]) > panel.width * panel.height * 0.02
    # The counter's row lights up too.
    counters = regions["counters"]
    row_pixels = count_colour(screen.surface, counters, THEME["highlight"], tolerance=2)
    assert row_pixels > counters.width * counters.height * 0.05
    clock.advance(board.highlight_seconds)
    renderer.draw(screen.surface, board)
    assert screen.surface.get_at(corner)[:3] == THEME["panel"]
    assert pygame.image.load(str(tmp_path / "called.png")).get_size() == size


def test_the_lost_connection_banner(typeface):
    clock = FakeClock()
    board = busy_board(clock)
    [call] = board.apply_push("called", called(12, "1004", 3))
    board.start_calling(call)
    board.connection_lost("test")
    renderer = BoardRenderer(typeface)
    surface = pygame.Surface((1920, 1080))
    regions = renderer.draw(surface, board)
    banner = regions["banner"]
    assert surface.get_at((banner.left + 2, banner.top + 2))[:3] == THEME["lost"]
    assert count_colour(surface, banner, THEME["banner_text"], tolerance=10) > 2000  # the words are there
    panel = regions["now_calling"]
    assert surface.get_at((panel.left + 3, panel.bottom - 3))[:3] != THEME["highlight"]


def test_every_text_fits_its_box(typeface):
    for text in ("Trung tâm Phục vụ hành chính công xã Demo", "1004", "Lao động - Bảo trợ xã hội"):
        for width, height in ((300, 40), (900, 120), (120, 200)):
            size = typeface.fit_size(text, width, height, True)
            assert typeface.width(text, size, True) <= width
    size, lines = typeface.wrap("Đất đai - Xây dựng", 160, 60, True)
    assert lines == ("Đất đai -", "Xây dựng")


def test_counter_top_screen_shows_its_own_number(typeface):
    clock = FakeClock()
    board = busy_board(clock, counters_filter={2})
    renderer = BoardRenderer(typeface, counter=2)
    surface = pygame.Surface((800, 480))
    [call] = board.apply_push("called", called(12, "1004", 2))
    board.start_calling(call)
    regions = renderer.draw(surface, board)
    current = regions["current"]
    assert regions == counter_layout(800, 480)
    assert surface.get_at((current.left + 2, current.top + 2))[:3] == THEME["highlight"]
    assert count_colour(surface, current, THEME["highlight_text"]) > current.width * current.height * 0.03
    clock.advance(60)
    renderer.draw(surface, board)
    assert surface.get_at((current.left + 2, current.top + 2))[:3] == THEME["background"]
    assert count_colour(surface, current, THEME["accent"]) > current.width * current.height * 0.03


def test_frames_are_drawn_only_when_something_changed(typeface):
    from datetime import datetime

    clock = FakeClock()
    board = busy_board(clock)
    wall = [datetime(2026, 11, 26, 9, 0, 5)]
    app = DisplayApp(board, Announcer(FakeSpeaker(clock), ClipLibrary(None), clock=clock),
                     BoardRenderer(typeface), OffscreenScreen((1280, 720)), wall_clock=lambda: wall[0])
    assert app.render() and not app.render()
    wall[0] = wall[0].replace(second=50)
    assert not app.render()  # the clock shows minutes
    wall[0] = wall[0].replace(minute=1)
    assert app.render() and not app.render()
    app.inbox.put(("called", called(12, "1004", 3)))
    app.step()  # queued and started at once: the board changed
    assert app.render() and not app.render()
    clock.advance(board.highlight_seconds)
    assert app.render()  # the highlight ended
    board.hall["notices"] = ["Thông báo rất dài " * 20]  # too long for the screen: it scrolls
    assert app.render(force=True) and app.renderer.ticker_scrolls
    before = app.screen.surface.copy()
    assert app.render()  # only the ticker
    ticker = app.renderer.layout((1280, 720))["ticker"]
    top = pygame.Rect(0, 0, 1280, ticker.top)
    assert before.subsurface(top).get_view("2").raw == app.screen.surface.subsurface(top).get_view("2").raw


# -- back from a cut, the big panel, the hall's clock, health ---------------------------------


def test_back_from_a_short_cut_the_missed_calls_are_announced_once_oldest_first():
    board = Board()
    assert board.apply_state(hall_state(seq=10, recent=[(9, "1002", 2)], ages={9: 1})) == []  # a first start
    board.connection_lost("cable pulled")
    recent = [(19, "1005", 1), (17, "1004", 3), (14, "1003", 2), (9, "1002", 2)]
    late = board.apply_state(hall_state(seq=20, recent=recent, ages={19: 3, 17: 20, 14: 21, 9: 60}))
    assert [(call.call_id, call.number, call.counter) for call in late] == [("17", "1004", 3), ("19", "1005", 1)]
    assert late[0].clips == ("chime", "num.1004") and late[0].text.endswith("1004 đến quầy số 3")
    assert [call.number for call in board.recent_calls] == ["1005", "1004", "1003", "1002"]  # 1003: only shown
    assert board.apply_push("called", called(19, "1005", 1)) == []
    board.connection_lost("again")
    assert board.apply_state(hall_state(seq=20, recent=recent, ages={19: 4, 17: 21})) == []  # said once

    silent_hall = Board(counters_filter={1})  # a hall with catchup_seconds = 0, or calls elsewhere
    silent_hall.apply_state(hall_state(seq=10))
    silent_hall.connection_lost("cut")
    state = hall_state(seq=20, recent=[(19, "1005", 1), (18, "1004", 3)], ages={19: 1, 18: 1})
    assert [call.number for call in silent_hall.apply_state(state)] == ["1005"]  # counter 3 is not shown here
    silent_hall.connection_lost("cut")
    state = hall_state(seq=30, recent=[(29, "1006", 1)], ages={29: 1})
    state["hall"]["catchup_seconds"] = 0
    assert silent_hall.apply_state(state) == []


def test_the_app_says_the_missed_calls_after_the_cut_in_order():
    clock = FakeClock()
    speaker = FakeSpeaker(clock)
    board = Board(clock=clock)
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(SOUNDS), clock=clock, min_slot_seconds=0.1))
    app.inbox.put(("state", hall_state(seq=5)))
    app.inbox.put(("lost", "cut"))
    app.inbox.put(("state", hall_state(seq=9, recent=[(8, "1002", 2), (7, "1001", 1)], ages={8: 2, 7: 5})))
    for _ in range(40):
        app.step()
        clock.advance(1)
    assert [playback.call_id for playback in speaker.played] == ["7", "8"]
    assert speaker.played[0].clip_ids[0] == "chime"


def test_calls_waiting_for_the_speaker_are_dropped_only_when_the_hub_withdrew_them():
    """Calls 11, 12, 13 wait for the speaker. An undo of 12 (the hub's next snapshot lists 11 and
    13 but not 12) withdraws it; a call older than anything listed (fallen off the hub's short
    list), or yesterday's at midnight (nothing listed yet), is still said."""
    clock = FakeClock()
    speaker = FakeSpeaker(clock)
    board = Board(clock=clock)
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(SOUNDS), clock=clock, min_slot_seconds=0.1))
    app.inbox.put(("state", hall_state(seq=10)))
    for seq, number, counter in ((11, "1001", 1), (12, "1002", 2), (13, "1003", 3)):
        app.inbox.put(("called", called(seq, number, counter)))
    app.step()  # 1001 is being said
    app.handle("state", hall_state(seq=14, recent=[(13, "1003", 3), (11, "1001", 1)], current={2: None}))
    app.handle("called", called(15, "1004", 4))
    app.handle("state", hall_state(seq=16, recent=[(15, "1004", 4), (13, "1003", 3)]))  # 11 fell off the list
    new_day = hall_state(seq=17)
    new_day["day"] = "2026-11-27"
    app.handle("state", new_day)
    for _ in range(60):
        app.step()
        clock.advance(1)
    assert [playback.call_id for playback in speaker.played] == ["11", "13", "15"]


def test_the_board_speaks_the_voice_the_hall_names():
    clock = FakeClock()
    speaker = FakeSpeaker(clock)
    app = DisplayApp(Board(clock=clock), Announcer(speaker, ClipLibrary(SOUNDS), clock=clock, min_slot_seconds=0.1))
    central = dict(hall_state(seq=5), hall={**hall_state()["hall"], "voice": "vi-vn-x-central"})
    app.inbox.put(("state", central))
    app.inbox.put(("called", called(6, "1001", 1, clips=("chime", "num.1001"))))
    for _ in range(5):
        app.step()
        clock.advance(1)
    assert speaker.played and speaker.played[0].clip_ids[0] == "chime"
    assert app.announcer.clips.directory == Path(SOUNDS) / "vi-vn-x-central"
    app.handle("state", dict(central, hall={**central["hall"], "voice": "vi"}))  # no vi/ folder: sounds/ itself
    assert app.announcer.clips.directory == Path(SOUNDS)


def test_a_no_show_leaves_the_big_panel(typeface):
    clock = FakeClock()
    board = Board(clock=clock)
    board.apply_state(hall_state(seq=10, recent=[(9, "1002", 2)]))
    assert board.now_calling.number == "1002"
    [call] = board.apply_push("called", called(12, "1004", 1))
    board.apply_push("counter", counter_push(12, 1, current="1004"))
    assert board.now_calling.number == "1002"  # 1004 is not announced yet
    board.start_calling(call)
    assert board.now_calling.number == "1004" and board.highlighted
    board.apply_push("counter", counter_push(13, 1))  # 1004 did not come: no-show
    assert board.now_calling.number == "1002" and not board.highlighted  # the call still in effect
    board.apply_push("counter", counter_push(14, 2))
    assert board.now_calling is None
    renderer = BoardRenderer(typeface)
    surface = pygame.Surface((1280, 720))
    panel = renderer.draw(surface, board)["now_calling"]
    number_row = pygame.Rect(panel.left, panel.top + panel.height * 0.25, panel.width, panel.height * 0.45)
    assert count_colour(surface, number_row, THEME["accent"], tolerance=10) == 0  # no number on the panel
    # A snapshot whose last call's ticket has left its counter does not show it either.
    board.apply_state(hall_state(seq=15, recent=[(12, "1004", 1), (9, "1002", 2)], current={1: None}))
    assert board.now_calling.number == "1002"


def test_the_clock_shows_the_hall_time_zone_unless_one_is_chosen(caplog):
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from display.app import hall_clock

    moment = datetime(2026, 11, 30, 1, 36, tzinfo=UTC).timestamp()  # 01:36 UTC is 08:36 in the hall
    board = Board()
    clock = hall_clock(board, now=lambda: moment)
    assert clock() == datetime.fromtimestamp(moment)  # no state yet: the machine's zone
    board.apply_state(hall_state(timezone="Asia/Ho_Chi_Minh"))
    assert clock().strftime("%H:%M") == "08:36" and clock().utcoffset().total_seconds() == 7 * 3600
    assert hall_clock(board, ZoneInfo("UTC"), now=lambda: moment)().strftime("%H:%M") == "01:36"
    app = DisplayApp(board, Announcer(FakeSpeaker(), ClipLibrary(None)))
    assert app.wall_clock().tzinfo == ZoneInfo("Asia/Ho_Chi_Minh")  # the app's default clock
    board.apply_state(hall_state(timezone="Mars/Olympus_Mons"))
    assert clock() == datetime.fromtimestamp(moment) and "unknown hall time zone" in caplog.text


def counter_row(regions, index, count):
    """Counter ``index``'s row in the hall layout (one column of ``count`` counters)."""
    box = regions["counters"]
    top = box.top + box.height * 0.09
    height = min(box.height * 0.91 / count, box.height * 0.91 / 4)
    return pygame.Rect(box.left, round(top + index * height), box.width, round(height))


def test_a_paused_counter_with_a_ticket_says_so(typeface, tmp_path):
    board = busy_board(FakeClock())
    board.apply_push("counter", counter_push(12, 2, current="1002", status="paused"))
    renderer = BoardRenderer(typeface)
    surface = pygame.Surface((1920, 1080))
    regions = renderer.draw(surface, board)
    pygame.image.save(surface, str(tmp_path / "paused.png"))
    serving, paused_with_ticket, idle, paused = (counter_row(regions, index, 4) for index in range(4))
    assert count_colour(surface, paused_with_ticket, THEME["paused"], tolerance=6) > 800  # "Tạm nghỉ · Paused"
    assert count_colour(surface, paused_with_ticket, THEME["accent"], tolerance=10) > 800  # and its number
    assert count_colour(surface, serving, THEME["paused"], tolerance=6) == 0
    assert count_colour(surface, paused, THEME["paused"], tolerance=6) > 800


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (1080, 1920)])
def test_the_lost_banner_covers_neither_the_hall_name_nor_a_counter(typeface, size):
    board = busy_board(FakeClock())
    board.connection_lost("test")
    surface = pygame.Surface(size)
    regions = BoardRenderer(typeface).draw(surface, board)
    banner = regions["banner"]
    for part in ("header", "now_calling", "counters", "recent"):
        assert not banner.colliderect(regions[part]), part
    first_row = counter_row(regions, 0, 4) if size[0] > size[1] else regions["counters"]
    assert count_colour(surface, first_row, THEME["lost"], tolerance=4) == 0
    assert surface.get_at((banner.left + 2, banner.bottom - 2))[:3] == THEME["lost"]
    assert banner.height >= size[1] * 0.15  # big enough to read from the back of the hall


def test_health_reports_on_join_every_heartbeat_and_at_once_on_changes():
    from display.health import Health

    clock, sound, sent, online = FakeClock(), ["ok"], [], [True]

    def send(status):
        if online[0]:
            sent.append(status)
        return online[0]

    health = Health("pygame-sanh-1", name="Sảnh 1", counters={3, 1}, sound=lambda: sound[0], clock=clock,
                    wall=lambda: 1764465125.5)
    assert health.report(send) and not health.report(send)
    assert sent[0] == {"screen": "pygame-sanh-1", "kind": "pygame", "name": "Sảnh 1", "sound": "ok",
                       "last_announcement": None, "counters": [1, 3]}
    clock.advance(14)
    assert not health.report(send)
    clock.advance(1)
    assert health.report(send)  # the heartbeat
    sound[0] = "failed"
    assert health.report(send) and sent[-1]["sound"] == "failed"  # at once
    health.announced("41")
    assert health.report(send) and sent[-1]["last_announcement"] == {"call_id": "41", "played_at": 1764465125.5}
    online[0] = False
    health.joined()
    assert not health.report(send)  # offline: nothing queued...
    online[0] = True
    assert health.report(send) and len(sent) == 5  # ...and sent once joined again


def test_health_knows_its_sound_and_keeps_its_id(tmp_path):
    from display.health import screen_id, sound_state

    assert sound_state("fake", FakeSpeaker()) == "off"  # chosen: a counter-top screen
    assert sound_state("pygame", make_speaker("fake")) == "failed"  # the mixer would not open
    pygame.mixer.init()
    try:
        assert sound_state("pygame", PygameSpeaker()) == "ok"
    finally:
        pygame.mixer.quit()
    kept = tmp_path / "state" / "screen-id"
    first = screen_id(kept)
    assert first.startswith("pygame-") and len(first) <= 64 and kept.read_text().strip() == first
    assert screen_id(kept) == first
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    derived = screen_id(blocked / "screen-id")  # cannot be kept: derived from the machine, the same each time
    assert derived == screen_id(blocked / "screen-id") and derived.startswith("pygame-")
    kept.write_bytes(b"\xff\xfe\x00pygame")  # a power cut as it was written: the board would not start at all
    again = screen_id(kept)
    assert again.startswith("pygame-") and again != first and screen_id(kept) == again
