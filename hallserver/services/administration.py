"""Editing the hall while it runs: form fields onto the hall's TOML mapping, validated
by the same ``parse_config`` that checks files, so a wrong value gets the same message
naming its key (``services[2].daily_cap: must be at least 1, got 0``).

Plain Python; the admin pages (``web/pages/admin.py``) are the edge, and ``Hall`` applies
each change with its audit event (:data:`AUDIT_EVENTS`). Form field names carry their kind
and their key path: ``int:services.2.daily_cap``, ``text:hall.name``,
``list:counters.0.services`` (comma separated), ``lines:hall.notices`` (one per line),
``periods:hours.monday`` ("07:30-11:30, 13:30-17:00"), ``float:services.0.service_minutes``.
An empty optional number removes the key (back to its default).
"""

import copy

from ..errors import ConfigError

KINDS = ("text", "int", "float", "list", "lines", "periods")
# The events that record an admin's change (``data.by`` names the admin).
AUDIT_EVENTS = ("config_changed", "user_changed", "token_changed", "day_closed")


def _convert(kind, raw, name):
    raw = raw.strip() if isinstance(raw, str) else raw
    if kind == "text":
        return raw
    if kind in ("int", "float"):
        if raw == "":
            return None
        try:
            return int(raw) if kind == "int" else float(raw)
        except ValueError:
            raise ConfigError(f"{name}: cần một số, nhận {raw!r}", f"{name}: expected a number, got {raw!r}") from None
    if kind in ("list", "periods"):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    raise ConfigError(f"{name}: loại trường không rõ {kind!r}", f"{name}: unknown field kind {kind!r}")


def _path(dotted):
    return [int(part) if part.isdigit() else part for part in dotted.split(".")]


def set_value(mapping, dotted, value):
    """Set ``a.2.b`` in nested dicts/lists; None removes the key."""
    *parents, last = _path(dotted)
    target = mapping
    for part in parents:
        if isinstance(part, int):
            if not isinstance(target, list) or part >= len(target):
                raise ConfigError(f"{dotted}: không có mục số {part}", f"{dotted}: no item {part}")
            target = target[part]
        else:
            target = target.setdefault(part, {})
    if value is None:
        if isinstance(target, dict):
            target.pop(last, None)
    else:
        target[last] = value


def apply_fields(mapping, fields):
    """A copy of ``mapping`` with every ``kind:path`` form field applied."""
    edited = copy.deepcopy(mapping)
    for name, raw in fields.items():
        kind, _, dotted = name.partition(":")
        if kind not in KINDS or not dotted:
            continue  # csrf_token, buttons and other plain fields
        set_value(edited, dotted, _convert(kind, raw, dotted))
    return edited


def add_item(mapping, list_key, item):
    """A copy of ``mapping`` with ``item`` appended to the array of tables ``list_key``."""
    edited = copy.deepcopy(mapping)
    edited.setdefault(list_key, []).append({key: value for key, value in item.items() if value not in (None, "", [])})
    return edited


def remove_item(mapping, list_key, index):
    """A copy of ``mapping`` without item ``index`` of ``list_key``."""
    edited = copy.deepcopy(mapping)
    items = edited.get(list_key, [])
    if not 0 <= index < len(items):
        raise ConfigError(f"{list_key}[{index}]: không có mục này", f"{list_key}[{index}]: no such item")
    del items[index]
    return edited


def describe_change(before, after, prefix=""):
    """Short human lines saying which keys changed (for the audit log)."""
    changes = []
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            changes += describe_change(before.get(key), after.get(key), f"{prefix}{key}.")
    elif isinstance(before, list) and isinstance(after, list) and all(isinstance(x, dict) for x in before + after):
        if len(before) != len(after):
            changes.append(f"{prefix.rstrip('.')}: {len(before)} → {len(after)}")
        for index, (old, new) in enumerate(zip(before, after, strict=False)):
            changes += describe_change(old, new, f"{prefix.rstrip('.')}[{index}].")
    elif before != after:
        changes.append(f"{prefix.rstrip('.')}: {before!r} → {after!r}")
    return changes


def audit_log(db, limit):
    """The latest ``limit`` audit events (``seq``, ``at``, ``type``, ``data``), newest first."""
    placeholders = ", ".join("?" * len(AUDIT_EVENTS))
    return list(db.query(f"SELECT seq, at, type, data FROM events WHERE type IN ({placeholders}) "
                         "ORDER BY seq DESC LIMIT ?", [*AUDIT_EVENTS, limit]))
