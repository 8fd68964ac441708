"""The admin pages (/admin, admin role): the hall's configuration, staff accounts,
device tokens, end of day. The pages validate the form and call ``Hall``, which applies
each change live and writes it to the event log with who made it."""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ...errors import HallError, Invalid
from ...services import administration, auth, backups, users
from ..access import current_user, roles_required
from ..extensions import get_hall, setting

bp = Blueprint("admin", __name__, url_prefix="/admin")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _admin():
    """The signed-in admin's username, which the audit log records."""
    return current_user()["username"]


def _page(status=200, **extra):
    hall = get_hall()
    return render_template(
        "admin/index.html", source=hall.config_source(), accounts=hall.accounts(),
        tokens=hall.tokens(newest_first=True), log=hall.audit_log(limit=30), roles=auth.ROLES,
        user_roles=users.USER_ROLES, days=DAYS, backups=backups.list_backups(setting("backup_dir")), **extra), status


@bp.get("")
@roles_required("admin")
def index():
    return _page()


def _reconfigure(edited, section):
    try:
        get_hall().change_config(edited, by=_admin(), section=section)
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
        get_hall().add_user(username=form.get("username", ""), password=form.get("password", ""),
                            role=form.get("role", ""), display_name=form.get("display_name", ""),
                            counters=_counters_field(form.get("counters", "")), by=_admin())
    except HallError as error:
        return _page(422, error=error, section="users")
    flash(f"Đã tạo tài khoản {form['username']}.")
    return redirect(url_for("admin.index", _anchor="users"))


@bp.post("/users/<username>/<change>")
@roles_required("admin")
def change_user(username, change):
    if change not in ("disable", "enable", "password"):
        raise Invalid(f"Thao tác không hợp lệ {change!r}", f"Unknown change {change!r}")
    if change == "disable" and username == _admin():
        return _page(409, error=Invalid("Không thể tự khóa tài khoản đang dùng", "You cannot disable yourself"),
                     section="users")
    hall = get_hall()
    try:
        if change == "password":
            hall.set_password(username, request.form.get("password", ""), by=_admin())
        else:
            hall.set_user_disabled(username, change == "disable", by=_admin())
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
        plain = get_hall().create_token(role=form.get("role", ""), counter=counter, label=form.get("label", ""),
                                        by=_admin())
    except ValueError:
        return _page(422, error=Invalid("Số quầy phải là số", "The counter must be a number"), section="tokens")
    except HallError as error:
        return _page(422, error=error, section="tokens")
    # Shown once, on this answer only: the database keeps its hash.
    return _page(201, new_token=plain, section="tokens")


@bp.post("/tokens/<int:token_id>/revoke")
@roles_required("admin")
def revoke_token(token_id):
    get_hall().revoke_token(token_id, by=_admin())
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
    count = get_hall().close_day(by=_admin())
    flash(f"Đã kết thúc ngày: {count} phiếu chưa xong đã hết hạn.")
    return redirect(url_for("admin.index", _anchor="day"))
