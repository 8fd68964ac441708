"""Hall screens report their health; the dashboard lists them and alerts on trouble.

A screen (the browser ``/display`` page or the pygame board) that joined the ``display``
room sends ``screen_status`` when it joins, every ``HEARTBEAT_SECONDS`` and at once when its
sound changes or an announcement finishes::

    {"screen": "<stable id>", "kind": "browser" | "pygame", "name": "Sảnh tầng 1" | null,
     "sound": "ok" | "blocked" | "off" | "failed",
     "last_announcement": {"call_id": "41", "played_at": 1764465125.2} | null,
     "counters": [1, 2, 3] | null}          # optional: a screen showing only these counters

Reports go to the ``screens`` table, so every hub process on the database sees every
screen. Most reports are heartbeats that change nothing: :class:`Heartbeats` keeps what
this process last wrote for each socket, and an unchanged report is written at most every
``WRITE_EVERY_SECONDS`` (with a heartbeat every 15 s: every second one), so hundreds of
screens are a few small writes a second, not a write each.

What the dashboard makes of it (:func:`overview`), with the hall's ``[policy]``:

- **lost sound**: ``sound`` is ``blocked`` (a browser refusing to play without a tap) or
  ``failed`` (no audio device, or voice clips missing or broken). ``off`` is a choice (a
  counter-top screen, a screen whose speaker is someone else's) and raises nothing;
- **silent**: connected with sound ``ok``, a call it shows was made more than
  ``screen_silent_seconds`` ago (after the screen connected), it has not reported playing
  it, and it has reported no announcement at all in that time (a screen working through a
  burst of calls keeps reporting, so it is not silent);
- **fell off**: its socket closed, or it has not reported for ``screen_lost_seconds`` (a hub
  process that died never saw the close).

Plain Python on the store: no web framework here.
"""

import json
import math
from dataclasses import dataclass
from datetime import datetime

from ..core.tickets import local_day
from ..errors import Conflict, Invalid

KINDS = ("browser", "pygame")
SOUNDS = ("ok", "blocked", "off", "failed")
FIELDS = {"screen", "kind", "name", "sound", "last_announcement", "counters"}
SCREEN_ID_MAX = 64
NAME_MAX = 100
CALL_ID_MAX = 32
MAX_COUNTERS = 200
HEARTBEAT_SECONDS = 15       # what screens are asked to do
WRITE_EVERY_SECONDS = 20     # an unchanged report is written at most this often per screen
KEEP_DAYS = 7                # a screen not seen for this long leaves the dashboard
SILENT_HORIZON_SECONDS = 6 * 3600  # calls older than this never make a screen "silent"
# The display room is public: without bounds anyone who reaches the hub could list thousands
# of made-up screens (and their alerts) on the supervisors' dashboard. A hall has a handful.
MAX_SCREENS_PER_ADDRESS = 16
MAX_SCREENS = 100

KIND_NAMES = {"browser": ("Trình duyệt", "Browser"), "pygame": ("Màn hình pygame", "pygame board")}
NO_SOUND_REASONS = {
    "blocked": ("trình duyệt chặn âm thanh — bấm vào màn hình một lần, hoặc chạy chế độ kiosk",
                "the browser blocks sound — tap the screen once, or run it in kiosk mode"),
    "failed": ("không phát được âm thanh (loa, thiết bị âm thanh hoặc tệp giọng đọc thiếu, lỗi)",
               "it cannot play sound (speaker, audio device, or voice clips missing or broken)"),
}


@dataclass(frozen=True)
class ScreenStatus:
    """One validated ``screen_status`` report."""

    screen: str
    kind: str
    sound: str
    name: str | None = None
    call_id: str | None = None
    played_at: float | None = None
    counters: tuple[int, ...] | None = None


def _refuse(message, message_en):
    raise Invalid(f"Báo cáo màn hình không hợp lệ: {message}", f"Invalid screen status: {message_en}",
                  code="invalid_screen_status")


def _printable(value):
    return value == value.strip() and value.isprintable()


