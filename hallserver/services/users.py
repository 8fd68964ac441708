"""Staff accounts: passwords, sign-in throttling, who works which counter when.

Plain Python on the store (werkzeug only for password hashing). Roles: ``admin``,
``supervisor``, ``staff``; staff may be limited to certain counters.
"""

import functools
import json
import re
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from .auth import Principal

USER_ROLES = ("admin", "supervisor", "staff")
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
MIN_PASSWORD_LENGTH = 8
# Failed sign-ins within the window before a pause: for one account from one address (a
# stranger guessing a colleague's password pauses only themselves, never the colleague at
# their own desk), and from one address for any accounts.
FAILURE_WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20


def new_session_nonce():
    """A fresh session nonce: every sign-in cookie carrying the account's previous one is dead."""
    return secrets.token_hex(16)


@functools.cache
def _dummy_hash():
    """What an unknown username's password is checked against, so that it costs as long as a
    known one's (the hash's method and work factor are werkzeug's default, like real ones)."""
    return generate_password_hash(secrets.token_urlsafe(16))


def _user_row(db, username):
    rows = list(db.query("SELECT * FROM users WHERE username = ?", [username]))
    return rows[0] if rows else None


def add_user(db, *, username, password, role, now, display_name="", counters=()):
    """Create a staff account; the password is stored hashed."""
    username = username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise Invalid("Tên đăng nhập: 2-32 ký tự a-z, 0-9, '.', '_' hoặc '-'",
                      "Username: 2-32 characters a-z, 0-9, '.', '_' or '-'", code="invalid_username")
    if role not in USER_ROLES:
        raise Invalid(f"Vai trò không hợp lệ {role!r}", f"Unknown role {role!r} (one of {', '.join(USER_ROLES)})",
                      code="unknown_role")
    _check_password(password)
    if _user_row(db, username):
        raise Conflict(f"Tài khoản {username} đã có", f"User {username} already exists", code="user_exists")
    db["users"].insert({
        "username": username, "display_name": display_name or username,
        "password_hash": generate_password_hash(password), "role": role,
        "counters": json.dumps(sorted(set(counters))), "disabled": 0, "created_at": now,
        "session_nonce": new_session_nonce(),
    })
    return _user_row(db, username)


def set_disabled(db, username, disabled, *, now):
    """Disable (or enable) an account; a disabled account's sessions and counter work end now."""
    user = _user_row(db, username.strip().lower())
    if user is None:
        raise NotFound(f"Không có tài khoản {username}", f"No user {username}", code="unknown_user")
    db.execute("UPDATE users SET disabled = ? WHERE id = ?", [1 if disabled else 0, user["id"]])
    if disabled:
        end_sessions(db, user_id=user["id"], now=now)
    return _user_row(db, user["username"])


def _check_password(password):
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(f"Mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự",
                      f"The password needs at least {MIN_PASSWORD_LENGTH} characters", code="weak_password")


def set_password(db, username, password):
    """Give an account a new password (an admin resetting a forgotten one): every session it
    had ends (whoever knew the old password is signed out too)."""
    _check_password(password)
    user = _user_row(db, username.strip().lower())
    if user is None:
        raise NotFound(f"Không có tài khoản {username}", f"No user {username}", code="unknown_user")
    db.execute("UPDATE users SET password_hash = ?, session_nonce = ? WHERE id = ?",
               [generate_password_hash(password), new_session_nonce(), user["id"]])


def end_sessions(db, *, user_id, now):
    """Every sign-in of the account ends (signing out, disabling): a new session nonce, and
    its counter work stops."""
    db.execute("UPDATE users SET session_nonce = ? WHERE id = ?", [new_session_nonce(), user_id])
    end_counter_sessions(db, user_id=user_id, now=now)


def list_accounts(db):
    """Every account by username: id, username, display_name, role, counters (JSON), disabled."""
    return list(db.query("SELECT id, username, display_name, role, counters, disabled FROM users ORDER BY username"))


def principal_for_user(user):
    """The Principal acting for a signed-in account."""
    return Principal(role=user["role"], user_id=user["id"], username=user["username"],
                     counters=tuple(json.loads(user["counters"] or "[]")))


