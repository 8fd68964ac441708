"""The admin pages (/admin, admin role): the hall's configuration, staff accounts,
device tokens, end of day. Every change is validated like a hall file, takes effect
live, and is written to the event log with who made it."""

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from . import administration, auth, backups, users
from .core.events import record
from .core import Outcome
from .errors import HallError, Invalid
from .staff import current_user, roles_required

bp = Blueprint("admin", __name__, url_prefix="/admin")
AUDITED = ("config_changed", "user_changed", "token_changed", "day_closed")


def get_hall():
    return current_app.extensions["hall"]


def audit(kind, **data):
    """Append one admin action to the event log (who and what); publishes it like any event."""
    by = current_user()["username"]

    def action(db, config, now):
        return Outcome(None, [record(db, kind, now, data={"by": by, **data})])
    get_hall().perform(action)


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
        "admin.html", hall=hall.config, source=hall.config_source(), accounts=accounts, tokens=tokens, log=log,
        roles=auth.ROLES, user_roles=users.USER_ROLES, days=("monday", "tuesday", "wednesday", "thursday", "friday",
                                                             "saturday", "sunday"),
        backups=backups.list_backups(current_app.config["HALL_SETTINGS"]["backup_dir"]), user=current_user(),
        **extra), status


@bp.get("")
@roles_required("admin")
def index():
    return _page()


def _reconfigure(edited, section):
    hall = get_hall()
    before = hall.config_source()
    try:
        hall.reconfigure(edited)
    except HallError as error:
        return _page(422, error=error, section=section)
    audit("config_changed", section=section,
          changes=administration.describe_change(before, edited)[:20])
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
        with get_hall().store.transaction() as db:
            users.add_user(db, username=form.get("username", ""), password=form.get("password", ""),
                           role=form.get("role", ""), display_name=form.get("display_name", ""),
                           counters=counters, now=time.time())
    except HallError as error:
        return _page(422, error=error, section="users")
    audit("user_changed", username=form["username"].strip().lower(), change="added", role=form["role"])
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
    try:
        with get_hall().store.transaction() as db:
            if change == "password":
                users.set_password(db, username, request.form.get("password", ""))
            else:
                users.set_disabled(db, username, change == "disable", now=time.time())
    except HallError as error:
        return _page(error.status, error=error, section="users")
    audit("user_changed", username=username, change=change)
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
        with get_hall().store.transaction() as db:
            plain = auth.create_token(db, role=form.get("role", ""), counter=counter, label=form.get("label", ""),
                                      now=time.time())
    except ValueError:
        return _page(422, error=Invalid("Số quầy phải là số", "The counter must be a number"), section="tokens")
    except HallError as error:
        return _page(422, error=error, section="tokens")
    audit("token_changed", role=form["role"], counter=counter, label=form.get("label", ""), change="created")
    # Shown once, on this answer only: the database keeps its hash.
    return _page(201, new_token=plain, section="tokens")


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("admin")
def revoke_token(token_id):
    with get_hall().store.transaction() as db:
        auth.revoke_token(db, token_id, now=time.time())
    audit("token_changed", token_id=token_id, change="revoked")
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
    count = get_hall().close_day()
    audit("day_closed", expired=count)
    flash(f"Đã kết thúc ngày: {count} phiếu chưa xong đã hết hạn.")
    return redirect(url_for("admin.index", _anchor="day"))