def parse_status(data):
    """Validate a ``screen_status`` payload strictly; a :class:`ScreenStatus`, or Invalid
    ``invalid_screen_status`` naming what is wrong (unknown keys are refused too)."""
    if not isinstance(data, dict):
        _refuse("cần một đối tượng JSON", "expected an object")
    unknown = sorted(str(key) for key in data if key not in FIELDS)
    if unknown:
        _refuse(f"trường lạ {', '.join(unknown)}", f"unknown field(s) {', '.join(unknown)}")
    screen = data.get("screen")
    if not isinstance(screen, str) or not screen or len(screen) > SCREEN_ID_MAX or not _printable(screen):
        _refuse(f"'screen' phải là mã in được, 1–{SCREEN_ID_MAX} ký tự",
                f"'screen' must be a printable id of 1–{SCREEN_ID_MAX} characters")
    kind, sound = data.get("kind"), data.get("sound")
    if kind not in KINDS:
        _refuse(f"'kind' phải là {' hoặc '.join(KINDS)}", f"'kind' must be {' or '.join(KINDS)}")
    if sound not in SOUNDS:
        _refuse(f"'sound' phải là một trong {', '.join(SOUNDS)}", f"'sound' must be one of {', '.join(SOUNDS)}")
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > NAME_MAX or not name.isprintable()):
        _refuse(f"'name' phải là chuỗi tối đa {NAME_MAX} ký tự", f"'name' must be a string of at most {NAME_MAX}")
    call_id = played_at = None
    last = data.get("last_announcement")
    if last is not None:
        if not isinstance(last, dict) or set(last) != {"call_id", "played_at"}:
            _refuse("'last_announcement' cần đúng call_id và played_at",
                    "'last_announcement' needs exactly call_id and played_at")
        call_id, played_at = last["call_id"], last["played_at"]
        if not isinstance(call_id, str) or not call_id or len(call_id) > CALL_ID_MAX or not _printable(call_id):
            _refuse("'call_id' phải là mã cuộc gọi", "'call_id' must be a call id")
        if isinstance(played_at, bool) or not isinstance(played_at, int | float) or not (
                math.isfinite(played_at) and played_at > 0):
            _refuse("'played_at' phải là thời điểm (giây epoch)", "'played_at' must be epoch seconds")
    counters = data.get("counters")
    if counters is not None:
        if not isinstance(counters, list) or len(counters) > MAX_COUNTERS or not all(
                isinstance(number, int) and not isinstance(number, bool) and 0 <= number <= 10**6
                for number in counters):
            _refuse("'counters' phải là danh sách số quầy", "'counters' must be a list of counter numbers")
        counters = tuple(sorted(set(counters)))
    return ScreenStatus(screen=screen, kind=kind, sound=sound, name=(name.strip() or None) if name else None,
                        call_id=call_id, played_at=float(played_at) if played_at is not None else None,
                        counters=counters)


def write_every(policy):
    """How often an unchanged report is written: every ``WRITE_EVERY_SECONDS`` (with the 45 s
    default and 15 s heartbeats: every second heartbeat, a row at most ~30 s old), or more
    often when the hall declares screens lost sooner (half of ``screen_lost_seconds``)."""
    return min(WRITE_EVERY_SECONDS, policy.screen_lost_seconds / 2)


class Heartbeats:
    """This process's memory of what it last wrote for each reporting socket, so unchanged
    heartbeats are written only every so often (:func:`write_every`)."""

    def __init__(self):
        self._written = {}  # sid -> (ScreenStatus, written at)

    def due(self, sid, status, now, every=WRITE_EVERY_SECONDS):
        """Whether this report must be written: it differs from the last one, or that is ``every`` s old."""
        last = self._written.get(sid)
        return last is None or last[0] != status or now - last[1] >= every

    def written(self, sid, status, now):
        self._written[sid] = (status, now)

    def forget(self, sid):
        """The socket closed: whether it had reported (then its screen fell off)."""
        return self._written.pop(sid, None) is not None


