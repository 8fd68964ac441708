"""The admin pages (/admin, admin role): the hall's configuration, staff accounts,
device tokens, end of day. The pages validate the form and call ``Hall``, which applies
each change live and writes it to the event log with who made it.

Decisions the page keeps:

- **Confirmation.** Every removal (a service, a counter, a priority category), disabling
  an account and revoking a device token is a form that first answers with a
  confirmation page (no change made) naming what goes and what follows; only its
  "confirm" button, which posts the same fields with ``confirmed=yes``, acts. It works
  without JavaScript. Ending the day keeps its typed "KẾT THÚC".
- **Refusals** re-render the page (422) with what was typed still in the refused form and
  the reason in Vietnamese and English; the English names the hall-file key.
- **Words, not internal names**: sections, roles, counters and audit entries are shown
  as people say them (``"Cán bộ quầy · Staff"``, ``"Quầy 1, Quầy 2"``, ``"Tất cả quầy"``).
- **Two admins at once.** Each form sends back its section as the page showed it (``shown``):
  a save changes only the boxes this admin changed, so another admin's change saved meanwhile
  stays; a box both changed is refused naming the other value, and a row that moved (an item
  removed or added meanwhile) is refused rather than edited. A form without ``shown`` (a
  script) sets every field it sends, as before.
- **The voice.** Announcement words the served voice pack has no clip for are saved (the
  hall may be recording them), with a warning naming them and the command that builds them.
"""

import json
import re
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from ...errors import HallError, Invalid
from ...services import administration, backups, users
from ...services.auth import COUNTER_ROLES
from ...voice import clip_catalogue
from ...voice.pack import PackError, load_pack
from ..access import current_user, roles_required, start_session
from ..extensions import get_hall, setting
from .citizen import sounds_dir

bp = Blueprint("admin", __name__, url_prefix="/admin")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_NAMES = {"monday": "Thứ Hai", "tuesday": "Thứ Ba", "wednesday": "Thứ Tư", "thursday": "Thứ Năm",
             "friday": "Thứ Sáu", "saturday": "Thứ Bảy", "sunday": "Chủ Nhật", "default": "mặc định"}
CONFIRMED = "yes"

# Each part of the page (its anchor and the forms' ``section``) as people call it.
SECTIONS = {
    "hall": ("Trung tâm", "Hall"), "announcement": ("Lời mời", "Announcement"),
    "services": ("Lĩnh vực", "Services"), "counters": ("Quầy", "Counters"),
    "priorities": ("Diện ưu tiên", "Priority categories"),
    "hours": ("Giờ làm việc và chính sách", "Hours and policy"), "users": ("Tài khoản", "Staff accounts"),
    "tokens": ("Thiết bị", "Device tokens"), "day": ("Cuối ngày", "End of day"),
}
USER_ROLES = {"admin": ("Quản trị", "Admin"), "supervisor": ("Giám sát", "Supervisor"),
              "staff": ("Cán bộ quầy", "Staff")}
TOKEN_ROLES = {
    "kiosk": ("Kiosk lấy số", "Kiosk"), "display": ("Màn hình sảnh", "Hall screen"),
    "counter": ("Bàn phím quầy", "Counter keypad"), "rating": ("Máy đánh giá", "Rating tablet"),
    "supervisor": ("Giám sát (API)", "Supervisor API"), "admin": ("Quản trị (API)", "Admin API"),
}
# Keys of the hall file as the admin page labels them (the refusal says which box is wrong).
FIELDS = {
    "name": "tên", "name_en": "tên tiếng Anh", "description": "mô tả", "daily_cap": "giới hạn/ngày",
    "wait_target_minutes": "mục tiêu chờ (phút)", "service_minutes": "thời gian phục vụ (phút)",
    "services": "dịch vụ", "code": "mã", "block": "dãy số", "prefix": "chữ đầu", "width": "số chữ số",
    "number": "số quầy", "template": "mẫu câu", "dialect": "phương ngữ", "reading": "cách đọc số",
    "second_language": "ngôn ngữ thứ hai", "hotline": "đường dây nóng", "timezone": "múi giờ",
    "notices": "dòng chữ chạy", "holidays": "ngày nghỉ lễ", "priority_streak": "số lượt ưu tiên liên tiếp",
    "max_recalls": "số lần gọi lại tối đa", "remote_per_phone": "số lượt lấy số từ xa / điện thoại",
    "close_at": "giờ kết thúc ngày", "soon_ahead": "\"Sắp đến lượt\" khi còn",
    "soon_minutes": "\"Sắp đến lượt\" khi thời gian chờ còn", "screen_silent_seconds": "báo màn hình im lặng sau",
    "screen_lost_seconds": "báo màn hình mất kết nối sau", "recall_template": "mẫu câu mời lại",
    "voice": "giọng đọc", "repeat": "nhắc lại", "catchup_seconds": "đọc lại lượt gọi bị lỡ", **DAY_NAMES,
}
TABLES = {"hall": "Trung tâm", "announcement": "Lời mời", "hours": "Giờ làm việc", "policy": "Chính sách",
          "booking": "Lịch hẹn"}
