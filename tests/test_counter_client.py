"""The keypad counter client: key decoding and maps, config, retries, the app's logic with
a fake keyboard and a fake hub, and the real thing (``python -m counter_client`` in a
pty) against a real hub process on loopback."""

import fcntl
import io
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
import types

import pytest
import requests

from counter_client.__main__ import main
from counter_client.app import REFLEX_SECONDS, CounterApp
from counter_client.commands import COMMANDS, DEFAULT_KEYS, HUB_ACTIONS, KeyMap, KeyMapError
from counter_client.config import ConfigError, Settings, build_parser, load_settings
from counter_client.inputs import EvdevReader, FakeKeyboard, InputUnavailable, TerminalReader, raw_attributes
from counter_client.keys import CTRL_C, LINUX_KEY_CODES, EvdevTranslator, TerminalDecoder
from counter_client.live import LiveLink
from counter_client.screen import CounterView, Screen, plain, status_line
from counter_client.transport import ActionResult, HubClient
from hallclient import Backoff
from hallserver.store import open_store
from tests.helpers import HT, ROOT, HubProcess, ResponseDroppingProxy, init_database, init_hall, make_token

# -- keys -------------------------------------------------------------------------------


@pytest.mark.parametrize("data, keys", [
    (b"\r", ["enter"]),
    (b"\n", ["enter"]),
    (b"\r\n", ["enter"]),
    (b"+-*/.0123456789", list("+-*/.0123456789")),
    (b"Qh?", ["q", "h", "?"]),
    (b"\x1bOM", ["enter"]),  # keypad Enter in application keypad mode
    (b"\x1bOk\x1bOm\x1bOj\x1bOo\x1bOn\x1bOp\x1bOy", ["+", "-", "*", "/", ".", "0", "9"]),
    (b"\x1b[2~\x1b[3~\x1b[A\x1b[1;5B\x1bOF", ["insert", "delete", "up", "down", "end"]),
    (b"\x7f\x08\t\x03", ["backspace", "backspace", "tab", CTRL_C]),
    (b"\x1a", ["ctrl-z"]),  # raw mode: Ctrl+Z is a key (undo), not a suspend
    ("đ".encode(), ["đ"]),
])
def test_terminal_decoder(data, keys):
    assert TerminalDecoder().feed(data) == keys


def test_terminal_decoder_waits_for_the_rest_of_a_sequence():
    decoder = TerminalDecoder()
    assert decoder.feed(b"\x1b") == [] and decoder.pending
    assert decoder.feed(b"O") == []
    assert decoder.feed(b"M1") == ["enter", "1"]
    assert decoder.feed("ư".encode()[:1]) == []
    assert decoder.feed("ư".encode()[1:]) == ["ư"]
    assert not decoder.pending


def test_a_lone_escape_is_the_escape_key_after_a_pause():
    decoder = TerminalDecoder()
    assert decoder.feed(b"\x1b") == []
    assert decoder.flush() == ["escape"]
    assert decoder.feed(b"\x1b\x1bOM") == ["escape", "enter"]
    assert decoder.feed(b"\x1b[" + b"9" * 20) == []  # garbage longer than any key is dropped
    assert not decoder.pending


def test_evdev_codes_map_keypad_keys():
    translator = EvdevTranslator()
    press = lambda code: translator.translate(code, 1)  # noqa: E731
    keypad = {96: "enter", 78: "+", 74: "-", 55: "*", 98: "/", 83: ".", 82: "0", 79: "1", 73: "9"}
    assert {code: press(code) for code in keypad} == keypad
    assert press(28) == "enter" and press(16) == "q" and press(35) == "h"
    assert translator.translate(96, 2) is None  # autorepeat of a held key
    assert translator.translate(96, 0) is None  # release


def test_evdev_modifiers():
    translator = EvdevTranslator()
    assert translator.translate(42, 1) is None  # left shift down
    assert translator.translate(13, 1) == "+"  # shift + '=' on the main keyboard
    assert translator.translate(42, 0) is None
    assert translator.translate(13, 1) == "="
    translator.translate(29, 1)  # left ctrl
    assert translator.translate(46, 1) == CTRL_C
    assert translator.translate(44, 1) == "ctrl-z"


def test_every_default_key_exists_on_a_usb_keypad():
    keypad_codes = {69, 96, 78, 74, 55, 98, 83, 82, 79, 80, 81, 75, 76, 77, 71, 72, 73}  # 69: NumLock
    keypad_keys = {LINUX_KEY_CODES[code] for code in keypad_codes}
    actions = {"call-next", "recall", "no-show", "done", "start", "pause-toggle", "transfer", "call-number", "undo"}
    assert {DEFAULT_KEYS[key] for key in keypad_keys if key in DEFAULT_KEYS} == actions


# -- key map ----------------------------------------------------------------------------

def test_default_key_map():
    keys = KeyMap()
    assert keys.command_for("enter").label == "Gọi tiếp / Next"
    expected = {"+": "recall", ".": "no-show", "0": "done", "*": "start", "/": "pause-toggle", "-": "transfer",
                "5": "call-number", "q": "quit", "z": "undo", "backspace": "undo", "ctrl-z": "undo",
                "numlock": "undo"}
    assert {key: keys.command_for(key).name for key in expected} == expected
    assert keys.command_for("insert") is None


def test_key_map_overrides_and_unbinds():
    keys = KeyMap().with_overrides({"F1": "call-next", "enter": "none", "r": "reinstate"})
    assert keys.command_for("f1").name == "call-next"
    assert keys.command_for("enter") is None
    assert keys.command_for("r").name == "reinstate"
    with pytest.raises(KeyMapError, match="unknown key name 'F13'"):
        KeyMap().with_overrides({"F13": "done"})
    with pytest.raises(KeyMapError, match="unknown command 'jump'"):
        KeyMap().with_overrides({"enter": "jump"})


def test_help_lists_every_bound_command():
    lines = KeyMap().help_lines()
    assert "  Enter      Gọi tiếp / Next" in lines
    assert any(line.startswith("  1-9        Gọi số / Call a number") for line in lines)
    assert any(line.startswith("  ?,h ") for line in lines)
    assert "  Backspace,Ctrl-Z,NumLock,z Hoàn tác / Undo" in lines
    assert any(line.startswith("  B,0 / V,.  khi hỏi 'đã đến quầy chưa?'") for line in lines)
    assert lines[-1].startswith("  Ctrl-C")


# -- config -----------------------------------------------------------------------------

