"""Device tokens: who may do what. Plain Python on the store, no Flask.

A token is shown once when created (``hallserver token create``) and stored only as
its SHA-256: the tokens are long random strings, so a fast hash is enough and a
stolen database does not hand out working tokens.
"""

import hashlib
import secrets
from dataclasses import dataclass

from ..errors import Forbidden, Invalid, Unauthorized

ROLES = ("kiosk", "display", "counter", "rating", "supervisor", "admin")
# Device roles bound to one counter: the counter's own client, and its rating tablet.
COUNTER_ROLES = ("counter", "rating")
TOKEN_PREFIX = "hq_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a device token's role (and its one counter), or a signed-in person.

    Staff accounts may act for the counters listed in ``counters`` (all when empty).
    """

    role: str
    counter: int | None = None
    token_id: int | None = None
    user_id: int | None = None
    username: str | None = None
    counters: tuple = ()

    def may_act_for_counter(self, number):
        if self.role in ("supervisor", "admin"):
            return True
        if self.role == "staff":
            return not self.counters or number in self.counters
        return self.role == "counter" and self.counter == number


def hash_token(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(db, *, role, now, counter=None, label=""):
    """Create a token inside the caller's transaction; returns the plain token (shown once)."""
    if role not in ROLES:
        raise Invalid(f"Vai trò không hợp lệ {role!r}", f"Unknown role {role!r} (one of {', '.join(ROLES)})",
                      code="unknown_role")
    if role in COUNTER_ROLES and counter is None:
        raise Invalid(f"Token {role} cần số quầy (--counter N)", f"A {role} token needs --counter N",
                      code="counter_required")
    if role not in COUNTER_ROLES and counter is not None:
        raise Invalid("Chỉ token quầy và token đánh giá mới gắn với quầy",
                      "Only counter and rating tokens name a counter", code="counter_not_allowed")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db["tokens"].insert({"token_hash": hash_token(token), "role": role, "counter": counter,
                         "label": label, "created_at": now})
    return token


def revoke_token(db, token_id, *, now):
    db.execute("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [now, token_id])


def principal_for(db, token):
    """The Principal for a presented token, or None when it is unknown or revoked."""
    if not token or not isinstance(token, str) or len(token) > 200:
        return None
    row = db.execute(
        "SELECT id, role, counter FROM tokens WHERE token_hash = ? AND revoked_at IS NULL", [hash_token(token)]
    ).fetchone()
    if row is None:
        return None
    return Principal(role=row[1], counter=row[2], token_id=row[0])


def principal_for_id(db, token_id):
    """The Principal of an unrevoked token by its id (a paired browser keeps only the id), or None."""
    row = db.execute("SELECT id, role, counter FROM tokens WHERE id = ? AND revoked_at IS NULL", [token_id]).fetchone()
    if row is None:
        return None
    return Principal(role=row[1], counter=row[2], token_id=row[0])


def list_tokens(db):
    """Every token, oldest first: id, role, counter, label, created_at, revoked_at (never its hash)."""
    return list(db.query("SELECT id, role, counter, label, created_at, revoked_at FROM tokens ORDER BY id"))


def require(principal, *roles, counter=None):
    """Raise Unauthorized without a principal, Forbidden when its role may not act."""
    if principal is None:
        raise Unauthorized("Cần token hợp lệ", "A valid token is required")
    if counter is not None:
        if not principal.may_act_for_counter(counter):
            raise Forbidden(f"Token này không được thao tác cho quầy số {counter}",
                            f"This token may not act for counter {counter}")
        return principal
    if principal.role not in roles:
        raise Forbidden("Token này không có quyền thực hiện thao tác", "This token's role may not do this")
    return principal
