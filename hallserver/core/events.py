"""The append-only event log: every change gets a hall-wide, increasing ``seq``."""

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    seq: int
    type: str
    at: float
    ticket: dict | None = None
    counter: int | None = None
    service: str | None = None
    data: dict = field(default_factory=dict)


@dataclass
class Outcome:
    """What an action returns: its result and the events it recorded."""

    result: object = None
    events: list = field(default_factory=list)


def record(db, type, at, *, ticket=None, counter=None, service=None, data=None):
    """Append one event and return it with its ``seq``."""
    data = data or {}
    cursor = db.execute(
        "INSERT INTO events (at, type, ticket, counter, service, data) VALUES (?, ?, ?, ?, ?, ?)",
        [at, type, ticket["id"] if ticket else None, counter, service,
         json.dumps(data, ensure_ascii=False)],
    )
    return Event(seq=cursor.lastrowid, type=type, at=at, ticket=ticket, counter=counter,
                 service=service, data=data)


def current_seq(db):
    """The last ``seq`` the hall has seen (0 on a new hall)."""
    return db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
