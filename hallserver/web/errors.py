"""Every refusal the hub's web edges give, decided in one place: JSON or a page.

JSON (``{"error": {"code", "message", "message_en"}}``) goes to the API and to page
scripts (a JSON body or ``Accept: application/json``); people get a Vietnamese page,
the citizens' booking pages their own (with links back to procedures and lookup).
"""

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..errors import HallError

# Citizens see an error page with their own way back (procedures, booking lookup, hotline):
# on the booking pages, their numbers' pages, and any address that matches no page (a
# mistyped link, a QR code cut short). Staff pages keep the page that leads to the counters.
CITIZENS_ERROR_PAGE = "booking/error.html"
ERROR_PAGES = {"booking": CITIZENS_ERROR_PAGE, "citizen": CITIZENS_ERROR_PAGE, "feedback": CITIZENS_ERROR_PAGE,
               None: CITIZENS_ERROR_PAGE}

HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
HTTP_MESSAGES = {
    400: ("Yêu cầu không hợp lệ", "Bad request"),
    404: ("Không tìm thấy địa chỉ này: đường dẫn có thể bị gõ sai hoặc bị cắt ngắn",
          "Nothing at this address: the link may be mistyped or cut short"),
    405: ("Phương thức không được hỗ trợ", "Method not allowed"),
    413: ("Nội dung yêu cầu quá lớn", "Request body too large"),
    500: ("Máy chủ gặp lỗi, vui lòng thử lại sau ít phút", "Server error: please try again in a few minutes"),
}
OTHER_HTTP_MESSAGE = ("Không thực hiện được yêu cầu", "The request could not be served")
TOO_MANY = ("Bạn thao tác quá nhanh. Vui lòng thử lại sau ít phút.",
            "Too many requests. Please try again in a few minutes.")
CSRF_REFUSED = ("Phiên làm việc đã hết hạn hoặc yêu cầu không hợp lệ (thiếu mã CSRF). Hãy tải lại trang.",
                "Missing or invalid CSRF token: reload the page.")


def wants_json():
    """The one decision: does this request get a JSON refusal rather than a page?"""
    return (request.path.startswith("/api/") or request.is_json
            or request.accept_mimetypes.best == "application/json")


def refusal(body, status):
    """A refusal (``{"code", "message", "message_en", ...}``) as JSON or as this part of the site's page."""
    if wants_json():
        return jsonify({"error": body}), status
    template = ERROR_PAGES.get(request.blueprint, "error.html")
    return render_template(template, error=body), status


def _body(code, message, message_en):
    return {"code": code, "message": message, "message_en": message_en}


def hall_error(error):
    response, status = refusal(error.as_dict(), error.status)
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after:
        return response, status, {"Retry-After": str(retry_after)}
    return response, status


def too_many_requests(error):
    return refusal(_body("too_many_requests", *TOO_MANY), 429)


def csrf_refused(error):
    return refusal(_body("csrf", *CSRF_REFUSED), 400)


def http_error(error):
    """Werkzeug's own refusals (404, 405, 413, ...) in the hub's words: JSON under /api (and
    for scripts), a Vietnamese page elsewhere, never Werkzeug's English one. A 405 keeps its
    ``Allow`` header either way."""
    if error.code is None or error.code < 400:
        return error
    message, message_en = HTTP_MESSAGES.get(error.code, OTHER_HTTP_MESSAGE)
    response, status = refusal(_body(HTTP_CODES.get(error.code, "http_error"), message, message_en), error.code)
    allow = dict(error.get_headers()).get("Allow")
    return (response, status, {"Allow": allow}) if allow else (response, status)


def init_app(app):
    app.register_error_handler(HallError, hall_error)
    app.register_error_handler(429, too_many_requests)
    app.register_error_handler(CSRFError, csrf_refused)
    app.register_error_handler(HTTPException, http_error)
