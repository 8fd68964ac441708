"""Procedures (thủ tục hành chính): what a citizen comes for, what to bring, what it costs.

Plain Python on the store. Each procedure belongs to one service of the hall; its details
(who may file, documents, fee, processing time, result, online filing, legal basis,
search keywords) are one JSON object. Search is accent-insensitive: "dang ky khai sinh"
finds "Đăng ký khai sinh" (đ folds to d). Files are TOML (``[[procedures]]``) or JSON (a
list, or ``{"procedures": [...]}``) and are refused with the key that is wrong, like a hall file.
"""

import json
import re
import tomllib
import unicodedata
from importlib import resources
from pathlib import Path

from ..config import _check_keys, _code, _fail, _text
from ..errors import ConfigError, NotFound
from .events import Outcome

DETAIL_TEXTS = ("who", "fee", "processing_time", "result", "online_url", "online_note")
DETAIL_LISTS = ("documents", "legal_basis", "keywords")
KEYS = {"code", "name", "name_en", "service", "active", *DETAIL_TEXTS, *DETAIL_LISTS}
TEXT_MAX = 2000


def fold(text):
    """Lower case without diacritics, words separated by one space: "Đăng ký" → "dang ky"."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", bare.lower()))


# -- parsing ------------------------------------------------------------------------------

def parse_procedure(mapping, prefix, service_codes):
    """One procedure mapping → ``{"code", "service", "name", "name_en", "active", "details"}``."""
    if not isinstance(mapping, dict):
        _fail(prefix.rstrip("."), f"expected a table, got {mapping!r}")
    _check_keys(mapping, prefix, KEYS)
    code = _code(mapping, prefix)
    name = _text(mapping, "name", prefix)
    service = _text(mapping, "service", prefix)
    if service not in service_codes:
        _fail(f"{prefix}service", f"unknown service {service!r} (the hall has {', '.join(sorted(service_codes))})")
    details = {}
    for key in DETAIL_TEXTS:
        value = _text(mapping, key, prefix, required=False)
        if len(value) > TEXT_MAX:
            _fail(f"{prefix}{key}", f"at most {TEXT_MAX} characters")
        details[key] = value
    if details["online_url"] and not re.match(r"^https?://\S+$", details["online_url"]):
        _fail(f"{prefix}online_url", f"expected an http:// or https:// address, got {details['online_url']!r}")
    for key in DETAIL_LISTS:
        value = mapping.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            _fail(f"{prefix}{key}", "expected a list of non-empty strings")
        if any(len(item) > TEXT_MAX for item in value):
            _fail(f"{prefix}{key}", f"each item at most {TEXT_MAX} characters")
        details[key] = [item.strip() for item in value]
    active = mapping.get("active", True)
    if not isinstance(active, bool):
        _fail(f"{prefix}active", f"expected true or false, got {active!r}")
    return {"code": code, "service": service, "name": name,
            "name_en": _text(mapping, "name_en", prefix, required=False, default=name) or name,
            "active": active, "details": details}


def parse_procedures(data, service_codes):
    """A parsed file (``{"procedures": [...]}`` or a bare list) → a list of procedures."""
    if isinstance(data, dict):
        _check_keys(data, "", {"procedures"})
        data = data.get("procedures", [])
    if not isinstance(data, list):
        _fail("procedures", f"expected a list of procedures, got {type(data).__name__}")
    procedures = [parse_procedure(item, f"procedures[{index}].", service_codes) for index, item in enumerate(data)]
    seen = set()
    for index, procedure in enumerate(procedures):
        if procedure["code"] in seen:
            _fail(f"procedures[{index}].code", f"duplicate {procedure['code']!r}")
        seen.add(procedure["code"])
    return procedures


def read_procedures_file(path, service_codes):
    """Read a TOML or JSON procedures file (by its extension)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: không tìm thấy tệp", f"{path}: file not found") from None
    try:
        data = json.loads(raw) if path.suffix.lower() == ".json" else tomllib.loads(raw.decode("utf-8"))
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: tệp không hợp lệ: {error}", f"{path}: not valid: {error}") from None
    return parse_procedures(data, service_codes)


