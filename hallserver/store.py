"""The SQLite store: one file, WAL, explicit transactions, schema migrations.

Everything that allocates a number or changes a ticket runs inside
``store.transaction()``, a ``BEGIN IMMEDIATE`` transaction: a second writer (another
thread, another process) waits its turn instead of failing with "database is locked".
It waits at most ``write_wait_seconds``, retrying in Python with ``time.sleep`` (which
gevent makes cooperative, so screens keep their sockets while a writer waits), then
refuses with :class:`~hallserver.errors.Busy` (503).

One ``Store`` holds two connections shared by the threads or greenlets of a process:
the writer (``db``, guarded by ``lock``) and a reader (``read_db``, guarded by
``read_lock``). In WAL mode a reader never waits for a writer, so reads go on while a
write waits for another process (a backup tool, a sqlite3 shell, a second hub) to let go.
Other processes open their own ``Store`` on the same file.
"""

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time

import sqlite_utils

from .config import AnnouncementSettings, BookingSettings, Counter, HallConfig, Policy, Priority, Service
from .errors import Busy, HallError, StorageFailed

WRITE_WAIT_SECONDS = 5.0      # how long a write waits for another process's write lock
# Another process's write usually ends within a commit (a few ms): retry soon, then back off
# to WRITE_RETRY_SECONDS (a fixed 20 ms made two hub processes on one file slower than one).
WRITE_RETRY_FIRST_SECONDS = 0.001
WRITE_RETRY_SECONDS = 0.02
READ_BUSY_TIMEOUT_MS = 2_000  # readers wait only in rare cases (WAL recovery, a truncating checkpoint)
log = logging.getLogger(__name__)


def _migration_1(db):
    db.execute("CREATE TABLE hall_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db["services"].create(
        {
            "code": str, "name": str, "name_en": str, "description": str,
            "block_start": int, "block_end": int, "prefix": str, "daily_cap": int,
            "wait_target_minutes": int, "service_minutes": float, "position": int, "active": int,
        },
        pk="code",
    )
    db["counters"].create(
        {
            "number": int, "name": str, "services": str, "position": int, "active": int,
            "status": str, "current_ticket": int, "priority_streak": int,
        },
        pk="number",
        defaults={"status": "open", "priority_streak": 0, "active": 1},
    )
    db["priorities"].create(
        {"code": str, "name": str, "name_en": str, "position": int, "active": int}, pk="code"
    )
    db["tickets"].create(
        {
            "id": int, "day": str, "number": str, "value": int, "service": str,
            "origin_service": str, "priority": str, "channel": str, "status": str,
            "counter": int, "track_token": str, "issued_at": float, "called_at": float,
            "started_at": float, "finished_at": float, "requeued_at": float,
            "recalls": int, "transferred_from": str,
        },
        pk="id",
        not_null={"day", "number", "service", "status", "track_token", "issued_at"},
        defaults={"recalls": 0},
    )
    db.execute("CREATE UNIQUE INDEX tickets_day_number ON tickets (day, number)")
    db.execute("CREATE UNIQUE INDEX tickets_track_token ON tickets (track_token)")
    db.execute("CREATE INDEX tickets_status_service ON tickets (status, service)")
    db["daily_numbers"].create(
        {"service": str, "day": str, "last_value": int, "issued": int}, pk=("service", "day")
    )
    db.execute(
        """CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            type TEXT NOT NULL,
            ticket INTEGER,
            counter INTEGER,
            service TEXT,
            data TEXT NOT NULL DEFAULT '{}'
        )"""
    )
    db.execute("CREATE INDEX events_ticket ON events (ticket)")
    db.execute("CREATE INDEX events_type_at ON events (type, at)")
    # The event log is append-only: history is never rewritten.
    db.execute(
        "CREATE TRIGGER events_no_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
    )
    db["tokens"].create(
        {
            "id": int, "token_hash": str, "role": str, "counter": int, "label": str,
            "created_at": float, "revoked_at": float,
        },
        pk="id",
        not_null={"token_hash", "role", "created_at"},
    )
    db.execute("CREATE UNIQUE INDEX tokens_hash ON tokens (token_hash)")
    db["requests"].create(
        {"counter": int, "request_id": str, "action": str, "response": str, "at": float},
        pk=("counter", "request_id"),
    )


