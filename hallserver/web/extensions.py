"""The Flask extensions the hub's edges share, created unbound and bound in ``create_app``.

A leaf module: blueprints and the push publisher import from here, never from the
factory, so there are no import cycles between the factory and its parts.
"""

import ipaddress

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from ..core import local_day


def client_address():
    """Who is asking, for every per-address limit (sign-in failures, rate limits, numbers from
    home): the IPv4 address, or the /64 network of an IPv6 one. A home line or a phone holds a
    whole /64 and takes new addresses in it at will (privacy extensions do so by themselves): per
    IPv6 address, a script guessed a colleague's password without ever being paused."""
    address = request.remote_addr or "-"
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 4:
        return address
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.ip_network(f"{parsed}/64", strict=False))


socketio = SocketIO()
csrf = CSRFProtect()
babel = Babel()
# Only pages that take numbers from home are rate-limited; devices on the API hold tokens.
limiter = Limiter(key_func=client_address, storage_uri="memory://", default_limits=[])


def get_hall():
    """The :class:`~hallserver.hall.Hall` this app serves."""
    return current_app.extensions["hall"]


def setting(name):
    """One of the hub's settings (``hallserver.settings.SETTINGS``)."""
    return current_app.config["HALL_SETTINGS"][name]


def today():
    """The hall's day now, ``YYYY-MM-DD`` in its time zone."""
    return get_hall().read(lambda db, config, now: local_day(config, now))
