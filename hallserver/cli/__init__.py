"""The ``hallserver`` command: init, serve, token, user, backup, expire, settings, sounds,
bookings, procedures.

Commands work through ``Hall`` (``common.open_hall``), like the web edges.

``main`` monkey-patches for gevent (or eventlet) before anything else is imported when
the command is ``serve``, so every import after it gets cooperative sockets.
"""

import json
import os
import sys

import click

from ..services.auth import ROLES
from .common import cannot_open_database, fail, open_hall, open_hall_store, read_settings, wrong_setting


def async_mode_from(argv):
    """The async mode ``serve`` will use: ``--async-mode`` or HALL_ASYNC_MODE (gevent)."""
    for index, argument in enumerate(argv):
        if argument.startswith("--async-mode="):
            return argument.split("=", 1)[1]
        if argument == "--async-mode" and index + 1 < len(argv):
            return argv[index + 1]
    return os.environ.get("HALL_ASYNC_MODE", "gevent")


def main(argv=None):
    """Console-script entry point."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["serve"]:
        mode = async_mode_from(argv)
        if mode == "gevent":
            from gevent import monkey

            monkey.patch_all()
        elif mode == "eventlet":
            import eventlet

            eventlet.monkey_patch()
    cli.main(args=argv, prog_name="hallserver")


@click.group(help="Máy chủ xếp hàng Hall Queue / Hall Queue hub. Cơ sở dữ liệu / the database: HALL_DB "
                   "(mặc định / default var/hall.db).")
def cli():
    pass


@cli.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="Hall TOML file (default: demo hall)")
def init(config_path):
    """Khởi tạo cơ sở dữ liệu, áp dụng tệp cấu hình hội trường / Create or migrate the database and apply
    a hall configuration."""
    from ..config import demo_mapping, parse_config, read_config_file
    from ..errors import HallError
    from ..hall import Hall

    store = open_hall_store()
    try:
        if config_path:
            source = read_config_file(config_path)
        elif store.is_configured():
            Hall(store).seed_demo_procedures()
            click.echo(f"Đã khởi tạo / already initialised: {store.path} (schema {store.schema_version()})")
            return
        else:
            source = demo_mapping()
        config = parse_config(source)
        if store.is_configured():   # the hall may be open: a file that strands citizens in it is refused
            Hall(store).apply_config(config, source=source)
        else:
            store.apply_config(config, source=source)
        if not config_path:
            Hall(store).seed_demo_procedures()
    except HallError as error:
        fail(error)
    click.echo(f"Đã khởi tạo / initialised {store.path}: {config.name}")
    click.echo(f"  {len(config.services)} dịch vụ / services, {len(config.counters)} quầy / counters,"
               f" schema {store.schema_version()}")


def check_serve_settings(settings):
    """Refuse (exit 2) a ticket printer setting that cannot work: the hub would otherwise start
    and raise the same alert for every ticket of the day."""
    if settings["printer"].strip().lower() in ("", "none"):
        return
    from ..services.printing import parse_printer_spec

    try:
        parse_printer_spec(settings["printer"])
    except ValueError as error:
        wrong_setting(error)


def check_port_free(host, port):
    """Exit 2 naming the address when the hub could not listen there, before it prints its URLs
    and starts its jobs: a hub already running there (./run.sh twice) ended in a traceback."""
    import errno
    import socket

    from ..errors import Conflict

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            fail(Conflict(f"Cổng {port} trên {host} đang được dùng: một hub khác (hay chương trình khác) đang chạy? "
                          f"Dừng nó, hoặc chọn --port khác",
                          f"Port {port} on {host} is in use: is another hub (or program) running? "
                          f"Stop it, or choose another --port"))
        fail(Conflict(f"Không mở được cổng {port} trên {host}: {error.strerror or error}",
                      f"Cannot listen on {host}:{port}: {error.strerror or error}"))


@cli.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--async-mode", type=click.Choice(["gevent", "eventlet", "threading"]),
              help="Overrides HALL_ASYNC_MODE (default gevent)")
@click.option("--access-log/--no-access-log", default=False, help="Log every HTTP request")
@click.option("--message-queue", metavar="redis://HOST:PORT/DB",
              help="Share rooms and pushes with other hub processes on this database (HALL_MESSAGE_QUEUE)")
def serve(host, port, async_mode, access_log, message_queue):
    """Chạy máy chủ / Run the hub: API, pages and Socket.IO push."""
    from ..errors import HallError
    from ..web import create_app, socketio
    from ..web.lease import Lease
    from ..web.server import run

    check_serve_settings(read_settings())   # a wrong HALL_* value exits 2 naming it, before anything starts
    check_port_free(host, port)
    overrides = {"async_mode": async_mode} if async_mode else {}
    if message_queue is not None:
        overrides["message_queue"] = message_queue
    try:
        app = create_app(overrides)
    except HallError as error:
        fail(error)
    except OSError as error:
        fail(cannot_open_database(read_settings()["db"], error))
    settings = app.config["HALL_SETTINGS"]
    # The jobs run in one process of those sharing a message queue (lease.py).
    lease = Lease(settings["message_queue"] or None, sleep=socketio.sleep)
    start_background_jobs(app, socketio, lease)
    print_addresses(app, host, port, lease)
    run(app, socketio, host, port, access_log=access_log)


def start_background_jobs(app, socketio, lease):
    """The hub's own work between requests: the end of the day and the daily copy, the
    dashboard's refresh, following the configuration, the sockets' sweep, booking upkeep."""
    from ..services.reminders import upkeep_forever

    hall = app.extensions["hall"]
    settings = app.config["HALL_SETTINGS"]
    interval = settings["expire_check_seconds"]
    if lease.redis is not None:
        socketio.start_background_task(lease.keep)

    def expire_at_day_end():
        while True:
            lease.wait()
            try:
                hall.expire()
                hall.daily_backup(settings["backup_dir"], keep_days=settings["backup_keep_days"])
            except Exception:  # keep the timer alive; the next round retries
                app.logger.exception("expiry or backup failed")
            socketio.sleep(interval)

    def booking_upkeep():
        lease.wait()
        upkeep_forever(hall, lease.pause, interval, settings["public_url"])

    socketio.start_background_task(expire_at_day_end)
    socketio.start_background_task(app.extensions["publisher"].dashboard_updates, lease.wait)
    socketio.start_background_task(app.extensions["publisher"].follow_configuration, lease.wait)
    # Sockets of tokens revoked, accounts disabled or signed out elsewhere; sessions past their
    # hours. Every process sweeps its own sockets (only it knows what they joined with).
    socketio.start_background_task(app.extensions["hall_namespace"].sweep_forever)
    # Appointments: no-shows, retention, reminder webhooks (hallserver.services.reminders).
    socketio.start_background_task(booking_upkeep)


def print_addresses(app, host, port, lease):
    """What the operator opens: the hub's pages on this machine (and at HALL_PUBLIC_URL, the
    address phones and other PCs use), its database and async mode, its message queue."""
    from ..web import socketio

    hall = app.extensions["hall"]
    settings = app.config["HALL_SETTINGS"]
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"Hall Queue: {hall.config.name}")
    click.echo(f"  Trang chủ / home      http://{shown}:{port}/")
    if settings["public_url"]:
        click.echo(f"  Công khai / public    {settings['public_url'].rstrip('/')}/")
    click.echo(f"  Trạng thái / state    http://{shown}:{port}/api/v1/state")
    click.echo(f"  OpenAPI               http://{shown}:{port}/api/v1/openapi.json")
    click.echo(f"  CSDL / database       {hall.store.path} ({socketio.server.eio.async_mode})")
    if settings["message_queue"]:
        click.echo(f"  Hàng đợi / queue      {settings['message_queue']} (process {lease.holder})")
    sys.stdout.flush()


@cli.group()
def token():
    """Token thiết bị / Device tokens for kiosks, screens, counters, rating tablets, supervisors and admins."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--counter", type=int, help="Counter number (roles counter and rating)")
