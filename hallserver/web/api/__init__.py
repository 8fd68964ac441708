"""The JSON API under /api/v1: validate, call the hall, answer. Contract: docs/api.md."""

import json

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from . import auth
from .errors import BadRequest, HallError, Invalid, NotFound
from .hall import COUNTER_ACTIONS
from .openapi import openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")

REQUEST_ID_MAX = 100


def get_hall():
    return current_app.extensions["hall"]


def error_response(error):
    return jsonify({"error": error.as_dict()}), error.status


@bp.errorhandler(HallError)
def handle_hall_error(error):
    return error_response(error)


@bp.app_errorhandler(HTTPException)
def handle_http_error(error):
    """Werkzeug's own refusals (404, 405, 413, ...) as JSON under /api, HTML elsewhere."""
    if not request.path.startswith("/api/"):
        return error
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large", 400: "bad_request"}
    messages = {
        404: ("Không tìm thấy", "Not found"),
        405: ("Phương thức không được hỗ trợ", "Method not allowed"),
        413: ("Nội dung yêu cầu quá lớn", "Request body too large"),
    }
    message, message_en = messages.get(error.code, (error.description, error.description))
    body = {"error": {"code": codes.get(error.code, "http_error"), "message": message, "message_en": message_en}}
    return jsonify(body), error.code


def json_body():
    """The request body as a JSON object; an empty body is an empty object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest("Nội dung không phải JSON hợp lệ", "Malformed JSON body", code="malformed_json") from None
    if not isinstance(data, dict):
        raise BadRequest("Nội dung phải là một đối tượng JSON", "The body must be a JSON object",
                         code="malformed_json")
    return data


def field(data, name, kind, required=True, max_length=100):
    """One body field of type ``kind`` (str or int), or None when optional and absent."""
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(f"Thiếu trường {name!r}", f"Missing field {name!r}", code="missing_field")
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise Invalid(f"Trường {name!r} phải là số nguyên", f"Field {name!r} must be an integer", code="wrong_type")
    if kind is str:
        if not isinstance(value, str):
            raise Invalid(f"Trường {name!r} phải là chuỗi", f"Field {name!r} must be a string", code="wrong_type")
        if not value.strip() or len(value) > max_length:
            raise Invalid(f"Trường {name!r} rỗng hoặc quá dài", f"Field {name!r} is empty or too long",
                          code="invalid_value")
    return value


def current_principal():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    hall = get_hall()
    with hall.store.lock:
        return auth.principal_for(hall.store.db, token.strip())


@bp.get("/state")
def state():
    hall = get_hall()
    return jsonify(hall.state(recent=current_app.config["HALL_SETTINGS"]["recent_calls"]))


@bp.post("/tickets")
def issue_ticket():
    principal = auth.require(current_principal(), "kiosk", "counter", "supervisor", "admin")
    data = json_body()
    service = field(data, "service", str)
    priority = field(data, "priority", str, required=False)
    channel = "kiosk" if principal.role == "kiosk" else "staff"
    ticket = get_hall().issue_ticket(service, priority=priority, channel=channel)
    return jsonify({"ticket": ticket}), 201


@bp.get("/tickets/<track_token>")
def track_ticket(track_token):
    ticket = get_hall().ticket_by_token(track_token)
    if ticket is None:
        raise NotFound("Không tìm thấy phiếu", "Unknown ticket", code="unknown_ticket")
    return jsonify({"ticket": ticket})


@bp.post("/tickets/<track_token>/cancel")
def cancel_ticket(track_token):
    """The track token is the secret: whoever holds the ticket may give up the place."""
    return jsonify({"ticket": get_hall().cancel(track_token)})


@bp.get("/counters/<int:number>")
def counter_state(number):
    auth.require(current_principal(), counter=number)
    return jsonify(get_hall().counter_state(number))


def counter_action_arguments(action, data):
    """Validate a counter action's body: (keyword arguments, request_id). Shared by every edge."""
    if action not in COUNTER_ACTIONS:
        raise NotFound(f"Không có thao tác {action!r}", f"Unknown action {action!r}", code="unknown_action")
    arguments = {}
    if action == "transfer":
        arguments["service"] = field(data, "service", str)
    if action in ("call", "reinstate"):
        arguments["number"] = field(data, "number", str, max_length=10)
    return arguments, field(data, "request_id", str, required=False, max_length=REQUEST_ID_MAX)


@bp.post("/counters/<int:number>/<action>")
def counter_action(number, action):
    if action not in COUNTER_ACTIONS:
        raise NotFound(f"Không có thao tác {action!r}", f"Unknown action {action!r}", code="unknown_action")
    auth.require(current_principal(), counter=number)
    arguments, request_id = counter_action_arguments(action, json_body())
    return jsonify(get_hall().counter_action(number, action, request_id=request_id, **arguments))


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
