"""The JSON API under /api/v1 (contract: docs/api.md, OpenAPI in :mod:`.openapi`):
the queue (:mod:`.queue`) and procedures and bookings (:mod:`.bookings`).

Devices and staff programs authenticate with bearer tokens, never cookies.
"""

from flask import request

from ...services import auth
from ..extensions import get_hall


def current_principal():
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    hall = get_hall()
    with hall.store.lock:
        return auth.principal_for(hall.store.db, token.strip())
