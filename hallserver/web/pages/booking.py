"""Procedures and appointments on the web: ``/thu-tuc``, ``/dat-lich``, the staff's
``/lich-hen``, check-in at the kiosk, and the bookings JSON API under ``/api/v1``
(contract: docs/api.md).

Thin edges over ``Hall``: validate, call, render or answer. Citizens' pages and the
public API never show a name or a phone; ``/lich-hen`` (signed-in staff, limited to the
services of their counters) and ``GET /api/v1/bookings`` (supervisor or admin token) do,
and each look is written to the access log. Booking from the web or the public API needs
the answer to a small arithmetic question, signed with the hub's secret (no outside
service); staff tokens skip it. The booking code is the key to a booking; cancelling or
moving one also needs the phone it was made with.
"""

import hashlib
import hmac
import secrets
from datetime import date, datetime

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from . import auth, citizen, staff
from .api import current_principal, error_response, field, json_body
from .citizen import limiter
from .core import find_service, local_day
from .core.bookings import parse_import
from .errors import Forbidden, HallError, Invalid, Unauthorized

bp = Blueprint("booking", __name__)
api_bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")

CHALLENGE_SECONDS = 30 * 60
# Tokens that book for a citizen (the counter, a hotline operator) without the question.
STAFF_BOOKING_ROLES = ("counter", "supervisor", "admin")
CHECK_IN_ROLES = ("kiosk", "counter", "supervisor", "admin")
LOOKUP_LIMIT = "60 per minute"  # a hall's Wi-Fi puts many phones behind one address
FORM_FIELDS = ("procedure", "service", "slot", "name", "phone", "dossier_code", "idempotency_key", "challenge",
               "answer")


def init_app(app):
    """Register the pages and the API; the API authenticates with tokens, so no CSRF."""
    from .app import csrf

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)


def get_hall():
    return current_app.extensions["hall"]


@bp.context_processor
def template_helpers():
    return {"day_label": day_label, "format_time": format_time}


def day_label(iso_day):
    """``2026-11-26`` → "Thứ Năm 26/11" (or "Thursday 26/11")."""
    day = date.fromisoformat(iso_day)
    names = (_("Thứ Hai"), _("Thứ Ba"), _("Thứ Tư"), _("Thứ Năm"), _("Thứ Sáu"), _("Thứ Bảy"), _("Chủ nhật"))
    return f"{names[day.weekday()]} {day:%d/%m}"


def format_time(timestamp):
    return datetime.fromtimestamp(timestamp, get_hall().config.tz).strftime("%d/%m/%Y %H:%M:%S")


def page_context():
    return {"hall": get_hall().config}


def today():
    return get_hall().read(lambda db, config, now: local_day(config, now))


# -- the check question ---------------------------------------------------------------

def _secret():
    key = current_app.secret_key
    return key if isinstance(key, bytes) else key.encode()


def _serializer():
    return URLSafeTimedSerializer(current_app.secret_key, salt="hall-booking-challenge")


