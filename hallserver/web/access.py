"""Browser devices (a kiosk, a counter's rating tablet) paired once with a device token.

Whoever installs the device pastes a token on its pairing page; the browser keeps only
the token's id in its signed, HttpOnly session cookie. Revoking the token unpairs it.
"""

from flask import current_app, redirect, render_template, request, session
from flask_babel import gettext as _

from . import auth


def _key(role, counter):
    return f"{role}:{counter}" if counter is not None else role


def paired_principal(role, counter=None):
    """The Principal of this browser for ``role`` (and ``counter``), or None."""
    token_id = session.get("devices", {}).get(_key(role, counter))
    if token_id is None:
        return None
    hall = current_app.extensions["hall"]
    with hall.store.lock:
        row = hall.store.db.execute(
            "SELECT role, counter FROM tokens WHERE id = ? AND revoked_at IS NULL", [token_id]).fetchone()
    if row is None or row[0] != role or row[1] != counter:
        return None
    return auth.Principal(role=role, counter=counter, token_id=token_id)


def pair_view(role, *, counter=None, title, done_url):
    """GET: the pairing form; POST: check the token and remember it in the session."""
    error = None
    if request.method == "POST":
        hall = current_app.extensions["hall"]
        with hall.store.lock:
            principal = auth.principal_for(hall.store.db, request.form.get("token", "").strip())
        if principal is None or principal.role != role or principal.counter != counter:
            error = _("Token không hợp lệ hoặc không dành cho thiết bị này.")
        else:
            devices = dict(session.get("devices", {}))
            devices[_key(role, counter)] = principal.token_id
            session["devices"] = devices
            session.permanent = True
            return redirect(done_url)
    command = f"hallserver token create --role {role}" + (f" --counter {counter}" if counter is not None else "")
    return render_template("device_pair.html", error=error, title=title, command=command,
                           hall=current_app.extensions["hall"].config), 400 if error else 200