def _migration_2(db):
    """Staff accounts, who worked which counter when, failed sign-ins."""
    db["users"].create(
        {
            "id": int, "username": str, "display_name": str, "password_hash": str, "role": str,
            "counters": str, "disabled": int, "created_at": float,
        },
        pk="id",
        not_null={"username", "password_hash", "role", "created_at"},
        defaults={"counters": "[]", "disabled": 0},
    )
    db.execute("CREATE UNIQUE INDEX users_username ON users (username)")
    db["counter_sessions"].create(
        {"id": int, "user_id": int, "counter": int, "started_at": float, "ended_at": float},
        pk="id",
        not_null={"user_id", "counter", "started_at"},
    )
    db.execute("CREATE INDEX counter_sessions_counter ON counter_sessions (counter, started_at)")
    db["sign_in_failures"].create({"key": str, "at": float}, not_null={"key", "at"})
    db.execute("CREATE INDEX sign_in_failures_key ON sign_in_failures (key, at)")


def _migration_3(db):
    """Contact data of numbers taken from home: personal data, kept apart from tickets."""
    db["ticket_contacts"].create(
        {"ticket_id": int, "day": str, "phone": str, "address_hash": str}, pk="ticket_id",
        foreign_keys=[("ticket_id", "tickets", "id")],
    )
    db.execute("CREATE INDEX ticket_contacts_phone ON ticket_contacts (day, phone)")
    db.execute("CREATE INDEX ticket_contacts_address ON ticket_contacts (day, address_hash)")


def _migration_4(db):
    """Citizens' satisfaction: one rating per ticket."""
    db["ratings"].create(
        {"ticket_id": int, "counter": int, "service": str, "score": int, "reasons": str, "comment": str,
         "source": str, "at": float},
        pk="ticket_id",
        not_null={"score", "at"},
        foreign_keys=[("ticket_id", "tickets", "id")],
    )
    db.execute("CREATE INDEX ratings_at ON ratings (at)")


def _migration_5(db):
    """Procedures and appointments: bookings (personal data kept apart from counts), their
    reminder outbox, the access log of the booking list, and the booking link on tickets."""
    db.execute("ALTER TABLE services ADD COLUMN booking_capacity INTEGER")
    db.execute("ALTER TABLE tickets ADD COLUMN due_at REAL")
    db.execute("ALTER TABLE tickets ADD COLUMN booking_id INTEGER")
    db["procedures"].create(
        {"code": str, "service": str, "name": str, "name_en": str, "details": str, "position": int,
         "active": int, "updated_at": float},
        pk="code", not_null={"service", "name", "details"}, defaults={"active": 1, "details": "{}"},
    )
    db["bookings"].create(
        {
            "id": int, "code": str, "service": str, "procedure": str, "day": str, "start_minute": int,
            "starts_at": float, "ends_at": float, "status": str, "name": str, "phone": str,
            "dossier_code": str, "source": str, "idempotency_key": str, "external_ref": str,
            "created_at": float, "updated_at": float, "checked_in_at": float, "ticket_id": int,
            "moves": int, "purged_at": float,
        },
        pk="id",
        not_null={"code", "service", "day", "start_minute", "starts_at", "ends_at", "status", "source",
                  "created_at"},
        defaults={"moves": 0},
    )
    db.execute("CREATE UNIQUE INDEX bookings_code ON bookings (code)")
    db.execute("CREATE UNIQUE INDEX bookings_idempotency_key ON bookings (idempotency_key)")
    db.execute("CREATE UNIQUE INDEX bookings_external_ref ON bookings (external_ref)")
    db.execute("CREATE INDEX bookings_slot ON bookings (service, day, start_minute, status)")
    db.execute("CREATE INDEX bookings_phone ON bookings (phone, status)")
    db.execute("CREATE INDEX bookings_day ON bookings (day, status)")
    db["booking_reminders"].create(
        {"id": int, "booking_id": int, "kind": str, "due_at": float, "status": str, "attempts": int,
         "next_attempt_at": float, "last_error": str, "sent_at": float},
        pk="id", not_null={"booking_id", "kind", "due_at", "status", "next_attempt_at"},
        defaults={"attempts": 0}, foreign_keys=[("booking_id", "bookings", "id")],
    )
    db.execute("CREATE INDEX booking_reminders_due ON booking_reminders (status, next_attempt_at)")
    db["booking_challenges_used"].create({"nonce": str, "at": float}, pk="nonce")
    db["booking_access_log"].create(
        {"id": int, "at": float, "who": str, "role": str, "action": str, "detail": str, "rows": int},
        pk="id", not_null={"at", "who", "action"},
    )
    # Who saw citizens' personal data is evidence: the log is append-only, like the event log.
    db.execute(
        "CREATE TRIGGER booking_access_log_no_update BEFORE UPDATE ON booking_access_log "
        "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END"
    )
    db.execute(
        "CREATE TRIGGER booking_access_log_no_delete BEFORE DELETE ON booking_access_log "
        "BEGIN SELECT RAISE(ABORT, 'the access log is append-only'); END"
    )


