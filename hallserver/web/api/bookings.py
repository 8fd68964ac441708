"""Procedures and bookings in the JSON API under /api/v1 (contract: docs/api.md).

The public may read procedures and slots, book (with the check question, and where the
hall sends codes, the one-time code sent to the phone), look up, cancel and move with the
booking code and phone; staff tokens book without either;
``GET /bookings`` (supervisor or admin) shows names and phones, and each look is logged.
"""

from flask import Blueprint, jsonify, request

from ...core import find_service
from ...core.bookings import parse_import
from ...errors import Forbidden, Invalid
from ...services import auth
from ..extensions import get_hall, today
from ..guards import CHALLENGE_SECONDS, STAFF_BOOKING_ROLES, booking_limit, check_challenge, lookup_limit, new_challenge
from ..inputs import field, json_body, valid_day
from . import current_principal

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")
CHECK_IN_ROLES = ("kiosk", "counter", "supervisor", "admin")


@bp.get("/procedures")
def api_procedures():
    query = request.args.get("q", "")[:100]
    return jsonify({"procedures": get_hall().procedures(query, service=request.args.get("service") or None)})


@bp.post("/procedures")
def api_save_procedure():
    auth.require(current_principal(), "admin")
    return jsonify({"procedure": get_hall().save_procedure(json_body())})


@bp.get("/bookings/slots")
def api_slots():
    hall = get_hall()
    procedure, service = request.args.get("procedure"), request.args.get("service")
    if procedure:
        service = hall.procedure(procedure)["service"]
    if not service:
        raise Invalid("Cần tham số service hoặc procedure", "Give service or procedure", code="missing_field")
    service = find_service(hall.config, service)
    settings = hall.config.booking
    principal = current_principal()
    public = principal is None or principal.role not in STAFF_BOOKING_ROLES
    return jsonify({"service": service.code, "slot_minutes": settings.slot_minutes,
                    "check_in_before_minutes": settings.check_in_before_minutes,
                    "check_in_after_minutes": settings.check_in_after_minutes,
                    "phone_verification": hall.phone_verification,
                    "days": hall.booking_slots(service.code, unverified=public and not hall.phone_verification)})


@bp.get("/bookings/challenge")
def api_challenge():
    """The check question as a picture only (``image``, a PNG data URL): ``question`` says what
    to do, without the numbers."""
    challenge = new_challenge()
    return jsonify({"challenge": challenge["token"], "image": challenge["image"],
                    "question": "Phép cộng trong hình bằng bao nhiêu?",
                    "question_en": "What is the sum in the picture?", "expires_in": CHALLENGE_SECONDS,
                    "phone_verification": get_hall().phone_verification})


@bp.post("/bookings/verify-phone")
@booking_limit
def api_verify_phone():
    """Where the hall sends codes: a solved check question → a one-time code sent to the phone."""
    data = json_body()
    nonce = check_challenge(field(data, "challenge", str, max_length=500), data.get("answer"))
    return jsonify(get_hall().send_phone_code(field(data, "phone", str, max_length=20), challenge_nonce=nonce)), 202


@bp.post("/bookings")
@booking_limit
def api_book():
    data = json_body()
    principal = current_principal()
    if principal is not None and principal.role not in STAFF_BOOKING_ROLES:
        raise Forbidden("Token này không đặt lịch hẹn được", "This token's role may not book")
    hall = get_hall()
    unverified = principal is None and not hall.phone_verification
    nonce = check_challenge(field(data, "challenge", str, max_length=500), data.get("answer")) if unverified else None
    fields = {
        "procedure": field(data, "procedure", str, required=False, max_length=20),
        "service": field(data, "service", str, required=False, max_length=20),
        "slot": field(data, "slot", str, max_length=20), "name": field(data, "name", str),
        "phone": field(data, "phone", str, max_length=20),
        "dossier_code": field(data, "dossier_code", str, required=False, max_length=40),
        "source": "staff" if principal else "api",
        "idempotency_key": field(data, "idempotency_key", str, required=False, max_length=100)}
    if principal:   # its idempotency keys are its own (core.bookings.book)
        booking = hall.book(**fields, requester=f"token:{principal.token_id}")
    elif hall.phone_verification:
        if not data.get("verification"):
            raise Invalid("Trung tâm xác minh số điện thoại: hãy lấy mã qua POST /api/v1/bookings/verify-phone",
                          "This hall verifies phones: get a code with POST /api/v1/bookings/verify-phone",
                          code="verification_required")
        booking = hall.book_verified(verification=field(data, "verification", str, max_length=100),
                                     code=field(data, "code", str, max_length=20), **fields)
    else:
        booking = hall.book(**fields, challenge_nonce=nonce, unverified=True)
    return jsonify({"booking": booking}), 201