@click.option("--label", default="", help="What the token is for, e.g. 'kiosk at the door'")
def token_create(role, counter, label):
    """Tạo token / Create a token; it is printed once, as the last line."""
    from ..errors import HallError

    hall = open_hall()
    try:
        plain = hall.create_token(role=role, counter=counter, label=label)
    except HallError as error:
        fail(error)
    click.echo(f"Token {role}{f' quầy/counter {counter}' if counter else ''} (chỉ hiện một lần / shown once):")
    click.echo(plain)


@token.command("list")
def token_list():
    """Liệt kê token / List tokens (never their values)."""
    for row in open_hall().tokens():
        state = "revoked" if row["revoked_at"] else "active"
        click.echo(f"{row['id']:>4}  {row['role']:<10} {row['counter'] or '':>4}  {state:<8} {row['label'] or ''}")


@token.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id):
    """Thu hồi token / Revoke a token by its id (see `token list`)."""
    from ..errors import NotFound

    hall = open_hall()
    row = next((row for row in hall.tokens() if row["id"] == token_id), None)
    if row is None:
        fail(NotFound(f"Không có token số {token_id} (xem: hallserver token list)",
                      f"No token {token_id} (see: hallserver token list)"))
    if row["revoked_at"]:
        click.echo(f"Token {token_id} đã thu hồi từ trước / was already revoked")
        return
    hall.revoke_token(token_id)
    click.echo(f"Đã thu hồi / revoked token {token_id}")