# The hall file's refusals (English) and what they say in Vietnamese.
PROBLEMS = [
    (r"must be at least (.+), got (.+)", "phải từ {0} trở lên (đã nhập {1})"),
    (r"must be at most (.+), got (.+)", "tối đa là {0} (đã nhập {1})"),
    (r"unknown service (.+)", "không có lĩnh vực mã {0}"),
    (r"expected \"HH:MM-HH:MM\", got (.+)", "cần dạng \"HH:MM-HH:MM\", ví dụ 07:30-11:30 (đã nhập {0})"),
    (r"expected \"HH:MM\" or \"\" \(off\), got (.+)", "cần dạng \"HH:MM\" hoặc để trống (đã nhập {0})"),
    (r"expected a date \"YYYY-MM-DD\", got (.+)", "cần ngày dạng YYYY-MM-DD (đã nhập {0})"),
    (r"not a time of day: (.+)", "không phải giờ trong ngày: {0}"),
    (r"ends before it starts: (.+)", "giờ kết thúc trước giờ bắt đầu: {0}"),
    (r"expected a whole number, got (.+)", "cần một số nguyên (đã nhập {0})"),
    (r"expected a number, got (.+)", "cần một số (đã nhập {0})"),
    (r"expected one of (.+), got (.+)", "chỉ nhận: {0} (đã nhập {1})"),
    (r"must not be empty|missing.*", "không được để trống"),
    (r"duplicate (.+)", "bị trùng {0}"),
    (r"lists a service twice", "có một lĩnh vực hai lần"),
    (r"expected a non-empty list of service codes", "cần ít nhất một mã lĩnh vực"),
    (r".*overlaps service (.+)", "trùng dãy số với lĩnh vực {0}"),
    (r"unknown time zone (.+)", "không có múi giờ {0}"),
    (r"at least one \[\[(\w+)\]\] is needed", "phải còn ít nhất một mục"),
    (r"expected letters, digits, '-' or '_' starting with a letter, got (.+)",
     "chỉ gồm chữ cái không dấu, chữ số, '-' hoặc '_', bắt đầu bằng chữ cái (đã nhập {0})"),
    (r"expected one capital letter A-Z, got (.+)", "cần đúng một chữ in hoa A-Z (đã nhập {0})"),
    (r"expected 1 <= START < END, got (.+)", "cần dạng ĐẦU-CUỐI, đầu nhỏ hơn cuối, ví dụ 9001-9999 (đã nhập {0})"),
    (r"give either block = .+ or prefix \+ width, not both", "chỉ điền dãy số hoặc chữ đầu, không điền cả hai"),
    (r"expected a list of texts \(at most (\d+) characters each\)", "mỗi dòng tối đa {0} ký tự"),
    (r"unknown placeholder (.+); use \{number\} and \{counter\}",
     "có chỗ trống lạ {0}; chỉ dùng {{number}} (số thứ tự) và {{counter}} (số quầy)"),
    (r"changed by someone else since this page was opened to (.+) \(typed (.+)\)",
     "vừa được người khác sửa thành «{0}» sau khi bạn mở trang (bạn nhập «{1}»). Hãy xem lại rồi bấm Lưu lần nữa"),
]
# The hall file's tables each section's forms edit: the page sends them back as it showed them
# (field ``shown``), so a save changes only what this admin changed.
SECTION_TABLES = {"hall": ("hall",), "announcement": ("announcement",), "services": ("services",),
                  "counters": ("counters",), "priorities": ("priorities",), "hours": ("hours", "policy")}


def _admin():
    """The signed-in admin's username, which the audit log records."""
    return current_user()["username"]


def _flash(vietnamese, english):
    flash(Markup('{} <span class="en">{}</span>').format(vietnamese, english))


