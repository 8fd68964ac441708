"""The JSON API under /api/v1 (contract: docs/api.md, OpenAPI in :mod:`.openapi`):
the queue (:mod:`.queue`) and procedures and bookings (:mod:`.bookings`).

Devices and staff programs authenticate with bearer tokens, never cookies.
"""

from flask import request

from ..extensions import get_hall


def current_principal():
    """The Principal of the request's ``Authorization: Bearer`` device token, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return get_hall().principal_for_token(token.strip())
