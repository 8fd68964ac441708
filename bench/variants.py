"""Hub variants for comparisons: ``python -m bench --variant NAME`` serves the hub through this.

    python bench/variants.py NAME[,NAME...] serve --host ... --port ...

applies the named changes to the hub *in this process only* (monkeypatching, nothing
is written to hallserver/) and then runs ``hallserver`` as usual. They exist so the
figures behind a proposed hub change can be reproduced by anyone; once the hub adopts
a change its variant becomes a no-op or fails loudly, and should be deleted.

- ``nagle``: the gevent server without ``TCP_NODELAY`` (what server.py fixes).
- ``simple-websocket``: hide gevent-websocket, so engineio serves websockets with
  simple-websocket (what a fresh install gets: setup.cfg does not list gevent-websocket).
- ``flush``: publish yields once right after the ``called`` emits, so every screen gets
  the call before the hub builds and queues the other updates (measured, not adopted:
  see bench/README.md).

Floors of ``POST /api/v1/tickets`` (what bounds issuance: each takes a part of the request
away, so none is a candidate; they answer as the contract says, with less in the answer):

- ``no-push``: a batch of new tickets is pushed to nobody (no ``queue`` frame for the screens).
- ``no-estimate``: the answer carries no position or estimate.
- ``relaxed``: ``synchronous = NORMAL``: a COMMIT does not wait for the disk (a power cut
  may lose the last tickets; never for a hall).
- ``no-write``: the request is authenticated and validated as usual, and answered 201 with a
  made-up ticket, nothing written: Flask, Werkzeug and gevent's server alone.

The variants ``position``, ``index`` and ``counters`` were adopted by the hub (commit
"Faster issuance and pushes") and removed from here.
"""

import os
import sys

KNOWN = ("nagle", "simple-websocket", "flush", "no-push", "no-estimate", "relaxed", "no-write")
ALIASES = {"none": (), "lean": ("no-push", "no-estimate")}


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
        from hallserver.web import server

        def plain_handler_class():
            from gevent import pywsgi

            try:
                from geventwebsocket.handler import WebSocketHandler
                return WebSocketHandler
            except ImportError:
                return pywsgi.WSGIHandler

        server._gevent_handler_class = plain_handler_class

    if "flush" in chosen:
        from hallserver.web import push

        real_socketio = push.socketio

        class Emitter:
            def __getattr__(self, name):
                return getattr(real_socketio, name)

            def emit(self, event, data=None, **keywords):
                result = real_socketio.emit(event, data, **keywords)
                if event == "called":
                    real_socketio.sleep(0)
                return result

        push.socketio = Emitter()

    from hallserver import hall, store
    from hallserver.core import views

    if "no-push" in chosen:
        hall.Hall._publish_batch = lambda self, results: None

    if "no-estimate" in chosen:
        hall.Hall._new_ticket_view = lambda self, db, config, now, outcome: views.public_ticket(
            config, outcome.result, with_token=True)

    if "relaxed" in chosen:
        real_init = store.Store.__init__

        def open_relaxed(self, *arguments, **keywords):
            real_init(self, *arguments, **keywords)
            self.db.execute("PRAGMA synchronous = NORMAL")

        store.Store.__init__ = open_relaxed

    if "no-write" in chosen:
        def issue_nothing(self, service, priority=None, channel="kiosk"):
            config = self.config
            service_config = next(item for item in config.services if item.code == service)
            return {"number": service_config.format_number(service_config.block_start), "service": service,
                    "status": "waiting", "priority": priority, "channel": channel, "track_token": "x" * 24}

        hall.Hall.issue_ticket = issue_nothing


def serve_with(names):
    """Have every hub the benches start serve through the variants ``names`` (comma-separated);
    the names chosen."""
    chosen = expand(names)
    os.environ["HALL_BENCH_SERVE"] = f"{sys.executable} {__file__} {','.join(chosen) or 'none'}"
    return chosen


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv:
        raise SystemExit(__doc__)
    chosen = expand(argv.pop(0))
    from hallserver.cli import async_mode_from  # light: click and the token roles, no sockets

    mode = async_mode_from(argv) if argv[:1] == ["serve"] else None
    if "simple-websocket" in chosen:
        hide_gevent_websocket()
    # The hub's own main() patches too; patching first keeps every import below cooperative.
    if mode == "gevent":
        from gevent import monkey

        monkey.patch_all()
    elif mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    import hallserver.web  # noqa: F401 - the socketio object exists before push is patched

    apply(chosen)
    print(f"bench variant: {', '.join(chosen) or 'none'}", flush=True)
    from hallserver.cli import main as hallserver_main

    hallserver_main(argv)


if __name__ == "__main__":
    main()
