"""What stands between the public and a booking: the check question and the rate limits.

Booking from the web or the public API needs the answer to a small sum (a two-digit
number plus a digit) shown only as a distorted picture (:mod:`..services.check_image`), never
as text; the token is signed with the hub's secret (no outside service) and holds a keyed
hash of the answer, not the answer; staff tokens skip it. Booking, cancelling and moving
share one limit per address; looking a booking up by its code has its own.
"""

import hashlib
import hmac
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..core import ascii_number
from ..errors import Invalid
from ..services import check_image
from .api import current_principal
from .extensions import get_hall, limiter

CHALLENGE_SECONDS = 30 * 60
# Tokens that book for a citizen (the counter, a hotline operator) without the question.
STAFF_BOOKING_ROLES = ("counter", "supervisor", "admin")
LOOKUP_LIMIT = "60 per minute"  # a hall's Wi-Fi puts many phones behind one address


CHALLENGE_SALT = "hall-booking-challenge"


def challenge_serializer(secret):
    return URLSafeTimedSerializer(secret, salt=CHALLENGE_SALT)


def answer_digest(secret, nonce, answer):
    """The keyed hash a challenge token carries: only the hub's secret tells the answer."""
    key = secret if isinstance(secret, bytes) else secret.encode()
    return hmac.new(key, f"{nonce}:{answer}".encode(), hashlib.sha256).hexdigest()[:32]


def _serializer():
    return challenge_serializer(current_app.secret_key)


def _digest(nonce, answer):
    return answer_digest(current_app.secret_key, nonce, answer)


def new_challenge():
    """``{"token", "image"}``: the sum as a PNG data URL (no digit of it as text anywhere);
    the token holds a nonce and a keyed hash of the answer, and expires after CHALLENGE_SECONDS."""
    first, second = 10 + secrets.randbelow(40), 1 + secrets.randbelow(9)
    nonce = secrets.token_urlsafe(12)
    return {"token": _serializer().dumps({"n": nonce, "d": _digest(nonce, first + second)}),
            "image": check_image.data_url(f"{first} + {second}")}


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
