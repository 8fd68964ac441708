"""Running the hub: gevent's WSGI server with TCP_NODELAY, or Flask-SocketIO's runner.

Under gevent the default handler leaves Nagle's algorithm on; with a keep-alive
client's delayed ACK each small response then stalls about 40 ms. Setting
TCP_NODELAY on every accepted socket removes the stall (see bench/README.md).

A server that closes the connection after its answer must say so (RFC 9112 §9.6): gevent
closes after a request sent with ``Connection: close`` but leaves the header out of an
HTTP/1.1 answer, and a client that keeps the connection then fails on its next request.

pywsgi has no read timeout: a client that connects and then sends its request slowly or not
at all (slowloris) keeps a greenlet and a file descriptor for ever, and a flood of them
starves the hub of descriptors. The handler gives each request a deadline to start and then to
finish its request line and headers; the application (a body, a held long-polling GET, a
websocket) then runs with no deadline, as before.
"""

import os
import socket

# A request line and its headers are one to three TCP segments (under 2 KB with the session
# cookie): on the hall's LAN they arrive within milliseconds, and on a phone's 3G link (round
# trips of 1-2 s) within a few seconds even when segments are lost: 15 s still covers three
# retransmissions in a row (1 + 2 + 4 s of backoff) on top of slow round trips. A new connection
# gets the same time to start its request: a browser connects when it has one to send.
HEADER_SECONDS = 15
# Between two requests on a kept-alive connection. Live pages hear changes over Socket.IO, so a
# kept-alive HTTP connection mostly waits for someone's next tap, and closing it costs that
# client one new connection (browsers reopen by themselves). 75 s is nginx's default towards
# its clients and longer than the 60 s after which the deploy's nginx closes its idle keep-alive
# connections to the hub (deploy/nginx-hall-queue.conf): the proxy closes first, so it never
# sends a request into a connection the hub is closing.
IDLE_SECONDS = 75
# "HEADER,IDLE" in seconds, for tests only: the drops can be watched within seconds.
TEST_TIMEOUTS_VARIABLE = "HALL_TEST_CLIENT_TIMEOUTS"


def client_timeouts(environ=None):
    """(header, idle) seconds: the constants, or the test variable's two numbers."""
    raw = (os.environ if environ is None else environ).get(TEST_TIMEOUTS_VARIABLE)
    if not raw:
        return HEADER_SECONDS, IDLE_SECONDS
    header, idle = raw.split(",")
    return float(header), float(idle)


def _gevent_handler_class(header_seconds=HEADER_SECONDS, idle_seconds=IDLE_SECONDS):
    from gevent import Timeout, pywsgi

    try:
        # When gevent-websocket is installed engineio expects its handler.
        from geventwebsocket.handler import WebSocketHandler as BaseHandler
    except ImportError:
        BaseHandler = pywsgi.WSGIHandler

    class NoDelayHandler(BaseHandler):
        def __init__(self, sock, address, server, rfile=None):
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().__init__(sock, address, server, rfile)
            self.kept_alive = False  # a request was answered on this connection
            self.header_deadline = None

        def handle_one_request(self):
            """Serve one request, or close (None) when it is late to start or to finish its headers."""
            if not self._request_started(idle_seconds if self.kept_alive else header_seconds):
                return None
            # One deadline for the whole request line and headers: a per-read timeout would let
            # a client that drips a byte at a time hold the connection for ever.
            self.header_deadline = Timeout(header_seconds)
            self.header_deadline.start()
            try:
                result = super().handle_one_request()
            except Timeout as expired:
                if expired is not self.header_deadline:
                    raise
                self._log_drop(f"no complete request headers within {header_seconds:g} s")
                return None
            finally:
                self.header_deadline.close()
            self.kept_alive = result is True
            return result

        def _request_started(self, seconds):
            """Whether the next request's first byte arrives within ``seconds`` (False at EOF)."""
            if self.rfile.closed:
                return False
            with Timeout(seconds, False):
                try:
                    return bool(self.rfile.peek(1))
                except OSError:  # reset by the client: nothing to answer
                    return False
            if self.kept_alive:
                return False  # an idle keep-alive connection: closing it is routine, not worth a line
            self._log_drop(f"no request within {seconds:g} s of connecting")
            return False

        def _log_drop(self, reason):
            # The access log only (off unless --access-log): a flood would otherwise write a
            # line per connection to the hub's output.
            address = self.client_address[0] if isinstance(self.client_address, tuple) else self.client_address
            self.server.log.write(f"{address or '-'} dropped: {reason}\n")

        def read_request(self, raw_requestline):
            try:
                return super().read_request(raw_requestline)
            finally:
                # The headers are in: a body, a held long-polling GET or a websocket takes its time.
                self.header_deadline.cancel()

        def handle_one_response(self):
            try:
                return super().handle_one_response()
            finally:
                if self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                    # the socket spoke websocket until now: what follows on it is frames, not requests
                    self.close_connection = True

        def start_response(self, status, headers, exc_info=None):
            # gevent adds the header itself only for HTTP/1.0 clients.
            if (self.close_connection and self.request_version == "HTTP/1.1"
                    and not any(name.lower() == "connection" for name, _ in headers)):
                headers = [*headers, ("Connection", "close")]
            return super().start_response(status, headers, exc_info)

    return NoDelayHandler


def run(app, socketio, host, port, access_log=False):
    """Serve ``app`` until interrupted, with the async mode it was built for."""
    mode = socketio.server.eio.async_mode
    if mode == "gevent":
        from gevent import get_hub, pywsgi

        # A COMMIT waits for the disk (synchronous=FULL): in a thread of gevent's pool the
        # event loop meanwhile reads the next requests, which then share the next commit.
        app.extensions["hall"].store.offload = lambda function, *arguments: get_hub().threadpool.apply(
            function, arguments)
        server = pywsgi.WSGIServer(
            (host, port), app, handler_class=_gevent_handler_class(*client_timeouts()),
            log="default" if access_log else None,
        )
        server.serve_forever()
    elif mode == "threading":
        socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, log_output=access_log)
    else:
        socketio.run(app, host=host, port=port, log_output=access_log)