# Append new migrations; never edit one that has shipped.
def _migration_6(db):
    """Every action counts today's waiting tickets per service: let the index answer."""
    db.execute("CREATE INDEX tickets_status_day_service ON tickets (status, day, service)")


def _migration_7(db):
    """Phone verification for public bookings: one-time codes (only their salted hash kept),
    and which bookings came from a phone nobody verified (capped per slot)."""
    db.execute("ALTER TABLE bookings ADD COLUMN verified INTEGER")   # 1 code, 0 none (public), NULL staff/import
    db["phone_verifications"].create(
        {"id": str, "phone": str, "salt": str, "code_hash": str, "status": str, "attempts": int,
         "created_at": float, "expires_at": float, "verified_at": float, "used_at": float},
        pk="id", not_null={"phone", "salt", "code_hash", "status", "created_at", "expires_at"},
        defaults={"attempts": 0},
    )
    db.execute("CREATE INDEX phone_verifications_phone ON phone_verifications (phone, created_at)")


def _migration_8(db):
    """Sessions that end server-side: each account's session nonce, copied into the sign-in
    cookie and changed by signing out, a password reset or disabling (every older cookie of
    the account then opens nothing). Bookings keep a digest of the request that first used
    their idempotency key, so the key reused for another request is refused."""
    db.execute("ALTER TABLE users ADD COLUMN session_nonce TEXT")
    db.execute("UPDATE users SET session_nonce = lower(hex(randomblob(16)))")
    db.execute("ALTER TABLE bookings ADD COLUMN idempotency_request TEXT")


def _migration_9(db):
    """Hall screens report their health: one row per screen (its own stable id), shared by
    every hub process on this database, written when a report changes and otherwise at most
    every ~20 s per screen (see services.screens)."""
    db["screens"].create(
        {"id": str, "kind": str, "name": str, "sound": str, "counters": str,
         "last_call_id": str, "last_played_at": float, "announcement_seen_at": float,
         "connected": int, "sid": str, "address": str,
         "first_seen": float, "connected_since": float, "sound_since": float, "last_seen": float},
        pk="id", not_null={"kind", "sound", "connected", "first_seen", "connected_since", "sound_since",
                           "last_seen"},
    )


def _migration_10(db):
    """"Sắp đến lượt" by SMS: the reminder outbox of tickets (numbers taken from home with a
    phone), beside the bookings' one. One row per ticket and kind, so a ticket is reminded once
    whatever restarts or hub processes; no personal data (the phone stays in ticket_contacts)."""
    db.execute(
        "CREATE TABLE ticket_reminders (id INTEGER PRIMARY KEY, ticket_id INTEGER NOT NULL REFERENCES tickets(id), "
        "kind TEXT NOT NULL, due_at REAL NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
        "next_attempt_at REAL NOT NULL, last_error TEXT, sent_at REAL, UNIQUE (ticket_id, kind))"
    )
    db.execute("CREATE INDEX ticket_reminders_due ON ticket_reminders (status, next_attempt_at)")


