"""The counter client's loop: keys in, actions out, the hub's word on screen.

Everything arrives in one inbox (keys from the reader thread, pushes from the live link,
answers from action jobs) and is handled in one thread, so the state needs no locks.
Actions run in a background job, so the status line stays live while one is sent.

One action at a time: a key pressed while one is in flight is ignored with a note
("Đang gửi…"), never queued. Queueing would turn an impatient double press of Enter into
two citizens called; the clerk presses again once the line shows the answer.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass, replace

from .commands import ACTION_LABELS
from .keys import CTRL_C, END_OF_INPUT, NAVIGATION_KEYS, key_label
from .screen import LOST_LINK, CounterView, status_line
from .transport import ActionResult

#: Hub refusals that mean the settings are wrong, not the moment: exit 2.
SETTINGS_REFUSALS = ("unauthorized", "forbidden", "unknown_counter")
#: After these refusals our idea of the counter was stale: ask the hub again.
STALE_REFUSALS = ("already_paused", "already_open", "counter_paused", "no_current_ticket", "wrong_status",
                  "cannot_undo")
#: Another key after an unacknowledged one, not sent: the hub could not say what the desk holds, or
#: it holds something else than the clerk saw (the unacknowledged action was carried out after all),
#: or (an undo) it holds what the clerk saw: the unacknowledged action was not carried out.
NOT_SENT = ("outcome_unknown", "desk_changed", "not_done")
PROMPT_TIMEOUT = 20.0
#: The key that closed a prompt, again this soon, is the reflex second press, not a new command:
#: "- 2 Enter Enter" transferred the citizen and then called the next one; "0" answering
#: "đã đến?" twice finished the citizen just called.
REFLEX_SECONDS = 1.0
PROMPT_MAX = 10
TICK = 0.5


def start_daemon_thread(job):
    threading.Thread(target=job, name="action", daemon=True).start()


class Interrupted(Exception):
    """Raised by the signal handlers (SIGTERM, SIGHUP) so the loop unwinds and cleans up."""


@dataclass
class Prompt:
    """A short input line: a ticket number to call, or the service to transfer to."""

    kind: str  # "number" (call it), "reinstate" (put it back in the queue), "transfer", "arrival"
    text: str = ""  # what was typed; for "arrival", the ticket number asked about
    opened_at: float = 0.0


class CounterApp:
    def __init__(self, settings, client, screen, run_job=start_daemon_thread, clock=time.monotonic):
        self.settings = settings
        self.client = client
        self.screen = screen
        self.keymap = settings.keys
        self.run_job = run_job
        self.clock = clock
        self.inbox = queue.Queue()
        self.view = CounterView(settings.counter)
        self.prompt = None
        self.in_flight = None  # the Command of the action being sent
        self.ignored_while_sending = False
        self.activity = ("Nhấn H để xem phím", "press H for help") if "h" in self.keymap.bindings else ""
        self.seen_numbers = set()  # numbers this counter has had, for typing "1003" as "3"
        self.answer_prefix = ""  # said before the hub's answer to the action in flight ("1011 vắng mặt → ")
        self.sent_from = None  # the prompt that sent the action in flight: opened again if it goes unacknowledged
        self.sending_desk = None  # desk() as the clerk saw it when the action in flight was pressed
        self.unacknowledged_desk = None  # ... and when the unacknowledged action (if any) was first pressed
        self.last_prompt_key = None  # (key, when) of the last key a prompt took: the one that closed it
        self.quitting = False
        self.exit_code = None

    # -- the loop ----------------------------------------------------------------------

    def run(self, reader, link=None) -> int:
        """Read keys and pushes until quit; returns the exit code (2: the hub refused us)."""
        try:
            self.attach(reader)
            if link is not None:
                link.start()
            self.refresh()
            self.redraw()
            while self.exit_code is None:
                try:
                    event = self.inbox.get(timeout=TICK)
                except queue.Empty:
                    event = ("tick",)
                self.handle(event)
                self.redraw()
        except (Interrupted, KeyboardInterrupt):
            self.finish_after_interrupt()
        finally:
            reader.stop()
            if link is not None:
                link.stop()
            self.screen.close()
        return self.exit_code or 0

    def attach(self, reader):
        """Start ``reader``, delivering its keys and notes to the inbox."""
        reader.start(lambda key: self.inbox.put(("key", key)), lambda text: self.inbox.put(("notice", text)))

    def pump(self):
        """Handle everything queued, without waiting (for tests)."""
        while self.exit_code is None:
            try:
                event = self.inbox.get_nowait()
            except queue.Empty:
                break
            self.handle(event)
        self.redraw()

    def finish_after_interrupt(self):
        """Stopped by a signal: wait (boundedly) for an action in flight, so it is not lost silently."""
        if self.in_flight:
            self.screen.log(f"Đang gửi {self.in_flight.label_vi}, chờ kết quả / waiting for the answer…")
            deadline = self.clock() + self.settings.timeout * 4 + 3
            while self.in_flight and self.clock() < deadline:
                try:
                    self.handle(self.inbox.get(timeout=TICK))
                except queue.Empty:
                    pass
            if self.in_flight:
                self.screen.log(f"✗ {self.in_flight.label}: không rõ kết quả / outcome unknown")
        self.exit_code = 0 if self.exit_code is None else self.exit_code

    def handle(self, event):
        kind, *arguments = event
        handler = getattr(self, f"on_{kind}", None)
        if handler is not None:
            handler(*arguments)

    def redraw(self):
        if self.exit_code is not None:
            return
        width = self.screen.width if self.screen.interactive else 1000
        self.screen.status(status_line(self.view, self.current_activity(), width, self.screen.ascii_only))

    def current_activity(self):
        if self.in_flight:
            if self.ignored_while_sending:
                return (f"Đang gửi {self.in_flight.label_vi}…: bỏ qua phím", "still sending: key ignored")
            return (f"Đang gửi {self.in_flight.label_vi}…", "sending")
        if self.prompt:
            return self.prompt_text()
        return self.activity

    # -- keys ----------------------------------------------------------------------------

    def on_key(self, key):
        if key in (CTRL_C, END_OF_INPUT):
            self.quit(force=key == END_OF_INPUT)
            return
        if self.prompt:
            self.prompt_key(key)
            return
        if self.last_prompt_key and self.last_prompt_key[0] == key and \
                self.clock() - self.last_prompt_key[1] < REFLEX_SECONDS:
            self.last_prompt_key = None
            self.note(f"Phím {key_label(key)} vừa trả lời: bỏ qua lần nhấn thứ hai",
                      f"{key_label(key)} just answered the prompt: second press ignored")
            return
        command = self.keymap.command_for(key)
        if command is None:
            # a keypad with Num Lock off sends navigation keys instead of digits
            self.note(f"Phím {key_label(key)} chưa gán", f"key {key_label(key)} is not bound"
                      + (": Num Lock off?" if key in NAVIGATION_KEYS else ""))
            return
        self.run_command(command.name, key)

    def run_command(self, name, key=None):
        if name == "quit":
            self.quit()
        elif name == "help":
            self.screen.log("Phím / keys:")
            for line in self.keymap.help_lines():
                self.screen.log(line)
        elif name in ("call-number", "reinstate"):
            self.open_prompt("number" if name == "call-number" else "reinstate", key if key and key.isdigit() else "")
        elif name == "transfer":
            self.open_prompt("transfer")
        elif name == "pause-toggle":
            self.submit("resume" if self.view.status == "paused" else "pause")
        else:
            self.submit(name)

    def quit(self, force=False):
        if self.in_flight and not force and not self.quitting:
            self.quitting = True
            self.note("Đang gửi: thoát khi có kết quả", "sending: quitting after the answer")
            return
        if self.in_flight:
            self.screen.log(f"✗ {self.in_flight.label}: không rõ kết quả / outcome unknown")
        self.exit_code = 0

    def note(self, vi, en):
        self.activity = (vi, en)

    # -- prompts ----------------------------------------------------------------------

    def open_prompt(self, kind, text=""):
        self.prompt = Prompt(kind, text, self.clock())
        if kind == "transfer":
            if self.view.services:
                choices = ", ".join(f"{index}={code} {name}" for index, (code, name) in
                                    enumerate(self.view.services, start=1))
                self.screen.log(f"Chuyển sang / transfer to: {choices}")
            else:
                self.screen.log("Chưa có danh sách dịch vụ: gõ mã / no service list yet: type the code (HT, CT…)")

    def prompt_text(self):
        prompt = self.prompt
        if prompt.kind == "arrival":
            return self.arrival_question(prompt.text)
        if prompt.kind == "reinstate":
            return (f"Khôi phục số: {prompt.text}_ (Enter; . xoá)", "reinstate a no-show: Enter; . erases")
        if prompt.kind == "number":
            return (f"Gọi số: {prompt.text}_ (Enter gọi, + khôi phục, . xoá)",
                    "call a number: Enter calls, + reinstates, . erases")
        return (f"Chuyển sang: {prompt.text}_ (số dịch vụ, Enter; - huỷ)",
                "transfer to: service number, Enter; - cancels")

    def prompt_key(self, key):
        prompt = self.prompt
        prompt.opened_at = self.clock()
        self.last_prompt_key = (key, self.clock())
        if prompt.kind == "arrival":
            self.arrival_key(key)
        elif len(key) == 1 and key.isalnum():
            prompt.text = (prompt.text + key.upper())[:PROMPT_MAX]
        elif key in (".", "backspace"):
            if prompt.text:
                prompt.text = prompt.text[:-1]
            elif key == ".":
                self.close_prompt()
            # an extra Backspace on an empty prompt does nothing: outside it, it would undo
        elif key == "escape" or (key == "-" and prompt.kind == "transfer"):
            self.close_prompt()
        elif key == "enter" and not prompt.text:
            self.close_prompt()
        elif key == "enter" and prompt.kind == "transfer":
            service = self.resolve_service(prompt.text)
            if service:
                self.prompt = None
                if self.submit("transfer", service=service):
                    self.sent_from = prompt
            else:
                self.note(f"Không có dịch vụ số {prompt.text}", f"no service number {prompt.text}")
                prompt.text = ""
        elif key in ("enter", "+") and prompt.kind in ("number", "reinstate"):
            self.prompt = None
            action = "call" if prompt.kind == "number" and key == "enter" else "reinstate"
            if self.submit(action, number=self.resolve_number(prompt.text)):
                self.sent_from = prompt
        else:
            self.note("Phím không dùng ở đây", "key not used here")

    # -- did the citizen come? (409 arrival_unknown) ---------------------------------------

    def ask_arrival(self, number):
        """The hub asks whether the citizen just called ever came: B / V (keypad 0 / .)."""
        self.prompt = Prompt("arrival", number, self.clock())
        vi, en = self.arrival_question(number)
        self.screen.log(f"? {vi} / {en}")

    def arrival_question(self, number):
        keypad = ", ".join(f"{'/'.join(key_label(key) for key in self.keymap.keys_for(command))} = {letter}"
                           for command, letter in (("done", "B"), ("no-show", "V"))
                           if self.keymap.keys_for(command))
        keypad = f" [{keypad}]" if keypad else ""
        return (f"Số {number} đã đến quầy chưa? B: đã đến (xong) · V: vắng mặt{keypad}",
                f"did {number} come? B: came, done · V: no-show · other keys cancel")

    def arrival_key(self, key):
        """B (came: done) or V (no-show) sends call-next again with ``arrived``; any other key cancels."""
        number, arrived = self.prompt.text, self.keymap.arrival_answer(key)
        self.prompt = None
        if arrived is None:
            self.note(f"Đã huỷ: số {number} vẫn ở quầy", f"cancelled: {number} stays at the counter")
            return
        if self.submit("call-next", arrived=arrived):
            self.sent_from = Prompt("arrival", number)
            self.answer_prefix = (f"{number} đã đến, xong / came, done → " if arrived
                                  else f"{number} vắng mặt / no-show → ")

    def close_prompt(self):
        self.prompt = None
        self.note("Đã huỷ", "cancelled")

    def on_tick(self):
        if self.prompt and self.clock() - self.prompt.opened_at > PROMPT_TIMEOUT:
            self.prompt = None
            self.note("Hết giờ nhập, đã huỷ", "input timed out")

    def resolve_service(self, text):
        """A service code from its 1-based place in the hall's list, or the code typed."""
        if text.isdigit():
            index = int(text)
            return self.view.services[index - 1][0] if 1 <= index <= len(self.view.services) else None
        return text

    def resolve_number(self, text):
        """The ticket number meant by ``text``: itself, or the one known number whose digits
        it names (a keypad cannot type the "B" of "B003")."""
        known = set(self.view.waiting_numbers) | self.seen_numbers
        if text in known or not text.isdigit():
            return text
        matches = [number for number in known if _digits_value(number) == int(text)]
        return matches[0] if len(matches) == 1 else text

    # -- actions -------------------------------------------------------------------------

    def submit(self, action, **body) -> bool:
        """Send one action in the background, unless one is already in flight (then False)."""
        if self.in_flight:
            self.ignored_while_sending = True
            return False
        self.in_flight = ACTION_LABELS[action]
        self.ignored_while_sending = False
        seen = self.sending_desk = desk({"status": self.view.status, "current": self.view.current})
        earlier = self.client.unacknowledged_besides(action, body)
        if earlier:
            before = self.unacknowledged_desk
            self._in_background("result", action,
                                lambda: self.perform_on_the_desk_seen(seen, earlier, before, action, body))
        else:
            self._in_background("result", action, lambda: self.client.perform(action, **body))
        return True

    def perform_on_the_desk_seen(self, seen, earlier, desk_before, action, body) -> ActionResult:
        """Another key after ``earlier`` went unacknowledged (in a background job). The hub may have
        carried ``earlier`` out (its answer lost) or may yet (a hung hub wakes with it queued), so
        the desk the clerk saw may be gone: the action is sent only if the hub shows that desk.
        An undo is meant for ``earlier``: with the desk as it was when ``earlier`` was sent
        (``desk_before``), it was not carried out, and an undo sent would reverse the hub's last
        action instead (the call of the citizen at the desk)."""
        state = self.client.counter_state()
        before = ACTION_LABELS[earlier]
        if state.unreachable:
            return ActionResult(action, ok=False, code="outcome_unknown",
                                message=f"chưa gửi: chưa rõ {before.label_vi} vừa rồi đã được thực hiện chưa "
                                        f"(mất kết nối). Nhấn lại {before.label_vi} để gửi lại, hoặc chờ kết nối",
                                message_en=f"not sent: whether the last {before.label_en} was done is unknown (hub "
                                           f"unreachable); press {before.label_en} again to resend it, or wait")
        if not state.ok:
            return replace(state, action=action)
        if desk(state.answer.get("counter")) != seen:
            self.client.forget_unacknowledged()  # the next press acts on the desk the hub now shows
            return ActionResult(action, ok=False, code="desk_changed", answer=state.answer,
                                message=f"chưa gửi: quầy đã thay đổi sau {before.label_vi} chưa có xác nhận; "
                                        "xem lại rồi nhấn lại",
                                message_en=f"not sent: the desk changed after the unacknowledged {before.label_en}; "
                                           "check it and press again")
        if action == "undo" and seen == desk_before:
            self.client.forget_unacknowledged()  # so a second undo reverses the hub's last action
            return ActionResult(action, ok=False, code="not_done",
                                message=f"không cần: {before.label_vi} vừa rồi chưa được thực hiện (quầy vẫn như cũ), "
                                        "không có gì để hoàn tác",
                                message_en=f"not needed: the last {before.label_en} was not carried out (the desk is "
                                           "as it was), nothing to undo")
        return self.client.perform(action, **body)

    def refresh(self):
        """Ask the hub for the counter's state (at start, and when ours proved stale)."""
        self._in_background("fetched", "state", self.client.counter_state)

    def _in_background(self, kind, action, call):
        """Run ``call`` as a job; its ActionResult comes back to the inbox as ``(kind, result)``."""
        inbox = self.inbox

        def job():
            try:
                result = call()
            except Exception as error:  # a bug must not leave the client "sending" for ever
                result = ActionResult(action, ok=False, code="client_error", message="Lỗi trong chương trình",
                                      message_en=f"client error: {error!r}")
            inbox.put((kind, result))

        self.run_job(job)

    def on_result(self, result):
        self.in_flight = None
        label = ACTION_LABELS[result.action]
        prefix, self.answer_prefix = self.answer_prefix, ""
        sent_from, self.sent_from = self.sent_from, None
        self.keep_unacknowledged_desk(result)
        if result.ok:
            seq = (result.answer or {}).get("seq")
            # A resent request answered with a state the desk already showed was carried out before
            # its answer was lost: the hub did nothing now, and this press must not look like a new call.
            done_before = result.resent and isinstance(seq, int) and seq <= self.view.seq
            self.apply_counter((result.answer or {}).get("counter"), seq)
            text = f"✓ {label.label}: {prefix}{describe_success(result)}"
            activity = text
            if done_before:
                text += (" — đã thực hiện trước khi mất kết nối, lần nhấn này không làm gì thêm; nhấn lại cho lần mới"
                         " / done before the link was lost, this press did nothing more; press again for a new one")
                activity = (f"✓ {label.label_vi}: đã làm trước đó, nhấn lại cho lần mới",
                            "done before, press again for a new one")
            elif result.attempts > 1:
                text += f" (sau {result.attempts} lần thử / after {result.attempts} attempts)"
                activity = text
        elif result.code == "just_called":
            # a reflex second press: the hub changed nothing, nobody lost their turn; a notice, not an error
            text = f"{result.message or 'Vừa mời'} · just called"
            activity = text
        elif result.code == "arrival_unknown":
            self.ask_arrival(arrival_number(result.message) or (self.view.current or {}).get("number", "?"))
            if self.quitting:
                self.exit_code = 0
            return
        elif result.code in NOT_SENT:
            self.apply_counter((result.answer or {}).get("counter"), (result.answer or {}).get("seq"))
            text = f"✗ {label.label}: {result.message} / {result.message_en}"
            activity = (f"✗ {label.label_vi}: chưa gửi", "not sent")
        elif result.unreachable:
            text = (f"✗ {label.label}: {result.message} / {result.message_en}. "
                    "Nhấn lại để gửi lại / press again to resend")
            activity = (f"✗ {label.label_vi}: chưa có xác nhận", "not acknowledged, press again")
            if sent_from:  # the same keys resend it only in its prompt (Enter alone would call the next)
                self.prompt = Prompt(sent_from.kind, sent_from.text, self.clock())
        else:
            text = f"✗ {label.label}: {result.message} ({result.message_en})"
            activity = (f"✗ {label.label_vi}: {result.message}", result.message_en)
            if result.code in STALE_REFUSALS:
                self.refresh()
        self.screen.log(text)
        self.activity = activity
        if self.quitting:
            self.exit_code = 0

    def keep_unacknowledged_desk(self, result):
        """Keep the desk as it was when the press now unacknowledged was first made (an undo after
        it compares the hub's desk with it); forget it once the hub answered or the client gave
        the request up."""
        if result.unreachable:
            if not result.resent:
                self.unacknowledged_desk = self.sending_desk
        elif result.code != "outcome_unknown":
            self.unacknowledged_desk = None

    def on_fetched(self, result):
        if result.ok:
            self.apply_counter(result.answer.get("counter"), result.answer.get("seq"))
        elif result.code in SETTINGS_REFUSALS:
            self.refused({"code": result.code, "message": result.message, "message_en": result.message_en})

    # -- the live link ----------------------------------------------------------------

    def on_link(self, state, detail=""):
        if state == self.view.link:
            return
        if state == "lost":
            self.view.seq = -1  # the next snapshot is the truth, whatever its seq
            self.screen.log(f"{LOST_LINK} ({detail})")
        elif state == "online":
            self.screen.log(f"✓ Đã kết nối / connected to {self.settings.hub} ({detail})")
        self.view.link = state

    def on_refused(self, error):
        self.refused(error)

    def refused(self, error):
        self.screen.log(f"✗ Hub từ chối quầy {self.settings.counter} / the hub refused counter "
                        f"{self.settings.counter}: {error.get('message', '')} ({error.get('message_en', '')}) "
                        "— kiểm tra token và số quầy / check the token and the counter number")
        self.exit_code = 2

    def on_state(self, snapshot):
        services = snapshot.get("services")
        if isinstance(services, list):
            self.view.services = [(service.get("code"), service.get("name", "")) for service in services
                                  if isinstance(service, dict)]

    def on_counter_state(self, push):
        self.apply_counter(push.get("counter"), push.get("seq"))

    def on_called(self, push):
        if (push.get("counter") or {}).get("number") == self.view.number:
            recall = " (gọi lại / recall)" if push.get("recall") else ""
            self.screen.log(f"» {push.get('text', '')}{recall}")

    def on_notice(self, text):
        self.screen.log(text)

    def apply_counter(self, counter, seq=None):
        """Take the hub's COUNTER_STATE unless a newer one (by seq) is already shown.

        Action answers carry no seq (yet): they are the state right after our own action,
        so they are taken; the next push corrects anything that moved meanwhile.
        """
        if not isinstance(counter, dict):
            return
        if seq is not None:
            if seq < self.view.seq:
                return
            self.view.seq = seq
        view = self.view
        view.name = counter.get("name", view.name)
        view.status = counter.get("status", view.status)
        view.current = counter.get("current")
        waiting = counter.get("waiting")
        if isinstance(waiting, list):
            view.waiting = sum(entry.get("count", 0) for entry in waiting if isinstance(entry, dict))
        view.waiting_numbers = [entry.get("number") for entry in counter.get("waiting_list") or []
                                if isinstance(entry, dict)]
        if view.current and view.current.get("number"):
            self.seen_numbers.add(view.current["number"])


