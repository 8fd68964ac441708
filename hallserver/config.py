"""Hall configuration: a TOML file validated into plain dataclasses.

``load_config(path)`` reads a file, ``parse_config(mapping)`` validates a mapping;
both raise ``ConfigError`` whose message names the key (``services[2].block: ...``).
``demo_config()`` is the built-in demo hall. The hub keeps the applied configuration
in its database (see ``store.apply_config``), so files are only read by ``init``.
"""

import math
import re
import tomllib
from dataclasses import MISSING, dataclass, field, fields
from datetime import date
from importlib import resources
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import voice
from .errors import ConfigError

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CODE_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,15}$")
BLOCK_PATTERN = re.compile(r"^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$")
PERIOD_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
DIALECTS = ("north", "south")
READINGS = ("whole", "digits")
REMOTE_ORDERS = ("equal", "walk_ins_first")
DUE_ORDERS = ("ahead", "after_priority", "equal")
TIME_PATTERN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DEFAULT_HOURS = ("07:30-11:30", "13:30-17:00")   # every day without its own line in [hours]
TABLES = {"hall", "hours", "policy", "announcement", "services", "counters", "priorities", "booking"}
HALL_KEYS = {"name", "name_en", "timezone", "hotline", "notices"}
SERVICE_KEYS = {"code", "name", "name_en", "description", "block", "prefix", "width", "daily_cap",
                "wait_target_minutes", "service_minutes", "booking_capacity"}
# (minimum, maximum) of the whole-number settings; their defaults are the dataclasses' own.
POLICY_RANGES = {
    "priority_streak": (1, 100),
    "max_recalls": (0, 10),
    "remote_per_phone": (0, 100),
    "remote_per_address": (0, 1000),
    "soon_ahead": (0, 100),
    "soon_minutes": (0, 240),
    "repeat_guard_seconds": (0, 60),
    "confirm_arrival_seconds": (0, 3600),
    "undo_seconds": (0, 300),
    "screen_silent_seconds": (1, 3600),
    "screen_lost_seconds": (1, 3600),
}
BOOKING_RANGES = {
    "slot_minutes": (5, 240),
    "capacity": (0, 1000),
    "days_ahead": (0, 90),
    "check_in_before_minutes": (0, 240),
    "check_in_after_minutes": (0, 240),
    "per_phone_per_service": (1, 100),
    "per_phone": (1, 100),
    "reminder_minutes_before": (0, 24 * 60),
    "retention_days": (1, 3650),
    "unverified_per_slot": (0, 1000),
    "verify_code_minutes": (1, 60),
    "verify_attempts": (1, 20),
    "verify_codes_per_hour": (1, 100),
}


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    name_en: str
    description: str = ""
    block_start: int = 1
    block_end: int = 999
    prefix: str = ""
    daily_cap: int | None = None
    wait_target_minutes: int = 30
    service_minutes: float = 5.0
    # Appointments per slot for this service; None: [booking] capacity, 0: not bookable.
    booking_capacity: int | None = None

    def format_number(self, value):
        """The ticket number as printed and shown: ``1003`` or ``A003``."""
        if self.prefix:
            return f"{self.prefix}{value:0{len(str(self.block_end))}d}"
        return str(value)


@dataclass(frozen=True)
class Counter:
    number: int
    name: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class Priority:
    code: str
    name: str
    name_en: str


@dataclass(frozen=True)
class Policy:
    priority_streak: int = 2
    max_recalls: int = 2
    # Numbers taken from home: caps per phone and per address per day, and their turn.
    remote_per_phone: int = 2
    remote_per_address: int = 5
    remote_order: str = "equal"  # "equal": by time taken, like everyone; "walk_ins_first"
    # The tracking page says "Sắp đến lượt" when this many or fewer are ahead.
    soon_ahead: int = 3
    # ...or when the estimate is this many minutes or fewer (0: by the position only).
    soon_minutes: int = 10
    # Minute of the day when unfinished tickets expire (None: at midnight).
    close_at: int | None = None
    # A "next" this soon after the counter's last call is a reflex double press: nothing changes.
    repeat_guard_seconds: int = 5
    # A "next" on a ticket called less than this ago and never started asks whether the
    # citizen came (done) or not (no-show), instead of counting them as served.
    confirm_arrival_seconds: int = 90
    # How long a counter may undo its last action.
    undo_seconds: int = 10
    # The dashboard alerts when a hall screen with working sound has not played a call made
    # this long ago ("silent"), and when a screen has not reported for this long ("fell off").
    screen_silent_seconds: int = 30
    screen_lost_seconds: int = 45


