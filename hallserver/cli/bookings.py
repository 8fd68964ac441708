"""``hallserver bookings ...`` and ``hallserver procedures ...``.

Imported by ``cli`` when the command line starts, before ``serve`` monkey-patches for
gevent: only click here, everything else is imported inside the commands.
"""

import sys
from pathlib import Path

import click

from .common import fail, open_hall, read_settings


@click.group("bookings")
def bookings():
    """Lịch hẹn / Appointments: import bookings made elsewhere, run the upkeep once."""


@bookings.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def bookings_import(path):
    """Nhập lịch hẹn / Import bookings from a CSV or JSON file; every rejected row is printed with its
    reason.

    Columns: service or procedure; slot (2026-11-27T09:00) or date and time; name; phone;
    optional dossier_code, code (kept as the booking code), ref (the other system's id: a
    row already imported is rejected). Exit status 1 when any row was rejected.
    """
    from ..core.bookings import parse_import
    from ..errors import HallError, Invalid

    hall = open_hall()
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
        rows = parse_import(text, "json" if path.lower().endswith(".json") else "csv")
        report = hall.import_bookings(rows)
    except HallError as error:
        fail(error)
    except UnicodeDecodeError:  # Excel saves "CSV" in the Windows code page unless told "CSV UTF-8"
        fail(Invalid(f"{path} không phải UTF-8: không nhập dòng nào; hãy lưu dạng “CSV UTF-8”",
                     f"{path} is not UTF-8: nothing was imported; save it as “CSV UTF-8”"))
    for row in report["imported"]:
        click.echo(f"  dòng/row {row['row']}: {row['code']} {row['slot']}")
    for row in report["rejected"]:
        click.echo(f"  dòng/row {row['row']}: TỪ CHỐI / REJECTED [{row['code']}] {row['message']}"
                   + (f" / {row['message_en']}" if row["message_en"] != row["message"] else ""))
    click.echo(f"Đã nhập / imported {len(report['imported'])}, từ chối / rejected {len(report['rejected'])}")
    if report["rejected"]:
        sys.exit(1)


@bookings.command("upkeep")
def bookings_upkeep():
    """Chạy việc định kỳ một lần / Once: mark no-shows, delete personal data past retention, queue
    "Sắp đến lượt" messages,
    send due reminders. (A running hub does this by itself every HALL_EXPIRE_CHECK_SECONDS.)"""
    from ..services.reminders import run_upkeep

    hall = open_hall()
    result = run_upkeep(hall, read_settings()["public_url"])
    sent = sum(1 for reminder in result["reminders"] if reminder["ok"])  # bookings' reminders and "Sắp đến lượt"
    click.echo(f"Vắng mặt / no-shows {result['no_shows']}, xóa dữ liệu cá nhân / purged {result['purged']}, "
               f"tin nhắn đã gửi / messages sent {sent} of {len(result['reminders'])}")
    if not hall.config.booking.reminder_url:
        click.echo("  Chưa có [booking] reminder_url: không gửi tin nhắn nào / "
                   "no [booking] reminder_url: no messages are sent")


@click.group("procedures")
def procedures():
    """Thủ tục hành chính / The hall's catalogue of procedures (/thu-tuc)."""


@procedures.command("load")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="Hide every procedure that is not in the file")
def procedures_load(path, replace):
    """Nạp thủ tục / Add or update procedures from a TOML or JSON file (see
    hallserver/procedures_demo.toml)."""
    from ..core.procedures import read_procedures_file
    from ..errors import HallError

    hall = open_hall()
    try:
        items = read_procedures_file(path, {service.code for service in hall.config.services})
        hall.load_procedures(items, replace=replace)
    except HallError as error:
        fail(error)
    click.echo(f"Đã nạp / loaded {len(items)} thủ tục / procedures")


@procedures.command("list")
def procedures_list():
    """Liệt kê thủ tục / Every procedure: code, service, shown or hidden, name."""
    for row in open_hall().procedures(include_hidden=True):
        click.echo(f"{row['code']:<16} {row['service']:<6} {'shown' if row['active'] else 'hidden':<7} {row['name']}")