def counters_text(config, counters_json):
    """An account's counters in words: "Quầy 1, Quầy 2", or "Tất cả quầy" when not limited."""
    numbers = json.loads(counters_json or "[]")
    if not numbers:
        return ("Tất cả quầy", "All counters")
    names = {counter.number: counter.name for counter in config.counters}
    return (", ".join(names.get(number, f"Quầy {number}") for number in numbers),
            ", ".join(f"Counter {number}" for number in numbers))


def _where(key, source, attempted=None):
    """A hall-file key path (``services[1].daily_cap``) in words: ``ô "giới hạn/ngày" của lĩnh vực "Chứng thực"``.
    An item being added is named as typed in the refused edit ``attempted``."""
    match = re.fullmatch(r"(\w+)(?:\[(\d+)\])?(?:\.(\w+))?(?:\[(\d+)\])?", key)
    if not match:
        return f"«{key}»"
    table, index, field, _ = match.groups()
    item = {}
    for mapping in (source, attempted or {}):
        items = mapping.get(table) if isinstance(mapping.get(table), list) else []
        if index is not None and int(index) < len(items) and isinstance(items[int(index)], dict):
            item = items[int(index)]
            break
    if table == "services":
        owner = f"lĩnh vực «{item.get('name') or item.get('code') or int(index or 0) + 1}»" if index else "lĩnh vực"
    elif table == "counters":
        owner = f"quầy số {item.get('number', int(index or 0) + 1)}" if index else "quầy"
    elif table == "priorities":
        owner = f"diện ưu tiên «{item.get('name') or item.get('code', '')}»" if index else "diện ưu tiên"
    else:
        owner = TABLES.get(table, table).lower()
        if field is None and index is None:
            return f"ô «{FIELDS.get(table, table)}»"
    return f"ô «{FIELDS.get(field, field)}» của {owner}" if field else owner


def explain(error, source, attempted=None):
    """(Vietnamese, English) of a refused edit: "Chưa lưu: …" with the box and what is wrong."""
    english = error.message_en
    if error.message != english:   # already said in both languages
        return error.message, english
    key, _, problem = english.partition(": ")
    if not problem or " " in key:
        return ("Chưa lưu: giá trị không hợp lệ (chi tiết tiếng Anh bên dưới)", f"Not saved: {english}")
    where = _where(key, source, attempted)
    for pattern, vietnamese in PROBLEMS:
        found = re.fullmatch(pattern, problem)
        if found:
            return f"Chưa lưu: {where} {vietnamese.format(*found.groups())}.", f"Not saved: {english}"
    return f"Chưa lưu: {where} không hợp lệ ({problem}).", f"Not saved: {english}"


def audit_text(entry):
    """One audit event in words: who, when, what."""
    data = json.loads(entry["data"] or "{}")
    when = datetime.fromtimestamp(entry["at"], get_hall().config.tz).strftime("%H:%M %d/%m/%Y")
    kind = entry["type"]
    if kind == "config_changed":
        section = SECTIONS.get(data.get("section"), (data.get("section"), ""))[0]
        what = f"sửa {section}" + (f": {'; '.join(data['changes'][:3])}" if data.get("changes") else "")
    elif kind == "user_changed":
        what = {"added": "tạo tài khoản", "disable": "khóa tài khoản", "enable": "mở khóa tài khoản",
                "password": "đặt lại mật khẩu"}.get(data.get("change"), data.get("change")) + f" {data.get('username')}"
    elif kind == "token_changed":
        what = (f"tạo token {TOKEN_ROLES.get(data.get('role'), (data.get('role'),))[0]}"
                if data.get("change") == "created" else f"thu hồi token #{data.get('token_id')}")
    else:
        what = "kết thúc ngày"
    return when, data.get("by", ""), what


def _page(status=200, *, error=None, section=None, typed=None, attempted=None, **extra):
    """The admin page; a refusal of the edited mapping ``attempted`` names its items as typed."""
    hall = get_hall()
    source = hall.config_source()
    explained = explain(error, source, attempted) if error is not None else None
    return render_template(
        "admin/index.html", source=source, accounts=hall.accounts(),
        tokens=hall.tokens(newest_first=True), log=[audit_text(entry) for entry in hall.audit_log(limit=30)],
        token_roles=TOKEN_ROLES, user_roles=USER_ROLES, days=DAYS, day_names=DAY_NAMES, sections=SECTIONS,
        counters_text=lambda counters: counters_text(hall.config, counters),
        backups=backups.list_backups(setting("backup_dir")), error=explained, section=section,
        shown_json=lambda part: json.dumps({table: source.get(table) for table in SECTION_TABLES[part]},
                                           ensure_ascii=False),
        typed=typed if typed is not None else {}, **extra), status