def _migration_11(db):
    """The call-next policy's lines, each in its calling order per service and day: the next
    ticket is found by walking an index, not by sorting a counter's whole line (which grew with
    it: 1.3 ms at 2,000 waiting, 3 ms at 8,000). Partial, so a ticket is in one of them while
    it waits and in none once called. The orders match ``tickets.calling_age`` by default
    (other policies sort, as before)."""
    waiting = "status = 'waiting' AND requeued_at IS"
    db.execute("CREATE INDEX tickets_line_normal ON tickets (day, service, CAST(issued_at AS INTEGER), id) "
               f"WHERE {waiting} NULL AND priority IS NULL")
    db.execute("CREATE INDEX tickets_line_priority ON tickets (day, service, CAST(issued_at AS INTEGER), id) "
               f"WHERE {waiting} NULL AND priority IS NOT NULL")
    db.execute("CREATE INDEX tickets_line_due ON tickets (day, service, due_at, id) "
               f"WHERE {waiting} NULL AND due_at IS NOT NULL")
    db.execute("CREATE INDEX tickets_line_requeued ON tickets (day, service, requeued_at, id) "
               f"WHERE {waiting} NOT NULL")


MIGRATIONS = (_migration_1, _migration_2, _migration_3, _migration_4, _migration_5, _migration_6, _migration_7,
              _migration_8, _migration_9, _migration_10, _migration_11)


def ensure_waiting_counts(db):
    """Today's line per service, kept by triggers on ``tickets``: the estimates read one row
    per service instead of counting the line at every request (counting ten thousand waiting
    tickets costs milliseconds; issuing must not slow down as the line grows). Derived data,
    like an index: built from the tickets when missing, whatever the schema version."""
    if "waiting_counts" in db.table_names():
        return
    db.execute("CREATE TABLE waiting_counts (day TEXT NOT NULL, service TEXT NOT NULL, "
               "waiting INTEGER NOT NULL, PRIMARY KEY (day, service)) WITHOUT ROWID")
    db.execute("INSERT INTO waiting_counts (day, service, waiting) "
               "SELECT day, service, COUNT(*) FROM tickets WHERE status = 'waiting' GROUP BY day, service")
    add = ("INSERT INTO waiting_counts (day, service, waiting) SELECT NEW.day, NEW.service, 1 "
           "WHERE NEW.status = 'waiting' ON CONFLICT (day, service) DO UPDATE SET waiting = waiting + 1;")
    remove = ("UPDATE waiting_counts SET waiting = waiting - 1 "
              "WHERE OLD.status = 'waiting' AND day = OLD.day AND service = OLD.service;")
    db.execute(f"CREATE TRIGGER waiting_counts_insert AFTER INSERT ON tickets BEGIN {add} END")
    db.execute(f"CREATE TRIGGER waiting_counts_update AFTER UPDATE OF status, service, day ON tickets "
               f"BEGIN {remove} {add} END")
    db.execute(f"CREATE TRIGGER waiting_counts_delete AFTER DELETE ON tickets BEGIN {remove} END")


def keep_private(path):
    """The database holds citizens' phones and the key that signs staff cookies: only the
    hub's own account may read it (0600), and with it its WAL and shared-memory files,
    which SQLite creates with the database's mode."""
    if not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm"):
        if os.path.exists(name):
            os.chmod(name, 0o600)


def _call(function, *arguments):
    return function(*arguments)


# SQLite's primary result codes of a write the disk refused (extended codes keep them in the low byte).
STORAGE_FAULTS = (sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR)


def storage_error(error):
    """``error`` as the caller should hear it: a write the disk refused (full, failing) becomes
    :class:`StorageFailed`, said in words a kiosk can show; any other error as it is."""
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(error, sqlite3.OperationalError) and code is not None and code & 0xFF in STORAGE_FAULTS:
        log.error("the database could not be written: %s", error)
        refusal = StorageFailed("Máy chủ không lưu được dữ liệu (ổ đĩa đầy hoặc hỏng): chưa có gì được ghi. "
                                "Vui lòng báo cán bộ trực.",
                                "The hub could not save (its disk is full or failing): nothing was recorded. "
                                "Please tell the staff on duty.")
        refusal.__cause__ = error
        return refusal
    return error


