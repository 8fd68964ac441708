"""Who is asking: signed-in staff (sessions, roles) and paired browser devices.

Staff sign in with a username and password (``pages/staff.py``); their account id lives in
the signed, HttpOnly session cookie, and ``roles_required`` guards the pages. The cookie also
carries the account's session nonce (stored with the account), when it signed in and when it
was last seen: the session ends server-side when the nonce changes (signing out, a password
reset, disabling: a copied cookie then opens nothing), HALL_SESSION_HOURS after signing in
however active, and after HALL_SESSION_IDLE_MINUTES without a page request.

Browser devices (a kiosk, a counter's rating tablet) are paired once with a device token.
Whoever installs the device pastes a token on its pairing page; the browser keeps only
the token's id in a signed, HttpOnly cookie of its own (``hall_devices``, 400 days, renewed
whenever the device's page is opened), apart from the session cookie, whose lifetime is a
staff sign-in's (HALL_SESSION_HOURS): a tablet stays paired overnight and for months.
Revoking the token unpairs it.
"""

import functools
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from ..errors import Forbidden
from ..services import users
from .errors import wants_json
from .extensions import get_hall, setting

SESSION_KEYS = ("user_id", "nonce", "signed_in_at", "seen_at")
SEEN_EVERY_SECONDS = 60  # "last seen" is rewritten into the cookie at most once a minute


def start_session(user):
    """A new sign-in session for ``user``: whatever the browser held before is dropped
    (no session fixation), the language it chose kept."""
    now = get_hall().clock()
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    session.permanent = True
    session.update(user_id=user["id"], nonce=user["session_nonce"], signed_in_at=now, seen_at=now)


def end_session():
    """Forget the sign-in in this browser's cookie (its pairings and language stay)."""
    for key in SESSION_KEYS:
        session.pop(key, None)


def session_alive(data, now, *, idle=True):
    """Whether a session's times are within the limits: signed in less than HALL_SESSION_HOURS
    ago and, with ``idle``, seen less than HALL_SESSION_IDLE_MINUTES ago."""
    signed_in_at, seen_at = data.get("signed_in_at"), data.get("seen_at")
    if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (signed_in_at, seen_at)):
        return False
    if now >= signed_in_at + setting("session_hours") * 3600:
        return False
    return not idle or now < seen_at + setting("session_idle_minutes") * 60


def session_account(data, *, idle=True):
    """The account a session (the cookie's data) still opens, or None: its nonce is the
    account's, the account is enabled, and the session has not expired (``idle``: nor been
    idle too long; a socket's session, fixed when it connected, is checked without)."""
    user_id = data.get("user_id")
    if user_id is None:
        return None
    hall = get_hall()
    if not session_alive(data, hall.clock(), idle=idle):
        return None
    return hall.session_user(user_id, data.get("nonce"))


def current_user():
    """The signed-in, enabled account of this request, or None. A request keeps its session
    alive; an ended or expired session is removed from the cookie."""
    if "user" not in g:
        user = session_account(session)
        if user is None and "user_id" in session:
            end_session()
        elif user is not None:
            now = get_hall().clock()
            if now - session["seen_at"] >= SEEN_EVERY_SECONDS:
                session["seen_at"] = now
        g.user = user
    return g.user


def current_staff_principal():
    user = current_user()
    return users.principal_for_user(user) if user else None


def sign_in_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            if wants_json():   # a page's script: it says so itself
                return jsonify({"error": {"code": "unauthorized", "message": "Cần đăng nhập",
                                          "message_en": "Please sign in"}}), 401
            # a form posted after the session ended goes back to the page it was on, not to raw JSON
            back = request.full_path.rstrip("?") if request.method == "GET" else _same_site_path(request.referrer)
            return redirect(url_for("staff.sign_in", next=back) if back else url_for("staff.sign_in"))
        return view(*args, **kwargs)
    return wrapped


def _same_site_path(address):
    """The path (and query) of ``address`` when it is a page of this hub, else None."""
    if not address:
        return None
    parts = urlsplit(address)
    if parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def roles_required(*roles):
    """Signed in, with one of ``roles``; others get a Vietnamese 403 page."""
    def decorator(view):
        @functools.wraps(view)
        @sign_in_required
        def wrapped(*args, **kwargs):
            if current_user()["role"] not in roles:
                raise Forbidden("Tài khoản này không có quyền xem trang này",
                                "This account may not open this page", code="forbidden")
            return view(*args, **kwargs)
        return wrapped
    return decorator


# -- paired devices ------------------------------------------------------------------------

DEVICE_COOKIE = "hall_devices"
DEVICE_COOKIE_LIFETIME = timedelta(days=400)  # the longest a browser keeps a cookie (Chromium)


def _key(role, counter):
    return f"{role}:{counter}" if counter is not None else role


def _serializer():
    return URLSafeSerializer(current_app.secret_key, salt="hall-devices")


def paired_devices():
    """{"rating:2": token_id, ...}: the pairings this browser carries (its signed cookie;
    pairings made before the cookie existed are still read from the session)."""
    devices = dict(session.get("devices", {}))
    cookie = request.cookies.get(DEVICE_COOKIE)
    if cookie:
        try:
            stored = _serializer().loads(cookie)
        except BadSignature:
            stored = {}
        if isinstance(stored, dict):
            devices.update({key: value for key, value in stored.items() if isinstance(value, int)})
    return devices


def keep_paired(response, devices=None):
    """Write (or renew for another DEVICE_COOKIE_LIFETIME) this browser's pairings cookie."""
    devices = paired_devices() if devices is None else devices
    if devices:
        response.set_cookie(DEVICE_COOKIE, _serializer().dumps(devices),
                            max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()), httponly=True, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def paired_principal(role, counter=None):
    """The Principal of this browser for ``role`` (and ``counter``), or None (never paired,
    or its token was revoked)."""
    token_id = paired_devices().get(_key(role, counter))
    if token_id is None:
        return None
    principal = get_hall().principal_for_token_id(token_id)
    if principal is None or principal.role != role or principal.counter != counter:
        return None
    return principal


def kiosk_principal():
    """The kiosk token this browser was paired with, or None."""
    return paired_principal("kiosk")


def pair_view(role, *, counter=None, title, done_url):
    """GET: the pairing form; POST: check the token and remember it in the pairings cookie."""
    error = None
    if request.method == "POST":
        principal = get_hall().principal_for_token(request.form.get("token", "").strip())
        if principal is None or principal.role != role or principal.counter != counter:
            error = _("Token không hợp lệ hoặc không dành cho thiết bị này.")
        else:
            devices = paired_devices()
            devices[_key(role, counter)] = principal.token_id
            # Not in the session: its cookie lasts a staff sign-in (12 h), a device lasts months.
            return keep_paired(redirect(done_url), devices)
    command = f"hallserver token create --role {role}" + (f" --counter {counter}" if counter is not None else "")
    return render_template("device_pair.html", error=error, title=title, command=command), 400 if error else 200
