"""Satisfaction ratings: the tablet at each counter and the citizen's tracking page.

After "done" at counter N, the hub pushes ``rate`` to the room ``rating:N``; the tablet
there asks about that ticket and resets itself after a while. One rating per ticket.
"""

from flask import Blueprint, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...core import find_counter
from ...errors import HallError, Invalid, Unauthorized
from .. import access
from ..extensions import get_hall
from ..inputs import field, json_body
from ..tickets import rating_choices

bp = Blueprint("feedback", __name__)


def _counter(number):
    """Counter ``number`` of the hall, or NotFound."""
    return find_counter(get_hall().config, number)


@bp.route("/danh-gia/<int:number>/ghep-noi", methods=["GET", "POST"])
def tablet_pair(number):
    _counter(number)
    return access.pair_view("rating", counter=number, done_url=url_for("feedback.tablet", number=number),
                            title=_("Ghép nối máy tính bảng đánh giá — quầy %(n)s", n=number))


@bp.get("/danh-gia/<int:number>")
def tablet(number):
    counter = _counter(number)
    if access.paired_principal("rating", number) is None:
        return redirect(url_for("feedback.tablet_pair", number=number))
    page = make_response(render_template("feedback/rating_tablet.html", counter=counter, **rating_choices()))
    return access.keep_paired(page)  # opened every morning: the pairing never runs out


def _rating_fields(data):
    score = field(data, "score", int)
    reasons = data.get("reasons") or []
    if not isinstance(reasons, list) or not all(isinstance(reason, str) for reason in reasons):
        raise Invalid("Trường 'reasons' phải là danh sách", "Field 'reasons' must be a list", code="wrong_type")
    comment = data.get("comment") or ""
    if not isinstance(comment, str):
        raise Invalid("Trường 'comment' phải là chuỗi", "Field 'comment' must be a string", code="wrong_type")
    return {"score": score, "reasons": reasons, "comment": comment}


@bp.post("/danh-gia/<int:number>")
def tablet_rate(number):
    _counter(number)
    if access.paired_principal("rating", number) is None:
        raise Unauthorized(_("Máy tính bảng chưa được ghép nối"), "This tablet is not paired")
    data = json_body()
    get_hall().rate_at_counter(number, field(data, "number", str, max_length=10), **_rating_fields(data))
    return jsonify({"ok": True})


@bp.post("/t/<track_token>/danh-gia")
def track_rate(track_token):
    """The tracking page's form: the track token is the citizen's proof."""
    form = request.form
    try:
        score = int(form.get("score", ""))
    except ValueError:
        score = None
    data = {"score": score, "reasons": form.getlist("reasons"), "comment": form.get("comment", "")}
    try:
        get_hall().rate_by_token(track_token, **_rating_fields(data))
    except HallError as error:
        if error.code in ("unknown_ticket",):
            raise
        return redirect(url_for("citizen.track", track_token=track_token, danh_gia=error.code))
    return redirect(url_for("citizen.track", track_token=track_token, danh_gia="ok"))