def demo_procedures(service_codes):
    """The demo hall's commune-level procedures (``hallserver/procedures_demo.toml``)."""
    text = resources.files("hallserver").joinpath("procedures_demo.toml").read_text("utf-8")
    return parse_procedures(tomllib.loads(text), service_codes)


# -- the store ------------------------------------------------------------------------------

def _service_codes(config):
    return {service.code for service in config.services}


def save_procedures(db, config, *, procedures, now, replace=False):
    """Insert or update procedures in the given order; with ``replace``, hide every other one."""
    if replace:
        db.execute("UPDATE procedures SET active = 0")
    for position, procedure in enumerate(procedures):
        _store(db, procedure, position, now)
    return Outcome(len(procedures), [])


def _store(db, procedure, position, now):
    db["procedures"].upsert({
        "code": procedure["code"], "service": procedure["service"], "name": procedure["name"],
        "name_en": procedure["name_en"], "details": json.dumps(procedure["details"], ensure_ascii=False),
        "position": position, "active": int(procedure["active"]), "updated_at": now,
    }, pk="code")


def upsert_procedure(db, config, *, data, now):
    """Create or edit one procedure (the admin page and API); a new one goes last."""
    procedure = parse_procedure(data, "", _service_codes(config))
    row = db.execute("SELECT position FROM procedures WHERE code = ?", [procedure["code"]]).fetchone()
    position = row[0] if row else db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM procedures").fetchone()[0]
    _store(db, procedure, position, now)
    return Outcome(procedure_view(config, _row(db, procedure["code"])), [])


def has_procedures(db):
    return db.execute("SELECT 1 FROM procedures LIMIT 1").fetchone() is not None


def _row(db, code):
    rows = list(db.query("SELECT * FROM procedures WHERE code = ?", [code]))
    return rows[0] if rows else None


def procedure_view(config, row):
    """What anyone may read about a procedure (it holds no personal data)."""
    service = next((s for s in config.services if s.code == row["service"]), None)
    return {
        "code": row["code"], "name": row["name"], "name_en": row["name_en"] or row["name"],
        "service": row["service"], "service_name": service.name if service else row["service"],
        "service_name_en": service.name_en if service else row["service"],
        "active": bool(row["active"]),
        **{key: value for key, value in json.loads(row["details"]).items() if key in (*DETAIL_TEXTS, *DETAIL_LISTS)},
    }


def find_procedure(db, config, code, *, include_hidden=False):
    """One procedure by its code, or NotFound (hidden ones only with ``include_hidden``)."""
    row = _row(db, code) if isinstance(code, str) else None
    if row is None or (not include_hidden and not (row["active"] and row["service"] in _service_codes(config))):
        raise NotFound(f"Không có thủ tục {code!r}", f"Unknown procedure {code!r}", code="unknown_procedure")
    return procedure_view(config, row)


def search_procedures(db, config, query="", *, service=None, include_hidden=False):
    """Procedures whose name, keywords, service or code contain every word of ``query``,
    accents ignored; a name containing the whole query ranks first, then the hall's order."""
    words = fold(query).split()
    whole = " ".join(words)
    found = []
    for row in db.query("SELECT * FROM procedures ORDER BY position, code"):
        view = procedure_view(config, row)
        if not include_hidden and not (view["active"] and view["service"] in _service_codes(config)):
            continue
        if service and view["service"] != service:
            continue
        name = fold(f"{view['name']} {view['name_en']}")
        haystack = fold(" ".join([view["name"], view["name_en"], view["code"], view["service_name"],
                                  *view.get("keywords", [])]))
        if not all(word in haystack for word in words):
            continue
        rank = 0 if whole and whole in name else 1 if all(word in name for word in words) else 2
        found.append((rank, view))
    found.sort(key=lambda pair: pair[0])
    return [view for _, view in found]
