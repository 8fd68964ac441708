"""A ticket as citizens get it, shared by the citizens', booking and rating pages: links a
phone can open (``HALL_PUBLIC_URL`` when set) and their QR codes, the printed ticket, and
the choices offered for rating the service.
"""

import segno
from flask import url_for

from ..core.ratings import REASONS, SCORES
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
    """Print on the configured printer (HALL_PRINTER): ``(printed, error)``. A fault is logged
    and recorded for supervisors; it never costs the citizen the number."""
    spec = setting("printer")
    if spec == "none":
        return False, None
    from ..services import printing  # Pillow loads only where a printer is set

    hall = get_hall()
    config = hall.config
    priority_name = next((p.name for p in config.priorities if p.code == ticket["priority"]), None)
    printed, error = printing.print_ticket_safely(
        spec, dict(ticket, priority_name=priority_name), {"name": config.name, "hotline": config.hotline,
                                                          "timezone": config.timezone}, track_url=url)
    if not printed:
        hall.record_fault("printer", error)
    return printed, error


def rating_choices():
    """The template values of a rating form: ``scores`` and ``reasons`` as (code, Vietnamese, English)."""
    return {"scores": [(score, *labels) for score, labels in SCORES.items()],
            "reasons": [(code, *labels) for code, labels in REASONS.items()]}
