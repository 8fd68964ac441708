"""The hall as the edges use it: run a core action in one transaction, then publish.

``Hall.perform`` opens ``BEGIN IMMEDIATE``, runs the action, commits, and only then
hands the recorded events to the subscribed publishers (the Socket.IO edge). The
store's lock is held until publishing is done, so pushes leave in ``seq`` order.
This module knows nothing about Flask or Socket.IO.
"""

import copy
import json
import time

from . import core
from .config import parse_config
from .core import bookings, procedures, ratings, views
from .core.estimates import Estimator
from .errors import ConfigError, Conflict, Invalid, NotFound

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
}


def _new_ticket_view(db, config, now, outcome):
    return views.public_ticket(config, outcome.result, Estimator(db, config, now), with_token=True, newest=True)


def _booking_view(db, config, now, outcome):
    return bookings.public_booking(db, config, outcome.result)


class Hall:
    def __init__(self, store, clock=time.time):
        self.store = store
        self.clock = clock
        self._publishers = []

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
            return views.public_ticket(config, rows[0], Estimator(db, config, now))
        return self.read(view)

    def counter_state(self, number):
        def view(db, config, now):
            core.find_counter(config, number)
            return {"seq": core.current_seq(db), "counter": views.counter_state(db, config, number, now)}
        return self.read(view)

    # -- writes ---------------------------------------------------------------

    def issue_ticket(self, service, priority=None, channel="kiosk"):
        """A new ticket as the kiosk shows it: number, position, estimate, track token."""
        return self.perform(core.issue_ticket, _new_ticket_view, service=service, priority=priority,
                            channel=channel)

    def issue_remote_ticket(self, service, *, phone, address_hash):
        """A number taken from home (channel ``online``), with the per-phone and per-address caps."""
        return self.perform(core.issue_remote_ticket, _new_ticket_view, service=service, phone=phone,
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
        with self.store.reading() as db:
            row = db.execute("SELECT id FROM tickets WHERE track_token = ?", [track_token]).fetchone()
            return bool(row) and ratings.is_rated(db, row[0])

    def record_fault(self, device, message):
        """A device fault (a printer out of paper...) goes to the event log and the dashboard."""
        def fault(db, config, now):
            return core.Outcome(None, [core.events.record(db, "device_fault", now,
                                                          data={"device": device, "message": message})])
        self.perform(fault)

    def counter_action(self, counter, action, request_id=None, **arguments):
        """Run a counter action; a repeated ``request_id`` returns the first answer, doing nothing."""
        if action not in COUNTER_ACTIONS:
            raise Invalid(f"Thao tác không hợp lệ {action!r}", f"Unknown action {action!r}", code="unknown_action")
        function = COUNTER_ACTIONS[action]

        def run(db, config, now, **ignored):
            if request_id is not None:
                row = db.execute(
                    "SELECT response FROM requests WHERE counter = ? AND request_id = ?", [counter, request_id]
                ).fetchone()
                if row:
                    return core.Outcome(json.loads(row[0]), [])
            outcome = function(db, config, now=now, counter=counter, **arguments)
            estimator = Estimator(db, config, now)
            ticket = outcome.result if isinstance(outcome.result, dict) else None
            response = {
                "seq": outcome.events[-1].seq if outcome.events else core.current_seq(db),
                "ticket": views.staff_ticket(config, ticket, now, estimator) if ticket else None,
                "counter": views.counter_state(db, config, counter, now, estimator),
            }
            if request_id is not None:
                db["requests"].insert({"counter": counter, "request_id": request_id, "action": action,
                                       "response": json.dumps(response, ensure_ascii=False), "at": now})
            return core.Outcome(response, outcome.events)

        return self.perform(run)

    def cancel(self, track_token):
        def respond(db, config, now, outcome):
            return views.public_ticket(config, outcome.result)
        return self.perform(core.cancel, respond, track_token=track_token)

    # -- administration ------------------------------------------------------------

    def config_source(self):
        """The hall's configuration as its TOML mapping (what admins edit), a fresh copy."""
        source = self.store.get_setting("config_source")
        if source is None:
            raise Conflict("Chưa lưu cấu hình gốc của trung tâm: chạy lại `hallserver init --config TỆP`",
                           "The hall's source configuration is missing: run `hallserver init --config FILE`",
                           code="no_config_source")
        return copy.deepcopy(source)

    def reconfigure(self, db, mapping):
        """Validate an edited mapping like a hall file and apply it inside the caller's
        transaction (``perform``); raises ConfigError naming the key."""
        self.store.write_config(db, parse_config(mapping), source=mapping)

    def expire(self):
        """End yesterday's leftovers now (the hub also does it lazily and on a timer)."""
        return self.perform(core.expire_before)

    # -- procedures and bookings (core.procedures, core.bookings) ----------------------------

    def procedures(self, query="", service=None):
        """Procedures matching ``query`` (accent-insensitive), in the hall's order."""
        return self.read(lambda db, config, now: procedures.search_procedures(db, config, query, service=service))

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

    def booking_slots(self, service):
        return self.read(lambda db, config, now: bookings.slot_days(db, config, service=service, now=now))

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

    def booking_upkeep(self):
        """Bookings past their check-in window become no-shows; personal data past retention goes."""
        return self.perform(bookings.expire_overdue), self.perform(bookings.purge_personal_data)
