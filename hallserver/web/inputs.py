"""Reading what people and devices send: JSON bodies, typed fields, counter actions.

Shared by the API, the pages' scripts and the Socket.IO handlers, so each is validated once.
"""

import io
import json
from datetime import date

from flask import abort, request

from ..errors import BadRequest, Invalid, NotFound
from ..hall import COUNTER_ACTIONS

REQUEST_ID_MAX = 100
MAX_NUMBER = 10**9   # larger whole numbers from people are refused, not overflowed into SQLite


def json_body():
    """The request body as a JSON object; an empty body is an empty object."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):   # RecursionError: [[[[… nested too deep
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
    if kind is int and not -MAX_NUMBER <= value <= MAX_NUMBER:
        raise Invalid(f"Trường {name!r} quá lớn", f"Field {name!r} is too large", code="invalid_value")
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


class WholeBodyLimit:
    """WSGI middleware: a body sent without a length (chunked) is read here, up to the limit.

    Werkzeug enforces ``MAX_CONTENT_LENGTH`` against the declared length; a chunked body
    over it used to be cut short silently (an import of 400 rows answered 200 with rows
    missing). Here it is read whole or marked too large, so it is refused with 413 however
    it is sent.
    """

    def __init__(self, wsgi_app, limit):
        self.wsgi_app = wsgi_app
        self.limit = limit

    def __call__(self, environ, start_response):
        if not environ.get("CONTENT_LENGTH") and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
            body = environ["wsgi.input"].read(self.limit + 1)
            environ["hall.body_too_large"] = len(body) > self.limit
            environ["wsgi.input"] = io.BytesIO(b"" if len(body) > self.limit else body)
            environ["CONTENT_LENGTH"] = "0" if len(body) > self.limit else str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input_terminated"] = False
        return self.wsgi_app(environ, start_response)


def refuse_oversized_bodies():
    if request.environ.get("hall.body_too_large"):
        abort(413)


def init_app(app):
    """Refuse bodies over ``MAX_CONTENT_LENGTH`` however they are sent (before CSRF reads a form)."""
    app.wsgi_app = WholeBodyLimit(app.wsgi_app, app.config["MAX_CONTENT_LENGTH"])
    app.before_request(refuse_oversized_bodies)