def active_user(db, user_id):
    """The enabled account with this id, or None once it is disabled or gone."""
    if user_id is None:
        return None
    rows = list(db.query("SELECT * FROM users WHERE id = ? AND disabled = 0", [user_id]))
    return rows[0] if rows else None


def session_user(db, user_id, nonce):
    """The account behind a sign-in cookie: enabled, and the cookie's nonce still its own
    (not signed out, password not reset since); else None."""
    if user_id is None or not isinstance(nonce, str) or not nonce:
        return None
    rows = list(db.query("SELECT * FROM users WHERE id = ? AND disabled = 0 AND session_nonce = ?",
                         [user_id, nonce]))
    return rows[0] if rows else None


def _failures(db, key, now):
    return db.execute("SELECT COUNT(*), MAX(at) FROM sign_in_failures WHERE key = ? AND at > ?",
                      [key, now - FAILURE_WINDOW_SECONDS]).fetchone()


BAD_CREDENTIALS = ("Tên đăng nhập hoặc mật khẩu không đúng", "Wrong username or password")


def begin_sign_in(db, *, username, address, now):
    """The first step of a sign-in, in a short transaction: refuse (TooManyRequests) when the
    account or the address is paused, else count the attempt as a failure in advance, so that
    attempts checked side by side all count. ``(user row or None, attempt)``; the password is
    then checked outside any transaction (:func:`password_matches`), and only a success is
    written back (:func:`sign_in_succeeded`).

    Failures count per account *and* address (``MAX_FAILURES_PER_USER``) and per address
    (``MAX_FAILURES_PER_ADDRESS``): whoever guesses pauses themselves, not the account's
    owner elsewhere."""
    username = (username or "").strip().lower()
    account_key = f"user:{username}@{address}"
    for key, limit in ((account_key, MAX_FAILURES_PER_USER), (f"address:{address}", MAX_FAILURES_PER_ADDRESS)):
        count, last = _failures(db, key, now)
        if count >= limit:
            minutes = max(1, round((last + FAILURE_WINDOW_SECONDS - now) / 60))
            raise TooManyRequests(f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {minutes} phút.",
                           f"Too many failed sign-ins. Try again in {minutes} minutes.", code="throttled")
    rows = [db["sign_in_failures"].insert({"key": key, "at": now}).last_rowid
            for key in (account_key, f"address:{address}")]
    return _user_row(db, username), {"account_key": account_key, "rows": rows}


def password_matches(user, password):
    """Whether ``password`` opens ``user`` (a row of :func:`begin_sign_in`, or None), enabled.
    Exactly one password hash is checked whatever the user (a dummy hash for an unknown name),
    so the time taken does not tell which usernames exist. Plain CPU, no database."""
    matches = check_password_hash(user["password_hash"] if user else _dummy_hash(), password or "")
    return user is not None and not user["disabled"] and matches


def sign_in_succeeded(db, attempt, *, now):
    """The password matched: the attempt was no failure, and the account's failures from that
    address are forgotten."""
    db.execute(f"DELETE FROM sign_in_failures WHERE rowid IN ({', '.join('?' for _ in attempt['rows'])})",
               attempt["rows"])
    db.execute("DELETE FROM sign_in_failures WHERE key = ? OR at < ?",
               [attempt["account_key"], now - FAILURE_WINDOW_SECONDS])


def sign_in(db, *, username, password, address, now):
    """The three steps of a sign-in in the caller's one transaction: the user row, or None
    with the failure recorded. Returns rather than raises on a wrong password so that the
    caller's transaction commits the failure."""
    user, attempt = begin_sign_in(db, username=username, address=address, now=now)
    if not password_matches(user, password):
        return None
    sign_in_succeeded(db, attempt, now=now)
    return user


def _check_may_work(user, counter):
    if not principal_for_user(user).may_act_for_counter(counter):
        raise Forbidden(f"Tài khoản {user['username']} không được làm việc tại quầy số {counter}",
                        f"{user['username']} may not work counter {counter}")


