"""The Flask extensions the hub's edges share, created unbound and bound in ``create_app``.

A leaf module: blueprints and the push publisher import from here, never from the
factory, so there are no import cycles between the factory and its parts.
"""

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_socketio import SocketIO
from flask_wtf.csrf import CSRFProtect

from ..core import local_day

socketio = SocketIO()
csrf = CSRFProtect()
babel = Babel()
# Only pages that take numbers from home are rate-limited; devices on the API hold tokens.
limiter = Limiter(key_func=get_remote_address, storage_uri="memory://", default_limits=[])


def get_hall():
    """The :class:`~hallserver.hall.Hall` this app serves."""
    return current_app.extensions["hall"]


def setting(name):
    """One of the hub's settings (``hallserver.settings.SETTINGS``)."""
    return current_app.config["HALL_SETTINGS"][name]


def today():
    """The hall's day now, ``YYYY-MM-DD`` in its time zone."""
    return get_hall().read(lambda db, config, now: local_day(config, now))