def record_status(db, status, *, sid, address, now, lost_seconds=None):
    """Write a report inside the caller's transaction; whether the dashboard shows something
    new (a new screen, a new connection, another sound, name or counters, a new announcement,
    or a screen heard again after ``lost_seconds`` of silence)."""
    old = next(iter(db.query("SELECT * FROM screens WHERE id = ?", [status.screen])), None)
    counters = json.dumps(list(status.counters)) if status.counters is not None else None
    values = {"id": status.screen, "kind": status.kind, "name": status.name, "sound": status.sound,
              "counters": counters, "last_call_id": status.call_id, "last_played_at": status.played_at,
              "connected": 1, "sid": sid, "address": address, "last_seen": now}
    if old is None:
        _make_room(db, address, now, lost_seconds)
        db["screens"].insert(dict(values, first_seen=now, connected_since=now, sound_since=now,
                                  announcement_seen_at=now if status.call_id else None))
        return True
    reconnected = not old["connected"] or old["sid"] != sid or (
        lost_seconds is not None and now - old["last_seen"] > lost_seconds)
    new_call = status.call_id is not None and status.call_id != old["last_call_id"]
    values.update(
        connected_since=now if reconnected else old["connected_since"],
        sound_since=now if status.sound != old["sound"] else old["sound_since"],
        announcement_seen_at=now if new_call else old["announcement_seen_at"],
    )
    db["screens"].update(status.screen, values)
    return reconnected or new_call or any(old[key] != values[key] for key in ("kind", "name", "sound", "counters"))


def _make_room(db, address, now, lost_seconds):
    """Room for a new screen reporting from ``address``, or Conflict ``too_many_screens``. An
    address at MAX_SCREENS_PER_ADDRESS first forgets its own screens that are gone (a browser
    back after a reboot with a fresh id); screens of other addresses are never forgotten here,
    so a flood cannot hide a real screen that fell off."""
    recent = now - KEEP_DAYS * 86400
    mine = list(db.query("SELECT id, connected, last_seen FROM screens WHERE address IS ? AND last_seen >= ? "
                         "ORDER BY last_seen", [address, recent]))
    excess = len(mine) + 1 - MAX_SCREENS_PER_ADDRESS
    if excess > 0:
        gone = [row["id"] for row in mine if not row["connected"] or (
            lost_seconds is not None and now - row["last_seen"] > lost_seconds)][:excess]
        db.execute(f"DELETE FROM screens WHERE id IN ({', '.join('?' for _ in gone)})", gone)
        if len(gone) < excess:
            _too_many(f"{MAX_SCREENS_PER_ADDRESS} màn hình từ cùng một địa chỉ",
                      f"{MAX_SCREENS_PER_ADDRESS} screens from one address")
    if db.execute("SELECT COUNT(*) FROM screens WHERE last_seen >= ?", [recent]).fetchone()[0] >= MAX_SCREENS:
        _too_many(f"{MAX_SCREENS} màn hình", f"{MAX_SCREENS} screens")


def _too_many(what, what_en):
    raise Conflict(f"Đã có {what} báo trạng thái; màn hình mới không được ghi nhận",
                   f"{what_en} already report; a new one is not recorded", code="too_many_screens")


def mark_disconnected(db, *, sid, now):
    """The socket ``sid`` closed: its screen (unless it reconnected on another socket meanwhile)
    is disconnected from now. Whether one was."""
    cursor = db.execute("UPDATE screens SET connected = 0, last_seen = ? WHERE sid = ? AND connected = 1",
                        [now, sid])
    return cursor.rowcount > 0


# -- the dashboard ------------------------------------------------------------------------------

def _call_seq(call_id):
    return int(call_id) if call_id and call_id.isdigit() else 0


def _when(config, moment, now):
    """``09:12`` today, ``28/11 17:32`` another day, in the hall's time zone."""
    shown = datetime.fromtimestamp(moment, config.tz)
    if local_day(config, moment) == local_day(config, now):
        return shown.strftime("%H:%M")
    return shown.strftime("%d/%m %H:%M")


def _calls_since(db, since):
    """Calls (first calls and recalls, not undone) made at or after ``since``: (seq, at, counter, number)."""
    rows = db.execute(
        "SELECT seq, at, counter, json_extract(data, '$.number') FROM events WHERE type IN ('called', 'recalled') "
        "AND at >= ? AND seq NOT IN (SELECT json_extract(data, '$.seq') FROM events WHERE type = 'undone' "
        "AND at >= ?) ORDER BY seq", [since, since]).fetchall()
    return [tuple(row) for row in rows]