def _refused(error, section, status=422, attempted=None):
    """The page again, the refused form still holding what was typed (never a password)."""
    typed = {name: value for name, value in request.form.items() if "password" not in name}
    if error.code == "rows_moved":
        typed = {}   # the rows it was typed in now hold other items
    return _page(status, error=error, section=section, typed=typed, attempted=attempted)


def _confirm(section, question, question_en, details=(), action_label=("Xác nhận", "Confirm")):
    """The confirmation step: the same form again, to be posted with ``confirmed=yes``."""
    fields = [(name, value) for name, value in request.form.items(multi=True)
              if name not in ("csrf_token", "confirmed")]
    return render_template("admin/confirm.html", action=request.path, fields=fields, question=question,
                           question_en=question_en, details=details, action_label=action_label,
                           back=url_for("admin.index", _anchor=section), confirmed=CONFIRMED)


def _confirmed():
    return request.form.get("confirmed") == CONFIRMED


@bp.get("")
@roles_required("admin")
def index():
    return _page()


def _reconfigure(edited, section):
    try:
        get_hall().change_config(edited, by=_admin(), section=section)
    except HallError as error:
        return _refused(error, section, attempted=edited)
    vietnamese, english = SECTIONS.get(section, ("cấu hình", "configuration"))
    _flash(f"Đã lưu thay đổi: {vietnamese}. Màn hình và kiosk đã được cập nhật.",
           f"Saved: {english}; screens and kiosks are up to date.")
    if section == "announcement":
        _warn_of_voice_gaps()
    return redirect(url_for("admin.index", _anchor=section))


def _warn_of_voice_gaps():
    """Flash the announcement words the screens' voice pack cannot say (they would be silence
    between the chime and the numbers), with the command that builds them."""
    settings = get_hall().config.announcement
    templates = (settings.template, settings.recall_template)
    catalogue = clip_catalogue(templates, (settings.dialect,),
                               (settings.second_language,) if settings.second_language else ())
    directory = sounds_dir()
    try:
        missing = load_pack(directory).missing(catalogue)
    except PackError:
        missing = list(catalogue)
    if not missing:
        return
    words = ", ".join(f"«{catalogue[clip_id].text or clip_id}»" for clip_id in missing[:6])
    words += ", …" if len(missing) > 6 else ""
    command = (f"hallserver sounds build --voice {settings.voice} "
               + " ".join(f'--template "{template}"' for template in templates) + f" --out {directory}")
    _flash(f"Gói giọng đọc chưa có câu: {words}. Màn hình sảnh sẽ im lặng ở những chỗ đó cho đến khi "
           f"dựng lại gói giọng đọc: {command}",
           f"The voice pack cannot say: {words}. Hall screens stay silent there until it is rebuilt: {command}")


def _item_number(raw):
    """The item number a removal names (field ``remove``): ASCII digits, else refused naming the field."""
    raw = (raw or "").strip()
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise Invalid(f"Chưa lưu: trường «remove» cần số thứ tự của mục, nhận {raw[:20]!r}",
                      f"remove: expected an item number, got {raw[:20]!r}", code="invalid_value")
    return int(raw)


def _removal_question(list_key, index):
    """What removing item ``index`` of ``list_key`` means, in both languages, and its consequences."""
    items = get_hall().config_source().get(list_key, [])
    if not isinstance(items, list) or not 0 <= index < len(items) or not isinstance(items[index], dict):
        return None
    item = items[index]
    if list_key == "services":
        users_of = [f"Quầy {c.get('number')}" for c in get_hall().config_source().get("counters", [])
                    if item.get("code") in c.get("services", [])]
        details = [("Các quầy sau đang phục vụ lĩnh vực này, hãy bỏ nó khỏi quầy trước: " + ", ".join(users_of),
                    "Counters still serving it (remove it from them first): " + ", ".join(users_of))]
        details = details if users_of else []
        return (f"Xóa lĩnh vực «{item.get('name')}» ({item.get('code')})?",
                f"Remove the service {item.get('name_en') or item.get('name')} ({item.get('code')})?", details)
    if list_key == "counters":
        return (f"Xóa quầy số {item.get('number')} ({item.get('name') or 'Quầy ' + str(item.get('number'))})?",
                f"Remove counter {item.get('number')}?",
                [("Bàn phím và máy đánh giá của quầy này sẽ ngừng dùng được; màn hình sảnh thôi hiện quầy này.",
                  "This counter's keypad and rating tablet stop working; the hall screen no longer shows it.")])
    return (f"Xóa diện ưu tiên «{item.get('name')}»?",
            f"Remove the priority category {item.get('name_en') or item.get('name')}?", [])


