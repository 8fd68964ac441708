"""The hub's Flask application factory and its Socket.IO server."""

import secrets
from datetime import timedelta

from flask import Flask, jsonify, render_template, request, session
from flask_babel import Babel, get_locale
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFError, CSRFProtect

from .errors import HallError
from .hall import Hall
from .settings import load_settings
from .store import open_store

socketio = SocketIO()
csrf = CSRFProtect()
babel = Babel()
LANGUAGES = ("vi", "en")


def select_locale():
    """Vietnamese unless the visitor chose English (``?lang=en``, remembered in the session)."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return session.get("lang", "vi")


def create_app(config=None, clock=None):
    """Build the hub. ``config`` overrides settings (see ``settings.SETTINGS``).

    The database must have been initialised (``hallserver init``); the factory only
    migrates the schema and checks the file's integrity.
    """
    settings = load_settings(config)
    app = Flask(__name__)
    app.config["HALL_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings["max_body_bytes"]
    app.json.ensure_ascii = False
    app.json.sort_keys = False

    store = open_store(settings["db"])
    problems = store.integrity_problems()
    if problems:
        raise HallError(
            f"Cơ sở dữ liệu hỏng ({settings['db']}): {'; '.join(problems[:3])}",
            f"The database {settings['db']} failed its integrity check: {'; '.join(problems[:3])}",
            code="corrupt_database",
        )
    if not store.is_configured():
        raise HallError(
            f"Chưa khởi tạo hội trường trong {settings['db']}: chạy `hallserver init`",
            f"No hall in {settings['db']}: run `hallserver init` first",
            code="not_initialised",
        )
    app.secret_key = settings["secret_key"] or _stored_secret(store)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["secure_cookies"],
        SESSION_COOKIE_NAME="hall_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["session_hours"]),
        WTF_CSRF_TIME_LIMIT=None,  # valid for the whole sign-in, not one hour
    )
    hall = Hall(store, clock=clock) if clock else Hall(store)
    app.extensions["hall"] = hall

    from . import admin, api, citizen, dashboard, feedback, push, staff, web

    if settings["trust_proxy"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    app.register_blueprint(api.bp)
    app.register_blueprint(web.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(citizen.bp)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(admin.bp)
    from . import booking  # procedures, appointments, kiosk check-in, the bookings API
    booking.init_app(app)
    citizen.limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale, default_locale="vi", default_timezone=settings_timezone(store))
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale)
    app.register_error_handler(429, _too_many_requests)
    app.register_error_handler(HallError, _refused)
    # The API authenticates with bearer tokens, never cookies, so CSRF cannot reach it.
    csrf.exempt(api.bp)
    # Only pages that take numbers from home are rate-limited; devices on the API hold tokens.
    citizen.limiter.exempt(api.bp)
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _csrf_refused)
    # Pings every 2 s, 3 s to answer: clients notice a lost hub within 5 s.
    socketio.init_app(app, async_mode=settings["async_mode"], max_http_buffer_size=settings["max_body_bytes"],
                      ping_interval=2, ping_timeout=3)
    push.init_app(app, hall)
    return app


def settings_timezone(store):
    return store.config().timezone


def _refused(error):
    """A HallError outside the API: JSON for page scripts, a Vietnamese page for people."""
    if request.method == "POST" and (request.is_json or request.accept_mimetypes.best == "application/json"):
        return jsonify({"error": error.as_dict()}), error.status
    return render_template("error.html", error=error), error.status


def _too_many_requests(error):
    message = "Bạn thao tác quá nhanh. Vui lòng thử lại sau ít phút."
    message_en = "Too many requests. Please try again in a few minutes."
    if request.path.startswith("/api/") or request.is_json:
        return jsonify({"error": {"code": "too_many_requests", "message": message, "message_en": message_en}}), 429
    return render_template("error.html", error={"message": message, "message_en": message_en}), 429


def _csrf_refused(error):
    message = "Phiên làm việc đã hết hạn hoặc yêu cầu không hợp lệ (thiếu mã CSRF). Hãy tải lại trang."
    message_en = "Missing or invalid CSRF token: reload the page."
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify({"error": {"code": "csrf", "message": message, "message_en": message_en}}), 400
    return render_template("error.html", error={"message": message, "message_en": message_en}), 400


def _stored_secret(store):
    secret = store.get_setting("secret_key")
    if secret is None:
        secret = secrets.token_hex(32)
        with store.transaction() as db:
            store.set_setting(db, "secret_key", secret)
    return secret