@bp.get("/bookings")
def api_bookings():
    principal = auth.require(current_principal(), "supervisor", "admin")
    hall = get_hall()
    day = request.args.get("day")
    if day and not valid_day(day):
        raise Invalid(f"Ngày không hợp lệ: {day!r}", f"Not a date: {day!r}", code="invalid_value")
    service = request.args.get("service")
    services = [find_service(hall.config, service).code] if service else [s.code for s in hall.config.services]
    day = valid_day(day) or today()
    rows = hall.staff_bookings(day=day, services=services, who=f"token:{principal.token_id}", role=principal.role)
    return jsonify({"day": day, "bookings": rows})


@bp.post("/bookings/lookup")
@lookup_limit
def api_lookup():
    return jsonify({"booking": get_hall().booking(field(json_body(), "code", str, max_length=300))})


@bp.post("/bookings/cancel")
@booking_limit
def api_cancel():
    data = json_body()
    code = field(data, "code", str, max_length=300)
    principal = current_principal()
    if principal is not None and principal.role in ("supervisor", "admin"):
        return jsonify({"booking": get_hall().cancel_booking(code, by_staff=True)})
    return jsonify({"booking": get_hall().cancel_booking(code, phone=field(data, "phone", str, max_length=20))})


@bp.post("/bookings/move")
@booking_limit
def api_move():
    data = json_body()
    return jsonify({"booking": get_hall().move_booking(field(data, "code", str, max_length=300),
                                                       phone=field(data, "phone", str, max_length=20),
                                                       slot=field(data, "slot", str, max_length=20))})


@bp.post("/bookings/check-in")
def api_check_in():
    principal = auth.require(current_principal(), *CHECK_IN_ROLES)
    result = get_hall().check_in(field(json_body(), "code", str, max_length=300),
                                 by="kiosk" if principal.role == "kiosk" else "staff")
    return jsonify(result), 200 if result["again"] else 201


def _csv_text():
    """The CSV body as text, in the charset its Content-Type names (UTF-8 when it names none).
    Bytes that are not in that charset refuse the file: replaced silently, they imported
    names as "Nguy��n" (Excel saves "CSV" in the Windows code page unless told "CSV UTF-8")."""
    charset = request.mimetype_params.get("charset", "utf-8")
    try:
        return request.get_data().decode(charset)
    except (LookupError, UnicodeDecodeError):
        raise Invalid(f"Tệp không đọc được theo bảng mã {charset}: hãy lưu dạng “CSV UTF-8”",
                      f"The file is not valid {charset}: save it as “CSV UTF-8”", code="malformed_import") from None


@bp.post("/bookings/import")
def api_import():
    """Admin: a CSV body (``text/csv``) or JSON ``{"rows": [...]}``; every rejected row is reported."""
    auth.require(current_principal(), "admin")
    if request.mimetype in ("text/csv", "text/plain"):
        rows = parse_import(_csv_text(), "csv")
    else:
        data = json_body()
        if not isinstance(data.get("rows"), list):
            raise Invalid("Cần {\"rows\": [...]}", "Expected {\"rows\": [...]}", code="missing_field")
        rows = list(enumerate(data["rows"], start=1))
    return jsonify(get_hall().import_bookings(rows))
