"""Citizens' pages: the kiosk, numbers from home, live tracking and the browser hall screen.

The kiosk is a device, not a person: it is paired once with a kiosk token (kept in its
signed cookie) and then issues tickets through ``POST /kiosk/tickets``. Numbers from home
are capped per phone and per address and rate-limited. Tracking pages and the browser
screen are public and carry no personal data.
"""

import hashlib
from pathlib import Path

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address

from ...errors import HallError, Unauthorized
from .. import access
from ..extensions import get_hall, limiter, setting
from ..inputs import field, json_body
from ..tickets import print_ticket, qr_svg, rating_choices, track_url

bp = Blueprint("citizen", __name__)

SHIPPED_SOUNDS = Path(__file__).resolve().parents[3] / "sounds"  # the repository's pack


def address_hash():
    """Who asked, for per-address caps, without storing the address itself."""
    secret = current_app.secret_key or ""
    return hashlib.sha256(f"{secret}|{get_remote_address()}".encode()).hexdigest()[:32]


# -- the kiosk ----------------------------------------------------------------------

@bp.route("/kiosk/ghep-noi", methods=["GET", "POST"])
def kiosk_pair():
    """Pair this browser with a kiosk token, once, by whoever installs the kiosk."""
    return access.pair_view("kiosk", title=_("Ghép nối kiosk"), done_url=url_for("citizen.kiosk"))


@bp.get("/kiosk")
def kiosk():
    if access.kiosk_principal() is None:
        return redirect(url_for("citizen.kiosk_pair"))
    return render_template("citizen/kiosk.html", state=get_hall().state())


@bp.post("/kiosk/tickets")
def kiosk_issue():
    """Issue, commit, then print: a printer fault never costs the citizen the number."""
    if access.kiosk_principal() is None:
        raise Unauthorized(_("Kiosk chưa được ghép nối"), "This kiosk is not paired", code="unauthorized")
    data = json_body()
    ticket = get_hall().issue_ticket(field(data, "service", str), priority=field(data, "priority", str, required=False),
                                     channel="kiosk")
    url = track_url(ticket["track_token"])
    printed, print_error = print_ticket(ticket, url)
    ticket.pop("track_token")
    return jsonify({"ticket": ticket, "track_url": url, "qr_svg": qr_svg(url), "printed": printed,
                    "print_error": print_error}), 201


# -- numbers from home ------------------------------------------------------------

@bp.get("/lay-so")
def take_number():
    # ?dich_vu=HT preselects a service (the "Lấy số" button of a procedure page); links
    # printed before page parameters were Vietnamese say ?service=HT.
    form = {"service": request.args.get("dich_vu") or request.args.get("service", "")}
    return render_template("citizen/take_number.html", state=get_hall().state(), error=None, form=form)


@bp.post("/lay-so")
@limiter.limit(lambda: setting("remote_rate_limit"), methods=["POST"])
def take_number_post():
    form = {"service": request.form.get("service", ""), "phone": request.form.get("phone", "")}
    try:
        if not form["service"]:
            raise HallError(_("Hãy chọn một dịch vụ."), "Choose a service.", code="missing_field")
        ticket = get_hall().issue_remote_ticket(form["service"], phone=form["phone"] or None,
                                                address_hash=address_hash())
    except HallError as error:
        return render_template("citizen/take_number.html", state=get_hall().state(), error=error,
                               form=form), error.status
    return redirect(url_for("citizen.track", track_token=ticket["track_token"], moi=1))


# -- live tracking ------------------------------------------------------------------

@bp.get("/t/<track_token>")
def track(track_token):
    ticket = get_hall().ticket_by_token(track_token)
    if ticket is None:
        return render_template("citizen/not_found.html"), 404
    url = track_url(track_token)
    return render_template("citizen/track.html", ticket=ticket, track_token=track_token, url=url, qr=qr_svg(url),
                           is_new=request.args.get("moi") == "1", rated=get_hall().is_rated(track_token),
                           rating_result=request.args.get("danh_gia"), **rating_choices())


# -- the browser hall screen -------------------------------------------------------------

def sounds_dir():
    configured = setting("sounds_dir")
    return Path(configured) if configured else SHIPPED_SOUNDS


@bp.get("/display")
def display():
    return render_template("citizen/display.html", state=get_hall().state())


@bp.get("/sounds/<path:name>")
def sound_file(name):
    """The voice clip pack (manifest.json and clips) for browser screens and phones."""
    # send_from_directory refuses paths that leave the folder (404), "../" included.
    return send_from_directory(sounds_dir(), name, max_age=3600)
