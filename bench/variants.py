"""Hub variants for comparisons: ``python -m bench --variant NAME`` serves the hub through this.

    python bench/variants.py NAME[,NAME...] serve --host ... --port ...

applies the named changes to the hub *in this process only* (monkeypatching, nothing
is written to hallserver/) and then runs ``hallserver`` as usual. They exist so the
figures behind a proposed hub change can be reproduced by anyone; once the hub adopts
a change its variant becomes a no-op or fails loudly, and should be deleted.

- ``nagle``: the gevent server without ``TCP_NODELAY`` (what server.py fixes).
- ``simple-websocket``: hide gevent-websocket, so engineio serves websockets with
  simple-websocket (what a fresh install gets: setup.cfg does not list gevent-websocket).
- ``position``: a new ticket's queue position without loading the service's whole
  waiting list (Estimator.position_of), so issuing stays O(1) in Python.
- ``index``: an index on tickets (status, day, service), so the "stale tickets of an
  earlier day?" check and the waiting counts stop scanning every waiting ticket.
- ``counters``: publish sends ``counter`` to the display/dashboard only for counters
  whose public view can have changed (those named by the events; all after an expiry).
- ``flush``: publish yields once right after the ``called`` emits, so every screen gets
  the call before the hub builds and queues the other updates.
- ``proposed``: position + index + counters (flush was measured and is not proposed:
  see bench/README.md).
"""

import os
import sys

KNOWN = ("nagle", "simple-websocket", "position", "index", "counters", "flush")
ALIASES = {"proposed": ("position", "index", "counters"), "none": ()}


def expand(names):
    chosen = []
    for name in filter(None, (part.strip() for part in names.split(","))):
        for item in ALIASES.get(name, (name,)):
            if item not in KNOWN:
                raise SystemExit(f"unknown variant {item!r} (known: {', '.join(KNOWN + tuple(ALIASES))})")
            if item not in chosen:
                chosen.append(item)
    return chosen


class _Hide:
    """A meta path entry that makes ``import geventwebsocket`` fail, as if not installed."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name == "geventwebsocket" or name.startswith("geventwebsocket."):
            raise ImportError(f"{name} hidden by bench variant simple-websocket")
        return None


def hide_gevent_websocket():
    sys.meta_path.insert(0, _Hide)


def apply(chosen):
    if "nagle" in chosen:
        from hallserver import server

        def plain_handler_class():
            from gevent import pywsgi

            try:
                from geventwebsocket.handler import WebSocketHandler
                return WebSocketHandler
            except ImportError:
                return pywsgi.WSGIHandler

        server._gevent_handler_class = plain_handler_class

    if "position" in chosen:
        from hallserver.core import estimates
        from hallserver.core.tickets import local_day

        original = estimates.Estimator.position_of

        def position_of(self, ticket):
            if (ticket["status"] == "waiting" and ticket["service"] not in self._positions
                    and ticket["requeued_at"] is None and ticket["priority"] is None
                    and getattr(self.config.policy, "remote_order", "") != "walk_ins_first"):
                newest = self.db.execute(
                    "SELECT MAX(id) FROM tickets WHERE status = 'waiting' AND day = ? AND service = ?",
                    [local_day(self.config, self.now), ticket["service"]],
                ).fetchone()[0]
                if newest == ticket["id"]:
                    # The newest normal ticket sorts after every other waiting one.
                    return self.waiting.get(ticket["service"], 0)
            return original(self, ticket)

        estimates.Estimator.position_of = position_of

    if "index" in chosen:
        from hallserver import store

        migrate = store.Store.migrate

        def migrate_and_index(self):
            version = migrate(self)
            with self.transaction() as db:
                db.execute("CREATE INDEX IF NOT EXISTS bench_tickets_status_day_service "
                           "ON tickets (status, day, service)")
            return version

        store.Store.migrate = migrate_and_index

    if "counters" in chosen or "flush" in chosen:
        from hallserver import push

        real_publish, real_socketio = push.publish, push.socketio
        state = {"changed": None}

        class Emitter:
            def __getattr__(self, name):
                return getattr(real_socketio, name)

            def emit(self, event, data=None, **keywords):
                if ("counters" in chosen and event == "counter" and state["changed"] is not None
                        and data["counter"]["number"] not in state["changed"]):
                    return None
                result = real_socketio.emit(event, data, **keywords)
                if "flush" in chosen and event == "called":
                    real_socketio.sleep(0)
                return result

        def publish(events, db, config, now):
            expired = any(event.type == "expired" for event in events)
            state["changed"] = None if expired else {e.counter for e in events if e.counter is not None}
            try:
                return real_publish(events, db, config, now)
            finally:
                state["changed"] = None

        push.socketio = Emitter()
        push.publish = publish


def _async_mode(argv):
    """The same choice hallserver.cli makes, without importing the hub before patching."""
    for index, argument in enumerate(argv):
        if argument.startswith("--async-mode="):
            return argument.split("=", 1)[1]
        if argument == "--async-mode" and index + 1 < len(argv):
            return argv[index + 1]
    return os.environ.get("HALL_ASYNC_MODE", "gevent")


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit(__doc__)
    chosen = expand(argv.pop(0))
    mode = _async_mode(argv) if argv[:1] == ["serve"] else None
    if "simple-websocket" in chosen:
        hide_gevent_websocket()
    # The hub's own main() patches too; patching first keeps every import below cooperative.
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    import hallserver.app  # noqa: F401 - the socketio object exists before push is patched

    apply(chosen)
    print(f"bench variant: {', '.join(chosen) or 'none'}", flush=True)
    from hallserver.cli import main as hallserver_main

    hallserver_main(argv)


if __name__ == "__main__":
    main()
