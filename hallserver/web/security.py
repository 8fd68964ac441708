"""Security headers on every response: what a page may load and run, who may frame it,
where its address goes.

The Content-Security-Policy allows scripts only from the hub's own files (``script-src
'self'``: no inline ``<script>`` and no ``on*=`` attributes in templates; JSON data blocks,
``<script type="application/json">``, are data and are not run), connections to the hub
itself including the Socket.IO websocket, images from the hub and ``data:`` (QR codes are
inline SVG), and inline styles (the kiosk sets its columns with CSS variables in a style
attribute; ``style-src-attr`` alone is unknown to older smart-TV browsers).
No page may be framed (``frame-ancestors 'none'``, ``X-Frame-Options: DENY``).

Referrer: ``same-origin`` (other sites learn nothing); pages whose address carries a
secret (a ticket's track token ``/t/<token>``, a booking's code ``/dat-lich/<code>``)
send only the hub's origin even to the hub itself (``strict-origin``): never the secret,
while CSRF's referrer check behind HTTPS still works (``no-referrer`` would break it).

Caching: what a signed-in person or a token holder is answered (the day's bookings with names
and phones, a device token shown once, reports) is never stored by the browser
(``Cache-Control: no-store``): on a shared office PC, "Back" after signing out showed the
cached pages to the next person. The hub's own files (scripts, styles, voice clips) stay cacheable.
"""

from flask import request, session

SECRET_URL_PREFIXES = ("/t/", "/dat-lich/")


def content_security_policy(host):
    sockets = f"ws://{host} wss://{host}" if host else ""
    return "; ".join((
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "media-src 'self'",
        f"connect-src 'self' {sockets}".strip(),
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def referrer_policy(path):
    return "strict-origin" if path.startswith(SECRET_URL_PREFIXES) else "same-origin"


SHARED_FILES = ("static", "citizen.sound_file")


def for_someone():
    """Whether the answer was made for a signed-in person or a token holder (not a file)."""
    if request.endpoint in SHARED_FILES:
        return False
    return "Authorization" in request.headers or session.get("user_id") is not None


def init_app(app):
    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy(request.host))
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", referrer_policy(request.path))
        if for_someone():
            headers["Cache-Control"] = "no-store"
        return response