def _digest(nonce, answer):
    return hmac.new(_secret(), f"{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()[:32]


def new_challenge():
    """``{"token", "question"}``: the token holds a nonce and a keyed hash of the answer,
    never the answer itself, and expires after CHALLENGE_SECONDS."""
    first, second = 1 + secrets.randbelow(9), 1 + secrets.randbelow(9)
    nonce = secrets.token_urlsafe(12)
    return {"token": _serializer().dumps({"n": nonce, "d": _digest(nonce, first + second)}),
            "question": f"{first} + {second}", "first": first, "second": second}


def check_challenge(token, answer):
    """The challenge's nonce when ``answer`` solves it (the core uses each nonce once)."""
    try:
        data = _serializer().loads(token or "", max_age=CHALLENGE_SECONDS)
    except SignatureExpired:
        raise Invalid("Câu hỏi kiểm tra đã hết hạn, hãy trả lời câu hỏi mới",
                      "The check question has expired; answer the new one", code="challenge_expired") from None
    except BadSignature:
        raise Invalid("Thiếu hoặc sai câu hỏi kiểm tra", "Missing or invalid check question",
                      code="challenge_failed") from None
    given = str(answer).strip() if isinstance(answer, (str, int)) and not isinstance(answer, bool) else ""
    if not given.isdigit() or len(given) > 3 or not hmac.compare_digest(_digest(data["n"], int(given)), data["d"]):
        raise Invalid("Câu trả lời kiểm tra chưa đúng", "The answer to the check question is wrong",
                      code="challenge_failed")
    return data["n"]


# -- rate limits ------------------------------------------------------------------------

def _booking_rate_limit():
    return get_hall().config.booking.rate_limit


def _staff_token():
    principal = current_principal()
    return principal if principal is not None and principal.role in STAFF_BOOKING_ROLES else None


# Booking, cancelling and moving share one limit per address; staff tokens are exempt.
booking_limit = limiter.shared_limit(_booking_rate_limit, scope="booking", methods=["POST"],
                                     exempt_when=lambda: _staff_token() is not None)
lookup_limit = limiter.shared_limit(LOOKUP_LIMIT, scope="booking-lookup")


# -- errors -------------------------------------------------------------------------------

@bp.errorhandler(HallError)
def page_refused(error):
    """JSON for page scripts (the kiosk), a citizen's page for people."""
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": error.as_dict()}), error.status
    return render_template("booking_error.html", error=error, **page_context()), error.status


@api_bp.errorhandler(HallError)
def api_refused(error):
    return error_response(error)


# -- procedures ---------------------------------------------------------------------------

@bp.get("/thu-tuc")
def procedures_page():
    query = request.args.get("q", "")[:100]
    service = request.args.get("dich_vu") or None
    return render_template("procedures.html", procedures=get_hall().procedures(query, service=service), query=query,
                           service=service, is_admin=_is_admin(), **page_context())


@bp.get("/thu-tuc/<code>")
def procedure_page(code):
    return render_template("procedures_detail.html", procedure=get_hall().procedure(code), is_admin=_is_admin(),
                           **page_context())


def _is_admin():
    user = staff.current_user()
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
@staff.sign_in_required
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
    return render_template("procedures_edit.html", procedure=procedure, is_new=code is None, error=error,
                           **page_context()), 422 if error else 200


# -- booking ------------------------------------------------------------------------------

@bp.get("/dat-lich")
def book_page():
    """Without a procedure: pick one. With ``?thu_tuc=CODE`` (or ``?dich_vu=HT``): the form."""
    procedure, service = request.args.get("thu_tuc"), request.args.get("dich_vu")
    if not procedure and not service:
        query = request.args.get("q", "")[:100]
        return render_template("booking_choose.html", procedures=get_hall().procedures(query), query=query,
                               **page_context())
    return booking_form({"procedure": procedure or "", "service": service or ""}, day=request.args.get("ngay"))


def _chosen_day(days, day):
    """The day to show: ``day`` if bookable, else the first with a free place."""
    known = {entry["day"]: entry for entry in days}
    if day in known:
        return known[day]
    return next((entry for entry in days if any(slot["free"] for slot in entry["slots"])), days[0])


def booking_form(form, *, day=None, error=None):
    """The booking form for a procedure (or a service), keeping what was typed."""
    hall = get_hall()
    procedure = hall.procedure(form["procedure"]) if form.get("procedure") else None
    service = find_service(hall.config, procedure["service"] if procedure else form.get("service"))
    days = hall.booking_slots(service.code)
    chosen = _chosen_day(days, (form.get("slot") or "")[:10] or day)
    form = dict(form, idempotency_key=form.get("idempotency_key") or secrets.token_urlsafe(16))
    return render_template("booking.html", procedure=procedure, service=service, days=days, chosen=chosen, form=form,
                           error=error, challenge=new_challenge(), **page_context()), error.status if error else 200


@bp.post("/dat-lich")
@booking_limit
def book_submit():
    form = {name: request.form.get(name, "").strip() for name in FORM_FIELDS}
    try:
        if not form["slot"]:
            raise Invalid(_("Hãy chọn một khung giờ."), "Choose a time slot.", code="missing_field")
        nonce = check_challenge(form["challenge"], form["answer"])
        booking = get_hall().book(
            procedure=form["procedure"] or None, service=form["service"] or None, slot=form["slot"],
            name=form["name"], phone=form["phone"], dossier_code=form["dossier_code"] or None, source="web",
            idempotency_key=form["idempotency_key"][:64] or None, challenge_nonce=nonce)
    except HallError as error:
        if error.code in ("unknown_procedure", "unknown_service"):
            raise
        return booking_form(dict(form, answer=""), error=error)
    return redirect(url_for("booking.confirmation", code=booking["code"], moi=1))


@bp.get("/dat-lich/tra-cuu")
def lookup_page():
    code = request.args.get("ma", "").strip()
    if code:
        return redirect(url_for("booking.confirmation", code=code))
    return render_template("booking_lookup.html", **page_context())


def _confirmation(code, *, error=None, status=200):
    hall = get_hall()
    booking = hall.booking(code)
    procedure = hall.procedure(booking["procedure"], include_hidden=True) if booking["procedure"] else None
    url = citizen.public_link("booking.confirmation", code=booking["code"])
    return render_template("booking_confirmation.html", booking=booking, procedure=procedure, url=url,
                           qr=citizen.qr_svg(url), is_new=request.args.get("moi") == "1",
                           cancelled_now=request.args.get("huy") == "1", moved_now=request.args.get("doi") == "1",
                           error=error, **page_context()), status


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
    days = hall.booking_slots(booking["service"])
    chosen = _chosen_day(days, form["slot"][:10] or request.args.get("ngay") or booking["day"])
    return render_template("booking_move.html", booking=booking, days=days, chosen=chosen, form=form, error=error,
                           **page_context()), error.status if error else 200


# -- check-in at the kiosk -------------------------------------------------------------------

@bp.post("/kiosk/check-in")
def kiosk_check_in():
    """A code typed or scanned at a paired kiosk → the appointment's ticket, shown and printed."""
    if citizen.kiosk_principal() is None:
        raise Unauthorized(_("Kiosk chưa được ghép nối"), "This kiosk is not paired", code="unauthorized")
    result = get_hall().check_in(field(json_body(), "code", str, max_length=300), by="kiosk")
    ticket = result["ticket"]
    url = citizen.track_url(ticket.pop("track_token"))
    printed, print_error = (False, None) if result["again"] else citizen.print_ticket(ticket, url)
    return jsonify({"ticket": ticket, "booking": result["booking"], "again": result["again"], "track_url": url,
                    "qr_svg": citizen.qr_svg(url), "printed": printed, "print_error": print_error}), 201


# -- the staff's list -------------------------------------------------------------------------

def _staff_services():
    """The services whose bookings this account needs: its counters' services, or all."""
    principal = staff.current_staff_principal()
    config = get_hall().config
    if principal.role == "staff" and principal.counters:
        served = {code for counter in config.counters if counter.number in principal.counters
                  for code in counter.services}
        return [service.code for service in config.services if service.code in served]
    return [service.code for service in config.services]


def _valid_day(value):
    try:
        return date.fromisoformat(value).isoformat() if value else None
    except ValueError:
        return None


def staff_page(*, message=None, error=None, status=200):
    hall = get_hall()
    user = staff.current_user()
    allowed = _staff_services()
    chosen = request.values.get("dich_vu", "")
    services = [chosen] if chosen in allowed else allowed
    day = _valid_day(request.values.get("ngay")) or today()
    rows = hall.staff_bookings(day=day, services=services, who=f"user:{user['username']}", role=user["role"])
    return render_template("booking_staff.html", bookings=rows, day=day, today=today(), allowed=allowed,
                           chosen=chosen if chosen in allowed else "", user=user, message=message, error=error,
                           services={s.code: s.name for s in hall.config.services}, **page_context()), status


@bp.get("/lich-hen")
@staff.sign_in_required
def staff_list():
    return staff_page()


@bp.post("/lich-hen/tiep-nhan")
@staff.sign_in_required
def staff_check_in():
    try:
        result = get_hall().check_in(request.form.get("code", ""), by="staff")
    except HallError as error:
        return staff_page(error=error, status=error.status)
    ticket = result["ticket"]
    return staff_page(message=_("Lịch hẹn %(code)s: số thứ tự %(number)s (%(service)s).",
                                code=result["booking"]["code"], number=ticket["number"],
                                service=ticket["service_name"]))


@bp.post("/lich-hen/huy")
@staff.sign_in_required
def staff_cancel():
    try:
        booking = get_hall().cancel_booking(request.form.get("code", ""), by_staff=True)
    except HallError as error:
        return staff_page(error=error, status=error.status)
    return staff_page(message=_("Đã hủy lịch hẹn %(code)s.", code=booking["code"]))


@bp.post("/lich-hen/cap-so")
@staff.sign_in_required
def staff_issue():
    """A normal ticket for a citizen whose booking cannot be checked in (too early, too late)."""
    try:
        ticket = get_hall().issue_ticket(request.form.get("service", ""), channel="staff")
    except HallError as error:
        return staff_page(error=error, status=error.status)
    return staff_page(message=_("Đã cấp số thường %(number)s (%(service)s).", number=ticket["number"],
                                service=ticket["service_name"]))


@bp.get("/lich-hen/nhat-ky")
@staff.sign_in_required
def access_log():
    """Who looked at bookings' personal data, newest first (supervisors and admins)."""
    user = staff.current_user()
    if user["role"] not in ("supervisor", "admin"):
        raise Forbidden("Chỉ giám sát viên và quản trị viên xem nhật ký truy cập",
                        "Only supervisors and admins see the access log")
    hall = get_hall()
    with hall.store.reading() as db:
        entries = list(db.query("SELECT * FROM booking_access_log ORDER BY id DESC LIMIT 500"))
    return render_template("booking_access_log.html", entries=entries, user=user, **page_context())


# -- the JSON API ---------------------------------------------------------------------------------

@api_bp.get("/procedures")
def api_procedures():
    query = request.args.get("q", "")[:100]
    return jsonify({"procedures": get_hall().procedures(query, service=request.args.get("service") or None)})


@api_bp.post("/procedures")
def api_save_procedure():
    auth.require(current_principal(), "admin")
    return jsonify({"procedure": get_hall().save_procedure(json_body())})


@api_bp.get("/bookings/slots")
def api_slots():
    hall = get_hall()
    procedure, service = request.args.get("procedure"), request.args.get("service")
    if procedure:
        service = hall.procedure(procedure)["service"]
    if not service:
        raise Invalid("Cần tham số service hoặc procedure", "Give service or procedure", code="missing_field")
    service = find_service(hall.config, service)
    settings = hall.config.booking
    return jsonify({"service": service.code, "slot_minutes": settings.slot_minutes,
                    "check_in_before_minutes": settings.check_in_before_minutes,
                    "check_in_after_minutes": settings.check_in_after_minutes,
                    "days": hall.booking_slots(service.code)})


@api_bp.get("/bookings/challenge")
def api_challenge():
    challenge = new_challenge()
    return jsonify({"challenge": challenge["token"], "question": f"{challenge['question']} = ?",
                    "expires_in": CHALLENGE_SECONDS})


@api_bp.post("/bookings")
@booking_limit
def api_book():
    data = json_body()
    principal = current_principal()
    if principal is not None and principal.role not in STAFF_BOOKING_ROLES:
        raise Forbidden("Token này không đặt lịch hẹn được", "This token's role may not book")
    nonce = None if principal else check_challenge(field(data, "challenge", str, max_length=500), data.get("answer"))
    booking = get_hall().book(
        procedure=field(data, "procedure", str, required=False, max_length=20),
        service=field(data, "service", str, required=False, max_length=20),
        slot=field(data, "slot", str, max_length=20), name=field(data, "name", str),
        phone=field(data, "phone", str, max_length=20),
        dossier_code=field(data, "dossier_code", str, required=False, max_length=40),
        source="staff" if principal else "api",
        idempotency_key=field(data, "idempotency_key", str, required=False, max_length=100), challenge_nonce=nonce)
    return jsonify({"booking": booking}), 201


@api_bp.get("/bookings")
def api_bookings():
    principal = auth.require(current_principal(), "supervisor", "admin")
    hall = get_hall()
    day = request.args.get("day")
    if day and not _valid_day(day):
        raise Invalid(f"Ngày không hợp lệ: {day!r}", f"Not a date: {day!r}", code="invalid_value")
    service = request.args.get("service")
    services = [find_service(hall.config, service).code] if service else [s.code for s in hall.config.services]
    day = _valid_day(day) or today()
    rows = hall.staff_bookings(day=day, services=services, who=f"token:{principal.token_id}", role=principal.role)
    return jsonify({"day": day, "bookings": rows})


@api_bp.post("/bookings/lookup")
@lookup_limit
def api_lookup():
    return jsonify({"booking": get_hall().booking(field(json_body(), "code", str, max_length=300))})


@api_bp.post("/bookings/cancel")
@booking_limit
def api_cancel():
    data = json_body()
    code = field(data, "code", str, max_length=300)
    principal = current_principal()
    if principal is not None and principal.role in ("supervisor", "admin"):
        return jsonify({"booking": get_hall().cancel_booking(code, by_staff=True)})
    return jsonify({"booking": get_hall().cancel_booking(code, phone=field(data, "phone", str, max_length=20))})


@api_bp.post("/bookings/move")
@booking_limit
def api_move():
    data = json_body()
    return jsonify({"booking": get_hall().move_booking(field(data, "code", str, max_length=300),
                                                       phone=field(data, "phone", str, max_length=20),
                                                       slot=field(data, "slot", str, max_length=20))})


@api_bp.post("/bookings/check-in")
def api_check_in():
    principal = auth.require(current_principal(), *CHECK_IN_ROLES)
    result = get_hall().check_in(field(json_body(), "code", str, max_length=300),
                                 by="kiosk" if principal.role == "kiosk" else "staff")
    return jsonify(result), 200 if result["again"] else 201


@api_bp.post("/bookings/import")
def api_import():
    """Admin: a CSV body (``text/csv``) or JSON ``{"rows": [...]}``; every rejected row is reported."""
    auth.require(current_principal(), "admin")
    if request.mimetype in ("text/csv", "text/plain"):
        rows = parse_import(request.get_data(as_text=True), "csv")
    else:
        data = json_body()
        if not isinstance(data.get("rows"), list):
            raise Invalid("Cần {\"rows\": [...]}", "Expected {\"rows\": [...]}", code="missing_field")
        rows = list(enumerate(data["rows"], start=1))
    return jsonify(get_hall().import_bookings(rows))