@dataclass(frozen=True)
class AnnouncementSettings:
    template: str = voice.DEFAULT_TEMPLATE
    dialect: str = "north"
    reading: str = "whole"
    second_language: str | None = None
    # a recall says its own words; a call is said twice (see voice.REPEATS); the regional voice
    # (accent) whose clip pack the screens play, independent of the dialect's words
    recall_template: str = voice.DEFAULT_RECALL_TEMPLATE
    repeat: str = "twice"
    voice: str = "vi"
    # browser screens cut off for a short time announce the calls they missed when these are
    # at most this many seconds old; older ones are only shown (0: never announce late)
    catchup_seconds: int = 20


@dataclass(frozen=True)
class BookingSettings:
    """Appointments: slots, capacity, the check-in window, caps, reminders, retention."""

    slot_minutes: int = 30
    capacity: int = 2                   # per slot and service; a service's booking_capacity overrides it
    days_ahead: int = 6                 # today and the next 6 days
    check_in_before_minutes: int = 30   # the kiosk accepts the booking this long before its slot...
    check_in_after_minutes: int = 15    # ...until this long after the slot starts; later it is a no-show
    due_order: str = "ahead"            # see DUE_ORDERS and docs/api.md "The call-next policy"
    per_phone_per_service: int = 1      # active bookings one phone may hold for one service
    per_phone: int = 3                  # active bookings one phone may hold in all
    rate_limit: str = "5 per minute;30 per hour"
    reminder_url: str = ""              # webhook for an SMS / Zalo gateway; empty: no reminders
    reminder_secret: str = ""           # signs each reminder (X-Hall-Signature); empty: unsigned
    reminder_day_before: int | None = 17 * 60   # minute of the previous day; None: no day-before reminder
    reminder_minutes_before: int = 60   # 0: no reminder shortly before
    retention_days: int = 90            # names and phones are deleted this long after the slot
    # Phone verification: with reminder_url set, a public booking needs a one-time code sent there.
    unverified_per_slot: int = 1        # without it: public bookings from unverified phones per slot and service
    verify_code_minutes: int = 10       # a code is good this long...
    verify_attempts: int = 5            # ...for this many wrong tries
    verify_codes_per_hour: int = 3      # codes sent to one phone per hour

    @property
    def appointments_first(self):
        """Whether a due appointment is called before walk-in tickets (what the pages promise):
        every ``due_order`` but ``"equal"``, which calls it in ticket order."""
        return self.due_order != "equal"


@dataclass(frozen=True)
class HallConfig:
    name: str
    name_en: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    hotline: str = ""
    # lines the hall screens show in their ticker
    notices: tuple[str, ...] = ()
    # day name -> tuple of (start_minute, end_minute) periods
    hours: dict = field(default_factory=dict)
    services: tuple[Service, ...] = ()
    counters: tuple[Counter, ...] = ()
    priorities: tuple[Priority, ...] = ()
    policy: Policy = Policy()
    announcement: AnnouncementSettings = AnnouncementSettings()
    # "YYYY-MM-DD" days without appointments (public holidays), sorted
    holidays: tuple[str, ...] = ()
    booking: BookingSettings = BookingSettings()

    @property
    def tz(self):
        return ZoneInfo(self.timezone)


