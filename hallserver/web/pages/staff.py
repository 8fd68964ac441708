"""Staff pages: sign in, sign out, pick a counter, the counter page and its actions.

The counter page acts through ``POST /counter/<n>/action/<action>`` (same body and answer
as the API's counter actions), authenticated by the sign-in cookie and protected by a
CSRF token in the ``X-CSRFToken`` header; live updates arrive over Socket.IO. Opening a
counter another account works never takes it: only ``POST /counter/<n>/nhan-quay`` does,
and until then that page's actions are refused (409 ``counter_taken``).
"""

from datetime import datetime
from urllib.parse import urlparse

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ...core import find_counter
from ...errors import Forbidden, HallError
from ..access import current_staff_principal, current_user, end_session, sign_in_required, start_session
from ..extensions import client_address, get_hall
from ..inputs import counter_action_arguments, json_body
from ..push import sessions_ended

bp = Blueprint("staff", __name__)


class SignInForm(FlaskForm):
    username = StringField("Tên đăng nhập", validators=[DataRequired("Nhập tên đăng nhập"), Length(max=32)])
    password = PasswordField("Mật khẩu", validators=[DataRequired("Nhập mật khẩu"), Length(max=200)])


# Where each role works: sign-in lands there unless a safe ``next`` asks for another page.
LANDINGS = {"admin": "admin.index", "supervisor": "dashboard.dashboard", "staff": "staff.counter_pick"}


def _landing(user):
    return url_for(LANDINGS.get(user["role"], "staff.counter_pick"))


def _safe_next(target, user):
    """Only local paths: never redirect a signed-in person to another site; without a
    (safe) ``next``, the page where the account's role works."""
    parsed = urlparse(target or "")
    if (parsed.scheme or parsed.netloc or not (target or "").startswith("/") or target.startswith("//")
            or "\\" in target):
        return _landing(user)
    return target


@bp.route("/dang-nhap", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        try:
            user = get_hall().sign_in(form.username.data, form.password.data, address=client_address())
        except HallError as refusal:
            error = refusal
        else:
            start_session(user)
            return redirect(_safe_next(request.args.get("next"), user))
    status = error.status if error else (400 if form.errors else 200)
    return render_template("staff/sign_in.html", form=form, error=error), status


@bp.post("/dang-xuat")
@sign_in_required
def sign_out():
    """Ends every session of the account server-side (a copied cookie opens nothing after),
    its counter work, and the sockets it joined rooms with."""
    get_hall().sign_out(current_user()["id"])
    end_session()
    sessions_ended()
    return redirect(url_for("staff.sign_in"))


@bp.get("/counter")
@sign_in_required
def counter_pick():
    principal = current_staff_principal()
    config = get_hall().config
    counters = [c for c in config.counters if principal.may_act_for_counter(c.number)]
    if len(counters) == 1:
        return redirect(url_for("staff.counter_page", number=counters[0].number))
    service_names = {service.code: service.name for service in config.services}
    return render_template("staff/counter_pick.html", counters=counters, service_names=service_names)


@bp.get("/counter/<int:number>")
@sign_in_required
def counter_page(number):
    """The counter page. Opening it never takes the counter from someone else: a counter
    another account works shows who, read-only, with "Nhận quầy" (a confirmed POST). A free
    one is taken at once, unless the page was opened from another site's link (a colleague
    would be moved off their own counter by a click): then with the first action."""
    hall = get_hall()
    config = hall.config
    counter = find_counter(config, number)
    from_this_hub = request.headers.get("Sec-Fetch-Site", "none") in ("same-origin", "none")
    held_by = _holder_view(hall, hall.open_counter(current_user(), number, claim=from_this_hub))
    policy = config.policy
    page_data = {
        "counter": number,
        "services": {service.code: service.name for service in config.services},
        "priorities": {priority.code: priority.name for priority in config.priorities},
        "prefixes": sorted({service.prefix for service in config.services if service.prefix}),
        "policy": {"max_recalls": policy.max_recalls, "repeat_guard_seconds": policy.repeat_guard_seconds,
                   "confirm_arrival_seconds": policy.confirm_arrival_seconds, "undo_seconds": policy.undo_seconds},
        "held_by": held_by,
    }
    return render_template("staff/counter.html", counter=counter, services=config.services, page_data=page_data,
                           held_by=held_by, policy=policy)


def _holder_view(hall, holder):
    """Who works a counter, as the page shows it: name and since when (with the date when
    that was not today), or None."""
    if holder is None:
        return None
    tz = hall.config.tz
    since = datetime.fromtimestamp(holder["started_at"], tz)
    same_day = since.date() == datetime.fromtimestamp(hall.clock(), tz).date()
    return {"name": holder["display_name"], "username": holder["username"],
            "since": since.strftime("%H:%M" if same_day else "%H:%M %d/%m/%Y")}


@bp.post("/counter/<int:number>/nhan-quay")
@sign_in_required
def counter_take_over(number):
    """Take a counter over from whoever works it (the page's confirm step posts here)."""
    hall = get_hall()
    find_counter(hall.config, number)
    previous = hall.take_over_counter(current_user(), number)
    if previous is not None:
        flash(f"Đã nhận quầy số {number} từ {previous['display_name']}: các lượt gọi từ giờ được ghi cho bạn. "
              f"· You took counter {number} over from {previous['display_name']}.")
    return redirect(url_for("staff.counter_page", number=number))


@bp.post("/counter/<int:number>/action/<action>")
@sign_in_required
def counter_action(number, action):
    principal = current_staff_principal()
    if not principal.may_act_for_counter(number):
        raise Forbidden(f"Tài khoản này không được thao tác cho quầy số {number}",
                        f"This account may not act for counter {number}")
    arguments, request_id = counter_action_arguments(action, json_body())
    return jsonify(get_hall().counter_action(number, action, request_id=request_id, user=current_user(),
                                             **arguments))