@cli.group()
def user():
    """Tài khoản cán bộ / Staff accounts (admin, supervisor, staff)."""


def _read_password():
    if sys.stdin.isatty():
        return click.prompt("Mật khẩu / password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@user.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "supervisor", "staff"]))
@click.option("--name", "display_name", default="", help="Full name shown on the counter page")
@click.option("--counters", default="", help="Counters a staff member may work, e.g. 1,2 (default: all)")
def user_add(username, role, display_name, counters):
    """Tạo tài khoản / Create an account; the password comes from a prompt, or the first line of stdin."""
    from ..core import find_counter
    from ..errors import Conflict, HallError, Invalid

    hall = open_hall()
    try:
        numbers = [int(part) for part in counters.replace(" ", "").split(",") if part]
    except ValueError:
        fail(Invalid(f"--counters: cần danh sách số, ví dụ 1,2 (nhận {counters!r})",
                      f"--counters: expected numbers such as 1,2, got {counters!r}"))
    name = username.strip().lower()
    if name in {row["username"] for row in hall.accounts()}:  # refused before the password is asked for
        fail(Conflict(f"Tài khoản {name} đã có", f"User {name} already exists"))
    try:
        for number in numbers:  # so is a counter the hall does not have
            find_counter(hall.config, number)
        hall.add_user(username=username, password=_read_password(), role=role, display_name=display_name,
                      counters=numbers)
    except HallError as error:
        fail(error)
    click.echo(f"Đã tạo tài khoản / created {username.lower()} ({role})")


def _set_user_disabled(username, disabled):
    from ..errors import HallError

    try:
        open_hall().set_user_disabled(username, disabled)
    except HallError as error:
        fail(error)


@user.command("disable")
@click.argument("username")
def user_disable(username):
    """Khóa tài khoản / Stop an account from signing in (its open counter work ends)."""
    _set_user_disabled(username, True)
    click.echo(f"Đã khóa / disabled {username}")


@user.command("enable")
@click.argument("username")
def user_enable(username):
    """Mở khóa tài khoản / Allow a disabled account to sign in again."""
    _set_user_disabled(username, False)
    click.echo(f"Đã mở khóa / enabled {username}")


@user.command("password")
@click.argument("username")
def user_password(username):
    """Đặt mật khẩu mới / Set a new password (prompt, or the first line of stdin); every session of the
    account ends."""
    from ..errors import HallError, NotFound

    hall = open_hall()
    name = username.strip().lower()
    if name not in {row["username"] for row in hall.accounts()}:  # before the password is typed twice
        fail(NotFound(f"Không có tài khoản {name}", f"No user {name}"))
    try:
        hall.set_password(username, _read_password())
    except HallError as error:
        fail(error)
    click.echo(f"Đã đặt mật khẩu mới / new password set for {name}")


@user.command("list")
def user_list():
    """Liệt kê tài khoản / List accounts, roles, counters and state."""
    for row in open_hall().accounts():
        state = "disabled" if row["disabled"] else "active"
        counters = row["counters"] if json.loads(row["counters"] or "[]") else "tất cả / all"  # none named: every one
        click.echo(f"{row['username']:<20} {row['role']:<11} {state:<9} counters {counters}")


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False))
def backup(path):
    """Sao lưu cơ sở dữ liệu / Copy the live database to PATH (SQLite online backup); the hub may be
    running. To restore a copy: README, Data safety."""
    import sqlite3

    from ..errors import Invalid

    store = open_hall_store()
    if os.path.exists(path) and os.path.samefile(path, store.path):
        fail(Invalid(f"{path} là chính cơ sở dữ liệu đang dùng: hãy chọn một tệp khác",
                     f"{path} is the live database itself: choose another file"))
    try:
        store.backup(path)
    except (OSError, sqlite3.Error) as error:  # a folder that cannot be written, a file that is not a database
        fail(Invalid(f"Không sao lưu được vào {path}: {error}", f"Cannot back up to {path}: {error}"))
    click.echo(f"Đã sao lưu / backed up {store.path} → {path}")


@cli.command()
def expire():
    """Kết thúc phiếu của ngày trước / End every unfinished ticket of an earlier day now."""
    count = open_hall().expire()
    click.echo(f"Đã hết hạn / expired {count} phiếu / tickets")


@cli.command("settings")
def show_settings():
    """Xem cài đặt / Show every setting, its value and its HALL_* variable."""
    from ..settings import SETTINGS

    values = read_settings()
    for setting in SETTINGS:
        click.echo(f"HALL_{setting.name.upper():<22} {values[setting.name]!r:<16} {setting.help}")


from .bookings import bookings, procedures  # noqa: E402  (the groups import click only)
from .sounds import sounds  # noqa: E402

cli.add_command(bookings)
cli.add_command(procedures)
cli.add_command(sounds)