def _shown_by_page():
    """The section's tables as the admin's page showed them (field ``shown``), None without."""
    try:
        shown = json.loads(request.form.get("shown") or "null")
    except ValueError:
        return None
    return shown if isinstance(shown, dict) else None


@bp.post("/config")
@roles_required("admin")
def edit_config():
    """Fields ``kind:path`` of one section; optionally add or remove an item of a list
    (a removal asks for confirmation first)."""
    section = request.form.get("section", "config")
    form = request.form
    current, shown = get_hall().config_source(), _shown_by_page()
    if form.get("remove") is not None and shown is not None:
        try:
            administration.check_item_unmoved(current, shown, form.get("list", ""), _item_number(form["remove"]))
        except HallError as error:
            if error.code == "rows_moved":
                return _refused(error, section, 409)
    if form.get("remove") is not None and not _confirmed():
        try:
            asked = _removal_question(form.get("list", ""), _item_number(form["remove"]))
        except HallError:
            asked = None   # refused below, naming the field
        if asked is not None:
            question, question_en, details = asked
            return _confirm(section, question, question_en, details, ("Xóa", "Remove"))
    existing = {name: value for name, value in form.items() if ":new." not in name}
    new_item = {name.replace(":new.", ":", 1): value for name, value in form.items() if ":new." in name}
    try:
        if shown is None:   # a form without what its page showed (a script): every field as sent
            edited = administration.apply_fields(current, existing)
        else:
            edited = administration.apply_edits(current, shown, existing)
        if form.get("remove") is not None:
            edited = administration.remove_item(edited, form.get("list", ""), _item_number(form["remove"]))
        if form.get("add") is not None:
            edited = administration.add_item(edited, form.get("list", ""), administration.apply_fields({}, new_item))
    except (HallError, ValueError, KeyError) as error:
        error = error if isinstance(error, HallError) else Invalid(f"Yêu cầu không hợp lệ: {error}",
                                                                      f"Invalid request: {error}")
        return _refused(error, section)
    return _reconfigure(edited, section)


# -- staff accounts ------------------------------------------------------------------

def _counters_field(raw):
    try:
        return [int(part) for part in raw.replace(" ", "").split(",") if part]
    except ValueError:
        raise Invalid(f"Quầy: cần danh sách số, ví dụ 1,2 (nhận {raw!r})",
                      f"Counters: expected numbers such as 1,2, got {raw!r}") from None


@bp.post("/users")
@roles_required("admin")
def add_user():
    form = request.form
    try:
        get_hall().add_user(username=form.get("username", ""), password=form.get("password", ""),
                            role=form.get("role", ""), display_name=form.get("display_name", ""),
                            counters=_counters_field(form.get("counters", "")), by=_admin())
    except HallError as error:
        return _refused(error, "users")
    _flash(f"Đã tạo tài khoản {form['username']}.", f"Account {form['username']} created.")
    return redirect(url_for("admin.index", _anchor="users"))


def _desks_left(account):
    """What disabling ``account`` leaves behind: each counter it works now and the citizen at its desk."""
    hall = get_hall()
    names = {counter.number: counter.name for counter in hall.config.counters}
    who = account["display_name"] or account["username"]
    lines = []
    for counter, number in hall.read(lambda db, config, now: users.desks_worked(db, account["username"])):
        where = names.get(counter, f"Quầy {counter}")
        if number is None:
            lines.append((f"{who} đang làm ở {where}: quầy sẽ không có người.",
                          f"{account['username']} works counter {counter}: it is left unattended."))
        else:
            lines.append((f"{who} đang làm ở {where}, công dân số {number} đang ở quầy: số này ở lại quầy; "
                          "hãy để cán bộ khác mở quầy để hoàn thành.",
                          f"{account['username']} works counter {counter} with citizen {number} at the desk, who "
                          "stays there: have another clerk open the counter to finish"))
    return lines


