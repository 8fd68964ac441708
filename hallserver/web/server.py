"""Running the hub: gevent's WSGI server with TCP_NODELAY, or Flask-SocketIO's runner.

Under gevent the default handler leaves Nagle's algorithm on; with a keep-alive
client's delayed ACK each small response then stalls about 40 ms. Setting
TCP_NODELAY on every accepted socket removes the stall (see bench/README.md).

A server that closes the connection after its answer must say so (RFC 9112 §9.6): gevent
closes after a request sent with ``Connection: close`` but leaves the header out of an
HTTP/1.1 answer, and a client that keeps the connection then fails on its next request.
"""

import socket


def _gevent_handler_class():
    from gevent import pywsgi

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
            (host, port), app, handler_class=_gevent_handler_class(), log="default" if access_log else None
        )
        server.serve_forever()
    elif mode == "threading":
        socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, log_output=access_log)
    else:
        socketio.run(app, host=host, port=port, log_output=access_log)
