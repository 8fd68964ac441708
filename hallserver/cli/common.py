"""What every ``hallserver`` command shares: settings, the hall, and how errors are printed.

Every refusal is a HallError, printed in Vietnamese then English, with exit code 2. Only
light modules are imported at the top: ``serve`` monkey-patches before the rest loads.
"""

import sys

import click

from ..errors import HallError, Invalid
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
        wrong_setting(error)


def wrong_setting(error):
    """Print a HALL_* value that cannot work (the message names the variable and says what is
    wrong, in English) and where such values come from, then exit 2."""
    click.echo(f"Lỗi / Error: {error}", err=True)
    click.echo("  Sửa biến môi trường này (môi trường của hub, hay Environment= trong unit systemd); "
               "hallserver settings liệt kê tất cả / Fix this environment variable (the hub's environment, "
               "or Environment= in its systemd unit); hallserver settings lists them all", err=True)
    sys.exit(2)


def open_hall_store():
    """The store at HALL_DB, migrated; a damaged file, or one this account may not open, exits 2."""
    from ..store import open_store  # sqlite after ``serve`` has monkey-patched

    path = read_settings()["db"]
    try:
        return open_store(path)
    except HallError as error:
        fail(error)
    except OSError as error:
        fail(cannot_open_database(path, error))


def cannot_open_database(path, error):
    """The refusal for a database file the OS would not open: a folder that is not there, or
    the hub's own account's files (its folder is private to it)."""
    return Invalid(f"Không mở được cơ sở dữ liệu {path}: {error.strerror or error}. Chạy lệnh bằng tài khoản "
                   f"của hub với HALL_DB của nó (ví dụ sudo -u hall HALL_DB=… hallserver …)",
                   f"Cannot open the database {path}: {error.strerror or error}. Run the command as the hub's "
                   f"account with its HALL_DB (e.g. sudo -u hall HALL_DB=… hallserver …)")


def open_hall():
    """The :class:`~hallserver.hall.Hall` over the store at HALL_DB (see :func:`open_hall_store`);
    a database with no hall in it exits 2: HALL_DB names another file than the hub's, or init
    was never run (every command but init would end in a traceback)."""
    from ..hall import Hall

    store = open_hall_store()
    if not store.is_configured():
        fail(Invalid(f"Chưa có hội trường trong {store.path}: chạy `hallserver init`, hoặc đặt HALL_DB là tệp "
                     f"của hub",
                     f"No hall in {store.path}: run `hallserver init`, or set HALL_DB to the hub's database"))
    return Hall(store)
