"""Procedures and appointments on the web: ``/thu-tuc``, ``/dat-lich``, the staff's
``/lich-hen`` and check-in at the kiosk (the JSON API is :mod:`..api.bookings`).

Thin edges over ``Hall``: validate, call, render or answer. Citizens' pages and the
public API never show a name or a phone; ``/lich-hen`` (signed-in staff, limited to the
services of their counters) and ``GET /api/v1/bookings`` (supervisor or admin token) do,
and each look is written to the access log. Booking needs the answer to the check
question (:mod:`..guards`). The booking code is the key to a booking; cancelling or
moving one also needs the phone it was made with.
"""

import secrets
from datetime import date, datetime

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...core import bookings, find_service
from ...errors import Forbidden, HallError, Invalid, Unauthorized
from ..access import current_staff_principal, current_user, kiosk_principal, sign_in_required
from ..extensions import get_hall, today
from ..guards import booking_limit, check_challenge, lookup_limit, new_challenge
from ..inputs import field, json_body, valid_day
from ..tickets import deferred_print, print_ticket, public_link, qr_svg, track_url

bp = Blueprint("booking", __name__)

FORM_FIELDS = ("procedure", "service", "slot", "name", "phone", "dossier_code", "idempotency_key", "challenge",
               "answer", "verification", "code")


@bp.context_processor
def template_helpers():
    return {"day_label": day_label, "format_time": format_time, "takes_bookings": takes_bookings}


def takes_bookings(service):
    """Whether ``service`` has places in its slots (``booking_capacity = 0``: numbers only)."""
    config = get_hall().config
    return any(known.code == service for known in config.services) and bookings.capacity(config, service) > 0


def day_label(iso_day):
    """``2026-11-26`` → "Thứ Năm 26/11" (or "Thursday 26/11")."""
    day = date.fromisoformat(iso_day)
    names = (_("Thứ Hai"), _("Thứ Ba"), _("Thứ Tư"), _("Thứ Năm"), _("Thứ Sáu"), _("Thứ Bảy"), _("Chủ nhật"))
    return f"{names[day.weekday()]} {day:%d/%m}"


def format_time(timestamp):
    return datetime.fromtimestamp(timestamp, get_hall().config.tz).strftime("%d/%m/%Y %H:%M:%S")


# -- procedures ---------------------------------------------------------------------------

@bp.get("/thu-tuc")
def procedures_page():
    query = request.args.get("q", "")[:100]
    service = request.args.get("dich_vu") or None
    return render_template("booking/procedures.html", procedures=get_hall().procedures(query, service=service),
                           query=query, service=service, is_admin=_is_admin())


@bp.get("/thu-tuc/<code>")
def procedure_page(code):
    return render_template("booking/procedures_detail.html", procedure=get_hall().procedure(code),
                           is_admin=_is_admin())


def _is_admin():
    user = current_user()
    return user is not None and user["role"] == "admin"


def _procedure_form_data(form):
    def lines(name):
        return [line.strip() for line in form.get(name, "").splitlines() if line.strip()]

    data = {key: form.get(key, "").strip() for key in ("code", "name", "name_en", "service", "who", "fee",
                                                       "processing_time", "result", "online_url", "online_note")}
    data.update(documents=lines("documents"), legal_basis=lines("legal_basis"), keywords=lines("keywords"),
                active=form.get("active") == "1")
    return data


@bp.route("/thu-tuc/moi", methods=["GET", "POST"], defaults={"code": None})
@bp.route("/thu-tuc/<code>/sua", methods=["GET", "POST"])
@sign_in_required
def procedure_edit(code):
    """Admins create and edit procedures (the hall's catalogue)."""
    if not _is_admin():
        raise Forbidden("Chỉ quản trị viên được sửa thủ tục", "Only admins edit procedures")
    hall = get_hall()
    error = None
    if request.method == "POST":
        data = _procedure_form_data(request.form)
        try:
            saved = hall.save_procedure(data)
        except HallError as refusal:
            error = refusal
        else:
            return redirect(url_for("booking.procedure_page", code=saved["code"]))
        procedure = data
    else:
        procedure = hall.procedure(code, include_hidden=True) if code else {"active": True}
    return render_template("booking/procedures_edit.html", procedure=procedure, is_new=code is None,
                           error=error), 422 if error else 200


# -- booking ------------------------------------------------------------------------------

@bp.get("/dat-lich")
def book_page():
    """Without a procedure: pick one. With ``?thu_tuc=CODE`` (or ``?dich_vu=HT``): the form."""
    procedure, service = request.args.get("thu_tuc"), request.args.get("dich_vu")
    if not procedure and not service:
        query = request.args.get("q", "")[:100]
        return render_template("booking/choose.html", procedures=get_hall().procedures(query), query=query)
    return booking_form({"procedure": procedure or "", "service": service or ""}, day=request.args.get("ngay"))


