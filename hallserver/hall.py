"""The hall as the edges use it: run a core action in one transaction, then publish.

``Hall.perform`` opens ``BEGIN IMMEDIATE``, runs the action, commits, and only then
hands the recorded events to the subscribed publishers (the Socket.IO edge). The
store's lock is held until publishing is done, so pushes leave in ``seq`` order.
This module knows nothing about Flask or Socket.IO.
"""

import json
import time

from . import core
from .core import views
from .core import ratings
from .core.estimates import Estimator
from .errors import Invalid, NotFound

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
    return views.public_ticket(config, outcome.result, Estimator(db, config, now), with_token=True)


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

    def expire(self):
        """End yesterday's leftovers now (the hub also does it lazily and on a timer)."""
        return self.perform(core.expire_before)
