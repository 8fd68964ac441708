"""Settings from the command line, the environment and a TOML file (in that precedence).

The token need never be on the command line (where ``ps`` shows it): ``HALL_COUNTER_TOKEN``
or ``token = "..."`` in the config file (default ``~/.config/hall-counter.toml``).
Every mistake is a ``ConfigError`` whose message names the key and where it came from.
"""

from __future__ import annotations

import argparse
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .commands import KeyMap, KeyMapError

INPUTS = ("terminal", "evdev")
ENVIRONMENT = {"hub": "HALL_HUB", "counter": "HALL_COUNTER", "token": "HALL_COUNTER_TOKEN"}
FILE_KEYS = ("hub", "counter", "token", "input", "device", "timeout", "ascii", "keys")
DEFAULT_TIMEOUT = 5.0


class ConfigError(Exception):
    """A setting the client cannot run with; the message names the key."""


@dataclass
class Settings:
    hub: str
    counter: int
    token: str
    keys: KeyMap = field(default_factory=KeyMap)
    input: str = "terminal"
    device: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    ascii: bool = False
    config_path: Path | None = None
    warnings: list[str] = field(default_factory=list)


def default_config_path(environ=os.environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".config")
    return Path(base) / "hall-counter.toml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hall-counter",
        description="Bàn phím quầy / counter keypad client for the Hall Queue hub. "
                    "Settings: command line > HALL_HUB, HALL_COUNTER, HALL_COUNTER_TOKEN > config file.")
    parser.add_argument("--hub", help="hub URL, e.g. http://192.168.1.10:5000 (env HALL_HUB)")
    parser.add_argument("--counter", help="counter number (env HALL_COUNTER)")
    parser.add_argument("--token", help="counter token from `hallserver token create --role counter --counter N` "
                                        "(prefer env HALL_COUNTER_TOKEN or the config file: ps shows arguments)")
    parser.add_argument("--config", help="TOML config file (default ~/.config/hall-counter.toml if present)")
    parser.add_argument("--input", choices=INPUTS, help="where keys come from (default terminal)")
    parser.add_argument("--device", help="evdev device, e.g. /dev/input/by-id/...-event-kbd (default: first keypad)")
    parser.add_argument("--timeout", help=f"seconds to wait for the hub per attempt (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--ascii", action="store_true", default=None,
                        help="Vietnamese without diacritics, for consoles whose font lacks them")
    parser.add_argument("--list-devices", action="store_true", help="list input devices for --device and exit")
    return parser


def load_settings(arguments: argparse.Namespace, environ=os.environ) -> Settings:
    """Merge the three sources; raise ConfigError naming the first bad or missing key."""
    file_values, path = _read_config_file(arguments.config, environ)
    warnings = []
    values = {}
    for name in ("hub", "counter", "token", "input", "device", "timeout", "ascii"):
        cli_value = getattr(arguments, name, None)
        if cli_value is not None:
            values[name] = _validate(name, cli_value, f"--{name}")
        elif name in ENVIRONMENT and environ.get(ENVIRONMENT[name]):
            values[name] = _validate(name, environ[ENVIRONMENT[name]], ENVIRONMENT[name])
        elif name in file_values:
            values[name] = _validate(name, file_values[name], f"{path}: {name}")
    keys = KeyMap()
    if "keys" in file_values:
        if not isinstance(file_values["keys"], dict):
            raise ConfigError(f"{path}: keys phải là bảng / must be a table: [keys]")
        try:
            keys = keys.with_overrides(file_values["keys"], where=f"{path}: [keys]")
        except KeyMapError as error:
            raise ConfigError(str(error)) from None
    for name in ("hub", "counter", "token"):
        if name not in values:
            raise ConfigError(f"thiếu / missing {name}: give --{name}, {ENVIRONMENT[name]} "
                              f"or `{name} = ...` in {path or default_config_path(environ)}")
    if path and "token" in file_values and _readable_by_others(path):
        warnings.append(f"{path} chứa token nhưng người khác đọc được / holds a token but is readable by "
                        f"others: chmod 600 {path}")
    return Settings(keys=keys, config_path=path, warnings=warnings, **values)


def _read_config_file(explicit: str | None, environ) -> tuple[dict, Path | None]:
    path = Path(explicit).expanduser() if explicit else default_config_path(environ)
    if not explicit and not path.is_file():
        return {}, None
    try:
        values = tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # Notepad may start it with a BOM
    except FileNotFoundError:
        raise ConfigError(f"{path}: không có tệp này / no such file") from None
    except OSError as error:
        raise ConfigError(f"{path}: không đọc được / cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: TOML không hợp lệ / invalid TOML: {error}") from None
    except UnicodeDecodeError:  # e.g. Notepad's "Unicode" (UTF-16)
        raise ConfigError(f"{path}: không phải văn bản UTF-8 / not UTF-8 text: lưu lại tệp với mã hóa UTF-8"
                          " / save it as UTF-8") from None
    for key in values:
        if key not in FILE_KEYS:
            raise ConfigError(f"{path}: khóa không hợp lệ / unknown key {key!r} (known: {', '.join(FILE_KEYS)})")
    return values, path


def _validate(name: str, value, where: str):
    """The setting ``name`` parsed from ``value`` (a string from the CLI or env, a TOML value)."""
    if name == "hub":
        if not isinstance(value, str) or not value.startswith(("http://", "https://")):
            raise ConfigError(f"{where}: cần URL http(s):// / must be an http:// or https:// URL, got {value!r}")
        return value.rstrip("/")
    if name == "counter":
        number = _integer(value)
        if number is None or number < 1:
            raise ConfigError(f"{where}: số quầy phải là số nguyên dương / must be a positive integer, got {value!r}")
        return number
    if name == "token":
        if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value.strip()):
            raise ConfigError(f"{where}: token không hợp lệ / must be one word (the line "
                              "`hallserver token create` printed)")
        return value.strip()
    if name == "input":
        if value not in INPUTS:
            raise ConfigError(f"{where}: phải là / must be one of {', '.join(INPUTS)}, got {value!r}")
        return value
    if name == "device":
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{where}: cần đường dẫn thiết bị / must be a device path, got {value!r}")
        return value
    if name == "timeout":
        seconds = _number(value)
        if seconds is None or not 0 < seconds <= 60:
            raise ConfigError(f"{where}: phải là số giây trong (0, 60] / must be seconds in (0, 60], got {value!r}")
        return seconds
    if name == "ascii":
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: phải là true hoặc false / must be true or false, got {value!r}")
        return value
    raise AssertionError(name)


def _integer(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False
