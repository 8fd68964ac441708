"""The hall as the edges use it: run a core action in one transaction, then publish.

``Hall.perform`` opens ``BEGIN IMMEDIATE``, runs the action, commits, and only then
hands the recorded events to the subscribed publishers (the Socket.IO edge). The
store's lock is held until publishing is done, so pushes leave in ``seq`` order.
Every read and write of the edges (pages, API, Socket.IO, command line) goes through
here: they never open the store themselves. This module knows nothing about Flask or
Socket.IO.
"""

import contextlib
import copy
import functools
import secrets
import threading
import time

from . import core
from .config import parse_config
from .core import bookings, procedures, ratings, reconfiguration, repeats, views
from .core import verification as phone_codes
from .core.estimates import Estimator, SharedFigures
from .errors import ConfigError, Conflict, Invalid, NotFound, Unauthorized
from .services import administration, auth, backups, reminders, screens, users
from .store import GroupWriter

COUNTER_ACTIONS = {
    "call-next": core.call_next,
    "call": core.call_number,
    "recall": core.recall,
    "start": core.start,
    "done": core.done,
    "no-show": core.no_show,
    "transfer": core.transfer,
    "reinstate": core.reinstate,
    "pause": core.pause,
    "resume": core.resume,
    "undo": core.undo,
}


def what_was_done(db, action, outcome, ticket):
    """What a counter action did, all its answer is built from: the ``seq`` it reached, the
    ticket it acted on (id) and, for ``undo``, what it undid."""
    done = {"seq": outcome.events[-1].seq if outcome.events else core.current_seq(db),
            "ticket": ticket["id"] if ticket else None}
    if action == "undo":
        # a call of a no-show reinstated it on the way: undoing the call undoes both, said as the call
        done["undone"] = [{"type": event.data["undid"], "number": event.ticket["number"]} for event in outcome.events
                          if event.data["undid"] != "reinstated"]
    return done


def _booking_view(db, config, now, outcome):
    return bookings.public_booking(db, config, outcome.result)