def read_config_file(path):
    """A hall TOML file as its mapping (not yet validated)."""
    try:
        with open(path, "rb") as config_file:
            return tomllib.load(config_file)
    except FileNotFoundError:
        raise ConfigError(f"{path}: không tìm thấy tệp", f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: TOML không hợp lệ: {error}", f"{path}: invalid TOML: {error}") from None


def load_config(path):
    """Read and validate a hall TOML file."""
    return parse_config(read_config_file(path))


def demo_mapping():
    """The built-in demo hall as its TOML mapping."""
    return tomllib.loads(resources.files("hallserver").joinpath("demo_hall.toml").read_text("utf-8"))


def demo_config():
    """The built-in demo hall."""
    return parse_config(demo_mapping())


def _fail(key, problem):
    raise ConfigError(f"{key}: {problem}")


def _defaults(settings_class):
    """{field: default} of a config dataclass: the parser's defaults are stated there, once."""
    return {item.name: item.default for item in fields(settings_class) if item.default is not MISSING}


def _field_names(settings_class):
    """The keys a table for ``settings_class`` may hold: its fields."""
    return {item.name for item in fields(settings_class)}


def _table(mapping, key, required=False):
    value = mapping.get(key, None)
    if value is None:
        if required:
            _fail(key, "missing table")
        return {}
    if not isinstance(value, dict):
        _fail(key, f"expected a table, got {type(value).__name__}")
    return value


def _check_keys(mapping, prefix, allowed):
    for key in mapping:
        if key not in allowed:
            _fail(f"{prefix}{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")


def _text(mapping, key, prefix, required=True, default=""):
    value = mapping.get(key)
    if value is None:
        if required:
            _fail(f"{prefix}{key}", "missing")
        return default
    if not isinstance(value, str):
        _fail(f"{prefix}{key}", f"expected a string, got {type(value).__name__}")
    if required and not value.strip():
        _fail(f"{prefix}{key}", "must not be empty")
    return value.strip()


def _choice(mapping, key, prefix, default, choices):
    """An optional text that must be one of ``choices``."""
    value = _text(mapping, key, prefix, required=False, default=default)
    if value not in choices:
        _fail(f"{prefix}{key}", f"expected one of {', '.join(choices)}, got {value!r}")
    return value


# No number in a hall file needs more; a larger one would overflow SQLite's integers.
LARGEST_NUMBER = 10**9


def _integer(mapping, key, prefix, default=None, minimum=None, maximum=LARGEST_NUMBER):
    value = mapping.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _fail(f"{prefix}{key}", f"expected a whole number, got {value!r}")
    if minimum is not None and value < minimum:
        _fail(f"{prefix}{key}", f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        _fail(f"{prefix}{key}", f"must be at most {maximum}, got {value}")
    return value


def _number(mapping, key, prefix, default, minimum, maximum=LARGEST_NUMBER):
    value = mapping.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(f"{prefix}{key}", f"expected a number, got {value!r}")
    if not math.isfinite(value):   # nan or inf would take every estimate down with it
        _fail(f"{prefix}{key}", f"expected a finite number, got {value!r}")
    if value < minimum:
        _fail(f"{prefix}{key}", f"must be at least {minimum}, got {value}")
    if value > maximum:
        _fail(f"{prefix}{key}", f"must be at most {maximum}, got {value}")
    return float(value)


def _code(mapping, prefix):
    code = _text(mapping, "code", prefix)
    if not CODE_PATTERN.match(code):
        _fail(f"{prefix}code", f"expected letters, digits, '-' or '_' starting with a letter, got {code!r}")
    return code


def _time_of_day(mapping, key, prefix, default):
    """``"17:00"`` → 1020 minutes; an empty string → None (turned off); no key → ``default``."""
    if key not in mapping:
        return default
    value = mapping[key]
    if value in ("", None):
        return None
    match = TIME_PATTERN.match(value) if isinstance(value, str) else None
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        _fail(f"{prefix}{key}", f"expected \"HH:MM\" or \"\" (off), got {value!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def _parse_list(mapping, key, parse_item):
    items = mapping.get(key, [])
    if not isinstance(items, list):
        _fail(key, f"expected an array of tables ([[{key}]]), got {type(items).__name__}")
    parsed = []
    for index, item in enumerate(items):
        prefix = f"{key}[{index}]."
        if not isinstance(item, dict):
            _fail(f"{key}[{index}]", f"expected a table, got {item!r}")
        parsed.append(parse_item(item, prefix))
    return tuple(parsed)


def _unique(items, attribute, key):
    seen = set()
    for index, item in enumerate(items):
        value = getattr(item, attribute)
        if value in seen:
            _fail(f"{key}[{index}].{attribute}", f"duplicate {value!r}")
        seen.add(value)


# ---------------------------------------------------------------------------
# One function per table


def _parse_notices(hall):
    notices = hall.get("notices", [])
    if not isinstance(notices, list) or not all(isinstance(line, str) and len(line) <= 300 for line in notices):
        _fail("hall.notices", "expected a list of texts (at most 300 characters each)")
    return tuple(line.strip() for line in notices if line.strip())


def _parse_timezone(hall):
    timezone = _text(hall, "timezone", "hall.", required=False, default=_defaults(HallConfig)["timezone"])
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        _fail("hall.timezone", f"unknown time zone {timezone!r}")
    return timezone


def parse_periods(value, key):
    """``["07:30-11:30", "13:30-17:00"]`` → ((450, 690), (810, 1020))."""
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        _fail(key, f"expected a list of \"HH:MM-HH:MM\" periods, got {value!r}")
    periods = []
    for index, period in enumerate(value):
        match = PERIOD_PATTERN.match(period) if isinstance(period, str) else None
        if not match:
            _fail(f"{key}[{index}]", f"expected \"HH:MM-HH:MM\", got {period!r}")
        start_hour, start_minute, end_hour, end_minute = map(int, match.groups())
        start = start_hour * 60 + start_minute
        end = end_hour * 60 + end_minute
        if start_minute > 59 or end_minute > 59 or start > 24 * 60 or end > 24 * 60:
            _fail(f"{key}[{index}]", f"not a time of day: {period!r}")
        if end <= start:
            _fail(f"{key}[{index}]", f"ends before it starts: {period!r}")
        periods.append((start, end))
    return tuple(sorted(periods))


def _parse_hours(hours):
    _check_keys(hours, "hours.", set(DAYS) | {"default", "holidays"})
    default = parse_periods(hours.get("default", list(DEFAULT_HOURS)), "hours.default")
    return {day: parse_periods(hours[day], f"hours.{day}") if day in hours else default for day in DAYS}


def _parse_holidays(hours):
    """``holidays = ["2026-09-02", ...]`` → a sorted tuple of ISO dates."""
    value = hours.get("holidays", [])
    if not isinstance(value, list):
        _fail("hours.holidays", f"expected a list of \"YYYY-MM-DD\" dates, got {value!r}")
    days = set()
    for index, day in enumerate(value):
        if isinstance(day, date):   # TOML's bare dates: holidays = [2026-09-02]
            day = day.isoformat()
        try:
            if not isinstance(day, str) or not DATE_PATTERN.match(day):
                raise ValueError
            date.fromisoformat(day)
        except ValueError:
            _fail(f"hours.holidays[{index}]", f"expected a date \"YYYY-MM-DD\", got {day!r}")
        days.add(day)
    return tuple(sorted(days))


def _service_block(mapping, prefix):
    """(prefix letter, block start, block end) from ``block = "START-END"`` or ``prefix`` + ``width``."""
    if "block" in mapping and "prefix" in mapping:
        _fail(f"{prefix}block", "give either block = \"START-END\" or prefix + width, not both")
    if "prefix" in mapping:
        letter = _text(mapping, "prefix", prefix)
        if not re.fullmatch(r"[A-Z]", letter):
            _fail(f"{prefix}prefix", f"expected one capital letter A-Z, got {letter!r}")
        width = _integer(mapping, "width", prefix, default=3, minimum=1, maximum=4)
        return letter, 1, 10**width - 1
    if "width" in mapping:
        _fail(f"{prefix}width", "only used with prefix")
    block = mapping.get("block")
    if block is None:
        _fail(f"{prefix}block", "missing (e.g. block = \"1001-1999\" or prefix = \"A\")")
    match = BLOCK_PATTERN.match(block) if isinstance(block, str) else None
    if not match:
        _fail(f"{prefix}block", f"expected \"START-END\" such as \"1001-1999\", got {block!r}")
    block_start, block_end = map(int, match.groups())
    if block_start < 1 or block_end <= block_start:
        _fail(f"{prefix}block", f"expected 1 <= START < END, got {block!r}")
    return "", block_start, block_end


def _parse_service(mapping, prefix):
    _check_keys(mapping, prefix, SERVICE_KEYS)
    defaults = _defaults(Service)
    code = _code(mapping, prefix)
    name = _text(mapping, "name", prefix)
    name_en = _text(mapping, "name_en", prefix, required=False, default=name)
    description = _text(mapping, "description", prefix, required=False, default=defaults["description"])
    letter, block_start, block_end = _service_block(mapping, prefix)
    daily_cap = _integer(mapping, "daily_cap", prefix, default=defaults["daily_cap"], minimum=1)
    return Service(
        code=code, name=name, name_en=name_en, description=description,
        block_start=block_start, block_end=block_end, prefix=letter, daily_cap=daily_cap,
        wait_target_minutes=_integer(mapping, "wait_target_minutes", prefix,
                                     default=defaults["wait_target_minutes"], minimum=1),
        service_minutes=_number(mapping, "service_minutes", prefix, default=defaults["service_minutes"], minimum=0.5),
        booking_capacity=_integer(mapping, "booking_capacity", prefix, default=defaults["booking_capacity"],
                                  minimum=0, maximum=1000),
    )


def _check_blocks_do_not_overlap(services):
    """Services with the same prefix (or none) need number blocks that do not overlap."""
    blocks = sorted(
        ((service.prefix, service.block_start, service.block_end, index) for index, service in enumerate(services))
    )
    for previous, current in pairwise(blocks):
        if previous[0] == current[0] and current[1] <= previous[2]:
            other = services[previous[3]].code
            what = f"prefix {current[0]!r}" if current[0] else "number block"
            _fail(f"services[{current[3]}].block", f"{what} overlaps service {other!r}")


def _parse_services(mapping):
    services = _parse_list(mapping, "services", _parse_service)
    if not services:
        _fail("services", "at least one [[services]] is needed")
    _unique(services, "code", "services")
    _check_blocks_do_not_overlap(services)
    return services


def _parse_counter(item, prefix, service_codes):
    _check_keys(item, prefix, _field_names(Counter))
    number = _integer(item, "number", prefix, minimum=1, maximum=999)
    if number is None:
        _fail(f"{prefix}number", "missing")
    served = item.get("services")
    if not isinstance(served, list) or not served or not all(isinstance(code, str) for code in served):
        _fail(f"{prefix}services", "expected a non-empty list of service codes")
    for code in served:
        if code not in service_codes:
            _fail(f"{prefix}services", f"unknown service {code!r}")
    if len(set(served)) != len(served):
        _fail(f"{prefix}services", "lists a service twice")
    name = _text(item, "name", prefix, required=False, default=f"Quầy {number}")
    return Counter(number=number, name=name, services=tuple(served))


def _parse_counters(mapping, services):
    service_codes = {service.code for service in services}
    counters = _parse_list(mapping, "counters", lambda item, prefix: _parse_counter(item, prefix, service_codes))
    if not counters:
        _fail("counters", "at least one [[counters]] is needed")
    _unique(counters, "number", "counters")
    return counters


def _parse_priority(item, prefix):
    _check_keys(item, prefix, _field_names(Priority))
    name = _text(item, "name", prefix)
    return Priority(code=_code(item, prefix), name=name, name_en=_text(item, "name_en", prefix, False, name))


def _parse_priorities(mapping):
    priorities = _parse_list(mapping, "priorities", _parse_priority)
    _unique(priorities, "code", "priorities")
    return priorities


def _whole(table, key, prefix, defaults, ranges):
    """A whole-number setting: its default from ``defaults``, its bounds from ``ranges`` ({key: (min, max)})."""
    minimum, maximum = ranges[key]
    return _integer(table, key, prefix, default=defaults[key], minimum=minimum, maximum=maximum)


def _whole_numbers(table, prefix, defaults, ranges):
    """{key: value} of every whole-number setting in ``ranges``, read in its order."""
    return {key: _whole(table, key, prefix, defaults, ranges) for key in ranges}


def _parse_policy(table):
    prefix = "policy."
    _check_keys(table, prefix, _field_names(Policy))
    defaults = _defaults(Policy)
    remote_order = _choice(table, "remote_order", prefix, defaults["remote_order"], REMOTE_ORDERS)
    return Policy(
        **_whole_numbers(table, prefix, defaults, POLICY_RANGES),
        remote_order=remote_order,
        close_at=_time_of_day(table, "close_at", prefix, defaults["close_at"]),
    )


def _parse_spoken(table, prefix, defaults):
    """The recall template, the repeat and the regional voice of ``[announcement]``."""
    recall_template = _text(table, "recall_template", prefix, required=False, default=defaults["recall_template"])
    problem = voice.template_error(recall_template)
    if problem:
        _fail(f"{prefix}recall_template", problem)
    return {"recall_template": recall_template,
            "repeat": _choice(table, "repeat", prefix, defaults["repeat"], voice.REPEATS),
            "voice": _choice(table, "voice", prefix, defaults["voice"], voice.VOICES)}


def _parse_announcement(table):
    prefix = "announcement."
    _check_keys(table, prefix, _field_names(AnnouncementSettings))
    defaults = _defaults(AnnouncementSettings)
    template = _text(table, "template", prefix, required=False, default=defaults["template"])
    problem = voice.template_error(template)
    if problem:
        _fail(f"{prefix}template", problem)
    dialect = _choice(table, "dialect", prefix, defaults["dialect"], DIALECTS)
    reading = _choice(table, "reading", prefix, defaults["reading"], READINGS)
    second_language = _text(table, "second_language", prefix, required=False,
                            default=defaults["second_language"]) or None
    if second_language not in (None, "en"):
        _fail(f"{prefix}second_language", f"expected \"en\" or empty, got {second_language!r}")
    spoken = _parse_spoken(table, prefix, defaults)
    return AnnouncementSettings(template, dialect, reading, second_language, **spoken,
                                catchup_seconds=_integer(table, "catchup_seconds", prefix,
                                                         defaults["catchup_seconds"], minimum=0, maximum=600))


def _parse_rate_limit(table, prefix, default):
    rate_limit = _text(table, "rate_limit", prefix, required=False, default=default)
    try:
        from limits import parse_many

        parse_many(rate_limit)
    except ValueError:
        _fail(f"{prefix}rate_limit", f"expected limits such as \"5 per minute;30 per hour\", got {rate_limit!r}")
    return rate_limit


def _parse_booking(table):
    prefix = "booking."
    _check_keys(table, prefix, _field_names(BookingSettings))
    defaults = _defaults(BookingSettings)
    due_order = _choice(table, "due_order", prefix, defaults["due_order"], DUE_ORDERS)
    rate_limit = _parse_rate_limit(table, prefix, defaults["rate_limit"])
    reminder_url = _text(table, "reminder_url", prefix, required=False, default=defaults["reminder_url"])
    if reminder_url and not re.match(r"^https?://[^\s/]+", reminder_url):
        _fail(f"{prefix}reminder_url", f"expected an http:// or https:// address, got {reminder_url!r}")

    def whole(key):
        return _whole(table, key, prefix, defaults, BOOKING_RANGES)

    return BookingSettings(   # read in this order so the first of several errors reported stays the same
        slot_minutes=whole("slot_minutes"),
        capacity=whole("capacity"),
        days_ahead=whole("days_ahead"),
        check_in_before_minutes=whole("check_in_before_minutes"),
        check_in_after_minutes=whole("check_in_after_minutes"),
        due_order=due_order,
        per_phone_per_service=whole("per_phone_per_service"),
        per_phone=whole("per_phone"),
        rate_limit=rate_limit,
        reminder_url=reminder_url,
        reminder_secret=_text(table, "reminder_secret", prefix, required=False, default=defaults["reminder_secret"]),
        reminder_day_before=_time_of_day(table, "reminder_day_before", prefix, defaults["reminder_day_before"]),
        reminder_minutes_before=whole("reminder_minutes_before"),
        retention_days=whole("retention_days"),
        unverified_per_slot=whole("unverified_per_slot"),
        verify_code_minutes=whole("verify_code_minutes"),
        verify_attempts=whole("verify_attempts"),
        verify_codes_per_hour=whole("verify_codes_per_hour"),
    )


def parse_config(mapping):
    """Validate a mapping (parsed TOML) into a HallConfig, table by table.

    The tables are checked in a fixed order (the [hall] texts last) so that a mapping with
    several mistakes always reports the same first one.
    """
    _check_keys(mapping, "", TABLES)
    hall = _table(mapping, "hall", required=True)
    _check_keys(hall, "hall.", HALL_KEYS)
    notices = _parse_notices(hall)
    timezone = _parse_timezone(hall)
    services = _parse_services(mapping)
    counters = _parse_counters(mapping, services)
    priorities = _parse_priorities(mapping)
    policy = _parse_policy(_table(mapping, "policy"))
    announcement = _parse_announcement(_table(mapping, "announcement"))
    return HallConfig(
        name=_text(hall, "name", "hall."),
        name_en=_text(hall, "name_en", "hall.", required=False),
        timezone=timezone,
        hotline=_text(hall, "hotline", "hall.", required=False),
        notices=notices,
        hours=_parse_hours(_table(mapping, "hours")),
        holidays=_parse_holidays(_table(mapping, "hours")),
        services=services,
        counters=counters,
        priorities=priorities,
        policy=policy,
        announcement=announcement,
        booking=_parse_booking(_table(mapping, "booking")),
    )
