"""Staff pages: sign in, sign out, pick a counter, the counter page and its actions.

The counter page acts through ``POST /counter/<n>/action/<action>`` (same body and answer
as the API's counter actions), authenticated by the sign-in cookie and protected by a
CSRF token in the ``X-CSRFToken`` header; live updates arrive over Socket.IO.
"""

from urllib.parse import urlparse

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ...core import find_counter
from ...errors import Forbidden, HallError
from ..access import current_staff_principal, current_user, sign_in_required
from ..extensions import get_hall
from ..inputs import counter_action_arguments, json_body

bp = Blueprint("staff", __name__)


class SignInForm(FlaskForm):
    username = StringField("Tên đăng nhập", validators=[DataRequired("Nhập tên đăng nhập"), Length(max=32)])
    password = PasswordField("Mật khẩu", validators=[DataRequired("Nhập mật khẩu"), Length(max=200)])


def _safe_next(target):
    """Only local paths: never redirect a signed-in person to another site."""
    parsed = urlparse(target or "")
    if parsed.scheme or parsed.netloc or not (target or "").startswith("/") or target.startswith("//"):
        return url_for("staff.counter_pick")
    return target


@bp.route("/dang-nhap", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        try:
            user = get_hall().sign_in(form.username.data, form.password.data, address=request.remote_addr or "-")
        except HallError as refusal:
            error = refusal
        else:
            session.clear()
            session.permanent = True
            session["user_id"] = user["id"]
            return redirect(_safe_next(request.args.get("next")))
    status = error.status if error else (400 if form.errors else 200)
    return render_template("staff/sign_in.html", form=form, error=error), status


@bp.post("/dang-xuat")
@sign_in_required
def sign_out():
    get_hall().end_counter_sessions(current_user()["id"])
    session.clear()
    return redirect(url_for("staff.sign_in"))


@bp.get("/counter")
@sign_in_required
def counter_pick():
    principal = current_staff_principal()
    counters = [c for c in get_hall().config.counters if principal.may_act_for_counter(c.number)]
    if len(counters) == 1:
        return redirect(url_for("staff.counter_page", number=counters[0].number))
    return render_template("staff/counter_pick.html", counters=counters)


@bp.get("/counter/<int:number>")
@sign_in_required
def counter_page(number):
    hall = get_hall()
    counter = find_counter(hall.config, number)
    hall.start_counter_session(current_user(), number)
    config = hall.config
    page_data = {
        "counter": number,
        "services": {service.code: service.name for service in config.services},
        "priorities": {priority.code: priority.name for priority in config.priorities},
    }
    return render_template("staff/counter.html", counter=counter, services=config.services, page_data=page_data)


@bp.post("/counter/<int:number>/action/<action>")
@sign_in_required
def counter_action(number, action):
    principal = current_staff_principal()
    if not principal.may_act_for_counter(number):
        raise Forbidden(f"Tài khoản này không được thao tác cho quầy số {number}",
                        f"This account may not act for counter {number}")
    arguments, request_id = counter_action_arguments(action, json_body())
    return jsonify(get_hall().counter_action(number, action, request_id=request_id, **arguments))