class Hall:
    def __init__(self, store, clock=time.time):
        self.store = store
        self.clock = clock
        self._publishers = []
        # Numbers are taken in bursts: issues that arrive together share one commit.
        self._issuing = GroupWriter(store, after_commit=self._publish_batch)
        self._figures = SharedFigures()
        self._password_checks = threading.BoundedSemaphore(1)  # sign-ins' slow hashes, one at a time

    def subscribe(self, publisher):
        """``publisher(events, db, config, now)`` runs after each commit, in ``seq`` order."""
        self._publishers.append(publisher)

    @property
    def config(self):
        return self.store.config()

    def perform(self, action, respond=None, **arguments):
        """Run ``action(db, config, now=..., **arguments)`` atomically and publish its events.

        ``respond(db, config, now, outcome)`` builds the caller's answer inside the
        transaction, so the answer and the change are one consistent snapshot.
        """
        with self.store.lock:
            with self.store.transaction() as db:
                config = self.store.config()
                now = self.clock()
                outcome = action(db, config, now=now, **arguments)
                response = respond(db, config, now, outcome) if respond else outcome.result
            if outcome.events:
                self._publish(outcome.events, now)
        return response

    def perform_together(self, action, respond=None, **arguments):
        """``perform`` for writes many callers make at once (issuing numbers): the ones that
        arrive together run in one transaction with one fsync (``store.GroupWriter``), each
        answered only after that commit; their events are published together, in ``seq`` order."""
        def work(db):
            config = self.store.config()
            now = self.clock()
            try:
                outcome = action(db, config, now=now, **arguments)
                return (respond(db, config, now, outcome) if respond else outcome.result), outcome.events, now
            except BaseException:
                self._figures.forget()   # they may have been read with this write, now undone
                raise
        try:
            return self._issuing.write(work)[0]
        except BaseException:
            self._figures.forget()
            raise

    def estimator(self, db, config, now, kind=Estimator):
        """An Estimator (or subclass ``kind``) for this moment that reuses what an earlier one
        read while nothing but plain tickets changed (``SharedFigures``): any other write of
        this process renews it, and so does another process's notice (``changed_elsewhere``)."""
        return kind(db, config, now, shared=self._figures.at(self.store.changes, now))

    def changed_elsewhere(self):
        """Another hub process committed a change (its notice came through the message queue):
        what the estimators shared may be stale."""
        self._figures.forget()

    def _new_ticket_view(self, db, config, now, outcome):
        return views.public_ticket(config, outcome.result, self.estimator(db, config, now), with_token=True,
                                   newest=True)

    def _publish_batch(self, results):
        events = [event for _, batch_events, _ in results for event in batch_events]
        if events:
            self._publish(events, results[-1][2])

    def _write(self, change):
        """Run ``change(db, config, now)`` in one transaction that records no events; its result."""
        return self.perform(lambda db, config, now: core.Outcome(change(db, config, now), []))

    @contextlib.contextmanager
    def paused(self):
        """No change commits (or publishes) inside this block: what the caller reads and does
        there happens at one moment (a room's snapshot and joining the room)."""
        with self.store.lock:
            yield

    def _publish(self, events, now):
        with self.store.reading() as db:
            config = self.store.config()
            for publisher in self._publishers:
                publisher(events, db, config, now)

    # -- reads ---------------------------------------------------------------

    def read(self, view, *arguments, **keywords):
        """Run ``view(db, config, now, ...)`` on a consistent snapshot."""
        with self.store.reading() as db:
            return view(db, self.store.config(), self.clock(), *arguments, **keywords)

    def state(self, recent=10):
        return self.read(views.public_state, recent=recent)

    def ticket_by_token(self, track_token):
        def view(db, config, now):
            rows = list(db.query("SELECT * FROM tickets WHERE track_token = ?", [track_token]))
            if not rows:
                return None
            return views.public_ticket(config, rows[0], self.estimator(db, config, now))
        return self.read(view)

    def counter_state(self, number):
        def view(db, config, now):
            core.find_counter(config, number)
            return {"seq": core.current_seq(db), "counter": views.counter_state(db, config, number, now)}
        return self.read(view)

    # -- writes ---------------------------------------------------------------

    def issue_ticket(self, service, priority=None, channel="kiosk"):
        """A new ticket as the kiosk shows it: number, position, estimate, track token."""
        return self.perform_together(core.issue_ticket, self._new_ticket_view, service=service, priority=priority,
                                     channel=channel)

    def issue_remote_ticket(self, service, *, phone, address_hash):
        """A number taken from home (channel ``online``), with the per-phone and per-address caps."""
        return self.perform_together(core.issue_remote_ticket, self._new_ticket_view, service=service, phone=phone,
                                     address_hash=address_hash)

    def rate_at_counter(self, counter, number, *, score, reasons=(), comment=""):
        """A rating from the counter's tablet for the ticket it just finished."""
        def action(db, config, now):
            ticket = ratings.done_ticket_at_counter(db, config, counter=counter, number=number, now=now)
            return ratings.rate(db, config, ticket=ticket, score=score, reasons=reasons, comment=comment,
                                source="tablet", now=now)
        return self.perform(action)

    def rate_by_token(self, track_token, *, score, reasons=(), comment=""):
        """A rating from the citizen's own tracking page."""
        def action(db, config, now):
            rows = list(db.query("SELECT * FROM tickets WHERE track_token = ?", [track_token]))
            if not rows:
                raise NotFound("Không tìm thấy phiếu", "Unknown ticket", code="unknown_ticket")
            return ratings.rate(db, config, ticket=rows[0], score=score, reasons=reasons, comment=comment,
                                source="tracking", now=now)
        return self.perform(action)

    def is_rated(self, track_token):
        """Whether the ticket with this track token has been rated."""
        def view(db, config, now):
            row = db.execute("SELECT id FROM tickets WHERE track_token = ?", [track_token]).fetchone()
            return bool(row) and ratings.is_rated(db, row[0])
        return self.read(view)

    def record_fault(self, device, message, message_en=None):
        """A device fault (a printer out of paper...) goes to the event log and the dashboard,
        in Vietnamese and (``message_en``) English."""
        data = {"device": device, "message": message, "message_en": message_en or message}

        def fault(db, config, now):
            return core.Outcome(None, [core.events.record(db, "device_fault", now, data=data)])
        self.perform(fault)

    def counter_action(self, counter, action, request_id=None, user=None, **arguments):
        """Run a counter action; a repeated ``request_id`` returns the first answer, doing nothing.
        A signed-in ``user`` acts only at a counter that is free (it becomes theirs) or theirs:
        while someone else works it, 409 ``counter_taken`` (see ``take_over_counter``).

        Every screen waits for what comes before its ``called`` frame, so the answer (the
        ticket with its estimate, the desk) is built after the commit and after those frames,
        still under the store's lock: nothing else of this process commits in between, and the
        answer shows the hall as the action left it. A ``request_id`` is recorded with the
        action and its answer stored before it is given (``core.repeats``)."""
        if action not in COUNTER_ACTIONS:
            raise Invalid(f"Thao tác không hợp lệ {action!r}", f"Unknown action {action!r}", code="unknown_action")
        function = COUNTER_ACTIONS[action]
        request = {"counter": counter, "request_id": request_id}

        def act(db, config, now, **ignored):
            if request_id is not None:
                response = repeats.earlier_response(db, action=action, **request)
                if response is not None:   # a repeat: the first answer, nothing done
                    build = functools.partial(views.counter_answer, db, config, now, counter)
                    return core.Outcome(repeats.first_answer(db, response=response, build=build, **request), [])
            if user is not None:
                users.claim_counter(db, user=user, counter=counter, now=now)
            outcome = function(db, config, now=now, counter=counter, **arguments)
            ticket = outcome.result if isinstance(outcome.result, dict) else None
            done = what_was_done(db, action, outcome, ticket)
            recorded = (repeats.record(db, action=action, done=done, now=now, **request)
                        if request_id is not None else None)
            return core.Outcome((done, ticket, now, recorded), outcome.events)

        def store_answer(db, config, now, answer, recorded):
            build = functools.partial(views.counter_answer, db, config, now, counter)
            return core.Outcome(repeats.store_answer(db, answer=answer, recorded=recorded, build=build, **request), [])

        # Nothing else of this process commits until the answer is given: it shows the hall as
        # the action left it, and the counter's desk hears its pushed state after its answer.
        with self.store.lock:
            result = self.perform(act)
            if isinstance(result, dict):
                return result  # a repeat: the first answer
            done, ticket, moment, recorded = result
            answer = self.read(lambda db, config, now: views.counter_answer(
                db, config, moment, counter, done, ticket, self.estimator(db, config, moment)))
            if request_id is None:
                return answer
            # stored, durably, before it is given, unless a repeat stored one first
            return self.perform(store_answer, answer=answer, recorded=recorded)

    def cancel(self, track_token):
        def respond(db, config, now, outcome):
            return views.public_ticket(config, outcome.result)
        return self.perform(core.cancel, respond, track_token=track_token)

    # -- hall screens' health (services.screens) ---------------------------------------

    def report_screen(self, status, *, sid, address=None):
        """Record a screen's ``screen_status`` (a ScreenStatus from the socket ``sid``); whether
        the dashboard has something new to show."""
        return self._write(lambda db, config, now: screens.record_status(
            db, status, sid=sid, address=address, now=now, lost_seconds=config.policy.screen_lost_seconds))

    def screen_disconnected(self, sid):
        """The socket a screen reported on closed: whether a screen is disconnected by it."""
        return self._write(lambda db, config, now: screens.mark_disconnected(db, sid=sid, now=now))

    # -- who is asking: device tokens and staff accounts ------------------------------

    def principal_for_token(self, token):
        """The Principal of a presented device token, or None when it is unknown or revoked."""
        return self.read(lambda db, config, now: auth.principal_for(db, token))

    def principal_for_token_id(self, token_id):
        """The Principal of an unrevoked token by its id (what a paired browser keeps), or None."""
        return self.read(lambda db, config, now: auth.principal_for_id(db, token_id))

    def active_user(self, user_id):
        """The enabled account with this id, or None."""
        if user_id is None:  # most page views: nobody signed in, no need to read
            return None
        return self.read(lambda db, config, now: users.active_user(db, user_id))

    def session_user(self, user_id, nonce):
        """The enabled account a sign-in cookie (its user id and session nonce) still opens, or None."""
        if user_id is None:  # most page views: nobody signed in, no need to read
            return None
        return self.read(lambda db, config, now: users.session_user(db, user_id, nonce))

    def sign_out(self, user_id):
        """Every session of the account ends (its cookies, copied or not, open nothing) and it
        stops working every counter it held."""
        self._write(lambda db, config, now: users.end_sessions(db, user_id=user_id, now=now))

    def sign_in(self, username, password, *, address):
        """The account these credentials open, or Unauthorized (TooManyRequests after repeated
        failures). The attempt counts as a failure before the password is checked; the check
        (a deliberately slow hash, ~0.3 s) runs outside any transaction, in a worker thread
        (``store.offload``), one at a time: it holds neither the hall's writer nor the event
        loop, and guesses cannot take every core from the kiosks and counters."""
        user, attempt = self._write(lambda db, config, now: users.begin_sign_in(
            db, username=username, address=address, now=now))
        with self._password_checks:
            matches = self.store.offload(users.password_matches, user, password)
        if not matches:
            raise Unauthorized(*users.BAD_CREDENTIALS, code="bad_credentials")
        self._write(lambda db, config, now: users.sign_in_succeeded(db, attempt, now=now))
        return user

    def start_counter_session(self, user, counter):
        """``user`` works ``counter`` from now (Forbidden when the account may not)."""
        self._write(lambda db, config, now: users.start_counter_session(db, user=user, counter=counter, now=now))

    def open_counter(self, user, counter, claim=True):
        """``user`` opens ``counter``'s page (Forbidden when the account may not): who else
        works it, or None (a free counter is then theirs unless not ``claim``; see
        ``users.open_counter``)."""
        return self._write(lambda db, config, now: users.open_counter(db, user=user, counter=counter, now=now,
                                                                      claim=claim))

    def take_over_counter(self, user, counter):
        """``user`` takes ``counter`` over, confirmed: the previous holder, or None."""
        def change(db, config, now):
            core.find_counter(config, counter)
            return users.take_over_counter(db, user=user, counter=counter, now=now)
        return self._write(change)

    def counter_holder(self, counter):
        """Who works ``counter`` now, or None."""
        return self.read(lambda db, config, now: users.counter_holder(db, counter))

    def end_counter_sessions(self, user_id):
        """The account stops working every counter it held (signing out)."""
        self._write(lambda db, config, now: users.end_counter_sessions(db, user_id=user_id, now=now))

    def session_secret(self):
        """The key that signs session cookies when none is configured: made once, kept in the hall."""
        secret = self.store.get_setting("secret_key")
        if secret is None:
            secret = secrets.token_hex(32)
            with self.store.transaction() as db:
                self.store.set_setting(db, "secret_key", secret)
        return secret

    # -- administration ------------------------------------------------------------

    def administer(self, kind, change, /, *, by, **data):
        """Run ``change(db, config, now)`` and, when ``by`` (an admin's username) is given, append
        the audit event ``kind`` with who and ``data`` in the same transaction; then publish.
        Returns what ``change`` returned (an Outcome's result). The command line passes no ``by``."""
        def action(db, config, now):
            result = change(db, config, now)
            outcome = result if isinstance(result, core.Outcome) else core.Outcome(result, [])
            events = list(outcome.events)
            if by is not None:
                events.append(core.events.record(db, kind, now, data={"by": by, **data}))
            return core.Outcome(outcome.result, events)
        return self.perform(action)

    def accounts(self):
        """Every staff account by username (no password hashes)."""
        return self.read(lambda db, config, now: users.list_accounts(db))

    def tokens(self, newest_first=False):
        """Every device token (never its value or hash), oldest first unless ``newest_first``."""
        rows = self.read(lambda db, config, now: auth.list_tokens(db))
        return rows[::-1] if newest_first else rows

    def audit_log(self, limit=30):
        """The latest audit events (configuration, accounts, tokens, end of day), newest first."""
        return self.read(lambda db, config, now: administration.audit_log(db, limit))

    def add_user(self, *, username, password, role, display_name="", counters=(), by=None):
        """Create a staff account (its counters must exist); audited when ``by`` is given."""
        def change(db, config, now):
            for number in counters:
                core.find_counter(config, number)
            return users.add_user(db, username=username, password=password, role=role, now=now,
                                  display_name=display_name, counters=counters)
        return self.administer("user_changed", change, by=by, username=username.strip().lower(), change="added",
                               role=role)

    def set_user_disabled(self, username, disabled, *, by=None):
        """Disable (its sessions and counter work end) or enable an account; audited when ``by``
        is given. Usernames are case-insensitive: an admin never disables their own account."""
        username = username.strip().lower()
        if disabled and by is not None and username == by.strip().lower():
            raise Conflict("Không thể tự khóa tài khoản đang dùng", "You cannot disable yourself",
                           code="cannot_disable_self")
        return self.administer(
            "user_changed", lambda db, config, now: users.set_disabled(db, username, disabled, now=now),
            by=by, username=username, change="disable" if disabled else "enable")

    def set_password(self, username, password, *, by=None):
        """Give an account a new password (every session it had ends); audited when ``by`` is given."""
        username = username.strip().lower()
        return self.administer("user_changed", lambda db, config, now: users.set_password(db, username, password),
                               by=by, username=username, change="password")

    def create_token(self, *, role, counter=None, label="", by=None):
        """A new device token (its counter must exist): the plain token, shown once."""
        def change(db, config, now):
            if counter is not None:
                core.find_counter(config, counter)
            return auth.create_token(db, role=role, counter=counter, label=label, now=now)
        return self.administer("token_changed", change, by=by, role=role, counter=counter, label=label,
                               change="created")

    def revoke_token(self, token_id, *, by=None):
        """Revoke a device token: its devices are refused (and unpaired) from now."""
        return self.administer("token_changed", lambda db, config, now: auth.revoke_token(db, token_id, now=now),
                               by=by, token_id=token_id, change="revoked")

    def close_day(self, *, by):
        """End today's queue now: every unfinished ticket expires. The number expired."""
        return self.administer("day_closed", lambda db, config, now: core.expire_before(db, config, now=now,
                                                                                       include_today=True), by=by)

    def config_source(self):
        """The hall's configuration as its TOML mapping (what admins edit), a fresh copy."""
        source = self.store.get_setting("config_source")
        if source is None:
            raise Conflict("Chưa lưu cấu hình gốc của trung tâm: chạy lại `hallserver init --config TỆP`",
                           "The hall's source configuration is missing: run `hallserver init --config FILE`",
                           code="no_config_source")
        return copy.deepcopy(source)

    def change_config(self, mapping, *, by, section):
        """Validate an edited mapping like a hall file (ConfigError names the key), apply it live
        and audit which keys of ``section`` changed."""
        changes = administration.describe_change(self.config_source(), mapping)[:20]

        def change(db, config, now):
            self._reconfigure(db, config, now, parse_config(mapping), source=mapping)
        return self.administer("config_changed", change, by=by, section=section, changes=changes)

    def apply_config(self, new_config, *, source=None):
        """Apply a validated hall file (the command line's ``init --config``) to a hall that may
        be open, refused like an admin's edit when it would strand the citizens in it."""
        self._write(lambda db, config, now: self._reconfigure(db, config, now, new_config, source=source))

    def _reconfigure(self, db, config, now, new_config, *, source):
        # checked in the transaction that writes: a number taken meanwhile is seen
        reconfiguration.check_nobody_stranded(db, config, now, new_config)
        self.store.write_config(db, new_config, source=source)

    def daily_backup(self, directory, *, keep_days):
        """Today's copy of the database in ``directory`` (once a day), keeping ``keep_days`` days."""
        return backups.daily_backup(self.store, directory, keep_days=keep_days,
                                    today=core.local_day(self.config, self.clock()))

    def expire(self):
        """End yesterday's leftovers now (the hub also does it lazily and on a timer)."""
        return self.perform(core.expire_before)

    # -- procedures and bookings (core.procedures, core.bookings) ----------------------------

    def procedures(self, query="", service=None, include_hidden=False):
        """Procedures matching ``query`` (accent-insensitive), in the hall's order; hidden ones
        (and those of services the hall no longer has) only with ``include_hidden``."""
        return self.read(lambda db, config, now: procedures.search_procedures(
            db, config, query, service=service, include_hidden=include_hidden))

    def procedure(self, code, include_hidden=False):
        return self.read(lambda db, config, now: procedures.find_procedure(db, config, code,
                                                                           include_hidden=include_hidden))

    def save_procedure(self, data):
        """Create or edit one procedure (admin)."""
        return self.perform(procedures.upsert_procedure, data=data)

    def load_procedures(self, items, replace=False):
        return self.perform(procedures.save_procedures, procedures=items, replace=replace)

    def seed_demo_procedures(self):
        """Give a demo hall without procedures the shipped ones; the number loaded.

        A hall whose services are not the demo's loads its own (``hallserver procedures load``).
        """
        if self.read(lambda db, config, now: procedures.has_procedures(db)):
            return 0
        try:
            items = procedures.demo_procedures({service.code for service in self.config.services})
        except ConfigError:
            return 0
        self.load_procedures(items)
        return len(items)

    def booking_slots(self, service, unverified=False):
        """Days and slots with the places left (for an unverified phone: ``unverified``)."""
        return self.read(lambda db, config, now: bookings.slot_days(db, config, service=service, now=now,
                                                                     unverified=unverified))

    @property
    def phone_verification(self):
        """Whether public bookings verify the phone with a one-time code (a webhook is set)."""
        return phone_codes.available(self.config)

    def send_phone_code(self, phone, *, challenge_nonce=None, post=reminders.post_json):
        """Make a one-time code for ``phone`` and send it through the hall's webhook now, outside
        any transaction: ``{"verification", "expires_in", "phone"}``. A gateway that fails is a
        503 ``code_not_sent`` (the check question stays spent: answering it again costs a human)."""
        made = self.perform(phone_codes.start, phone=phone, challenge_nonce=challenge_nonce)
        ok, error = reminders.send_verification(self.config, made, post=post)
        self._write(lambda db, config, now: phone_codes.record_sent(
            db, config, verification=made["id"], ok=ok, now=now).result)
        if not ok:
            raise phone_codes.CodeNotSent(
                "Chưa gửi được mã xác minh; vui lòng thử lại sau ít phút hoặc gọi đường dây nóng",
                "The verification code could not be sent; try again in a few minutes or call the hotline")
        return {"verification": made["id"], "expires_in": max(0, round(made["expires_at"] - self.clock())),
                "phone": made["phone"]}

    def book_verified(self, *, verification, code, **fields):
        """A public booking with the one-time code sent to its phone: the code is checked in
        its own transaction (a wrong try counts even though the booking is refused), then the
        booking spends it. A double submit with the same ``idempotency_key`` answers the first."""
        checked = self.perform(phone_codes.confirm, verification=verification, code=code)
        if checked["refusal"] is not None:
            raise checked["refusal"]
        return self.book(verification=verification, **fields)

    def book(self, **fields):
        """A new booking (``core.bookings.book``) as its holder sees it: no personal data."""
        return self.perform(bookings.book, _booking_view, **fields)

    def booking(self, code):
        """The booking with this code as its holder sees it, or NotFound."""
        return self.read(lambda db, config, now: bookings.public_booking(db, config, bookings.find_booking(db, code)))

    def cancel_booking(self, code, *, phone=None, by_staff=False):
        return self.perform(bookings.cancel_booking, _booking_view, code=code, phone=phone, by_staff=by_staff)

    def move_booking(self, code, *, phone, slot):
        return self.perform(bookings.move_booking, _booking_view, code=code, phone=phone, slot=slot)

    def check_in(self, code, by="kiosk"):
        """Turn a booking into a ticket: ``{"booking", "ticket" (with its track token), "again"}``."""
        def respond(db, config, now, outcome):
            ticket = views.public_ticket(config, outcome.result["ticket"], Estimator(db, config, now), with_token=True)
            return {"booking": bookings.public_booking(db, config, outcome.result["booking"]), "ticket": ticket,
                    "again": outcome.result["again"]}
        return self.perform(bookings.check_in, respond, code=code, by=by)

    def staff_bookings(self, *, day, services, who, role):
        """A day's bookings with names and phones; each call is written to the access log."""
        return self.perform(bookings.staff_bookings, day=day, services=services, who=who, role=role)

    def import_bookings(self, rows):
        """``rows``: ``[(row number, mapping)]`` → ``{"imported": [...], "rejected": [...]}``."""
        return self.perform(bookings.import_bookings, rows=rows)

    def booking_access_log(self, limit=500):
        """Who looked at bookings' personal data, newest first."""
        return self.read(lambda db, config, now: list(db.query(
            "SELECT * FROM booking_access_log ORDER BY id DESC LIMIT ?", [limit])))

    def booking_upkeep(self):
        """Bookings past their check-in window become no-shows; personal data past retention goes."""
        return self.perform(bookings.expire_overdue), self.perform(bookings.purge_personal_data)