@bp.post("/users/<username>/<change>")
@roles_required("admin")
def change_user(username, change):
    if change not in ("disable", "enable", "password"):
        raise Invalid(f"Thao tác không hợp lệ {change!r}", f"Unknown change {change!r}")
    username = username.strip().lower()   # usernames are case-insensitive, as at sign-in
    if change == "disable" and username == _admin():
        return _page(409, error=Invalid("Không thể tự khóa tài khoản đang dùng", "You cannot disable yourself"),
                     section="users")
    hall = get_hall()
    if change == "disable" and not _confirmed():
        account = next((a for a in hall.accounts() if a["username"] == username), None)
        if account is not None:
            name = f" ({account['display_name']})" if account["display_name"] else ""
            return _confirm("users", f"Khóa tài khoản {username}{name}?", f"Disable the account {username}?",
                            [*_desks_left(account),
                             ("Tài khoản sẽ không đăng nhập được nữa và rời quầy đang làm; có thể mở khóa lại.",
                              "It can no longer sign in and leaves its counter; it can be enabled again.")],
                            ("Khóa", "Disable"))
    try:
        if change == "password":
            hall.set_password(username, request.form.get("password", ""), by=_admin())
            if username == _admin():   # every other session of the admin ended; this one goes on
                start_session(hall.active_user(current_user()["id"]))
        else:
            hall.set_user_disabled(username, change == "disable", by=_admin())
    except HallError as error:
        return _refused(error, "users", error.status)
    _flash(*{"disable": (f"Đã khóa {username}.", f"{username} disabled."),
             "enable": (f"Đã mở khóa {username}.", f"{username} enabled."),
             "password": (f"Đã đặt mật khẩu mới cho {username}.", f"New password set for {username}.")}[change])
    return redirect(url_for("admin.index", _anchor="users"))


# -- device tokens ---------------------------------------------------------------------

@bp.post("/tokens")
@roles_required("admin")
def create_token():
    form = request.form
    try:
        counter = int(form["counter"]) if form.get("counter", "").strip() else None
        if counter is None and form.get("role") in COUNTER_ROLES:
            return _refused(Invalid("Chưa tạo: bàn phím quầy và máy đánh giá cần số quầy của chúng.",
                                    "Not created: a counter keypad or rating tablet needs its counter number"),
                            "tokens")
        plain = get_hall().create_token(role=form.get("role", ""), counter=counter, label=form.get("label", ""),
                                        by=_admin())
    except ValueError:
        return _refused(Invalid("Số quầy phải là số", "The counter must be a number"), "tokens")
    except HallError as error:
        return _refused(error, "tokens")
    # Shown once, on this answer only: the database keeps its hash.
    return _page(201, new_token=plain, section="tokens")


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("admin")
def revoke_token(token_id):
    if not _confirmed():
        token = next((t for t in get_hall().tokens() if t["id"] == token_id), None)
        if token is not None and not token["revoked_at"]:
            role = TOKEN_ROLES.get(token["role"], (token["role"], token["role"]))
            where = f", quầy {token['counter']}" if token["counter"] else ""
            label = f", «{token['label']}»" if token["label"] else ""
            return _confirm("tokens", f"Thu hồi token #{token_id} ({role[0]}{where}{label})?",
                            f"Revoke token #{token_id} ({role[1]})?",
                            [("Thiết bị đang dùng token này bị từ chối ngay và phải ghép nối lại bằng token mới.",
                              "Devices using it are refused at once and must be paired again with a new token.")],
                            ("Thu hồi", "Revoke"))
    get_hall().revoke_token(token_id, by=_admin())
    _flash(f"Đã thu hồi token #{token_id}.", f"Token #{token_id} revoked.")
    return redirect(url_for("admin.index", _anchor="tokens"))


# -- end of day --------------------------------------------------------------------------

@bp.post("/end-of-day")
@roles_required("admin")
def close_day():
    """End today's queue now: every unfinished ticket expires. Needs the typed confirmation."""
    if request.form.get("confirm", "").strip().upper() != "KẾT THÚC":
        return _refused(Invalid('Hãy gõ "KẾT THÚC" để xác nhận', 'Type "KẾT THÚC" to confirm'), "day")
    count = get_hall().close_day(by=_admin())
    _flash(f"Đã kết thúc ngày: {count} phiếu chưa xong đã hết hạn.", f"Day ended: {count} unfinished tickets expired.")
    return redirect(url_for("admin.index", _anchor="day"))