def start_counter_session(db, *, user, counter, now):
    """Record that ``user`` works ``counter`` from now; whoever held it before stops."""
    _check_may_work(user, counter)
    current = db.execute("SELECT id, user_id FROM counter_sessions WHERE counter = ? AND ended_at IS NULL",
                         [counter]).fetchall()
    if any(user_id == user["id"] for _, user_id in current):
        return
    db.execute("UPDATE counter_sessions SET ended_at = ? WHERE ended_at IS NULL AND (counter = ? OR user_id = ?)",
               [now, counter, user["id"]])
    db["counter_sessions"].insert({"user_id": user["id"], "counter": counter, "started_at": now})


def counter_holder(db, counter):
    """Who works ``counter`` now: {user_id, username, display_name, started_at}, or None."""
    row = db.execute(
        "SELECT user_id, username, display_name, started_at FROM counter_sessions "
        "JOIN users ON users.id = counter_sessions.user_id WHERE counter = ? AND ended_at IS NULL "
        "ORDER BY started_at DESC LIMIT 1", [counter]).fetchone()
    if row is None:
        return None
    user_id, username, display_name, started_at = row
    return {"user_id": user_id, "username": username, "display_name": display_name or username,
            "started_at": started_at}


def open_counter(db, *, user, counter, now, claim=True):
    """``user`` opens ``counter``'s page: never takes it from someone else. A staff account
    takes a free counter at once (unless not ``claim``); a supervisor or admin only looking
    takes it with their first action (``claim_counter``). Returns who else holds the
    counter, or None."""
    _check_may_work(user, counter)
    holder = counter_holder(db, counter)
    if holder is not None and holder["user_id"] != user["id"]:
        return holder
    if holder is None and user["role"] == "staff" and claim:
        start_counter_session(db, user=user, counter=counter, now=now)
    return None


def take_over_counter(db, *, user, counter, now):
    """The explicit, confirmed take-over: ``user`` works ``counter`` from now, whoever held it
    stops. Returns the previous holder (None when the counter was free or already theirs)."""
    holder = counter_holder(db, counter)
    start_counter_session(db, user=user, counter=counter, now=now)
    return holder if holder is not None and holder["user_id"] != user["id"] else None


def counter_taken(counter, holder):
    """The refusal of an action at a counter someone else works."""
    name = holder["display_name"]
    return Conflict(f"Quầy số {counter} đang do {name} làm việc. Bấm “Nhận quầy” để nhận quầy rồi thao tác.",
                    f"{name} is working counter {counter}. Take the counter over first.", code="counter_taken")


def claim_counter(db, *, user, counter, now):
    """Before a signed-in account acts for ``counter``: refused (409 ``counter_taken``) while
    someone else works it; a free counter becomes theirs, so the action is credited to them."""
    _check_may_work(user, counter)
    holder = counter_holder(db, counter)
    if holder is not None and holder["user_id"] != user["id"]:
        raise counter_taken(counter, holder)
    if holder is None:
        start_counter_session(db, user=user, counter=counter, now=now)


def end_counter_sessions(db, *, user_id, now):
    db.execute("UPDATE counter_sessions SET ended_at = ? WHERE user_id = ? AND ended_at IS NULL", [now, user_id])


def desks_worked(db, username):
    """[(counter number, ticket number at its desk or None)] of the counters ``username`` works now."""
    return [tuple(row) for row in db.execute(
        "SELECT counter_sessions.counter, tickets.number FROM counter_sessions "
        "JOIN users ON users.id = counter_sessions.user_id "
        "JOIN counters ON counters.number = counter_sessions.counter "
        "LEFT JOIN tickets ON tickets.id = counters.current_ticket AND tickets.status IN ('called', 'serving') "
        "WHERE counter_sessions.ended_at IS NULL AND users.username = ? ORDER BY counter_sessions.counter",
        [username]).fetchall()]


def counter_workers(db):
    """{counter number: username} for counters someone is signed in to now."""
    return dict(db.execute(
        "SELECT counter_sessions.counter, users.username FROM counter_sessions JOIN users ON users.id = user_id "
        "WHERE ended_at IS NULL"
    ).fetchall())
