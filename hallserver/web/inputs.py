"""Reading what people and devices send: JSON bodies, typed fields, counter actions.

Shared by the API, the pages' scripts and the Socket.IO handlers, so each is validated once.
"""

import json
from datetime import date

from flask import request

from ..errors import BadRequest, Invalid, NotFound
from ..hall import COUNTER_ACTIONS

REQUEST_ID_MAX = 100


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
    """One body field of type ``kind`` (str, int or bool), or None when optional and absent."""
    value = data.get(name)
    if value is None:
        if required:
            raise Invalid(f"Thiếu trường {name!r}", f"Missing field {name!r}", code="missing_field")
        return None
    if kind is bool and not isinstance(value, bool):
        raise Invalid(f"Trường {name!r} phải là true hoặc false", f"Field {name!r} must be true or false",
                      code="wrong_type")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise Invalid(f"Trường {name!r} phải là số nguyên", f"Field {name!r} must be an integer", code="wrong_type")
    if kind is str:
        if not isinstance(value, str):
            raise Invalid(f"Trường {name!r} phải là chuỗi", f"Field {name!r} must be a string", code="wrong_type")
        if not value.strip() or len(value) > max_length:
            raise Invalid(f"Trường {name!r} rỗng hoặc quá dài", f"Field {name!r} is empty or too long",
                          code="invalid_value")
    return value


def check_counter_action(action):
    """Refuse an action the counters do not have (404), before anything else is read."""
    if action not in COUNTER_ACTIONS:
        raise NotFound(f"Không có thao tác {action!r}", f"Unknown action {action!r}", code="unknown_action")


def counter_action_arguments(action, data):
    """Validate a counter action's body: (keyword arguments, request_id). Shared by every edge."""
    check_counter_action(action)
    arguments = {}
    if action == "transfer":
        arguments["service"] = field(data, "service", str)
    if action in ("call", "reinstate"):
        arguments["number"] = field(data, "number", str, max_length=10)
    if action == "call-next":
        arguments["arrived"] = field(data, "arrived", bool, required=False)
    return arguments, field(data, "request_id", str, required=False, max_length=REQUEST_ID_MAX)


def valid_day(value):
    """``YYYY-MM-DD`` as given, or None when absent or not a date."""
    try:
        return date.fromisoformat(value).isoformat() if value else None
    except ValueError:
        return None
