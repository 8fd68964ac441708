"""Hub settings, declared once as a table.

Each setting has a default and a help text; ``HALL_<NAME>`` environment variables
override the default, and a mapping passed to ``create_app(config)`` overrides both
(tests use that). ``hallserver settings`` prints the table.
"""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str


SETTINGS = (
    Setting("db", "var/hall.db", "Path of the SQLite database file"),
    Setting("async_mode", "gevent", "Socket.IO async mode: gevent, eventlet or threading"),
    Setting("max_body_bytes", 16 * 1024, "Largest accepted request body in bytes (413 above)"),
    Setting("recent_calls", 10, "How many recent calls the public state lists"),
    Setting("expire_check_seconds", 30, "How often the hub checks for the end of the day"),
    Setting("secret_key", "", "Flask secret key; generated and kept in the database when empty"),
    Setting("trust_proxy", False, "Trust X-Forwarded-* headers from one reverse proxy"),
    Setting("secure_cookies", False, "Send the sign-in cookie only over HTTPS (turn on behind TLS)"),
    Setting("session_hours", 12, "How long a staff sign-in lasts, however active (then sign in again)"),
    Setting("session_idle_minutes", 120, "A staff sign-in ends after this long without a page request"),
    Setting("public_url", "", "The hub's address as citizens' phones reach it, for QR codes (e.g. http://192.168.1.10:5000)"),
    Setting("printer", "none", "Ticket printer: none, dummy, usb:VENDOR:PRODUCT, network:HOST[:PORT] or file:PATH"),
    Setting("sounds_dir", "", "Folder of the voice clip pack (default: the shipped sounds/)"),
    Setting("backup_dir", "var/backups", "Folder of the daily database copies"),
    Setting("backup_keep_days", 14, "How many daily copies to keep (0: the hub makes none)"),
    Setting("message_queue", "", "Redis URL (redis://HOST:PORT/DB) linking several hub processes on one database; "
            "empty: one process"),
    Setting("remote_rate_limit", "10 per minute;40 per hour", "Rate limit of numbers taken from home, per address"),
)

SETTINGS_BY_NAME = {setting.name: setting for setting in SETTINGS}


def _coerce(setting, raw):
    if isinstance(setting.default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"HALL_{setting.name.upper()}: expected true or false, got {raw!r}")
    if isinstance(setting.default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(
                f"HALL_{setting.name.upper()}: expected a whole number, got {raw!r}"
            ) from None
    return raw


def load_settings(overrides=None, environ=None):
    """Return a dict of every setting: defaults < HALL_* environment < overrides."""
    environ = os.environ if environ is None else environ
    values = {}
    for setting in SETTINGS:
        raw = environ.get(f"HALL_{setting.name.upper()}")
        values[setting.name] = setting.default if raw is None else _coerce(setting, raw)
    for name, value in (overrides or {}).items():
        key = name.lower()
        if key not in SETTINGS_BY_NAME:
            raise ValueError(f"unknown setting {name!r}")
        values[key] = value
    return values