def _silent_since(screen, calls, now, silent_seconds):
    """The oldest call the screen should have said by now and has not, or None."""
    if screen["announcement_seen_at"] is not None and screen["announcement_seen_at"] > now - silent_seconds:
        return None  # it announced something lately: working, perhaps through a burst
    played = _call_seq(screen["last_call_id"])
    shown = set(json.loads(screen["counters"])) if screen["counters"] else None
    for seq, at, counter, number in calls:
        if (seq > played and screen["connected_since"] <= at <= now - silent_seconds
                and (shown is None or counter in shown)):
            return {"seq": seq, "at": at, "counter": counter, "number": number}
    return None


def overview(db, config, now):
    """The hall's screens as the dashboard lists them, and the alerts they raise: ``(screens, alerts)``."""
    policy = config.policy
    rows = [dict(row) for row in db.query("SELECT * FROM screens WHERE last_seen >= ? ORDER BY coalesce(name, id), id",
                                          [now - KEEP_DAYS * 86400])]
    if not rows:
        return [], []
    watched = [row["connected_since"] for row in rows if row["connected"]]
    # Calls a connected screen may have missed: since it connected, within the last hours (a
    # screen connected for days must not make every snapshot read days of events).
    calls = _calls_since(db, max(min(watched), now - SILENT_HORIZON_SECONDS)) if watched else []
    announced = {str(seq): (counter, number) for seq, counter, number in db.execute(
        "SELECT seq, counter, json_extract(data, '$.number') FROM events WHERE seq IN ({})".format(
            ",".join("?" * len(rows))), [_call_seq(row["last_call_id"]) for row in rows]).fetchall()}
    screens, alerts = [], []
    for row in rows:
        label = row["name"] or row["id"]
        quoted = f"“{label}”"
        online = bool(row["connected"]) and now - row["last_seen"] <= policy.screen_lost_seconds
        silent = _silent_since(row, calls, now, policy.screen_silent_seconds) if (
            online and row["sound"] == "ok") else None
        if not online:
            state = "lost"
            since = _when(config, row["last_seen"], now)
            alerts.append({"kind": "screen_lost", "key": f"screen_lost:{row['id']}",
                           "message": f"Màn hình {quoted} mất kết nối từ {since}",
                           "message_en": f"Screen {quoted} fell off (not connected since {since})"})
        elif row["sound"] in NO_SOUND_REASONS:
            state = "no_sound"
            vi, en = NO_SOUND_REASONS[row["sound"]]
            alerts.append({"kind": "screen_sound", "key": f"screen_sound:{row['id']}:{row['sound']}",
                           "message": f"Màn hình {quoted} mất tiếng: {vi}",
                           "message_en": f"Screen {quoted} has no sound: {en}"})
        elif silent is not None:
            state = "silent"
            called = _when(config, silent["at"], now)
            alerts.append({"kind": "screen_silent", "key": f"screen_silent:{row['id']}",
                           "message": f"Màn hình {quoted} im lặng: chưa đọc số {silent['number']} "
                                      f"(quầy {silent['counter']}, mời lúc {called})",
                           "message_en": f"Screen {quoted} is silent: it has not announced {silent['number']} "
                                         f"(counter {silent['counter']}, called at {called})"})
        else:
            state = "off" if row["sound"] == "off" else "ok"
        last = None
        if row["last_call_id"]:
            counter, number = announced.get(row["last_call_id"], (None, None))
            seen = row["announcement_seen_at"]
            last = {"call_id": row["last_call_id"], "number": number, "counter": counter,
                    "played_at": datetime.fromtimestamp(row["last_played_at"], config.tz).isoformat(
                        timespec="seconds") if row["last_played_at"] else None,
                    "seconds_ago": max(0, round(now - seen)) if seen is not None else None}
        screens.append({
            "id": row["id"], "name": row["name"], "label": label, "kind": row["kind"],
            "kind_name": KIND_NAMES.get(row["kind"], (row["kind"], row["kind"]))[0],
            "connected": online, "state": state, "sound": row["sound"],
            "counters": json.loads(row["counters"]) if row["counters"] else None,
            "address": row["address"],
            "last_seen": datetime.fromtimestamp(row["last_seen"], config.tz).isoformat(timespec="seconds"),
            "last_seen_seconds": max(0, round(now - row["last_seen"])),
            "last_announcement": last,
        })
    return screens, alerts
