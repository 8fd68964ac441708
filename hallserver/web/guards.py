"""What stands between the public and a booking: the check question and the rate limits.

Booking from the web or the public API needs the answer to a small arithmetic question,
signed with the hub's secret (no outside service); staff tokens skip it. Booking,
cancelling and moving share one limit per address.
"""

import hashlib
import hmac
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..core import ascii_number
from ..errors import Invalid
from .api import current_principal
from .extensions import get_hall, limiter

CHALLENGE_SECONDS = 30 * 60
# Tokens that book for a citizen (the counter, a hotline operator) without the question.
STAFF_BOOKING_ROLES = ("counter", "supervisor", "admin")
LOOKUP_LIMIT = "60 per minute"  # a hall's Wi-Fi puts many phones behind one address


def _secret():
    key = current_app.secret_key
    return key if isinstance(key, bytes) else key.encode()


def _serializer():
    return URLSafeTimedSerializer(current_app.secret_key, salt="hall-booking-challenge")


def _digest(nonce, answer):
    return hmac.new(_secret(), f"{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()[:32]


def new_challenge():
    """``{"token", "question"}``: the token holds a nonce and a keyed hash of the answer,
    never the answer itself, and expires after CHALLENGE_SECONDS."""
    first, second = 1 + secrets.randbelow(9), 1 + secrets.randbelow(9)
    nonce = secrets.token_urlsafe(12)
    return {"token": _serializer().dumps({"n": nonce, "d": _digest(nonce, first + second)}),
            "question": f"{first} + {second}", "first": first, "second": second}


def check_challenge(token, answer):
    """The challenge's nonce when ``answer`` solves it (the core uses each nonce once)."""
    try:
        data = _serializer().loads(token or "", max_age=CHALLENGE_SECONDS)
    except SignatureExpired:
        raise Invalid("Câu hỏi kiểm tra đã hết hạn, hãy trả lời câu hỏi mới",
                      "The check question has expired; answer the new one", code="challenge_expired") from None
    except BadSignature:
        raise Invalid("Thiếu hoặc sai câu hỏi kiểm tra", "Missing or invalid check question",
                      code="challenge_failed") from None
    given = ascii_number(str(answer), maximum=999) if isinstance(answer, (str, int)) and not isinstance(
        answer, bool) else None
    if given is None or not hmac.compare_digest(_digest(data["n"], given), data["d"]):
        raise Invalid("Câu trả lời kiểm tra chưa đúng", "The answer to the check question is wrong",
                      code="challenge_failed")
    return data["n"]


# -- rate limits ------------------------------------------------------------------------

def _booking_rate_limit():
    return get_hall().config.booking.rate_limit


def _staff_token():
    principal = current_principal()
    return principal if principal is not None and principal.role in STAFF_BOOKING_ROLES else None


# Booking, cancelling and moving share one limit per address; staff tokens are exempt.
booking_limit = limiter.shared_limit(_booking_rate_limit, scope="booking", methods=["POST"],
                                     exempt_when=lambda: _staff_token() is not None)
lookup_limit = limiter.shared_limit(LOOKUP_LIMIT, scope="booking-lookup")
