"""What an operator meets at the hub's terminal: `hallserver` commands that refuse say why, in
two lines and exit code 2, never a traceback and never a success that did not happen."""

import socket
import sqlite3

import pytest
from click.testing import CliRunner

from hallserver.cli import cli


@pytest.fixture
def hallserver(tmp_path):
    """Runs ``hallserver ARGS`` in this process on a fresh demo hall in ``tmp_path``."""
    runner = CliRunner()
    environment = {"HALL_DB": str(tmp_path / "hall.db")}

    def run(*arguments, input=None):
        return runner.invoke(cli, list(arguments), env=environment, input=input)

    assert run("init").exit_code == 0
    run.db = tmp_path / "hall.db"
    return run


def test_revoking_a_token_that_does_not_exist_is_refused(hallserver):
    result = hallserver("token", "revoke", "999")
    assert result.exit_code == 2
    assert "Không có token số 999" in result.output and "No token 999" in result.output
    assert "Đã thu hồi" not in result.output


def test_revoking_a_token_twice_says_it_was_already_revoked(hallserver):
    assert hallserver("token", "create", "--role", "kiosk").exit_code == 0
    assert "Đã thu hồi / revoked token 1" in hallserver("token", "revoke", "1").output
    again = hallserver("token", "revoke", "1")
    assert again.exit_code == 0 and "đã thu hồi từ trước / was already revoked" in again.output


def test_a_backup_onto_the_live_database_is_refused(hallserver):
    result = hallserver("backup", str(hallserver.db))
    assert result.exit_code == 2 and "live database" in result.output
    with sqlite3.connect(hallserver.db) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_backup_onto_a_file_that_is_not_a_database_says_so(hallserver, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    result = hallserver("backup", str(notes))
    assert result.exit_code == 2  # it was a sqlite3.DatabaseError traceback
    assert f"Không sao lưu được vào {notes}" in result.output and f"Cannot back up to {notes}" in result.output
    assert notes.read_text() == "not a database\n"


def test_user_list_says_an_account_without_counters_may_work_every_counter(hallserver):
    assert hallserver("user", "add", "an", "--role", "supervisor", input="mot-mat-khau\n").exit_code == 0
    assert hallserver("user", "add", "lan", "--role", "staff", "--counters", "1,2",
                      input="mot-mat-khau\n").exit_code == 0
    lines = {line.split()[0]: line for line in hallserver("user", "list").output.splitlines()}
    assert lines["an"].endswith("counters tất cả / all") and lines["lan"].endswith("counters [1, 2]")


def test_serve_on_a_port_another_hub_holds_says_so(hallserver):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = hallserver("serve", "--host", "127.0.0.1", "--port", str(port), "--async-mode", "threading")
    assert result.exit_code == 2  # it was an OSError traceback, after the hub had printed its URLs
    assert f"Cổng {port} trên 127.0.0.1 đang được dùng" in result.output and "is in use" in result.output
    assert "Trang chủ" not in result.output


def test_importing_bookings_saved_in_a_windows_code_page_says_how_to_save_them(hallserver, tmp_path):
    export = tmp_path / "lich-hen.csv"
    export.write_bytes("service,date,time,name,phone\nHT,2026-12-02,09:00,Nguyễn Văn A,0912345678\n"
                       .encode("cp1258", errors="replace"))
    result = hallserver("bookings", "import", str(export))
    assert result.exit_code == 2
    assert "không nhập dòng nào; hãy lưu dạng “CSV UTF-8”" in result.output
    assert "save it as “CSV UTF-8”" in result.output


def test_a_command_on_a_database_with_no_hall_says_which_file_and_what_to_do(tmp_path):
    """HALL_DB unset in another folder, or init never run: it was a traceback ending in HallError."""
    elsewhere = tmp_path / "elsewhere.db"
    result = CliRunner().invoke(cli, ["token", "create", "--role", "kiosk"], env={"HALL_DB": str(elsewhere)})
    assert result.exit_code == 2
    assert f"Chưa có hội trường trong {elsewhere}: chạy `hallserver init`" in result.output
    assert "set HALL_DB to the hub's database" in result.output


def test_a_database_this_account_cannot_open_is_named(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    result = CliRunner().invoke(cli, ["user", "list"], env={"HALL_DB": str(blocked / "hall.db")})
    assert result.exit_code == 2  # it was a NotADirectoryError traceback
    assert f"Không mở được cơ sở dữ liệu {blocked / 'hall.db'}" in result.output
    assert "Run the command as the hub's account with its HALL_DB" in result.output
    result = CliRunner().invoke(cli, ["serve", "--port", "0", "--async-mode", "threading"],
                                env={"HALL_DB": str(blocked / "hall.db")})
    assert result.exit_code == 2 and f"Không mở được cơ sở dữ liệu {blocked / 'hall.db'}" in result.output


@pytest.mark.parametrize("variable, value", [("HALL_RECENT_CALLS", "mười"), ("HALL_PRINTER", "usb:epson")])
def test_a_wrong_setting_says_where_settings_come_from(hallserver, variable, value):
    result = CliRunner().invoke(cli, ["serve", "--port", "0"], env={"HALL_DB": str(hallserver.db), variable: value})
    assert result.exit_code == 2 and f"Lỗi / Error: {variable}:" in result.output
    assert "Sửa biến môi trường này" in result.output and "hallserver settings lists them all" in result.output


def test_a_new_password_for_an_account_that_does_not_exist_is_refused_before_it_is_typed(hallserver):
    result = hallserver("user", "password", "nobody", input="")
    assert result.exit_code == 2
    assert "Không có tài khoản nobody" in result.output  # it said the (empty) password was too short
    assert hallserver("user", "add", "lan", "--role", "staff", input="mot-mat-khau\n").exit_code == 0
    changed = hallserver("user", "password", "Lan", input="mat-khau-moi\n")
    assert changed.exit_code == 0 and "new password set for lan" in changed.output
    again = hallserver("user", "add", "LAN", "--role", "staff", input="")
    assert again.exit_code == 2 and "Tài khoản lan đã có" in again.output  # not 'the password is too short'


def test_booking_upkeep_says_when_the_hall_has_no_gateway_to_send_with(hallserver):
    result = hallserver("bookings", "upkeep")
    assert result.exit_code == 0 and "tin nhắn đã gửi / messages sent 0 of 0" in result.output
    assert "Chưa có [booking] reminder_url: không gửi tin nhắn nào" in result.output
