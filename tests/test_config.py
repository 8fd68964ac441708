"""Hall configuration files: the demo hall, exact errors naming the key, idempotent init."""

import os
import subprocess

import pytest

from hallserver.config import demo_config, load_config, parse_config
from hallserver.errors import ConfigError
from tests.helpers import HALLSERVER, HT, free_port, hall_toml, run_cli, small_hall_mapping


def test_demo_hall_is_a_commune_center_open_around_the_clock():
    config = demo_config()
    assert len(config.services) == 5 and len(config.counters) == 6
    assert any(len(counter.services) > 1 for counter in config.counters)
    assert all(periods == ((0, 1440),) for periods in config.hours.values())
    assert all(service.daily_cap is None for service in config.services)
    assert all(service.block_end - service.block_start + 1 >= 999 for service in config.services)
    assert config.timezone == "Asia/Ho_Chi_Minh"
    assert {p.name for p in config.priorities} >= {"Người cao tuổi", "Người khuyết tật", "Phụ nữ mang thai"}


def broken(path, value):
    """The small hall mapping with one key replaced (``path`` like ``services.0.block``)."""
    mapping = small_hall_mapping()
    target = mapping
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is KeyError:
        del target[int(last) if last.isdigit() else last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return mapping


@pytest.mark.parametrize("path, value, message", [
    ("hall.name", KeyError, "hall.name: missing"),
    ("hall.timezone", "Mars/Base", "hall.timezone: unknown time zone 'Mars/Base'"),
    ("hall.colour", "red", "hall.colour: unknown key"),
    ("services.0.block", "abc", "services[0].block: expected \"START-END\" such as \"1001-1999\", got 'abc'"),
    ("services.0.block", "2000-1000", "services[0].block: expected 1 <= START < END"),
    ("services.0.block", "1001-1200", None),
    ("services.1.code", "HT", "services[1].code: duplicate 'HT'"),
    ("services.1.prefix", "bb", "services[1].prefix: expected one capital letter A-Z, got 'bb'"),
    ("services.1.daily_cap", 0, "services[1].daily_cap: must be at least 1, got 0"),
    ("services.1.daily_cap", "ten", "services[1].daily_cap: expected a whole number, got 'ten'"),
    ("counters.1.services", ["HT", "ZZ"], "counters[1].services: unknown service 'ZZ'"),
    ("counters.1.services", [], "counters[1].services: expected a non-empty list of service codes"),
    ("counters.2.number", 1, "counters[2].number: duplicate 1"),
    ("hours.monday", ["9h-11h"], "hours.monday[0]: expected \"HH:MM-HH:MM\", got '9h-11h'"),
    ("hours.monday", ["11:00-09:00"], "hours.monday[0]: ends before it starts: '11:00-09:00'"),
    ("hours.funday", [], "hours.funday: unknown key"),
    ("policy.priority_streak", 0, "policy.priority_streak: must be at least 1, got 0"),
    ("policy.max_recalls", True, "policy.max_recalls: expected a whole number, got True"),
    ("priorities.0.code", "1bad", "priorities[0].code: expected letters"),
])
def test_a_wrong_value_names_its_key(path, value, message):
    if message is None:
        parse_config(broken(path, value))
        return
    with pytest.raises(ConfigError) as error:
        parse_config(broken(path, value))
    assert str(error.value).startswith(message)


def test_overlapping_blocks_and_templates_are_refused():
    mapping = small_hall_mapping()
    mapping["services"].append({"code": "DD", "name": "Đất đai", "block": "1500-2500"})
    with pytest.raises(ConfigError, match=r"services\[\d\]\.block: number block overlaps service 'HT'"):
        parse_config(mapping)
    mapping = small_hall_mapping(announcement={"template": "Mời số {number} tới {quay}"})
    with pytest.raises(ConfigError, match=r"^announcement\.template: .*quay"):
        parse_config(mapping)
    with pytest.raises(ConfigError, match=r"^announcement\.dialect: expected one of north, south"):
        parse_config(small_hall_mapping(announcement={"dialect": "central"}))


def test_toml_syntax_errors_and_missing_files_are_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[hall\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    assert "bad.toml: TOML không hợp lệ" in error.value.message
    assert "bad.toml: invalid TOML: Expected ']'" in error.value.message_en
    with pytest.raises(ConfigError, match="missing.toml: không tìm thấy tệp"):
        load_config(tmp_path / "missing.toml")


def test_cli_init_applies_a_file_and_is_idempotent(tmp_path):
    db = tmp_path / "hall.db"
    hall_file = tmp_path / "hall.toml"
    hall_file.write_text(hall_toml(), encoding="utf-8")
    first = run_cli("init", "--config", str(hall_file), db=db)
    assert "UBND xã Thử Nghiệm" in first.stdout
    again = run_cli("init", db=db)
    assert "already initialised" in again.stdout
    run_cli("init", "--config", str(hall_file), db=db)
    from hallserver.store import open_store

    store = open_store(db)
    assert store.config().name == "UBND xã Thử Nghiệm"
    assert [s.code for s in store.config().services] == ["HT"]


def test_cli_init_with_a_wrong_file_names_the_key(tmp_path):
    hall_file = tmp_path / "hall.toml"
    hall_file.write_text(hall_toml(services=[dict(HT, block="x")]), encoding="utf-8")
    result = run_cli("init", "--config", str(hall_file), db=tmp_path / "hall.db", check=False)
    assert result.returncode == 2
    assert "services[0].block: expected \"START-END\"" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("variable, value, message", [
    ("HALL_RECENT_CALLS", "mười", "HALL_RECENT_CALLS: expected a whole number, got 'mười'"),
    ("HALL_TRUST_PROXY", "có", "HALL_TRUST_PROXY: expected true or false, got 'có'"),
    ("HALL_PRINTER", "usb:epson", "HALL_PRINTER:"),
])
def test_serve_with_a_wrong_setting_names_it_and_does_not_start(tmp_path, variable, value, message):
    """Not a Python traceback (a wrong number), nor a hub that starts and then fails every
    ticket's printing with the same alert all day (a wrong printer)."""
    db = tmp_path / "hall.db"
    run_cli("init", db=db)
    result = subprocess.run([HALLSERVER, "serve", "--host", "127.0.0.1", "--port", str(free_port())],
                            env=dict(os.environ, HALL_DB=str(db), **{variable: value}),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_reapplying_a_config_keeps_tickets_and_counter_states(store, hall):
    hall.issue_ticket("HT")
    hall.counter_action(1, "pause")
    store.apply_config(demo_config())
    assert hall.state()["services"][0]["waiting"] == 1
    assert hall.counter_state(1)["counter"]["status"] == "paused"


def test_settings_come_from_environment_and_overrides():
    from hallserver.settings import load_settings

    settings = load_settings({"db": "/x.db"}, environ={"HALL_MAX_BODY_BYTES": "2048", "HALL_DB": "/y.db"})
    assert settings["db"] == "/x.db" and settings["max_body_bytes"] == 2048
    with pytest.raises(ValueError, match="HALL_MAX_BODY_BYTES: expected a whole number"):
        load_settings(environ={"HALL_MAX_BODY_BYTES": "lots"})
    with pytest.raises(ValueError, match="unknown setting 'colour'"):
        load_settings({"colour": "red"}, environ={})
