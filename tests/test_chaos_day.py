"""A hall's day going wrong, through the front line's real processes: a hub process on loopback
(killed, frozen, restarted), the keypad client and the hall screen with fakes only for the keypad,
the speaker and the screen."""

import contextlib
import io
import queue
import threading
import time

import pytest
import requests

from counter_client.app import CounterApp
from counter_client.config import Settings
from counter_client.inputs import FakeKeyboard
from counter_client.live import LiveLink
from counter_client.screen import Screen
from counter_client.transport import HubClient
from display.announcer import Announcer
from display.app import DisplayApp
from display.audio import ClipLibrary, FakeSpeaker
from display.model import Board
from display.network import HubLink
from hallclient import Backoff
from hallserver.voice import clip_ids
from tests.helpers import (
    CT,
    HT,
    Frozen,
    HubProcess,
    ResponseDroppingProxy,
    device_token,
    init_hall,
    wait_until,
    write_pack,
)

pytestmark = pytest.mark.hub


class Desk:
    """A keypad client (the real app, transport and live link) at ``counter`` of a hub, its
    keys pressed by the test; ``pump_until`` runs its loop until what the clerk sees says so.
    Its actions go to ``actions_url`` when given (a proxy that loses the hub's answers)."""

    def __init__(self, hub, counter, token, timeout=1.0, actions_url=None):
        self.keyboard, self.output = FakeKeyboard(), io.StringIO()
        actions_url = actions_url or hub.url  # a proxy that loses the hub's answers, say
        self.app = CounterApp(Settings(hub=hub.url, counter=counter, token=token, timeout=timeout),
                              HubClient(actions_url, counter, token, timeout=timeout, retry_delays=(0.1, 0.1)),
                              Screen(self.output, interactive=False))
        self.app.attach(self.keyboard)
        self.link = LiveLink(hub.url, counter, token, self.app.inbox, timeout=timeout,
                             backoff=Backoff(initial=0.1, maximum=0.5)).start()

    @property
    def text(self):
        return self.output.getvalue()

    def press(self, key):
        self.keyboard.press(key)

    def pump_until(self, predicate, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"no {what} within {timeout} s:\n{self.text[-3000:]}"
            try:
                self.app.handle(self.app.inbox.get(timeout=0.05))
            except queue.Empty:
                self.app.handle(("tick",))
            self.app.redraw()

    def idle(self):
        return self.app.in_flight is None

    def call_first(self, waiting, serve=False):
        """Once the desk shows ``waiting`` citizens in line: Enter (1001 called), with ``serve`` then
        '*' (1001 being served)."""
        self.pump_until(lambda: self.app.view.link == "online" and self.app.view.waiting == waiting, "the desk")
        self.press("enter")
        self.pump_until(lambda: self.idle() and (self.app.view.current or {}).get("number") == "1001", "1001 called")
        if serve:
            self.press("*")
            self.pump_until(lambda: self.idle() and self.app.view.current["status"] == "serving", "1001 served")

    def close(self):
        self.link.stop()


def hub_with_queue(tmp_path, waiting=3, **sections):
    """A started hub (HT at counter 1) with ``waiting`` citizens in line: (hub, kiosk, counter 1's token)."""
    db = init_hall(tmp_path, **sections)
    kiosk, token = device_token(db, "kiosk"), device_token(db, "counter", 1)
    hub = HubProcess(db).start()
    for _ in range(waiting):
        assert hub.post("/api/v1/tickets", kiosk, {"service": "HT"}).status_code == 201
    return hub, kiosk, token


@pytest.fixture
def desk_at_hub(tmp_path):
    """``desk_at_hub(waiting=3, lost_answers=0, **sections)``: a started hub (``hub_with_queue``) and a
    Desk at its counter 1, its actions through a proxy that loses the first ``lost_answers`` of the
    hub's answers (if any): ``(hub, token, desk)``, all closed after the test."""
    with contextlib.ExitStack() as closing:
        def start(waiting=3, lost_answers=0, **sections):
            hub, _, token = hub_with_queue(tmp_path, waiting, **sections)
            closing.callback(hub.stop)
            actions_url = None
            if lost_answers:
                proxy = ResponseDroppingProxy(hub.port, drops=lost_answers)
                closing.callback(proxy.close)
                actions_url = proxy.url
            desk = Desk(hub, 1, token, actions_url=actions_url)
            closing.callback(desk.close)
            return hub, token, desk
        yield start


def ticket_status(hub, token, number):
    """The status of ticket ``number`` as counter 1 sees it (at the desk or in line), else None."""
    counter = hub.get("/api/v1/counters/1", token).json()["counter"]
    if (counter["current"] or {}).get("number") == number:
        return counter["current"]["status"]
    return "waiting" if number in [ticket["number"] for ticket in counter["waiting_list"]] else None


def test_a_key_pressed_after_an_unacknowledged_one_never_acts_on_a_citizen_the_clerk_has_not_seen(desk_at_hub):
    """The hub hangs while serving 1001; the clerk presses Enter (finish, call the next): no
    answer. Seeing 1001 still at the desk, the clerk presses '.' (no-show). The hub wakes and
    carries out the waiting Enter (1001 done, 1002 called and announced). The '.' was sent too
    and marked 1002 absent the moment it was called: 1002 walked up to a counter that had
    already written them off. Now a different key while an earlier one is unacknowledged is
    not sent until the hub has said what the desk holds; once it has, the next key acts on it."""
    hub, token, desk = desk_at_hub(policy={"undo_seconds": 300})
    desk.call_first(waiting=3, serve=True)

    with Frozen(hub):
        desk.press("enter")
        desk.pump_until(lambda: "✗ Gọi tiếp / Next: Không có xác nhận từ hub" in desk.text, "no answer")
        desk.press(".")
        desk.pump_until(lambda: desk.idle() and "✗ Vắng mặt / No-show" in desk.text, "the no-show's fate")
        assert ("✗ Vắng mặt / No-show: chưa gửi: chưa rõ Gọi tiếp vừa rồi đã được thực hiện chưa (mất kết nối)."
                " Nhấn lại Gọi tiếp để gửi lại, hoặc chờ kết nối" in desk.text)
        desk.link.stop()  # the live link stays down: the desk still shows 1001 serving
    wait_until(lambda: ticket_status(hub, token, "1002") == "called", what="the Enter the hub woke up with")
    assert ticket_status(hub, token, "1003") == "waiting"

    desk.press(".")  # meant for 1001, which the desk still shows
    desk.pump_until(lambda: desk.idle() and "chưa gửi: quầy đã thay đổi" in desk.text, "the changed desk")
    assert ("✗ Vắng mặt / No-show: chưa gửi: quầy đã thay đổi sau Gọi tiếp chưa có xác nhận; xem lại rồi nhấn lại"
            in desk.text)
    assert desk.app.view.current["number"] == "1002" and ticket_status(hub, token, "1002") == "called"

    desk.press("z")  # the clerk sees the Enter was carried out after all, and undoes it: sent
    desk.pump_until(lambda: desk.idle() and "✓ Hoàn tác / Undo" in desk.text, "the undo")
    assert ticket_status(hub, token, "1002") == "waiting" and ticket_status(hub, token, "1001") == "serving"


def test_an_answer_to_did_they_come_that_got_no_acknowledgement_is_asked_again(desk_at_hub):
    """Enter again on a citizen called a while ago: 'Số 1001 đã đến quầy chưa?'. The clerk
    answers B (came) as the hub dies: no acknowledgement, 'press again to resend'. B again
    said 'Phím B chưa gán' (outside the question B means nothing) and nothing was sent; the
    question is asked again, so B resends the same answer once the hub is back."""
    hub, token, desk = desk_at_hub(waiting=2, policy={"repeat_guard_seconds": 0, "confirm_arrival_seconds": 600})
    desk.call_first(waiting=2)
    desk.press("enter")
    desk.pump_until(lambda: desk.idle() and "Số 1001 đã đến quầy chưa?" in desk.text, "the question")

    hub.kill()
    desk.press("b")
    desk.pump_until(lambda: desk.idle() and "✗ Gọi tiếp / Next: Không có xác nhận từ hub" in desk.text, "no answer")
    assert desk.app.prompt is not None and desk.app.prompt.kind == "arrival"  # asked again

    hub.start()
    desk.press("b")
    desk.pump_until(lambda: desk.idle() and "✓ Gọi tiếp / Next: 1001 đã đến, xong / came, done → 1002 (HT)"
                    in desk.text, "the answer resent")
    assert ticket_status(hub, token, "1002") == "called" and ticket_status(hub, token, "1001") is None


def test_a_transfer_that_got_no_acknowledgement_is_resent_by_enter_not_turned_into_call_next(desk_at_hub):
    """1001 is being served; the clerk types '- 2 Enter' (transfer to Chứng thực) as the hub goes
    down: no acknowledgement, 'press again to resend'. Enter again was call-next: 1001 was
    marked served and 1002 called, instead of 1001 going to Chứng thực. The transfer prompt
    comes back with '2' typed, so Enter resends the transfer (as the number prompt does a call)."""
    hub, token, desk = desk_at_hub(waiting=2, services=[dict(HT), dict(CT)],
                                   counters=[{"number": 1, "services": ["HT", "CT"]}])
    desk.call_first(waiting=2, serve=True)

    hub.kill()
    for key in ("-", "2", "enter"):
        desk.press(key)
    desk.pump_until(lambda: desk.idle() and "✗ Chuyển dịch vụ / Transfer: Không có xác nhận từ hub" in desk.text,
                    "no answer")
    assert desk.app.prompt is not None and (desk.app.prompt.kind, desk.app.prompt.text) == ("transfer", "2")

    hub.start()
    desk.press("enter")
    desk.pump_until(lambda: desk.idle() and "✓ Chuyển dịch vụ / Transfer: 1001 → CT" in desk.text, "the transfer")
    assert ticket_status(hub, token, "1001") == "waiting" and ticket_status(hub, token, "1002") == "waiting"


def test_undo_after_an_unacknowledged_press_that_never_reached_the_hub_undoes_nothing(desk_at_hub):
    """1001 is at the desk. The clerk presses Enter by mistake as the hub dies: no
    acknowledgement. Once the hub is back they press undo, to make sure that Enter did nothing.
    The undo went to the hub, which undid its last action, the call of 1001: the citizen
    standing at the desk was put back in line. The hub's desk is as it was, so the Enter never
    happened and there is nothing to undo: the client says so and sends nothing; a second undo
    is sent as usual."""
    hub, token, desk = desk_at_hub(waiting=2, policy={"undo_seconds": 300})
    desk.call_first(waiting=2)
    hub.kill()
    desk.press("enter")
    desk.pump_until(lambda: desk.idle() and "✗ Gọi tiếp / Next: Không có xác nhận từ hub" in desk.text, "no answer")
    hub.start()
    desk.press("z")
    desk.pump_until(lambda: desk.idle() and "✗ Hoàn tác / Undo" in desk.text, "the undo's answer")
    assert ("✗ Hoàn tác / Undo: không cần: Gọi tiếp vừa rồi chưa được thực hiện (quầy vẫn như cũ)"
            in desk.text)
    assert ticket_status(hub, token, "1001") == "called" and ticket_status(hub, token, "1002") == "waiting"

    desk.press("z")  # again: the clerk does mean the hub's last action, the call of 1001
    desk.pump_until(lambda: desk.idle() and "✓ Hoàn tác / Undo: số 1001 (HT) trở lại hàng chờ" in desk.text,
                    "the second undo")


def test_undo_after_an_unacknowledged_press_the_desk_shows_carried_out_undoes_it(desk_at_hub):
    """Enter is carried out but every answer is lost on the way back; the live link shows 1001
    called. The clerk undoes it: that undo is sent (it is what the desk shows) and 1001 goes
    back in line; the desk matching what the clerk saw does not mean 'never carried out'."""
    hub, token, desk = desk_at_hub(waiting=2, policy={"undo_seconds": 300}, lost_answers=3)  # the press, 2 retries
    desk.pump_until(lambda: desk.app.view.link == "online" and desk.app.view.waiting == 2, "the desk")
    desk.press("enter")
    desk.pump_until(lambda: desk.idle() and "✗ Gọi tiếp / Next: Không có xác nhận từ hub" in desk.text, "no answer")
    desk.pump_until(lambda: (desk.app.view.current or {}).get("number") == "1001", "1001 through the live link")
    desk.press("z")
    desk.pump_until(lambda: desk.idle() and "Hoàn tác / Undo" in desk.text, "the undo")
    assert "✓ Hoàn tác / Undo: số 1001 (HT) trở lại hàng chờ" in desk.text
    assert ticket_status(hub, token, "1001") == "waiting"


def test_a_power_cut_of_the_hub_in_a_burst_of_calls_leaves_the_screen_true_saying_each_call_once_in_order(tmp_path):
    """Three counters call one after the other as fast as they can; the hub is killed (kill -9)
    in the middle and restarted; the counters go on. The screen says no call twice, says them
    in the order they were made, says every call made after the restart, and shows each
    counter's citizen as the hub has it."""
    numbers = (1, 2, 3)
    hub, kiosk, _ = hub_with_queue(tmp_path, waiting=40, counters=[{"number": n, "services": ["HT"]} for n in numbers])
    tokens = {number: device_token(hub.db, "counter", number) for number in numbers}
    pack = write_pack(tmp_path / "pack", clip_ids(), seconds=0.01)
    speaker, board, inbox = FakeSpeaker(), Board(), queue.Queue()
    app = DisplayApp(board, Announcer(speaker, ClipLibrary(pack), min_slot_seconds=0, gap_seconds=0),
                     inbox=inbox, link=HubLink(hub.url, inbox, backoff=Backoff(initial=0.1, maximum=0.5)).start())

    def call_next(number):
        hub.post(f"/api/v1/counters/{number}/done", tokens[number])
        answer = hub.post(f"/api/v1/counters/{number}/call-next", tokens[number])
        return answer.json()["ticket"]["number"] if answer.status_code == 200 else None

    def burst(stop):
        while not stop.is_set():
            for number in numbers:
                try:
                    call_next(number)
                except requests.RequestException:
                    return

    try:
        wait_until(lambda: app.step() or board.online, timeout=10, every=0.02, what="the board online")
        stop = threading.Event()
        callers = threading.Thread(target=burst, args=(stop,))
        callers.start()
        wait_until(lambda: app.step() or len(board.recent_calls) >= 3, timeout=10, every=0.02, what="calls")
        hub.kill()  # the power cut, calls in flight
        stop.set()
        callers.join(10)
        hub.start()
        after = [call_next(number) for number in numbers]
        state = hub.get("/api/v1/state").json()
        wait_until(lambda: app.step() or (board.online and board.seq >= state["seq"] and not app.announcer.pending
                                          and not speaker.busy()), timeout=15, every=0.02, what="the board caught up")
        said = [int(playback.call_id) for playback in speaker.played]
        assert said == sorted(set(said))  # each once, in order
        recent = {call["number"]: int(call["call_id"]) for call in state["recent_calls"]}
        assert {recent[number] for number in after} <= set(said)
        assert {number: counter.current for number, counter in board.counters.items()} == {
            counter["number"]: (counter["current"] or {}).get("number") for counter in state["counters"]}
    finally:
        app.close()
        hub.stop()