class Store:
    """One connection to the hall database, with the lock that shares it."""

    def __init__(self, path, write_wait_seconds=WRITE_WAIT_SECONDS):
        self.path = str(path)
        self.write_wait_seconds = write_wait_seconds
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, mode=0o700, exist_ok=True)
        keep_private(self.path)
        self.db = self._connect(busy_timeout_ms=READ_BUSY_TIMEOUT_MS)
        self.db.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed ticket survives a power cut, not only a process crash.
        self.db.execute("PRAGMA synchronous = FULL")
        self.db.execute("PRAGMA foreign_keys = ON")
        # From now on the writer never blocks inside SQLite: transaction() retries in
        # Python, so the wait is bounded and cooperative.
        self.db.execute("PRAGMA busy_timeout = 0")
        self.read_db = self._connect(busy_timeout_ms=READ_BUSY_TIMEOUT_MS)
        self.lock = threading.RLock()
        self.read_lock = threading.RLock()
        self._config = None
        self._config_version = None
        self.changes = 0   # transactions ended through transaction() (not the GroupWriter's)
        # How a COMMIT waits for the disk: here, or (set by the web edge under gevent) in a
        # thread of its own while the event loop serves other requests (see GroupWriter).
        self.offload = _call

    def _connect(self, busy_timeout_ms):
        connection = sqlite3.connect(self.path, check_same_thread=False, timeout=busy_timeout_ms / 1000)
        database = sqlite_utils.Database(connection)
        database.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        return database

    def close(self):
        with self.lock, self.read_lock:
            self.db.close()
            self.read_db.close()

    @contextlib.contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception. Waits at most
        ``write_wait_seconds`` for another writer, then raises :class:`Busy`."""
        with self.lock:
            self._begin_immediate()
            try:
                try:
                    yield self.db
                except BaseException as error:
                    self.db.rollback()
                    translated = storage_error(error)
                    if translated is error:
                        raise
                    raise translated from error
                try:
                    self.db.execute("COMMIT")
                except BaseException as error:
                    self.db.rollback()
                    raise storage_error(error) from error
            finally:
                self.changes += 1   # committed or undone, what was read before may be stale

    def _begin_immediate(self):
        deadline = time.monotonic() + self.write_wait_seconds
        pause = WRITE_RETRY_FIRST_SECONDS
        while True:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                if time.monotonic() >= deadline:
                    raise Busy("Hệ thống đang bận, vui lòng thử lại sau giây lát",
                               "The hall is busy; please try again in a moment") from None
                time.sleep(pause)
                pause = min(pause * 2, WRITE_RETRY_SECONDS)

    @contextlib.contextmanager
    def reading(self):
        """A consistent read on the reader connection: never waits for a writer.

        Nested readings (a view that reads the configuration) share the outer snapshot.
        """
        with self.read_lock:
            if self.read_db.conn.in_transaction:
                yield self.read_db
                return
            self.read_db.execute("BEGIN")
            try:
                yield self.read_db
            finally:
                self.read_db.conn.rollback()

    # -- schema -------------------------------------------------------------

    def schema_version(self):
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self):
        """Apply the migrations this file has not seen yet. Idempotent."""
        with self.transaction() as db:
            version = self.schema_version()
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(db)
                db.execute(f"PRAGMA user_version = {number}")
            if version < len(MIGRATIONS) or "waiting_counts" not in db.table_names():
                ensure_waiting_counts(db)
        return self.schema_version()

    def integrity_problems(self):
        """``PRAGMA integrity_check``: an empty list when the file is sound."""
        try:
            with self.reading() as db:
                rows = db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as error:   # too damaged to check
            return [str(error)]
        return [row[0] for row in rows if row[0] != "ok"]

    def backup(self, target_path):
        """Copy the live database to ``target_path`` with SQLite's online backup."""
        target_path = str(target_path)
        os.makedirs(os.path.dirname(os.path.abspath(target_path)), mode=0o700, exist_ok=True)
        keep_private(target_path)
        target = sqlite3.connect(target_path)
        try:
            with self.lock:
                self.db.conn.backup(target)
        finally:
            target.close()

    # -- hall settings ------------------------------------------------------

    def is_configured(self):
        with self.reading() as db:
            if "hall_settings" not in db.table_names():
                return False
            return db.execute("SELECT 1 FROM hall_settings WHERE key = 'hall'").fetchone() is not None

    def get_setting(self, key, default=None):
        """One hall setting as committed (inside a write, the writer's own change is not seen)."""
        with self.reading() as db:
            row = db.execute("SELECT value FROM hall_settings WHERE key = ?", [key]).fetchone()
        return default if row is None else json.loads(row[0])

    def set_setting(self, db, key, value):
        """Write one hall setting inside the caller's transaction."""
        db.execute(
            "INSERT INTO hall_settings (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [key, json.dumps(value, ensure_ascii=False)],
        )

    def apply_config(self, config, source=None):
        """Store a validated HallConfig (and the TOML mapping it came from, which admins
        edit); keeps tickets, counter states and history."""
        with self.transaction() as db:
            self.write_config(db, config, source)

    def write_config(self, db, config, source=None):
        """``apply_config`` inside the caller's transaction."""
        self.set_setting(db, "hall", {
            "name": config.name, "name_en": config.name_en,
            "timezone": config.timezone, "hotline": config.hotline, "notices": list(config.notices),
        })
        if source is not None:
            self.set_setting(db, "config_source", source)
        self.set_setting(db, "hours", {day: [list(p) for p in periods] for day, periods in config.hours.items()})
        self.set_setting(db, "policy", vars(config.policy))
        self.set_setting(db, "announcement", vars(config.announcement))
        self.set_setting(db, "holidays", list(config.holidays))
        self.set_setting(db, "booking", vars(config.booking))
        db.execute("UPDATE services SET active = 0")
        for position, service in enumerate(config.services):
            db["services"].upsert(dict(vars(service), position=position, active=1), pk="code")
        db.execute("UPDATE priorities SET active = 0")
        for position, priority in enumerate(config.priorities):
            db["priorities"].upsert(dict(vars(priority), position=position, active=1), pk="code")
        db.execute("UPDATE counters SET active = 0")
        for position, counter in enumerate(config.counters):
            values = {"name": counter.name, "services": json.dumps(list(counter.services)), "position": position}
            if db["counters"].count_where("number = ?", [counter.number]):
                db["counters"].update(counter.number, dict(values, active=1))
            else:
                db["counters"].insert(dict(values, number=counter.number, status="open", active=1))
        version = (self.get_setting("config_version", 0) or 0) + 1
        self.set_setting(db, "config_version", version)

    def config_version(self):
        """The applied configuration's version: it grows with every configuration written."""
        return self.get_setting("config_version")

    def config(self):
        """The applied HallConfig, cached until the configuration changes."""
        with self.reading() as db:
            version = self.get_setting("config_version")
            if version is None:
                raise HallError("Hệ thống chưa được khởi tạo: chạy `hallserver init`",
                                "The hall is not initialised: run `hallserver init`", code="not_initialised")
            if version == self._config_version:
                return self._config
            hall = self.get_setting("hall")
            announcement = self.get_setting("announcement")
            self._config = HallConfig(
                name=hall["name"], name_en=hall["name_en"], timezone=hall["timezone"], hotline=hall["hotline"],
                notices=tuple(hall.get("notices", ())),
                hours={day: tuple(tuple(p) for p in periods) for day, periods in self.get_setting("hours").items()},
                services=tuple(
                    Service(**{k: row[k] for k in Service.__dataclass_fields__})
                    for row in db.query("SELECT * FROM services WHERE active = 1 ORDER BY position")
                ),
                counters=tuple(
                    Counter(number=row["number"], name=row["name"], services=tuple(json.loads(row["services"])))
                    for row in db.query("SELECT * FROM counters WHERE active = 1 ORDER BY position")
                ),
                priorities=tuple(
                    Priority(code=row["code"], name=row["name"], name_en=row["name_en"])
                    for row in db.query("SELECT * FROM priorities WHERE active = 1 ORDER BY position")
                ),
                policy=Policy(**{key: value for key, value in self.get_setting("policy").items()
                                 if key in Policy.__dataclass_fields__}),
                announcement=AnnouncementSettings(**announcement),
                holidays=tuple(self.get_setting("holidays") or ()),
                booking=BookingSettings(**{key: value for key, value in (self.get_setting("booking") or {}).items()
                                           if key in BookingSettings.__dataclass_fields__}),
            )
            self._config_version = version
            return self._config