def _chosen_day(days, day):
    """The day to show: ``day`` if bookable, else the first with a free place."""
    known = {entry["day"]: entry for entry in days}
    if day in known:
        return known[day]
    return next((entry for entry in days if any(slot["free"] for slot in entry["slots"])), days[0])


def booking_form(form, *, day=None, error=None, step="details"):
    """The booking form for a procedure (or a service), keeping what was typed. Where the
    hall sends codes, ``step="code"`` asks for the one sent to the phone; a form carrying a
    confirmed code (another slot after a full one) skips the check question."""
    hall = get_hall()
    procedure = hall.procedure(form["procedure"]) if form.get("procedure") else None
    service = find_service(hall.config, procedure["service"] if procedure else form.get("service"))
    verify = hall.phone_verification
    days = hall.booking_slots(service.code, unverified=not verify)
    chosen = _chosen_day(days, (form.get("slot") or "")[:10] or day)
    form = dict(form, idempotency_key=form.get("idempotency_key") or secrets.token_urlsafe(16))
    verified = step == "details" and bool(form.get("verification") and form.get("code"))
    challenge = None if step == "code" or verified else new_challenge()
    return render_template("booking/form.html", procedure=procedure, service=service, days=days, chosen=chosen,
                           form=form, error=error, challenge=challenge, verify=verify, step=step,
                           verified=verified, settings=hall.config.booking), error.status if error else 200


def _booking_fields(form):
    return {"procedure": form["procedure"] or None, "service": form["service"] or None, "slot": form["slot"],
            "name": form["name"], "phone": form["phone"], "dossier_code": form["dossier_code"] or None,
            "source": "web", "idempotency_key": form["idempotency_key"][:64] or None}


@bp.post("/dat-lich")
@booking_limit
def book_submit():
    """Without phone verification: check question → booking (capped per slot). With it: check
    question → a code sent to the phone (step "code") → the code → booking."""
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    hall = get_hall()
    try:
        if not form["slot"]:
            raise Invalid(_("Hãy chọn một khung giờ."), "Choose a time slot.", code="missing_field")
        if form["verification"]:
            booking = hall.book_verified(verification=form["verification"][:100], code=form["code"][:20],
                                         **_booking_fields(form))
        elif hall.phone_verification:
            nonce = check_challenge(form["challenge"], form["answer"])
            sent = hall.send_phone_code(form["phone"], challenge_nonce=nonce)
            return booking_form(dict(form, answer="", code="", verification=sent["verification"]), step="code")
        else:
            nonce = check_challenge(form["challenge"], form["answer"])
            booking = hall.book(**_booking_fields(form), challenge_nonce=nonce, unverified=True)
    except HallError as error:
        if error.code in ("unknown_procedure", "unknown_service"):
            raise
        if error.code == "code_wrong":
            return booking_form(dict(form, code=""), error=error, step="code")
        if error.code.startswith(("code_", "verification_")):
            form = dict(form, code="", verification="")      # start again: a new question, a new code
        return booking_form(dict(form, answer=""), error=error)
    return redirect(url_for("booking.confirmation", code=booking["code"], moi=1))


@bp.get("/dat-lich/tra-cuu")
def lookup_page():
    typed = request.args.get("ma", "").strip()
    if typed:
        # a code as the kiosk reads it: "abcd efgh", or the confirmation link pasted from a message
        code = bookings.display_code(bookings.normalise_code(typed)) or typed
        return redirect(url_for("booking.confirmation", code=code))
    return render_template("booking/lookup.html")


def _confirmation(code, *, error=None, status=200):
    hall = get_hall()
    booking = hall.booking(code)
    procedure = hall.procedure(booking["procedure"], include_hidden=True) if booking["procedure"] else None
    url = public_link("booking.confirmation", code=booking["code"])
    return render_template("booking/confirmation.html", booking=booking, procedure=procedure, url=url,
                           qr=qr_svg(url), is_new=request.args.get("moi") == "1",
                           cancelled_now=request.args.get("huy") == "1", moved_now=request.args.get("doi") == "1",
                           error=error), status


@bp.get("/dat-lich/<code>")
@lookup_limit
def confirmation(code):
    """The printable confirmation: code, QR, when, what to bring. No personal data."""
    return _confirmation(code)


@bp.post("/dat-lich/<code>/huy")
@booking_limit
def cancel(code):
    try:
        booking = get_hall().cancel_booking(code, phone=request.form.get("phone", ""))
    except HallError as error:
        return _confirmation(code, error=error, status=error.status)
    return redirect(url_for("booking.confirmation", code=booking["code"], huy=1))


@bp.route("/dat-lich/<code>/doi-gio", methods=["GET", "POST"])
@lookup_limit
@booking_limit
def move(code):
    hall = get_hall()
    booking = hall.booking(code)
    error = None
    form = {"phone": request.form.get("phone", ""), "slot": request.form.get("slot", "")}
    if request.method == "POST":
        try:
            moved = hall.move_booking(code, phone=form["phone"], slot=form["slot"])
        except HallError as refusal:
            error = refusal
        else:
            return redirect(url_for("booking.confirmation", code=moved["code"], doi=1))
    days = hall.read(bookings.move_slot_days, code=code)
    chosen = _chosen_day(days, form["slot"][:10] or request.args.get("ngay") or booking["day"])
    return render_template("booking/move.html", booking=booking, days=days, chosen=chosen, form=form,
                           error=error), error.status if error else 200