def desk(counter) -> tuple:
    """What a key acts on: the counter's status and its citizen (which, in what state, how often recalled)."""
    counter = counter if isinstance(counter, dict) else {}
    current = counter.get("current") if isinstance(counter.get("current"), dict) else {}
    return (counter.get("status"), current.get("id"), current.get("number"), current.get("status"),
            current.get("recalls"))


def describe_success(result) -> str:
    """What the hub did, in a few words."""
    ticket = (result.answer or {}).get("ticket")
    if result.action == "call-next" and ticket is None:
        return "không còn ai chờ / nobody waiting"
    if result.action == "undo":
        return describe_undo(ticket)
    if result.action in ("pause", "resume"):
        return "quầy tạm dừng / counter paused" if result.action == "pause" else "quầy mở lại / counter open"
    if ticket is None:
        return "xong / done"
    number, service = ticket.get("number"), ticket.get("service")
    if result.action == "transfer":
        return f"{number} → {service}"
    if result.action == "recall":
        return f"{number} (lần {ticket.get('recalls')} / recall {ticket.get('recalls')})"
    if result.action in ("call-next", "call"):
        return f"{number} ({service})"
    return str(number)


#: Where a ticket stands after an undo, in a few words.
UNDONE_STATUS = {"waiting": ("trở lại hàng chờ", "back in line"), "called": ("đang gọi", "called"),
                 "serving": ("đang phục vụ", "serving"), "done": ("xong", "done"),
                 "no_show": ("vắng mặt", "no-show")}


def describe_undo(ticket) -> str:
    """The ticket the undo left at the counter (or put back in line), with its status."""
    if not isinstance(ticket, dict):
        return "đã hoàn tác / undone"
    status = ticket.get("status", "")
    vi, en = UNDONE_STATUS.get(status, (status, status))
    where = f" ({ticket['service']})" if status == "waiting" and ticket.get("service") else ""
    return f"số {ticket.get('number')}{where} {vi} / {en}"


def arrival_number(message: str) -> str | None:
    """The ticket number in the hub's arrival question ("Số 1011 đã đến quầy chưa? ...")."""
    found = re.match(r"\s*Số\s+(\S+)", message or "")
    return found.group(1) if found else None


def _digits_value(number: str) -> int | None:
    digits = re.sub(r"\D", "", number or "")
    return int(digits) if digits else None