class GroupWriter:
    """Group commit: writes that arrive while another batch commits share the next transaction.

    With ``synchronous=FULL`` every COMMIT waits for the disk (an fsync). ``write(work)``
    queues ``work(db)``; one caller at a time leads: it takes the store's lock, runs every
    queued piece of work in one ``BEGIN IMMEDIATE`` … ``COMMIT``, each in a SAVEPOINT of
    its own (a refused one is rolled back alone, the others stay), and only after the
    commit gives each caller its result or its exception: nothing is answered before it
    is durable. ``after_commit(results)`` runs once per batch, after the commit and still
    under the lock, with the results of the pieces that committed in order (so events
    leave in ``seq`` order). The leader hands over to a waiting caller once its own work
    is done, so no caller serves others for ever.

    The COMMIT runs through ``store.offload`` (the web edge gives gevent's thread pool), so
    while one batch waits for the disk the other requests are parsed and queue up for the
    next one. Plain threads work as they are.
    """

    def __init__(self, store, after_commit=None, max_batch=64):
        self.store = store
        self.after_commit = after_commit
        self.max_batch = max_batch
        self._guard = threading.Lock()
        self._pending = []
        self._leading = False

    @property
    def waiting(self):
        """How many writes wait for the next transaction."""
        with self._guard:
            return len(self._pending)

    def write(self, work):
        """Run ``work(db)`` in the next shared transaction; its return value once committed
        (or the exception it raised, or the one that stopped the commit)."""
        job = _Job(work)
        with self._guard:
            self._pending.append(job)
            lead = not self._leading
            self._leading = True
        if not lead:
            job.wake.wait()   # done, or asked to lead
        if not job.finished:
            try:
                while not job.finished:
                    self._run_batch()
            finally:
                self._hand_over()
        if job.error is not None:
            raise job.error
        return job.result

    def _hand_over(self):
        with self._guard:
            if self._pending:
                self._pending[0].wake.set()   # it leads next; _leading stays True
            else:
                self._leading = False

    def _run_batch(self):
        with self._guard:
            batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
        if not batch:
            return
        try:
            with self.store.lock:
                committed = self._transaction(batch)
                if committed and self.after_commit is not None:
                    try:
                        self.after_commit([job.result for job in committed])
                    except Exception:  # committed is committed: the callers get their answers
                        log.exception("after a group commit")
        except BaseException as error:
            for job in batch:
                if not job.finished:
                    job.finish(error=error)
            raise
        finally:
            for job in batch:
                job.wake.set()

    def _transaction(self, batch):
        """Run the batch in one transaction; the jobs that committed."""
        store, db = self.store, self.store.db
        try:
            store._begin_immediate()
        except Exception as error:   # Busy: another process holds the write lock
            for job in batch:
                job.finish(error=error)
            return []
        ok = []
        try:
            for job in batch:
                db.execute("SAVEPOINT job")
                try:
                    result = job.work(db)
                except Exception as error:
                    # after some errors (a full disk) SQLite has already rolled the whole
                    # transaction back: then this fails too, and the batch fails below
                    db.execute("ROLLBACK TO job")
                    db.execute("RELEASE job")
                    job.finish(error=storage_error(error))
                else:
                    db.execute("RELEASE job")
                    job.result = result
                    ok.append(job)
            store.offload(db.conn.execute, "COMMIT")
        except BaseException as error:
            db.conn.rollback()
            for job in batch:   # nothing of the batch is saved: each caller hears why
                if not job.finished:
                    job.finish(error=storage_error(error))
            if not isinstance(error, Exception):
                raise
            return []
        for job in ok:
            job.finish(result=job.result)
        return ok


class _Job:
    __slots__ = ("work", "wake", "finished", "result", "error")

    def __init__(self, work):
        self.work = work
        self.wake = threading.Event()
        self.finished = False
        self.result = None
        self.error = None

    def finish(self, result=None, error=None):
        self.finished, self.result, self.error = True, result, error


def open_store(path, migrate=True):
    """Open the hall database at ``path`` and bring its schema up to date."""
    try:
        store = Store(path)
        if migrate:
            store.migrate()
    except sqlite3.DatabaseError as error:
        raise HallError(
            f"Không mở được cơ sở dữ liệu {path}: {error}. Khôi phục từ một bản sao (của hallserver backup, "
            f"hoặc bản sao hằng ngày trong HALL_BACKUP_DIR): README, mục Dữ liệu / Data safety.",
            f"Cannot open the database {path}: {error}. Restore a copy (made by hallserver backup, or a daily "
            f"one in HALL_BACKUP_DIR): README, Data safety.",
            code="corrupt_database",
        ) from None
    return store
