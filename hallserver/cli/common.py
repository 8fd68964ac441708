"""What every ``hallserver`` command shares: settings, the hall, and how errors are printed.

Every refusal is a HallError, printed in Vietnamese then English, with exit code 2. Only
light modules are imported at the top: ``serve`` monkey-patches before the rest loads.
"""

import sys

import click

from ..errors import HallError
from ..settings import load_settings


def fail(error):
    """Print a HallError the way a person at a terminal wants it, and exit 2."""
    click.echo(f"Lỗi / Error: {error.message}", err=True)
    if error.message_en != error.message:
        click.echo(f"  {error.message_en}", err=True)
    sys.exit(2)


def read_settings():
    """The hub's settings (HALL_* variables); a bad value exits 2 naming the variable."""
    try:
        return load_settings()
    except ValueError as error:
        click.echo(f"Lỗi / Error: {error}", err=True)
        sys.exit(2)


def open_hall_store():
    """The store at HALL_DB, migrated; a damaged or unreadable file exits 2."""
    from ..store import open_store  # sqlite after ``serve`` has monkey-patched

    try:
        return open_store(read_settings()["db"])
    except HallError as error:
        fail(error)


def open_hall():
    """The :class:`~hallserver.hall.Hall` over the store at HALL_DB (see :func:`open_hall_store`)."""
    from ..hall import Hall

    return Hall(open_hall_store())
