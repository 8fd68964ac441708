"""One-time codes that prove a citizen holds the phone they book with.

With the hall's ``booking.reminder_url`` set, a public booking (web or API) needs one:
``start`` makes a 6-digit code for a phone (after the check question, so nobody has codes
sent for free), the hub sends it through the webhook as a message of kind
``verification``, ``confirm`` checks what the citizen typed (at most
``booking.verify_attempts`` wrong tries, within ``booking.verify_code_minutes``) and
``use`` spends a confirmed code on one booking. Only a salted hash of the code is kept.

Without a webhook nobody can verify: public bookings are then ``unverified`` and a slot
takes at most ``booking.unverified_per_slot`` of them (``core.bookings``), so rotating
phone numbers cannot fill the hall.
"""

import hashlib
import hmac
import secrets

from ..errors import Conflict, HallError, Invalid, TooManyRequests
from .events import Outcome
from .tickets import normalise_phone

CODE_DIGITS = 6
VERIFIED_SECONDS = 30 * 60   # a confirmed code books within this long (time to pick another slot)
KEEP_SECONDS = 86400         # rows are deleted a day after they were made


class CodeNotSent(HallError):
    """The hall's gateway did not take the code (the citizen may ask again, or call)."""

    status = 503
    code = "code_not_sent"


def available(config):
    """Whether this hall can send codes (it has a webhook for an SMS / Zalo gateway)."""
    return bool(config.booking.reminder_url)


def _hash(salt, code):
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def spend_challenge(db, nonce, now):
    """Each answered check question is good for one booking or one code sent."""
    if db.execute("SELECT 1 FROM booking_challenges_used WHERE nonce = ?", [nonce]).fetchone():
        raise Conflict("Câu hỏi kiểm tra đã được dùng; hãy trả lời câu hỏi mới",
                       "This check question was already used; answer the new one", code="challenge_used")
    db["booking_challenges_used"].insert({"nonce": nonce, "at": now})


def start(db, config, *, phone, now, challenge_nonce=None):
    """A new code for ``phone``: ``{"id", "phone", "code", "expires_at"}``. The plain code
    leaves here only to be sent; the row keeps its salted hash."""
    if not available(config):
        raise Conflict("Trung tâm chưa có dịch vụ gửi mã xác minh qua tin nhắn",
                       "This hall cannot send verification codes", code="verification_unavailable")
    phone = normalise_phone(phone)
    if phone is None:
        raise Invalid("Thiếu số điện thoại", "Missing phone number", code="missing_field")
    settings = config.booking
    sent = db.execute("SELECT COUNT(*) FROM phone_verifications WHERE phone = ? AND created_at > ?",
                      [phone, now - 3600]).fetchone()[0]
    if sent >= settings.verify_codes_per_hour:
        raise TooManyRequests(f"Số điện thoại này đã nhận {sent} mã trong một giờ qua; hãy thử lại sau",
                              f"This phone received {sent} codes in the last hour; try again later",
                              code="too_many_codes")
    if challenge_nonce is not None:
        spend_challenge(db, challenge_nonce, now)
    code = f"{secrets.randbelow(10 ** CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(8)
    row = {"id": secrets.token_urlsafe(18), "phone": phone, "salt": salt, "code_hash": _hash(salt, code),
           "status": "new", "attempts": 0, "created_at": now, "expires_at": now + settings.verify_code_minutes * 60}
    db["phone_verifications"].insert(row)
    return Outcome({"id": row["id"], "phone": phone, "code": code, "expires_at": row["expires_at"]}, [])


def record_sent(db, config, *, verification, ok, now):
    """The webhook's outcome: a code that never left cannot be confirmed."""
    db.execute("UPDATE phone_verifications SET status = ? WHERE id = ? AND status = 'new'",
               ["sent" if ok else "failed", verification])
    return Outcome(ok, [])


def _row(db, verification):
    if not isinstance(verification, str) or not verification:
        return None
    rows = list(db.query("SELECT * FROM phone_verifications WHERE id = ?", [verification]))
    return rows[0] if rows else None


def _unknown():
    return Invalid("Mã xác minh không còn hiệu lực; hãy yêu cầu mã mới",
                   "This verification is no longer valid; ask for a new code", code="verification_invalid")


def confirm(db, config, *, verification, code, now):
    """Check a typed code. Wrong tries are counted even though the caller is refused, so the
    result is ``{"refusal": HallError | None}`` (the caller raises it after the commit)."""
    row = _row(db, verification)
    if row is None or row["status"] in ("new", "failed"):
        return Outcome({"refusal": _unknown()}, [])
    limit = config.booking.verify_attempts
    if row["attempts"] >= limit:
        return Outcome({"refusal": Conflict(
            "Đã nhập sai mã quá nhiều lần; hãy yêu cầu mã mới",
            "Too many wrong codes; ask for a new one", code="code_attempts")}, [])
    if row["status"] == "sent" and now > row["expires_at"]:
        return Outcome({"refusal": Invalid("Mã xác minh đã hết hạn; hãy yêu cầu mã mới",
                                           "The verification code has expired; ask for a new one",
                                           code="code_expired")}, [])
    given = "".join(code.split()) if isinstance(code, str) else ""
    if not (len(given) == CODE_DIGITS and given.isascii() and given.isdigit()) or not hmac.compare_digest(
            _hash(row["salt"], given), row["code_hash"]):
        db.execute("UPDATE phone_verifications SET attempts = attempts + 1 WHERE id = ?", [row["id"]])
        left = limit - row["attempts"] - 1
        return Outcome({"refusal": Invalid(f"Mã xác minh chưa đúng (còn {left} lần thử)",
                                           f"The verification code is wrong ({left} tries left)",
                                           code="code_wrong")}, [])
    if row["status"] == "sent":
        db.execute("UPDATE phone_verifications SET status = 'verified', verified_at = ? WHERE id = ?",
                   [now, row["id"]])
    return Outcome({"refusal": None}, [])


def use(db, config, *, verification, phone, now):
    """Spend a confirmed code on one booking made with the same phone."""
    row = _row(db, verification)
    if row is None or row["status"] in ("new", "failed", "sent"):
        raise Invalid("Số điện thoại chưa được xác minh: hãy nhập mã đã gửi đến số này",
                      "The phone is not verified: enter the code sent to it", code="verification_required")
    if row["status"] == "used":
        raise Conflict("Mã xác minh đã được dùng cho một lịch hẹn; hãy yêu cầu mã mới",
                       "This verification code was already used for a booking; ask for a new one",
                       code="verification_used")
    if row["phone"] != phone:
        raise Invalid("Mã xác minh được gửi đến số điện thoại khác", "The code was sent to another phone",
                      code="verification_phone_mismatch")
    if now > row["verified_at"] + VERIFIED_SECONDS:
        raise Invalid("Xác minh đã hết hạn; hãy yêu cầu mã mới", "The verification has expired; ask for a new code",
                      code="code_expired")
    db.execute("UPDATE phone_verifications SET status = 'used', used_at = ? WHERE id = ?", [now, row["id"]])


def purge(db, now):
    """Codes are worth nothing after a day: their rows go."""
    db.execute("DELETE FROM phone_verifications WHERE created_at < ?", [now - KEEP_SECONDS])