def settings_from(argv, environ=None, home=None):
    environ = dict(environ or {})
    if home is not None:
        environ["XDG_CONFIG_HOME"] = str(home)
    environ.setdefault("XDG_CONFIG_HOME", "/nonexistent")
    return load_settings(build_parser().parse_args(argv), environ)


def write_config(directory, text):
    path = directory / "hall-counter.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


def test_precedence_is_cli_then_environment_then_file(tmp_path):
    write_config(tmp_path, 'hub = "http://file:5000/"\ncounter = 1\ntoken = "from-file"\n')
    from_file = settings_from([], home=tmp_path)
    assert (from_file.hub, from_file.counter, from_file.token) == ("http://file:5000", 1, "from-file")
    environ = {"HALL_HUB": "http://env:5000", "HALL_COUNTER": "2", "HALL_COUNTER_TOKEN": "from-env"}
    from_env = settings_from([], environ, home=tmp_path)
    assert (from_env.hub, from_env.counter, from_env.token) == ("http://env:5000", 2, "from-env")
    from_cli = settings_from(["--hub", "http://cli:5000", "--counter", "3", "--token", "from-cli"], environ,
                             home=tmp_path)
    assert (from_cli.hub, from_cli.counter, from_cli.token) == ("http://cli:5000", 3, "from-cli")
    assert from_cli.warnings == []


def test_config_file_keys_and_options(tmp_path):
    path = write_config(tmp_path, 'hub = "http://hub:5000"\ncounter = 4\ntoken = "t"\ninput = "evdev"\n'
                                  'device = "/dev/input/event3"\ntimeout = 2\nascii = true\n'
                                  '[keys]\nenter = "none"\nf1 = "call-next"\n')
    settings = settings_from(["--config", str(path)])
    assert settings.input == "evdev" and settings.device == "/dev/input/event3"
    assert settings.timeout == 2.0 and settings.ascii is True
    assert settings.keys.command_for("f1").name == "call-next" and settings.keys.command_for("enter") is None


def test_a_bad_config_key_is_named_and_exits_2(tmp_path, capsys):
    path = write_config(tmp_path, 'hub = "http://hub:5000"\nhubb = "typo"\n')
    assert main(["--config", str(path)], environ={}) == 2
    assert capsys.readouterr().err == (
        f"hall-counter: {path}: khóa không hợp lệ / unknown key 'hubb' "
        "(known: hub, counter, token, input, device, timeout, ascii, keys)\n")


@pytest.mark.parametrize("text, argv, environ, message", [
    ('[keys]\nenter = "jump"\n', [], {}, "[keys]: 'enter': lệnh không hợp lệ / unknown command 'jump'"),
    ('[keys]\nF13 = "done"\n', [], {}, "[keys]: tên phím không hợp lệ / unknown key name 'F13'"),
    ('counter = "two"\n', [], {}, ": counter: số quầy phải là số nguyên dương"),
    ("", [], {"HALL_COUNTER": "abc"}, "HALL_COUNTER: số quầy phải là số nguyên dương"),
    ("", ["--hub", "hub:5000"], {}, "--hub: cần URL http(s)://"),
    ("", ["--timeout", "0"], {}, "--timeout: phải là số giây"),
    ('hub = "http://h"\ncounter = 1\n', [], {}, "thiếu / missing token: give --token, HALL_COUNTER_TOKEN"),
    ("hub = ", [], {}, "TOML không hợp lệ / invalid TOML"),
])
def test_config_mistakes_name_the_key(tmp_path, text, argv, environ, message):
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        settings_from(["--config", str(path), *argv], environ)
    assert message in str(error.value)


def test_a_config_file_not_in_utf8_is_named_and_exits_2(tmp_path, capsys):
    """Saved by Windows Notepad as "Unicode" (UTF-16): the client printed a traceback and exited
    1, and systemd restarted it for ever; it names the file and exits 2 like any other mistake."""
    path = write_config(tmp_path, "")
    path.write_bytes('hub = "http://192.168.1.10:5000"\ncounter = 2\n'.encode("utf-16"))
    assert main(["--config", str(path)], environ={}) == 2
    assert capsys.readouterr().err == (
        f"hall-counter: {path}: không phải văn bản UTF-8 / not UTF-8 text: lưu lại tệp với mã hóa UTF-8"
        " / save it as UTF-8\n")
    path.write_bytes('hub = "http://192.168.1.10:5000"\ncounter = 2\ntoken = "t"\n'.encode("utf-8-sig"))
    assert settings_from(["--config", str(path)]).hub == "http://192.168.1.10:5000"  # UTF-8 with a BOM: fine


