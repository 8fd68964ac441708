"""The admin pages (/admin, admin role): the hall's configuration, staff accounts,
device tokens, end of day. Every change is validated like a hall file, takes effect
live, and is written to the event log with who made it."""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ... import core
from ...core import Outcome
from ...core.events import record
from ...errors import HallError, Invalid
from ...services import administration, auth, backups, users
from ..access import current_user, roles_required
from ..extensions import get_hall, setting

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDITED = ("config_changed", "user_changed", "token_changed", "day_closed")



def audited(kind, apply_change, **data):
    """Run ``apply_change(db, config, now)`` and append its audit line (who and what) in the
    same transaction, then publish both; returns what ``apply_change`` returned."""
    by = current_user()["username"]

    def action(db, config, now):
        result = apply_change(db, config, now)
        events = list(result.events) if isinstance(result, Outcome) else []
        events.append(record(db, kind, now, data={"by": by, **data}))
        return Outcome(result.result if isinstance(result, Outcome) else result, events)
    return get_hall().perform(action)


def _page(status=200, **extra):
    hall = get_hall()
    store = hall.store
    with store.reading() as db:
        accounts = list(db.query("SELECT id, username, display_name, role, counters, disabled FROM users ORDER BY username"))
        tokens = list(db.query("SELECT id, role, counter, label, created_at, revoked_at FROM tokens ORDER BY id DESC"))
        log = list(db.query(
            f"SELECT seq, at, type, data FROM events WHERE type IN ({', '.join('?' * len(AUDITED))}) "
            "ORDER BY seq DESC LIMIT 30", list(AUDITED)))
    return render_template(
        "admin/index.html", hall=hall.config, source=hall.config_source(), accounts=accounts, tokens=tokens, log=log,
        roles=auth.ROLES, user_roles=users.USER_ROLES, days=("monday", "tuesday", "wednesday", "thursday", "friday",
                                                             "saturday", "sunday"),
        backups=backups.list_backups(setting("backup_dir")), user=current_user(),
        **extra), status


@bp.get("")
@roles_required("admin")
def index():
    return _page()


def _reconfigure(edited, section):
    hall = get_hall()
    changes = administration.describe_change(hall.config_source(), edited)[:20]
    try:
        audited("config_changed", lambda db, config, now: hall.reconfigure(db, edited),
                section=section, changes=changes)
    except HallError as error:
        return _page(422, error=error, section=section)
    flash(f"Đã lưu thay đổi ({section}). Màn hình và kiosk đã được cập nhật.")
    return redirect(url_for("admin.index", _anchor=section))


@bp.post("/config")
@roles_required("admin")
def edit_config():
    """Fields ``kind:path`` of one section; optionally add or remove an item of a list."""
    section = request.form.get("section", "config")
    form = request.form
    existing = {name: value for name, value in form.items() if ":new." not in name}
    new_item = {name.replace(":new.", ":", 1): value for name, value in form.items() if ":new." in name}
    try:
        edited = administration.apply_fields(get_hall().config_source(), existing)
        if form.get("remove") is not None:
            edited = administration.remove_item(edited, form["list"], int(form["remove"]))
        if form.get("add") is not None:
            edited = administration.add_item(edited, form["list"], administration.apply_fields({}, new_item))
    except (HallError, ValueError, KeyError) as error:
        error = error if isinstance(error, HallError) else Invalid(f"Yêu cầu không hợp lệ: {error}",
                                                                      f"Invalid request: {error}")
        return _page(422, error=error, section=section)
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
        counters = _counters_field(form.get("counters", ""))
        audited("user_changed", lambda db, config, now: users.add_user(
            db, username=form.get("username", ""), password=form.get("password", ""), role=form.get("role", ""),
            display_name=form.get("display_name", ""), counters=counters, now=now),
            username=form.get("username", "").strip().lower(), change="added", role=form.get("role", ""))
    except HallError as error:
        return _page(422, error=error, section="users")
    flash(f"Đã tạo tài khoản {form['username']}.")
    return redirect(url_for("admin.index", _anchor="users"))


@bp.post("/users/<username>/<change>")
@roles_required("admin")
def change_user(username, change):
    if change not in ("disable", "enable", "password"):
        raise Invalid(f"Thao tác không hợp lệ {change!r}", f"Unknown change {change!r}")
    if change == "disable" and username == current_user()["username"]:
        return _page(409, error=Invalid("Không thể tự khóa tài khoản đang dùng", "You cannot disable yourself"),
                     section="users")
    def apply(db, config, now):
        if change == "password":
            return users.set_password(db, username, request.form.get("password", ""))
        return users.set_disabled(db, username, change == "disable", now=now)
    try:
        audited("user_changed", apply, username=username, change=change)
    except HallError as error:
        return _page(error.status, error=error, section="users")
    flash({"disable": f"Đã khóa {username}.", "enable": f"Đã mở khóa {username}.",
           "password": f"Đã đặt mật khẩu mới cho {username}."}[change])
    return redirect(url_for("admin.index", _anchor="users"))


# -- device tokens ---------------------------------------------------------------------

@bp.post("/tokens")
@roles_required("admin")
def create_token():
    form = request.form
    try:
        counter = int(form["counter"]) if form.get("counter", "").strip() else None
        if counter is not None and not any(c.number == counter for c in get_hall().config.counters):
            raise Invalid(f"Không có quầy số {counter}", f"Unknown counter {counter}")
        plain = audited("token_changed", lambda db, config, now: auth.create_token(
            db, role=form.get("role", ""), counter=counter, label=form.get("label", ""), now=now),
            role=form.get("role", ""), counter=counter, label=form.get("label", ""), change="created")
    except ValueError:
        return _page(422, error=Invalid("Số quầy phải là số", "The counter must be a number"), section="tokens")
    except HallError as error:
        return _page(422, error=error, section="tokens")
    # Shown once, on this answer only: the database keeps its hash.
    return _page(201, new_token=plain, section="tokens")


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("admin")
def revoke_token(token_id):
    audited("token_changed", lambda db, config, now: auth.revoke_token(db, token_id, now=now),
            token_id=token_id, change="revoked")
    flash(f"Đã thu hồi token {token_id}.")
    return redirect(url_for("admin.index", _anchor="tokens"))


# -- end of day --------------------------------------------------------------------------

@bp.post("/end-of-day")
@roles_required("admin")
def close_day():
    """End today's queue now: every unfinished ticket expires. Needs the typed confirmation."""
    if request.form.get("confirm", "").strip().upper() != "KẾT THÚC":
        return _page(422, error=Invalid('Hãy gõ "KẾT THÚC" để xác nhận', 'Type "KẾT THÚC" to confirm'),
                     section="day")
    count = audited("day_closed", lambda db, config, now: core.expire_before(db, config, now=now,
                                                                           include_today=True))
    flash(f"Đã kết thúc ngày: {count} phiếu chưa xong đã hết hạn.")
    return redirect(url_for("admin.index", _anchor="day"))