# -- check-in at the kiosk -------------------------------------------------------------------

@bp.post("/kiosk/check-in")
def kiosk_check_in():
    """A code typed or scanned at a paired kiosk → the appointment's ticket, shown and printed."""
    if kiosk_principal() is None:
        raise Unauthorized(_("Kiosk chưa được ghép nối"), "This kiosk is not paired", code="unauthorized")
    data = json_body()
    later = field(data, "print_later", bool, required=False)   # as for POST /kiosk/tickets
    result = get_hall().check_in(field(data, "code", str, max_length=300), by="kiosk")
    ticket = result["ticket"]
    token = ticket.pop("track_token")
    url = track_url(token)
    answer = {"ticket": ticket, "booking": result["booking"], "again": result["again"], "track_url": url,
              "qr_svg": qr_svg(url), "printed": False, "print_error": None}
    if result["again"]:
        answer["print"] = None   # the ticket was printed the first time
    elif later:
        answer.update(printed=None, print=deferred_print(token))
    else:
        answer["printed"], answer["print_error"] = print_ticket(ticket, url)
    return jsonify(answer), 201


# -- the staff's list -------------------------------------------------------------------------

def _staff_services():
    """The services whose bookings this account needs: its counters' services, or all."""
    principal = current_staff_principal()
    config = get_hall().config
    if principal.role == "staff" and principal.counters:
        served = {code for counter in config.counters if counter.number in principal.counters
                  for code in counter.services}
        return [service.code for service in config.services if service.code in served]
    return [service.code for service in config.services]


def _require_service(service):
    """Staff limited to some counters act only on their services' bookings and queues, as
    their list shows only those (403 otherwise)."""
    if service not in _staff_services():
        raise Forbidden(f"Tài khoản này không phục vụ lĩnh vực {service}.",
                        f"This account does not serve {service}.", code="forbidden")


def staff_page(*, message=None, error=None, status=200):
    hall = get_hall()
    user = current_user()
    allowed = _staff_services()
    chosen = request.values.get("dich_vu", "")
    services = [chosen] if chosen in allowed else allowed
    day = valid_day(request.values.get("ngay")) or today()
    rows = hall.staff_bookings(day=day, services=services, who=f"user:{user['username']}", role=user["role"])
    return render_template("booking/staff.html", bookings=rows, day=day, today=today(), allowed=allowed,
                           chosen=chosen if chosen in allowed else "", message=message, error=error,
                           services={s.code: s.name for s in hall.config.services}), status


@bp.get("/lich-hen")
@sign_in_required
def staff_list():
    return staff_page()


@bp.post("/lich-hen/tiep-nhan")
@sign_in_required
def staff_check_in():
    hall = get_hall()
    try:
        code = request.form.get("code", "")
        _require_service(hall.booking(code)["service"])
        result = hall.check_in(code, by="staff")
    except HallError as error:
        return staff_page(error=error, status=error.status)
    ticket = result["ticket"]
    return staff_page(message=_("Lịch hẹn %(code)s: số thứ tự %(number)s (%(service)s).",
                                code=result["booking"]["code"], number=ticket["number"],
                                service=ticket["service_name"]))


@bp.post("/lich-hen/huy")
@sign_in_required
def staff_cancel():
    hall = get_hall()
    try:
        code = request.form.get("code", "")
        _require_service(hall.booking(code)["service"])
        booking = hall.cancel_booking(code, by_staff=True)
    except HallError as error:
        return staff_page(error=error, status=error.status)
    return staff_page(message=_("Đã hủy lịch hẹn %(code)s.", code=booking["code"]))


@bp.post("/lich-hen/cap-so")
@sign_in_required
def staff_issue():
    """A normal ticket for a citizen whose booking cannot be checked in (too early, too late)."""
    try:
        service = request.form.get("service", "")
        if service in {s.code for s in get_hall().config.services}:   # an unknown one: the 404 below
            _require_service(service)
        ticket = get_hall().issue_ticket(service, channel="staff")
    except HallError as error:
        return staff_page(error=error, status=error.status)
    return staff_page(message=_("Đã cấp số thường %(number)s (%(service)s).", number=ticket["number"],
                                service=ticket["service_name"]))


@bp.get("/lich-hen/nhat-ky")
@sign_in_required
def access_log():
    """Who looked at bookings' personal data, newest first (supervisors and admins)."""
    if current_user()["role"] not in ("supervisor", "admin"):
        raise Forbidden("Chỉ giám sát viên và quản trị viên xem nhật ký truy cập",
                        "Only supervisors and admins see the access log")
    return render_template("booking/access_log.html", entries=get_hall().booking_access_log(limit=500))