def test_missing_config_file_and_loose_permissions(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        settings_from(["--config", str(tmp_path / "absent.toml")])
    path = write_config(tmp_path, 'hub = "http://h"\ncounter = 1\ntoken = "t"\n')
    path.chmod(0o644)
    assert "chmod 600" in settings_from([], home=tmp_path).warnings[0]


# -- retries ----------------------------------------------------------------------------

class FakeResponse:
    def __init__(self, status_code, body):
        self.status_code, self.body, self.reason = status_code, body, "reason"
        self.ok = status_code < 400

    def json(self):
        if self.body is None:
            raise ValueError("not JSON")
        return self.body


class FakeSession:
    """Answers posts from a script: a FakeResponse, or an exception to raise."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.posts = []

    def post(self, url, json=None, headers=None, timeout=None):
        self.posts.append((url, json, headers))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


def hub_client(session, **options):
    ids = iter(f"id-{n}" for n in range(100))
    return HubClient("http://hub:5000/", 2, "secret", session=session, sleep=lambda seconds: None,
                     new_request_id=lambda: next(ids), **options)


def test_retries_reuse_the_request_id():
    answer = {"ticket": {"number": "1001"}, "counter": {"number": 2}}
    session = FakeSession(requests.ConnectionError("refused"), requests.Timeout("slow"), FakeResponse(200, answer))
    result = hub_client(session).perform("call-next")
    assert result.ok and result.answer == answer and result.attempts == 3
    assert [post[1] for post in session.posts] == [{"request_id": "id-0"}] * 3
    assert session.posts[0][0] == "http://hub:5000/api/v1/counters/2/call-next"
    assert session.posts[0][2] == {"Authorization": "Bearer secret"}


def test_an_unacknowledged_request_is_resent_under_its_id_when_the_key_is_pressed_again():
    session = FakeSession(*[requests.ConnectionError("down")] * 4, FakeResponse(200, {}), FakeResponse(200, {}))
    client = hub_client(session)
    failed = client.perform("transfer", service="CT")
    assert not failed.ok and failed.unreachable and failed.attempts == 4
    assert "hub unreachable" in failed.message_en and failed.message == "Không có xác nhận từ hub, mất kết nối"
    assert client.perform("transfer", service="CT").request_id == failed.request_id == "id-0"
    assert client.perform("transfer", service="CT").request_id == "id-1"  # acknowledged: a new press is new
    assert {post[1]["request_id"] for post in session.posts} == {"id-0", "id-1"}


def test_another_action_after_a_failure_gets_a_new_id():
    session = FakeSession(requests.ConnectionError("down"), FakeResponse(200, {}))
    client = hub_client(session, retry_delays=())
    assert client.perform("call-next").request_id == "id-0"
    assert client.perform("done").request_id == "id-1"


def test_refusals_are_not_retried_and_server_errors_are():
    error = {"error": {"code": "counter_paused", "message": "Quầy số 2 đang tạm dừng",
                       "message_en": "Counter 2 is paused"}}
    session = FakeSession(FakeResponse(503, None), FakeResponse(409, error))
    result = hub_client(session).perform("call-next")
    assert (result.ok, result.code, result.message, result.attempts) == (
        False, "counter_paused", "Quầy số 2 đang tạm dừng", 2)
    assert hub_client(FakeSession(FakeResponse(404, None))).perform("done").code == "http_404"


def test_backoff_doubles_up_to_a_cap():
    backoff = Backoff(initial=0.5, maximum=5.0, jitter=0.2, rand=lambda: 0.5)
    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


# -- the app with a fake keyboard and a fake hub ------------------------------------------

def counter_state(status="open", current=None, waiting=3, waiting_list=()):
    return {"number": 2, "name": "Quầy 2", "status": status, "services": ["HT", "CT"], "current": current,
            "waiting": [{"service": "HT", "count": waiting}],
            "waiting_list": [{"number": number} for number in waiting_list]}


def called(number, status="called", service="HT"):
    return {"number": number, "service": service, "status": status, "recalls": 0}


class FakeHub:
    """Stands in for HubClient: records what is performed, answers from ``answers``."""

    def __init__(self):
        self.performed = []
        self.answers = {}
        self.state = counter_state()

    def perform(self, action, **body):
        self.performed.append((action, body))
        answer = self.answers.get(action)
        if isinstance(answer, list):  # one answer per press, in order
            answer = answer.pop(0)
        if isinstance(answer, ActionResult):
            return answer
        return ActionResult(action, ok=True, answer=answer or {"ticket": None, "counter": self.state})

    def counter_state(self):
        return ActionResult("state", ok=True, answer={"counter": self.state})

    def unacknowledged_besides(self, action, body):
        return None


class ManualJobs:
    """Background jobs that run only when the test says so (an action 'in flight')."""

    def __init__(self):
        self.jobs = []

    def __call__(self, job):
        self.jobs.append(job)

    def run_all(self):
        while self.jobs:
            self.jobs.pop(0)()


@pytest.fixture
def counter():
    """An app for counter 2 with a fake keyboard, a fake hub and a 200-column screen."""
    hub, jobs, keyboard, output = FakeHub(), ManualJobs(), FakeKeyboard(), io.StringIO()
    settings = Settings(hub="http://hub:5000", counter=2, token="t")
    app = CounterApp(settings, hub, Screen(output, interactive=True, width=200), run_job=jobs)
    app.attach(keyboard)

    def press(*keys):
        """Press each key and let its action (if any) finish before the next."""
        for key in keys:
            keyboard.press(key)
            app.pump()
            jobs.run_all()
            app.pump()

    return types.SimpleNamespace(app=app, hub=hub, jobs=jobs, keyboard=keyboard, output=output, press=press)


def last_status(output):
    return output.getvalue().rsplit("\r\x1b[K", 1)[-1]


def test_enter_calls_next_and_the_status_shows_it(counter):
    counter.hub.answers["call-next"] = {"ticket": called("1001"),
                                        "counter": counter_state(current=called("1001"), waiting=2)}
    counter.press("enter")
    assert counter.hub.performed == [("call-next", {})]
    status = last_status(counter.output)
    assert "Số 1001 (HT) đang gọi / called" in status and "Chờ / waiting: 2" in status
    assert "✓ Gọi tiếp / Next: 1001 (HT)" in counter.output.getvalue()


def test_keys_pressed_while_an_action_is_in_flight_are_ignored(counter):
    counter.keyboard.press("enter", "enter", "0")
    counter.app.pump()
    assert len(counter.jobs.jobs) == 1
    assert "Đang gửi Gọi tiếp…: bỏ qua phím / still sending: key ignored" in last_status(counter.output)
    counter.jobs.run_all()
    counter.app.pump()
    assert counter.hub.performed == [("call-next", {})]
    counter.press("0")
    assert counter.hub.performed == [("call-next", {}), ("done", {})]


def test_each_default_key_sends_its_action(counter):
    counter.press("+", ".", "0", "*")
    assert [action for action, _ in counter.hub.performed] == ["recall", "no-show", "done", "start"]


def test_slash_pauses_an_open_counter_and_resumes_a_paused_one(counter):
    counter.app.on_counter_state({"seq": 5, "counter": counter_state("open")})
    counter.hub.answers["pause"] = {"ticket": None, "counter": counter_state("paused")}
    counter.press("/")
    assert "Quầy 2 TẠM DỪNG / paused" in last_status(counter.output)
    counter.press("/")
    assert [action for action, _ in counter.hub.performed] == ["pause", "resume"]


def test_a_refusal_shows_the_hubs_vietnamese_message(counter):
    counter.hub.answers["call-next"] = ActionResult("call-next", ok=False, code="counter_paused",
                                                    message="Quầy số 2 đang tạm dừng",
                                                    message_en="Counter 2 is paused")
    counter.press("enter")
    assert "✗ Gọi tiếp / Next: Quầy số 2 đang tạm dừng (Counter 2 is paused)" in counter.output.getvalue()
    assert "✗ Gọi tiếp: Quầy số 2 đang tạm dừng" in last_status(counter.output)
    assert len(counter.hub.performed) == 1


def test_typing_a_number_calls_it_and_plus_reinstates_it(counter):
    counter.press("1", "0", "0", "4")
    assert "Gọi số: 1004_" in last_status(counter.output)
    counter.press("enter")
    counter.press("1", "0", "0", "9", ".", "3", "+")
    assert counter.hub.performed == [("call", {"number": "1004"}), ("reinstate", {"number": "1003"})]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_bound_to_a_key_does_a_complete_action(command):
    keyboard, hub, output = FakeKeyboard(), FakeHub(), io.StringIO()
    settings = Settings(hub="http://hub", counter=2, token="t", keys=KeyMap({"f1": command}))
    app = CounterApp(settings, hub, Screen(output, interactive=True, width=200), run_job=lambda job: job())
    app.attach(keyboard)
    app.on_state({"services": [{"code": "HT", "name": "Hộ tịch"}]})
    for key in ("f1", "1", "enter"):
        keyboard.press(key)
        app.pump()
    required = {"call": "number", "reinstate": "number", "transfer": "service"}
    for action, body in hub.performed:
        assert action in HUB_ACTIONS and set(body) == ({required[action]} if action in required else set())
    if command not in ("help", "quit"):
        assert hub.performed, output.getvalue()


def test_a_keypad_digit_names_a_prefixed_number(counter):
    counter.app.on_counter_state({"seq": 1, "counter": counter_state(waiting_list=["1004", "B003"])})
    counter.press("3", "enter")
    assert counter.hub.performed == [("call", {"number": "B003"})]


def test_prompts_cancel_and_time_out(counter):
    counter.press("5", ".", ".")
    assert counter.app.prompt is None and "Đã huỷ / cancelled" in last_status(counter.output)
    counter.press("-", "-")
    assert counter.app.prompt is None
    counter.press("7")
    counter.app.clock = lambda: time.monotonic() + 60
    counter.app.on_tick()
    assert counter.app.prompt is None and counter.hub.performed == []


def test_transfer_picks_the_service_by_its_place_in_the_list(counter):
    counter.app.on_state({"seq": 1, "services": [{"code": "HT", "name": "Hộ tịch"},
                                                 {"code": "CT", "name": "Chứng thực"}]})
    counter.press("-")
    assert "Chuyển sang / transfer to: 1=HT Hộ tịch, 2=CT Chứng thực" in counter.output.getvalue()
    counter.press("9", "enter")  # no 9th service: the prompt stays open
    assert counter.app.prompt is not None and counter.hub.performed == []
    counter.press("2", "enter")
    assert counter.hub.performed == [("transfer", {"service": "CT"})]


def test_the_key_that_answered_a_prompt_pressed_again_at_once_is_ignored(counter):
    """"- 2 Enter Enter": the reflex second Enter after choosing the service transferred the
    citizen and then called the next one; a deliberate Enter a moment later still calls."""
    now = [100.0]
    counter.app.clock = lambda: now[0]
    counter.app.on_state({"seq": 1, "services": [{"code": "HT", "name": "Hộ tịch"},
                                                 {"code": "CT", "name": "Chứng thực"}]})
    counter.press("-", "2", "enter", "enter")
    assert counter.hub.performed == [("transfer", {"service": "CT"})]
    assert "Phím Enter vừa trả lời: bỏ qua lần nhấn thứ hai" in last_status(counter.output)
    now[0] += REFLEX_SECONDS
    counter.press("enter")
    assert counter.hub.performed[-1] == ("call-next", {})


def test_a_double_0_answering_the_arrival_question_does_not_finish_the_citizen_just_called(counter):
    counter.app.clock = lambda: 100.0
    counter.hub.answers["call-next"] = [ARRIVAL_UNKNOWN, {"ticket": called("1012"),
                                                          "counter": counter_state(current=called("1012"))}]
    counter.press("enter", "0", "0")  # "came" with the keypad's 0, twice by reflex
    assert counter.hub.performed == [("call-next", {}), ("call-next", {"arrived": True})]
    assert "Phím 0 vừa trả lời: bỏ qua lần nhấn thứ hai" in last_status(counter.output)


def test_older_pushes_do_not_overwrite_newer_ones(counter):
    counter.app.on_counter_state({"seq": 9, "counter": counter_state(current=called("1009"))})
    counter.app.on_counter_state({"seq": 8, "counter": counter_state(current=called("1008"))})
    assert counter.app.view.current["number"] == "1009"
    counter.app.on_link("lost", "test")  # after a reconnect the snapshot is the truth
    counter.app.on_counter_state({"seq": 3, "counter": counter_state(current=called("1003"))})
    assert counter.app.view.current["number"] == "1003"


def test_a_lost_link_is_shown_first(counter):
    counter.app.on_link("online", "websocket")
    counter.app.on_link("lost", "disconnected")
    counter.app.redraw()
    assert "⚠ Mất kết nối / hub unreachable (disconnected)" in counter.output.getvalue()
    assert last_status(counter.output).startswith("⚠ MẤT KẾT NỐI / hub unreachable | Quầy 2")


def test_an_unacknowledged_action_says_so(counter):
    counter.hub.answers["done"] = ActionResult("done", ok=False, code="unreachable",
                                               message="Không có xác nhận từ hub, mất kết nối",
                                               message_en="no acknowledgement, hub unreachable", attempts=4)
    counter.press("0")
    assert ("✗ Xong / Done: Không có xác nhận từ hub, mất kết nối / no acknowledgement, hub unreachable. "
            "Nhấn lại để gửi lại / press again to resend") in counter.output.getvalue()


def test_a_refused_join_ends_with_exit_code_2(counter):
    counter.app.inbox.put(("refused", {"code": "unauthorized", "message": "Cần token hợp lệ",
                                       "message_en": "A valid token is required"}))
    counter.app.pump()
    assert counter.app.exit_code == 2
    assert "Cần token hợp lệ (A valid token is required)" in counter.output.getvalue()


def test_quit_waits_for_an_action_in_flight(counter):
    counter.keyboard.press("enter", "q")
    counter.app.pump()
    assert counter.app.exit_code is None
    counter.jobs.run_all()
    counter.app.pump()
    assert counter.app.exit_code == 0 and counter.hub.performed == [("call-next", {})]


def test_run_returns_when_q_is_pressed_and_stops_the_reader():
    keyboard = FakeKeyboard()
    app = CounterApp(Settings(hub="http://hub", counter=2, token="t"), FakeHub(), Screen(io.StringIO(), False),
                     run_job=lambda job: job())
    app.inbox.put(("key", "q"))
    assert app.run(keyboard) == 0 and keyboard.stopped


# -- double presses, "did the citizen come?", undo ------------------------------------------

JUST_CALLED = ActionResult("call-next", ok=False, code="just_called", message="Vừa mời số 1011",
                           message_en="Ticket 1011 was just called")
ARRIVAL_UNKNOWN = ActionResult("call-next", ok=False, code="arrival_unknown",
                               message="Số 1011 đã đến quầy chưa? B: đã đến, xong · V: vắng mặt",
                               message_en="Did ticket 1011 come to the counter? B: came, done · V: absent")


def test_a_second_enter_just_after_a_call_is_a_calm_notice(counter):
    counter.hub.answers["call-next"] = JUST_CALLED
    counter.press("enter")
    output = counter.output.getvalue()
    assert "Vừa mời số 1011 · just called" in output and "Vừa mời số 1011 · just called" in last_status(counter.output)
    assert "✗" not in output and "\a" not in output
    assert counter.hub.performed == [("call-next", {})] and counter.app.prompt is None


@pytest.mark.parametrize("key, arrived", [("b", True), ("0", True), ("v", False), (".", False)])
def test_the_arrival_question_is_answered_with_b_or_v_or_the_keypads_done_and_no_show(counter, key, arrived):
    counter.hub.answers["call-next"] = [ARRIVAL_UNKNOWN, {"ticket": called("1012"),
                                                          "counter": counter_state(current=called("1012"))}]
    counter.press("enter")
    question = "Số 1011 đã đến quầy chưa? B: đã đến (xong) · V: vắng mặt [0 = B, . = V]"
    assert question in counter.output.getvalue() and question in last_status(counter.output)
    assert "✗" not in counter.output.getvalue()
    counter.press(key)
    assert counter.hub.performed == [("call-next", {}), ("call-next", {"arrived": arrived})]
    outcome = "1011 đã đến, xong / came, done" if arrived else "1011 vắng mặt / no-show"
    assert f"✓ Gọi tiếp / Next: {outcome} → 1012 (HT)" in counter.output.getvalue()
    assert counter.app.prompt is None


@pytest.mark.parametrize("key", ["enter", "5", "escape", "q", "z"])
def test_any_other_key_cancels_the_arrival_question(counter, key):
    counter.hub.answers["call-next"] = ARRIVAL_UNKNOWN
    counter.press("enter", key)
    assert counter.hub.performed == [("call-next", {})] and counter.app.prompt is None
    assert "Đã huỷ: số 1011 vẫn ở quầy / cancelled: 1011 stays at the counter" in last_status(counter.output)
    assert counter.app.exit_code is None


def test_the_arrival_question_follows_a_changed_key_map():
    keyboard, hub, output = FakeKeyboard(), FakeHub(), io.StringIO()
    keys = KeyMap().with_overrides({"f2": "done", "0": "none"})
    app = CounterApp(Settings(hub="http://hub", counter=2, token="t", keys=keys), hub,
                     Screen(output, interactive=True, width=200), run_job=lambda job: job())
    app.attach(keyboard)
    hub.answers["call-next"] = [ARRIVAL_UNKNOWN, {}]
    for key in ("enter", "f2"):
        keyboard.press(key)
        app.pump()
    assert "[F2 = B, . = V]" in output.getvalue()
    assert hub.performed == [("call-next", {}), ("call-next", {"arrived": True})]


@pytest.mark.parametrize("key", ["z", "backspace", "ctrl-z", "numlock"])
def test_undo_keys_post_undo_and_show_what_the_hub_did(counter, key):
    back_in_line = {"number": "1011", "service": "HT", "status": "waiting"}
    counter.hub.answers["undo"] = {"ticket": back_in_line, "counter": counter_state(waiting=4)}
    counter.press(key)
    assert counter.hub.performed == [("undo", {})]
    assert "✓ Hoàn tác / Undo: số 1011 (HT) trở lại hàng chờ / back in line" in counter.output.getvalue()


def test_a_refused_undo_shows_the_hubs_message(counter):
    counter.hub.answers["undo"] = ActionResult("undo", ok=False, code="nothing_to_undo",
                                               message="Không có thao tác nào để hoàn tác",
                                               message_en="Nothing to undo")
    counter.press("z")
    assert "✗ Hoàn tác / Undo: Không có thao tác nào để hoàn tác (Nothing to undo)" in counter.output.getvalue()


def test_an_extra_backspace_in_a_prompt_does_not_undo(counter):
    counter.press("1", "backspace", "backspace")
    assert counter.app.prompt is not None and counter.hub.performed == []
    counter.press("escape")
    assert counter.app.prompt is None and counter.hub.performed == []


def test_status_line_fits_the_terminal_and_drops_english_first():
    view = CounterView(2, status="open", current=called("1003"), waiting=4, link="online")
    wide = status_line(view, ("✓ Gọi tiếp: 1003", "Next"), 200)
    assert wide == ("Quầy 2 | Số 1003 (HT) đang gọi / called | Chờ / waiting: 4 | Đã kết nối / online"
                    " | ✓ Gọi tiếp: 1003 / Next")
    assert status_line(view, ("✓ Gọi tiếp: 1003", "Next"), 80) == (
        "Quầy 2 | Số 1003 (HT) đang gọi | Chờ: 4 | Đã kết nối | ✓ Gọi tiếp: 1003")
    assert len(status_line(view, "x" * 100, 40)) == 39
    assert plain("✓ Gọi tiếp / Đã kết nối", ascii_only=True) == "OK Goi tiep / Da ket noi"


# -- the readers -----------------------------------------------------------------------

def test_raw_mode_keeps_output_processing():
    attributes = [termios.ICRNL | termios.IXON, termios.OPOST | termios.ONLCR, termios.CS7 | termios.PARENB,
                  termios.ECHO | termios.ICANON | termios.ISIG, 0, 0, [0] * 32]
    iflag, oflag, cflag, lflag, _, _, cc = raw_attributes(attributes)
    assert iflag & (termios.ICRNL | termios.IXON) == 0
    assert lflag & (termios.ECHO | termios.ICANON | termios.ISIG) == 0
    assert oflag == termios.OPOST | termios.ONLCR and cflag & termios.CSIZE == termios.CS8
    assert cc[termios.VMIN] == 1


def test_terminal_reader_reads_keys_from_a_pty_and_restores_it():
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        keys, arrived = [], threading.Event()
        reader = TerminalReader(slave)
        reader.start(lambda key: (keys.append(key), key == "escape" and arrived.set()), lambda text: None)
        assert termios.tcgetattr(slave)[3] & termios.ICANON == 0
        os.write(master, b"\x1bOM+0\x1b")
        assert arrived.wait(5)
        reader.stop()
        assert keys == ["enter", "+", "0", "escape"]
        assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)


def test_terminal_reader_refuses_a_non_terminal():
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(InputUnavailable, match="--input evdev"):
            TerminalReader(read_end).start(lambda key: None, lambda text: None)
    finally:
        os.close(read_end)
        os.close(write_end)


class FakeInputDevice:
    """python-evdev's InputDevice as the reader uses it; events come through a pipe so select works."""

    def __init__(self, path, events=()):
        self.path, self.name = path, "USB Keypad"
        self.fd, self._writer = os.pipe()
        self.events = list(events)
        self.grabbed = False
        os.write(self._writer, b"x")

    def capabilities(self):
        return {1: [96, 82, 83]}

    def grab(self):
        self.grabbed = True

    def ungrab(self):
        self.grabbed = False

    def read(self):
        os.read(self.fd, 1)
        events, self.events = self.events, []
        return events

    def close(self):
        os.close(self.fd)
        os.close(self._writer)


def test_evdev_reader_with_a_fake_device():
    event = lambda code, value: types.SimpleNamespace(type=1, code=code, value=value)  # noqa: E731
    events = [event(96, 1), event(96, 2), event(96, 0), event(83, 1), types.SimpleNamespace(type=4, code=4, value=0)]
    opened = []

    def open_device(path):
        opened.append(FakeInputDevice(path, events))
        return opened[-1]

    evdev = types.SimpleNamespace(list_devices=lambda: ["/dev/input/event7"], InputDevice=open_device)
    keys, notices, arrived = [], [], threading.Event()
    reader = EvdevReader(evdev=evdev)  # no path: the first device with a keypad Enter
    reader.start(lambda key: (keys.append(key), key == "." and arrived.set()), notices.append)
    assert arrived.wait(5)
    assert opened[-1].grabbed
    reader.stop()
    assert keys == ["enter", "."] and not opened[-1].grabbed
    assert notices == ["Bàn phím / keypad: USB Keypad (/dev/input/event7)"]


def test_without_python_evdev_the_message_says_what_to_install(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "evdev", None)  # makes `import evdev` fail
    assert main(["--hub", "http://127.0.0.1:9", "--counter", "1", "--token", "t", "--input", "evdev"],
                environ={"XDG_CONFIG_HOME": "/nonexistent"}) == 2
    assert "python-evdev is not installed: `pip install evdev`" in capsys.readouterr().err


# -- the real thing: a pty, a hub process on loopback --------------------------------------

class TerminalSession:
    """``python -m counter_client`` with a pty as its terminal; collects what it draws."""

    def __init__(self, *arguments, environ=None, columns=220):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        self.initial_mode = termios.tcgetattr(self.slave)
        environment = {key: value for key, value in os.environ.items() if not key.startswith("HALL_")}
        environment.update({"XDG_CONFIG_HOME": "/nonexistent", "TERM": "xterm", **(environ or {})})
        self.process = subprocess.Popen([sys.executable, "-m", "counter_client", *arguments], cwd=ROOT,
                                        stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                        env=environment, start_new_session=True)
        self.output = b""
        self.changed = threading.Condition()
        self.stopping = False
        self.reader = threading.Thread(target=self._collect, daemon=True)
        self.reader.start()

    def _collect(self):
        while not self.stopping:
            if select.select([self.master], [], [], 0.1)[0]:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                with self.changed:
                    self.output += data
                    self.changed.notify_all()

    @property
    def text(self):
        return self.output.decode("utf-8", "replace")

    def last_status(self):
        return self.text.rsplit("\r\x1b[K", 1)[-1]

    def wait_for(self, predicate, timeout=10, what=""):
        """Wait until ``predicate(session)`` (or the text is in the output); bounded."""
        check = predicate if callable(predicate) else lambda session: predicate in session.text
        deadline = time.monotonic() + timeout
        with self.changed:
            while not check(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None and not check(self):
                    if remaining > 0:
                        self.changed.wait(0.3)  # the last output of an exiting process
                        if check(self):
                            return
                    raise AssertionError(f"no {what or predicate!r} within {timeout}s; output:\n{self.text[-3000:]}")
                self.changed.wait(min(remaining, 0.2))

    def press(self, data: bytes):
        os.write(self.master, data)

    def wait_exit(self, timeout=10):
        return self.process.wait(timeout=timeout)

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.stopping = True
        self.reader.join(2)
        os.close(self.master)
        os.close(self.slave)


def create_tokens(db, *counters):
    """A kiosk token and one token per counter, written straight into the hub's database
    (quicker than a `hallserver token create` process each)."""
    store = open_store(db)
    try:
        return {"kiosk": make_token(store, "kiosk"), **{number: make_token(store, "counter", number)
                                                       for number in counters}}
    finally:
        store.close()


@pytest.fixture(scope="module")
def shared_hub(tmp_path_factory):
    """One hub for the tests that do not stop it; each uses counters no other test uses."""
    db = tmp_path_factory.mktemp("counter_hub") / "hub.db"
    init_database(db)
    hub = HubProcess(db)
    hub.tokens = create_tokens(db, 2, 3, 4, 5, 6)
    hub.kiosk = hub.tokens["kiosk"]
    yield hub.start()
    hub.stop()


def issue(hub, service, token):
    answer = hub.post("/api/v1/tickets", token, {"service": service})
    assert answer.status_code == 201, answer.text
    return answer.json()["ticket"]["number"]


def hub_counter(hub, number):
    board = hub.get("/api/v1/state").json()
    return next(counter for counter in board["counters"] if counter["number"] == number)


@pytest.mark.hub
def test_keypad_enter_calls_the_next_citizen_on_a_real_hub(shared_hub):
    token = shared_hub.tokens[4]
    number = issue(shared_hub, "DD", shared_hub.kiosk)
    session = TerminalSession("--hub", shared_hub.url, "--counter", "4", environ={"HALL_COUNTER_TOKEN": token})
    try:
        session.wait_for("Đã kết nối / connected")
        session.wait_for(lambda s: "Chờ / waiting: 1" in s.last_status(), what="waiting count 1")
        session.press(b"\x1bOM")  # keypad Enter as a terminal in application keypad mode sends it
        session.wait_for(lambda s: f"Số {number} (DD) đang gọi / called" in s.last_status(), what="the call")
        assert hub_counter(shared_hub, 4)["current"]["number"] == number
        session.wait_for(f"» Xin mời công dân có số thứ tự {number} đến quầy số 4")
        session.press(b"*")
        session.wait_for(lambda s: "đang phục vụ / serving" in s.last_status(), what="serving")
        session.press(b"q")
        assert session.wait_exit() == 0
        assert termios.tcgetattr(session.slave) == session.initial_mode  # the terminal is given back
    finally:
        session.close()


@pytest.mark.hub
def test_a_refusal_from_the_hub_shows_its_message(shared_hub):
    token = shared_hub.tokens[5]
    session = TerminalSession("--hub", shared_hub.url, "--counter", "5", "--token", token)
    try:
        session.wait_for("Đã kết nối / connected")
        session.press(b"/")
        session.wait_for(lambda s: "TẠM DỪNG / paused" in s.last_status(), what="paused")
        session.press(b"\r")
        session.wait_for("✗ Gọi tiếp / Next: Quầy số 5 đang tạm dừng (Counter 5 is paused)")
        assert hub_counter(shared_hub, 5)["status"] == "paused"
        session.process.send_signal(signal.SIGTERM)  # systemd stopping it
        assert session.wait_exit() == 0
        assert termios.tcgetattr(session.slave) == session.initial_mode
    finally:
        session.close()


@pytest.mark.hub
def test_a_hang_up_ends_the_client_and_restores_the_terminal(shared_hub):
    session = TerminalSession("--hub", shared_hub.url, "--counter", "3", "--token", shared_hub.tokens[3])
    try:
        session.wait_for("Đã kết nối / connected")
        session.process.send_signal(signal.SIGHUP)  # the SSH session or the tmux pane went away
        assert session.wait_exit(timeout=8) == 0
        assert termios.tcgetattr(session.slave) == session.initial_mode
    finally:
        session.close()


def test_stopping_the_live_link_is_bounded_even_if_disconnecting_hangs():
    class HangingClient:
        def disconnect(self):
            threading.Event().wait(30)  # as python-engineio joining a read loop stuck in recv

    link = LiveLink("http://127.0.0.1:9", 1, "t", queue.Queue())
    link._client = HangingClient()
    started = time.monotonic()
    link.stop(timeout=0.3)
    assert time.monotonic() - started < 2


@pytest.mark.hub
def test_a_wrong_token_exits_2_with_a_message(shared_hub):
    session = TerminalSession("--hub", shared_hub.url, "--counter", "4", environ={"HALL_COUNTER_TOKEN": "hq_wrong"})
    try:
        assert session.wait_exit() == 2
        session.wait_for("Hub từ chối quầy 4 / the hub refused counter 4: Cần token hợp lệ")
        assert termios.tcgetattr(session.slave) == session.initial_mode
    finally:
        session.close()


@pytest.mark.hub
def test_a_lost_hub_is_shown_and_a_key_press_fails_clearly(hub_db):
    tokens = create_tokens(hub_db, 1)
    token, kiosk = tokens[1], tokens["kiosk"]
    hub = HubProcess(hub_db).start()
    session = TerminalSession("--hub", hub.url, "--counter", "1", "--token", token)
    try:
        session.wait_for("Đã kết nối / connected")
        hub.stop()
        lost_at = time.monotonic()
        session.wait_for(lambda s: s.last_status().startswith("⚠ MẤT KẾT NỐI / hub unreachable"), timeout=5,
                         what="the lost-connection status")
        assert time.monotonic() - lost_at < 5
        session.press(b"\r")
        session.wait_for("✗ Gọi tiếp / Next: Không có xác nhận từ hub, mất kết nối", timeout=10)

        hub = HubProcess(hub_db, port=hub.port).start()  # back again: the client rejoins by itself
        number = issue(hub, "HT", kiosk)
        session.wait_for(lambda s: "Đã kết nối / online" in s.last_status(), timeout=10, what="reconnected")
        session.press(b"\r")
        session.wait_for(lambda s: f"Số {number} (HT)" in s.last_status(), what="the call after reconnecting")
        assert hub_counter(hub, 1)["current"]["number"] == number
        session.press(b"\x03")  # Ctrl-C
        assert session.wait_exit() == 0
    finally:
        session.close()
        hub.stop()


@pytest.mark.hub
def test_live_link_joins_the_counter_room_and_a_wrong_token_is_refused(shared_hub):
    token = shared_hub.tokens[3]
    inbox = queue.Queue()
    link = LiveLink(shared_hub.url, 3, token, inbox, timeout=5).start()
    try:
        received = [inbox.get(timeout=10) for _ in range(3)]
    finally:
        link.stop()
    kinds = {message[0]: message for message in received}
    assert set(kinds) == {"state", "counter_state", "link"} and kinds["link"][1] == "online"
    assert kinds["counter_state"][1]["counter"]["number"] == 3

    other_counters_token = shared_hub.tokens[2]
    refused = LiveLink(shared_hub.url, 3, other_counters_token, queue.Queue(), timeout=5).start()
    try:
        kind, error = refused.inbox.get(timeout=10)
    finally:
        refused.stop()
    assert kind == "refused" and error["code"] == "forbidden" and error["message"]


@pytest.mark.hub
def test_a_lost_answer_is_retried_under_the_same_request_id_and_calls_one_citizen(shared_hub):
    token = shared_hub.tokens[6]
    first, second = issue(shared_hub, "XH", shared_hub.kiosk), issue(shared_hub, "XH", shared_hub.kiosk)
    proxy = ResponseDroppingProxy(shared_hub.port)
    try:
        result = HubClient(proxy.url, 6, token, timeout=5).perform("call-next")
    finally:
        proxy.close()
    assert proxy.dropped == 1 and result.ok and result.attempts == 2
    assert result.answer["ticket"]["number"] == first
    assert [body["request_id"] for body in proxy.bodies] == [result.request_id] * 2
    assert hub_counter(shared_hub, 6)["current"]["number"] == first
    waiting = shared_hub.get("/api/v1/counters/6", token).json()["counter"]["waiting_list"]
    assert [ticket["number"] for ticket in waiting] == [second]


# -- double presses, the arrival question and undo on a real hub ---------------------------

REPEAT_GUARD = 2  # seconds: long enough that a quick second press is always inside it, on a busy machine


@pytest.fixture(scope="module")
def policy_hub(tmp_path_factory):
    """A hub whose counter rules are quick to test: repeat guard 2 s, arrival asked within 20 s.
    Counters 1, 2, 3 each serve a service of their own, so the tests do not share a queue."""
    services = [dict(HT), {"code": "DD", "name": "Đất đai", "block": "2001-2999"},
                {"code": "XD", "name": "Xây dựng", "block": "3001-3999"}]
    db = init_hall(tmp_path_factory.mktemp("policy_hub"),
                   policy={"repeat_guard_seconds": REPEAT_GUARD, "confirm_arrival_seconds": 20},
                   services=services,
                   counters=[{"number": n, "services": [service["code"]]} for n, service in enumerate(services, 1)])
    hub = HubProcess(db)
    hub.tokens = create_tokens(db, 1, 2, 3)
    hub.kiosk = hub.tokens["kiosk"]
    yield hub.start()
    hub.stop()


def issue_ticket(hub, service):
    answer = hub.post("/api/v1/tickets", hub.kiosk, {"service": service})
    assert answer.status_code == 201, answer.text
    return answer.json()["ticket"]


def counter_seen_with_token(hub, number):
    answer = hub.get(f"/api/v1/counters/{number}", hub.tokens[number])
    assert answer.status_code == 200, answer.text
    counter = answer.json()["counter"]
    return (counter["current"] or {}).get("number"), [ticket["number"] for ticket in counter["waiting_list"]]


def counter_session(hub, number):
    session = TerminalSession("--hub", hub.url, "--counter", str(number),
                              environ={"HALL_COUNTER_TOKEN": hub.tokens[number]})
    session.wait_for(lambda s: "Đã kết nối / online" in s.last_status(), what="online")
    return session


@pytest.mark.hub
def test_a_quick_second_enter_is_a_notice_and_calls_nobody(policy_hub):
    first, second = issue_ticket(policy_hub, "HT")["number"], issue_ticket(policy_hub, "HT")["number"]
    session = counter_session(policy_hub, 1)
    try:
        session.press(b"\r")
        session.wait_for(lambda s: f"Số {first} (HT) đang gọi / called" in s.last_status(), what="the call")
        session.press(b"\r")  # the reflex second press
        session.wait_for(f"Vừa mời số {first} · just called")
        assert "✗" not in session.text and "\a" not in session.text
        assert counter_seen_with_token(policy_hub, 1) == (first, [second])
        session.press(b"q")
        assert session.wait_exit() == 0
    finally:
        session.close()


@pytest.mark.hub
def test_the_arrival_question_v_marks_a_no_show_and_calls_the_next(policy_hub):
    absent, second = issue_ticket(policy_hub, "DD"), issue_ticket(policy_hub, "DD")["number"]
    session = counter_session(policy_hub, 2)
    try:
        session.press(b"\r")
        session.wait_for(lambda s: f"Số {absent['number']} (DD) đang gọi / called" in s.last_status(), what="call")
        time.sleep(REPEAT_GUARD + 0.2)  # past the repeat guard, well within the 20 s of the arrival question
        session.press(b"\r")
        session.wait_for(f"Số {absent['number']} đã đến quầy chưa? B: đã đến (xong) · V: vắng mặt")
        assert counter_seen_with_token(policy_hub, 2) == (absent["number"], [second])  # nothing changed yet
        session.press(b"v")
        session.wait_for(f"✓ Gọi tiếp / Next: {absent['number']} vắng mặt / no-show → {second} (DD)")
        assert counter_seen_with_token(policy_hub, 2) == (second, [])
        ticket = policy_hub.get(f"/api/v1/tickets/{absent['track_token']}").json()["ticket"]
        assert ticket["status"] == "no_show"
        session.press(b"q")
        assert session.wait_exit() == 0
    finally:
        session.close()


@pytest.mark.hub
def test_undo_after_a_call_puts_the_ticket_back_in_line(policy_hub):
    number = issue_ticket(policy_hub, "XD")["number"]
    session = counter_session(policy_hub, 3)
    try:
        session.press(b"\r")
        session.wait_for(lambda s: f"Số {number} (XD) đang gọi / called" in s.last_status(), what="the call")
        session.press(b"z")
        session.wait_for(f"✓ Hoàn tác / Undo: số {number} (XD) trở lại hàng chờ / back in line")
        assert counter_seen_with_token(policy_hub, 3) == (None, [number])
        session.wait_for(lambda s: "chưa gọi số / no ticket" in s.last_status() and "Chờ / waiting: 1"
                         in s.last_status(), what="the status after the undo")
        session.press(b"\x1a")  # Ctrl+Z again: the undo itself is not undone
        session.wait_for("✗ Hoàn tác / Undo: Không có thao tác nào để hoàn tác (Nothing to undo)")
        session.press(b"q")
        assert session.wait_exit() == 0
    finally:
        session.close()


@pytest.mark.hub
def test_a_resent_press_whose_first_answer_was_lost_says_it_was_done_before(tmp_path):
    """Enter is carried out but every answer is lost; the desk shows the call through the live
    link; Enter again resends the request (same id): the hub calls nobody, and the clerk is
    told so (it read "✓ Gọi tiếp: 1001", as if the press had called someone)."""
    db = init_hall(tmp_path, policy={"repeat_guard_seconds": 0, "confirm_arrival_seconds": 0})
    hub = HubProcess(db)
    hub.tokens = create_tokens(db, 1)
    hub.kiosk = hub.tokens["kiosk"]
    hub.start()
    first, second = issue_ticket(hub, "HT")["number"], issue_ticket(hub, "HT")["number"]
    proxy = ResponseDroppingProxy(hub.port, drops=3)  # the press and its two retries
    keyboard, output = FakeKeyboard(), io.StringIO()
    app = CounterApp(Settings(hub=proxy.url, counter=1, token=hub.tokens[1]),
                     HubClient(proxy.url, 1, hub.tokens[1], timeout=5, retry_delays=(0.05, 0.05)),
                     Screen(output, interactive=True, width=400))
    app.attach(keyboard)
    link = LiveLink(hub.url, 1, hub.tokens[1], app.inbox, timeout=5).start()

    def pump_until(predicate, what, timeout=10):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"no {what} within {timeout}s:\n{output.getvalue()[-2000:]}"
            try:
                app.handle(app.inbox.get(timeout=0.1))
            except queue.Empty:
                pass
            app.redraw()

    try:
        pump_until(lambda: app.view.link == "online" and app.view.status == "open", "link")
        keyboard.press("enter")
        pump_until(lambda: "✗ Gọi tiếp / Next: Không có xác nhận từ hub" in output.getvalue(), "the failure")
        pump_until(lambda: f"Số {first} (HT) đang gọi" in last_status(output), "the call seen through the link")
        assert counter_seen_with_token(hub, 1) == (first, [second])

        keyboard.press("enter")  # "press again to resend"
        pump_until(lambda: f"✓ Gọi tiếp / Next: {first} (HT)" in output.getvalue(), "the answer")
        assert proxy.bodies[-1]["request_id"] == proxy.bodies[0]["request_id"]
        assert counter_seen_with_token(hub, 1) == (first, [second])  # nobody else called
        assert (f"✓ Gọi tiếp / Next: {first} (HT) — đã thực hiện trước khi mất kết nối, lần nhấn này không làm gì "
                "thêm; nhấn lại cho lần mới") in output.getvalue()

        keyboard.press("enter")  # a new press: the next citizen
        pump_until(lambda: f"✓ Gọi tiếp / Next: {second} (HT)\n" in output.getvalue(), "the next call")
        assert counter_seen_with_token(hub, 1) == (second, [])
    finally:
        link.stop()
        proxy.close()
        hub.stop()
