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
import re

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
        # Said like the hall file's own refusals, which the admin page puts in words with the box's label.
        wrong = ConfigError(f"{key_text(name)}: expected {'a whole number' if kind == 'int' else 'a number'}, "
                            f"got {raw!r}")
        if not raw.isascii():   # int() would take "١٢" and "１２"; numbers from people are ASCII digits
            raise wrong
        try:
            return int(raw) if kind == "int" else float(raw)
        except ValueError:
            raise wrong from None
    if kind in ("list", "periods"):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    raise ConfigError(f"{name}: loại trường không rõ {kind!r}", f"{name}: unknown field kind {kind!r}")


KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INDEX = re.compile(r"[0-9]{1,9}")   # ASCII digits only: "²" and "٣" are not item numbers


def _no_field(dotted, vietnamese, english):
    return ConfigError(f"Chưa lưu: trường «{dotted}» không có trong cấu hình ({vietnamese})",
                       f"{dotted}: no such field in the hall's configuration ({english})")


def _path(dotted):
    """``a.2.b`` (or ``a[2].b``) as keys and item numbers; anything else is refused naming the field."""
    parts = re.sub(r"\[([^\]]*)\]", r".\1", dotted).split(".")
    for part in parts:
        if part.isascii() and part.isdigit() and not INDEX.fullmatch(part):
            raise ConfigError(f"Chưa lưu: trường «{dotted}»: không có mục số {part}", f"{dotted}: no item {part}")
        if not (KEY.fullmatch(part) or INDEX.fullmatch(part)):
            raise _no_field(dotted, f"phần {part!r} không phải tên hay số thứ tự",
                            f"{part!r} is neither a key nor an item number")
    return [int(part) if INDEX.fullmatch(part) else part for part in parts]


def _step(target, part, dotted, create):
    """The child ``part`` of a table or list, refused naming the field when there is none."""
    if isinstance(target, list):
        if not isinstance(part, int):
            raise _no_field(dotted, f"cần số thứ tự của mục, nhận {part!r}", f"expected an item number, got {part!r}")
        if part >= len(target):
            raise ConfigError(f"Chưa lưu: trường «{dotted}»: không có mục số {part}", f"{dotted}: no item {part}")
        return target[part]
    if isinstance(part, int):
        raise _no_field(dotted, f"không phải danh sách, không có mục số {part}", f"not a list, no item {part}")
    return target.setdefault(part, {}) if create else target.get(part)


def set_value(mapping, dotted, value):
    """Set ``a.2.b`` in nested dicts/lists; None removes the key. A path that does not fit
    the hall's shape (an item that is not there, a key inside a plain value, ``a..b``,
    ``counters.-1``) is a :class:`ConfigError` naming the field, never a crash."""
    *parents, last = _path(dotted)
    target = mapping
    for part in parents:
        target = _step(target, part, dotted, create=True)
        if not isinstance(target, dict | list):
            raise _no_field(dotted, "phần trước nó là một giá trị, không phải bảng", "a plain value has no fields")
    if isinstance(target, list):
        _step(target, last, dotted, create=False)   # the item must be there
        if value is None:
            raise ConfigError(f"Chưa lưu: trường «{dotted}» không được để trống", f"{dotted}: cannot be empty")
        target[last] = value
    elif isinstance(last, int):
        raise _no_field(dotted, f"không phải danh sách, không có mục số {last}", f"not a list, no item {last}")
    elif value is None:
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


def get_value(mapping, dotted):
    """The value at ``a.2.b`` in nested dicts/lists, None where there is none."""
    target = mapping
    for part in _path(dotted):
        if isinstance(target, list) and isinstance(part, int) and part < len(target):
            target = target[part]
        elif isinstance(target, dict) and not isinstance(part, int):
            target = target.get(part)
        else:
            return None
    return target


# What names an item of a list, whatever its row number (another admin's removal shifts the rows).
ITEM_KEYS = {"services": "code", "counters": "number", "priorities": "code"}


def key_text(dotted):
    """A form field's key path as the hall file's messages write it: ``services[1].name``."""
    return re.sub(r"\.(\d+)", r"[\1]", dotted)


def _shown(value):
    """A value as the admin typed or saw it: ``07:30-11:30, 13:30-17:00``, ``—`` for none."""
    if _blank(value):
        return "—"
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _blank(value):
    return value in (None, "", [])


def _same(first, second):
    return first == second or (_blank(first) and _blank(second))


def check_item_unmoved(current, shown, list_key, index):
    """Refuse (naming the item) when row ``index`` of ``list_key`` is no longer the item the
    admin's page showed there: someone removed or added one meanwhile."""
    key = ITEM_KEYS.get(list_key)
    if key is None:
        return
    was, now = get_value(shown, f"{list_key}.{index}.{key}"), get_value(current, f"{list_key}.{index}.{key}")
    if was != now:
        raise ConfigError(f"Chưa lưu: danh sách vừa được người khác thay đổi sau khi bạn mở trang; dòng bạn sửa "
                          f"là của «{_shown(was)}», nay là của «{_shown(now)}». Hãy xem lại danh sách rồi làm lại.",
                          f"{list_key}[{index}]: the list changed since this page was opened (the row of "
                          f"{_shown(was)} is now {_shown(now)}'s); look again and redo", code="rows_moved")


def apply_edits(current, shown, fields):
    """``current`` with the form fields this admin changed from what their page ``shown``, so
    another admin's change saved meanwhile to a field left as it was stays. A field both
    changed, to different values, is refused naming it: no change is silently undone."""
    changed = {}
    for name, raw in fields.items():
        kind, _, dotted = name.partition(":")
        if kind not in KINDS or not dotted:
            continue
        value, was = _convert(kind, raw, dotted), get_value(shown, dotted)
        if _same(value, was):
            continue   # left as the page showed it
        parts = _path(dotted)
        if len(parts) > 1 and isinstance(parts[1], int):
            check_item_unmoved(current, shown, parts[0], parts[1])
        now = get_value(current, dotted)
        if not _same(now, was) and not _same(now, value):
            raise ConfigError(f"{key_text(dotted)}: changed by someone else since this page was opened to "
                              f"{_shown(now)} (typed {_shown(value)})")
        changed[name] = raw
    return apply_fields(current, changed)


def _items(mapping, list_key):
    """The array of tables ``list_key`` of ``mapping`` (created empty), refused when it is not one."""
    items = mapping.setdefault(list_key, []) if KEY.fullmatch(list_key or "") else None
    if not isinstance(items, list):
        raise ConfigError(f"Chưa lưu: «{list_key or 'list'}» không phải danh sách mục (như services, counters)",
                          f"{list_key or 'list'}: not an array of tables (such as services, counters)")
    return items


def add_item(mapping, list_key, item):
    """A copy of ``mapping`` with ``item`` appended to the array of tables ``list_key``."""
    edited = copy.deepcopy(mapping)
    _items(edited, list_key).append({key: value for key, value in item.items() if value not in (None, "", [])})
    return edited


def remove_item(mapping, list_key, index):
    """A copy of ``mapping`` without item ``index`` of ``list_key``."""
    edited = copy.deepcopy(mapping)
    items = _items(edited, list_key)
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
