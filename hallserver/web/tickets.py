"""A ticket as citizens get it, shared by the citizens', booking and rating pages: links a
phone can open (``HALL_PUBLIC_URL`` when set) and their QR codes, the printed ticket, and
the choices offered for rating the service.
"""

import segno
from flask import current_app, url_for
from itsdangerous import BadData, URLSafeTimedSerializer

from ..core.ratings import COMMENT_MAX, REASONS, SCORES
from ..errors import Invalid, NotFound
from .extensions import get_hall, setting


def public_link(endpoint, **values):
    """A link as a citizen's phone reaches it (HALL_PUBLIC_URL when set)."""
    public = setting("public_url").rstrip("/")
    return f"{public}{url_for(endpoint, **values)}" if public else url_for(endpoint, **values, _external=True)


def track_url(track_token):
    """The tracking link of a ticket, for its QR code."""
    return public_link("citizen.track", track_token=track_token)


def qr_svg(url):
    """``url`` as an inline SVG QR code."""
    return segno.make(url, error="m").svg_inline(scale=5, border=2, dark="#17212b")


def print_ticket(ticket, url):
    """Print on the configured printer (HALL_PRINTER): ``(printed, error)``, where ``printed`` is
    True only when the printer confirmed the ticket (or is a one-way device that took it
    without error). A fault or a doubt is logged and raised on the supervisors' dashboard in
    words they can act on; it never costs the citizen the number. A warning (paper running
    low) is raised too, with the ticket printed."""
    spec = setting("printer")
    if spec == "none":
        return False, None
    from ..services import printing  # Pillow loads only where a printer is set

    hall = get_hall()
    config = hall.config
    priority_name = next((p.name for p in config.priorities if p.code == ticket["priority"]), None)
    result = printing.print_ticket_checked(
        spec, dict(ticket, priority_name=priority_name), {"name": config.name, "hotline": config.hotline,
                                                          "timezone": config.timezone}, track_url=url)
    if result.alert:
        hall.record_fault("printer", result.alert, result.alert_en)
    return result.printed, result.message


PRINT_SALT = "hall-kiosk-print"
PRINT_TOKEN_SECONDS = 120


def printer_configured():
    return setting("printer") != "none"


def deferred_print(track_token):
    """What a kiosk needs to have a just-issued ticket printed by a second request (so it can
    show the number at once, with "Printing…"): ``{"url", "token"}``, or None without a printer.
    The token is signed and lasts two minutes."""
    if not printer_configured():
        return None
    token = URLSafeTimedSerializer(current_app.secret_key, salt=PRINT_SALT).dumps(track_token)
    return {"url": url_for("citizen.kiosk_print"), "token": token}


def print_deferred(token):
    """Print the ticket a :func:`deferred_print` token names: ``(printed, error)``."""
    try:
        track_token = URLSafeTimedSerializer(current_app.secret_key, salt=PRINT_SALT).loads(
            token, max_age=PRINT_TOKEN_SECONDS)
    except BadData:
        raise Invalid("Phiếu này không còn in được", "This ticket can no longer be printed",
                      code="print_expired") from None
    ticket = get_hall().ticket_by_token(track_token)
    if ticket is None:
        raise NotFound("Không tìm thấy số", "Ticket not found", code="not_found")
    return print_ticket(ticket, track_url(track_token))


def rating_choices():
    """The template values of a rating form: ``scores`` and ``reasons`` as (code, Vietnamese, English),
    and ``comment_max``, the longest comment."""
    return {"scores": [(score, *labels) for score, labels in SCORES.items()],
            "reasons": [(code, *labels) for code, labels in REASONS.items()], "comment_max": COMMENT_MAX}
