"""Security headers on every page (issue 13): a Content-Security-Policy without inline script,
no framing, no sniffing, and no secret in the Referer; templates hold no executable inline
script or ``on*=`` handler (the browser tests fail on any CSP violation in Chromium's console)."""

import re
from pathlib import Path

import pytest

from tests.helpers import add_user, bearer, signed_in, text

TEMPLATES = Path(__file__).resolve().parent.parent / "hallserver" / "web" / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", re.I)
HANDLER = re.compile(r"""<[^>]*\son[a-z]+\s*=""", re.I)


def directives(answer):
    policy = answer.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/dang-nhap", "/display", "/kiosk", "/lay-so", "/thu-tuc", "/api/v1/state"])
def test_every_answer_carries_the_headers(client, path):
    answer = client.get(path)
    csp = directives(answer)
    assert csp["script-src"] == ["'self'"]                     # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert set(csp["connect-src"]) >= {"'self'", "ws://localhost", "wss://localhost"}   # the Socket.IO websocket
    assert set(csp["img-src"]) == {"'self'", "data:"}
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"


def test_pages_with_a_secret_in_their_address_never_send_it(client, tokens):
    ticket = client.post("/api/v1/tickets", json={"service": "HT"}, headers=bearer(tokens["kiosk"])).get_json()
    track = client.get(f"/t/{ticket['ticket']['track_token']}")
    assert track.status_code == 200
    assert track.headers["Referrer-Policy"] in ("no-referrer", "strict-origin")
    assert client.get("/dat-lich/ABCD-EFGH").headers["Referrer-Policy"] in ("no-referrer", "strict-origin")


def test_templates_hold_no_inline_script_or_handler():
    for path in TEMPLATES.rglob("*.html"):
        page = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES).as_posix()
        assert not INLINE_SCRIPT.search(page), f"{name}: inline <script> (move it to static/)"
        assert not HANDLER.search(page), f"{name}: on*= handler attribute (use addEventListener)"
        assert "javascript:" not in page, name


def test_rendered_staff_pages_hold_no_inline_script(app, store):
    add_user(store, "quantri", role="admin")
    admin = signed_in(app, "quantri")
    for path in ("/admin", "/dashboard", "/reports?start=2026-11-26&end=2026-11-26", "/counter/1", "/lich-hen"):
        page = text(admin.get(path))
        assert not INLINE_SCRIPT.search(page) and not HANDLER.search(page), path


def test_what_a_signed_in_person_or_a_token_holder_sees_is_never_cached(app, client, store, tokens):
    """On a shared office PC, "Back" after signing out showed the day's bookings (names, phones)
    and the admin page with a device token shown once, from the browser's cache."""
    add_user(store, "quantri", role="admin")
    admin = signed_in(app, "quantri")
    for path in ("/lich-hen", "/admin", "/dashboard", "/counter/1", "/reports.csv"):
        assert admin.get(path).headers.get("Cache-Control") == "no-store", path
    assert client.get("/api/v1/bookings", headers=bearer(tokens["supervisor"])).headers["Cache-Control"] == "no-store"
    assert "no-store" not in admin.get("/static/hall.css").headers.get("Cache-Control", "")   # the hub's files
    assert "no-store" not in client.get("/thu-tuc").headers.get("Cache-Control", "")          # public pages
