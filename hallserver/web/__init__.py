"""The hub's web edges: the Flask application factory and the parts it wires together.

``create_app`` runs one ``configure_*`` step per concern: the hall and its store,
sessions, templates and languages, blueprints (``api/``, ``pages/``), error pages,
security headers (``security.py``), CSRF and rate limits, Socket.IO push (``push.py``),
and last the reverse proxy's forwarded headers.
"""

from datetime import timedelta
from urllib.parse import urlencode

from flask import Flask, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale
from werkzeug.routing import IntegerConverter

from ..errors import HallError
from ..hall import Hall
from ..settings import load_settings
from ..store import open_store
from . import access, errors, inputs, push, security
from .api import bookings as bookings_api
from .api import queue as queue_api
from .extensions import babel, csrf, limiter, socketio
from .pages import admin, booking, citizen, dashboard, feedback, home, staff

__all__ = ["create_app", "socketio"]

LANGUAGES = ("vi", "en")
PAGES = (home, staff, citizen, feedback, dashboard, admin, booking)
APIS = (queue_api, bookings_api)
# Engine.IO keepalive: the hub pings every PING_INTERVAL_SECONDS and drops (closing it) a
# client whose answer has not been read within PING_TIMEOUT_SECONDS; clients drop a hub silent
# for the sum (15 s) and reconnect. The timeout covers the hub's own delays, not only the
# network's: with 2 s / 3 s a join storm of 2,000 sockets made the hub drop most of them (their
# answers waited behind its work); measured since, with joins taken one at a time, the longest
# gap between two pings a client saw during that storm was 9.1 s (a 4 s ping round trip on an
# oversubscribed 2-core machine, load 7.8; bench/README.md). 10 s leaves room for that.
PING_INTERVAL_SECONDS = 5
PING_TIMEOUT_SECONDS = 10


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
    hall = configure_hall(app, settings, clock)
    configure_sessions(app, settings, hall)
    configure_templates(app, hall)
    configure_blueprints(app)
    errors.init_app(app)
    inputs.init_app(app)
    security.init_app(app)
    configure_protection(app)
    configure_push(app, settings, hall)
    configure_proxy(app, settings)
    return app


def configure_hall(app, settings, clock):
    """Open the store (refusing a damaged or uninitialised file) and the Hall over it."""
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
    hall = Hall(store, clock=clock) if clock else Hall(store)
    app.extensions["hall"] = hall
    return hall


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, with the signer built once per key rather than for every
    request (building it serialises a probe value: a few per cent of a kiosk's issue request)."""

    def __init__(self):
        self._signer = (None, None)

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if self._signer[0] != keys:
            self._signer = (keys, super().get_signing_serializer(app))
        return self._signer[1]


def configure_sessions(app, settings, hall):
    """Signed, HttpOnly session cookies; the key is HALL_SECRET_KEY or one kept in the hall."""
    app.secret_key = settings["secret_key"] or hall.session_secret()
    app.session_interface = SessionCookies()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["secure_cookies"],
        SESSION_COOKIE_NAME="hall_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings["session_hours"]),
        WTF_CSRF_TIME_LIMIT=None,  # valid for the whole sign-in, not one hour
    )


# Pages a citizen opens on their own phone or PC: with no language picked, the browser's
# Accept-Language decides. The hall's shared devices (kiosk, rating tablet, hall screen) and
# the staff's pages start in Vietnamese whatever their browser says.
OWN_DEVICE_PAGES = frozenset({
    "citizen.take_number", "citizen.take_number_post", "citizen.track", "feedback.track_rate",
    "booking.procedures_page", "booking.procedure_page", "booking.book_page", "booking.book_submit",
    "booking.lookup_page", "booking.confirmation", "booking.cancel", "booking.move",
})


def browser_language():
    """"en" if the browser's Accept-Language puts English before Vietnamese, else "vi"."""
    for value, _quality in request.accept_languages:   # best first
        primary = value.split("-")[0].split("_")[0].lower()
        if primary in LANGUAGES:
            return primary
    return "vi"


def select_locale():
    """The language the visitor chose (``?lang=en``, remembered in the session); else, on a
    citizen's own device, the browser's preference between English and Vietnamese; else
    Vietnamese."""
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    if request.endpoint in OWN_DEVICE_PAGES:
        return browser_language()
    return "vi"


def language_url(language):
    """This page in ``language``: the same path and query (``/thu-tuc?q=ket+hon``), its ``lang`` replaced."""
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return f"{request.path}?{urlencode([*query, ('lang', language)])}"


def named(thing):
    """The name of a hall, service or priority (config object or dict) in the page's language."""
    if thing is None:
        return ""
    get = thing.get if isinstance(thing, dict) else lambda key: getattr(thing, key, None)
    if get_locale() is not None and get_locale().language == "en" and get("name_en"):
        return get("name_en")
    return get("name") or ""


def configure_templates(app, hall):
    """Languages, and what every template may use: ``hall`` (its configuration) and ``user``;
    ``language_url(code)`` and the filter ``named`` (a name in the page's language)."""
    babel.init_app(app, locale_selector=select_locale, default_locale="vi",
                   default_timezone=hall.config.timezone)
    app.jinja_env.globals.update(LANGUAGES=LANGUAGES, get_locale=get_locale, language_url=language_url)
    app.jinja_env.filters["named"] = named

    @app.context_processor
    def hall_and_user():
        return {"hall": hall.config, "user": access.current_user()}


class WholeNumberConverter(IntegerConverter):
    """``<int:…>`` in every route: ASCII digits, at most nine (Python's ``\\d`` also takes ² and ٣,
    and a 23-digit number would overflow SQLite); anything else is a 404."""

    regex = r"[0-9]{1,9}"


def configure_blueprints(app):
    app.url_map.converters["int"] = WholeNumberConverter
    for module in PAGES + APIS:
        app.register_blueprint(module.bp)


@limiter.request_filter
def queue_api_request():
    """The queue API's token holders are not rate-limited: its requests leave the limiter before
    it resolves any limit (exempting the blueprint resolves them first, 5 % of an issue
    request). Booking from the public API keeps its own limits."""
    return request.blueprint == queue_api.bp.name


def configure_protection(app):
    """CSRF for every form and page script; the API authenticates with bearer tokens,
    never cookies, so CSRF cannot reach it, and its token holders are not rate-limited."""
    for module in APIS:
        csrf.exempt(module.bp)
    csrf.init_app(app)
    limiter.init_app(app)


def configure_proxy(app, settings):
    """Behind one reverse proxy (``trust_proxy``), the visitor's address and scheme are the ones
    it forwards, for pages and for sockets alike: the outermost layer, before Socket.IO's
    middleware takes ``/socket.io/`` (a screen's address on the dashboard, the per-address cap
    on screens). Only the last forwarded address counts, the one the proxy itself saw."""
    if settings["trust_proxy"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)


def configure_push(app, settings, hall):
    """Socket.IO over the app; with HALL_MESSAGE_QUEUE, shared with the other hub processes
    through Redis (every room's pushes reach every process's members)."""
    # always given: the options stay on the one socketio object between apps
    manager = push.shared_manager(settings["message_queue"]) if settings["message_queue"] else push.local_manager()
    socketio.init_app(app, async_mode=settings["async_mode"], max_http_buffer_size=settings["max_body_bytes"],
                      ping_interval=PING_INTERVAL_SECONDS, ping_timeout=PING_TIMEOUT_SECONDS, client_manager=manager)
    push.init_app(app, hall)
