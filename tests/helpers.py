"""Plain helpers the tests share: the hall's clock, hall files (mappings and TOML), tokens
and accounts, signing in and CSRF tokens, the command line, a real hub process on loopback
and a Socket.IO display client. Fixtures live in conftest.py; this module has none."""

import hmac
import html
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import wave
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
import socketio
from click.testing import CliRunner

from hallserver.cli import cli
from hallserver.config import demo_mapping, parse_config
from hallserver.core.procedures import demo_procedures
from hallserver.errors import HallError
from hallserver.hall import Hall
from hallserver.services import auth, users
from hallserver.store import open_store

HALL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parent.parent
HALLSERVER = str(Path(sys.executable).with_name("hallserver"))
ARTIFACTS = ROOT / "test-artifacts"

PASSWORD = "mat-khau-dai-1"
NAME, PHONE = "Nguyễn Thị Hoa", "0912345678"


# -- time -------------------------------------------------------------------------------------

class Clock:
    """A clock the test moves by hand."""

    def __init__(self, moment):
        self.now = moment.timestamp()

    def __call__(self):
        return self.now

    def advance(self, seconds=1.0):
        self.now += seconds
        return self.now

    def set(self, moment):
        self.now = moment.timestamp()


def hall_time(*args):
    """A moment in the hall's time zone: ``hall_time(2026, 11, 26, 9, 0)``."""
    return datetime(*args, tzinfo=HALL_TZ)


# -- hall files -------------------------------------------------------------------------------

HT = {"code": "HT", "name": "Hộ tịch", "block": "1001-1999"}
CT = {"code": "CT", "name": "Chứng thực", "prefix": "B", "width": 3}


def small_hall_mapping(**changes):
    """A two-service hall for policy tests, as a TOML-shaped mapping."""
    mapping = {
        "hall": {"name": "Xã Thử"},
        "hours": {"default": ["07:30-11:30", "13:30-17:00"], "saturday": ["07:30-11:30"], "sunday": []},
        "policy": {"priority_streak": 2, "max_recalls": 2},
        "priorities": [{"code": "elderly", "name": "Người cao tuổi"}, {"code": "disabled", "name": "Người khuyết tật"}],
        "services": [
            dict(HT, service_minutes=6),
            dict(CT, daily_cap=3, service_minutes=4),
        ],
        "counters": [
            {"number": 1, "services": ["HT"]},
            {"number": 2, "services": ["HT", "CT"]},
            {"number": 3, "services": ["CT", "HT"]},
        ],
    }
    mapping.update(changes)
    return mapping


def booking_mapping(**booking):
    """The small hall (HT, CT; counters 1: HT, 2: HT+CT, 3: CT+HT) taking bookings;
    Friday 27/11/2026 is a holiday."""
    mapping = small_hall_mapping()
    mapping["hours"] = dict(mapping["hours"], holidays=["2026-11-27"])
    mapping["booking"] = {"capacity": 2, "rate_limit": "1000 per minute", **booking}
    return mapping


def booking_hall(tmp_path, clock, name="bookings.db", **booking):
    """A Hall on its own database file, from ``booking_mapping(**booking)``."""
    store = open_store(tmp_path / name)
    store.apply_config(parse_config(booking_mapping(**booking)))
    return Hall(store, clock=clock)


def refusal(call, *args, **kwargs):
    """The HallError ``call(*args, **kwargs)`` raises (the test fails if it raises none)."""
    with pytest.raises(HallError) as refused:
        call(*args, **kwargs)
    return refused.value


def book(hall, slot, phone=PHONE, service="HT", name="Nguyễn Văn An", **fields):
    return hall.book(service=service, slot=slot, name=name, phone=phone, source="api", **fields)


def challenge_answer(secret, token):
    """The answer to a booking check question, read with the hub's own signing secret: the
    token holds a keyed hash of the answer, the page and the API only a picture of the sum,
    so a script without the secret cannot do this."""
    from hallserver.web.guards import answer_digest, challenge_serializer

    data = challenge_serializer(secret).loads(token)
    return next(answer for answer in range(1000)
                if hmac.compare_digest(answer_digest(secret, data["n"], answer), data["d"]))


def hub_secret(db):
    """The secret a hub process signs with (kept in its database when HALL_SECRET_KEY is empty)."""
    with sqlite3.connect(db) as connection:
        return json.loads(connection.execute("SELECT value FROM hall_settings WHERE key = 'secret_key'").fetchone()[0])


def demo_app(tmp_path, clock, rate_limit="1000 per minute", name="web.db", **booking):
    """The demo hall (open around the clock) with its procedures, booking from Thursday 09:00;
    ``booking`` changes its ``[booking]`` table (e.g. ``reminder_url=...``)."""
    from hallserver import create_app

    mapping = demo_mapping()
    mapping["booking"].update(rate_limit=rate_limit, **booking)
    store = open_store(tmp_path / name)
    store.apply_config(parse_config(mapping))
    app = create_app({"db": store.path, "async_mode": "threading", "public_url": "http://192.168.1.10:5000"},
                     clock=clock)
    hall = app.extensions["hall"]
    hall.load_procedures(demo_procedures({service.code for service in hall.config.services}))
    return app


def hall_mapping(**sections):
    """The smallest hall open around the clock: service HT at counter 1. Each keyword
    replaces (or adds) a whole top-level section: ``hall_mapping(booking={"capacity": 1})``."""
    mapping = {
        "hall": {"name": "UBND xã Thử Nghiệm"},
        "hours": {"default": ["00:00-24:00"]},
        "services": [dict(HT)],
        "counters": [{"number": 1, "services": ["HT"]}],
    }
    mapping.update(sections)
    return mapping


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def toml_text(mapping):
    """A hall mapping as a hall file: tables and arrays of tables, one level deep."""
    lines = []
    for section, value in mapping.items():
        if isinstance(value, dict):
            lines.append(f"[{section}]")
            lines += [f"{key} = {_toml_value(item)}" for key, item in value.items()]
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            for table in value:
                lines.append(f"[[{section}]]")
                lines += [f"{key} = {_toml_value(item)}" for key, item in table.items()]
        else:
            lines.insert(0, f"{section} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def hall_toml(**sections):
    """``hall_mapping(**sections)`` as the text of a hall file."""
    return toml_text(hall_mapping(**sections))


def init_hall(tmp_path, **sections):
    """A hall database initialised by ``hallserver init --config`` from ``hall_toml(**sections)``."""
    db = tmp_path / "hall.db"
    config = tmp_path / "hall.toml"
    config.write_text(hall_toml(**sections), encoding="utf-8")
    init_database(db, "--config", str(config))
    return db


def init_database(db, *arguments):
    """``hallserver init [arguments]`` on ``db`` (the demo hall without ``--config``): the real
    command, run in this process by click's runner, without a second of interpreter start.
    The command as a process has its own tests (test_config.py)."""
    result = CliRunner().invoke(cli, ["init", *arguments], env={"HALL_DB": str(db)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output


# -- tokens and accounts ----------------------------------------------------------------------

def make_token(store, role, counter=None):
    with store.transaction() as db:
        return auth.create_token(db, role=role, counter=counter, now=time.time())


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def add_user(store, username, role="staff", counters=(), password=PASSWORD, display_name=""):
    with store.transaction() as db:
        return users.add_user(db, username=username, password=password, role=role, now=time.time(),
                              counters=counters, display_name=display_name)


# -- pages through the Flask test client -------------------------------------------------------

def text(answer):
    return answer.get_data(as_text=True)


def shown_text(answer):
    """The page's text with HTML entities decoded, as a person reads it."""
    return html.unescape(text(answer))


def csrf_in(page):
    """The CSRF token of a page's HTML: its ``csrf-token`` meta tag, else a hidden form field."""
    found = (re.search(r'name="csrf-token" content="([^"]+)"', page)
             or re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
             or re.search(r'type="hidden" name="csrf_token" value="([^"]+)"', page))
    return found.group(1)


def csrf(client, path):
    """The CSRF token of the page at ``path``."""
    return csrf_in(text(client.get(path)))


def sign_in(client, username, password=PASSWORD, next_path=None):
    path = "/dang-nhap" + (f"?next={next_path}" if next_path else "")
    return client.post(path, data={"username": username, "password": password,
                                   "csrf_token": csrf(client, "/dang-nhap")})


def signed_in(app, username, password=PASSWORD):
    """A new test client of ``app``, signed in as ``username``."""
    client = app.test_client()
    sign_in(client, username, password)
    return client


# -- the command line and a real hub process on loopback ---------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(*arguments, db, check=True, input=None):
    environment = dict(os.environ, HALL_DB=str(db))
    return subprocess.run([HALLSERVER, *arguments], env=environment, capture_output=True, text=True,
                          check=check, input=input, timeout=60)


def device_token(db, role, counter=None):
    """A new device token in the hall database ``db`` (a hub may be serving it), made in this
    process: a `hallserver token create` process each took a second (that command has its own
    tests in test_hub_process.py)."""
    store = open_store(db)
    try:
        return make_token(store, role, counter)
    finally:
        store.close()



def cli_user(db, username, role, *options, password=PASSWORD):
    """``hallserver user add USERNAME --role ROLE [options]``, the password typed in."""
    return run_cli("user", "add", username, "--role", role, *options, db=db, input=password + "\n")


def serve_app(app):
    """``app`` (a hub built in this process, e.g. ``create_app(..., clock=clock)`` for a hall's
    clock the test holds) served on a free loopback port in threads, over HTTP, websocket and
    polling like a process: the server, with ``.url``; ``server.shutdown()`` stops it."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    server.url = f"http://127.0.0.1:{server.port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class HubProcess:
    """``hallserver serve`` in a subprocess on a free loopback port; ``start`` again after
    ``stop`` or ``kill`` to restart it on the same port."""

    def __init__(self, db, port=None, async_mode="gevent", message_queue=None, environment=None):
        self.db = Path(db)
        self.port = port or free_port()
        self.async_mode = async_mode
        self.message_queue = message_queue  # a Redis URL shared with other hub processes
        self.environment = environment or {}  # more HALL_* settings, e.g. {"HALL_TRUST_PROXY": "true"}
        self.process = None
        self.log = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        environment = dict(os.environ, HALL_DB=str(self.db), **self.environment)
        if self.log:
            self.log.close()
        self.log = open(self.db.with_suffix(f".{self.port}.log"), "ab")
        queue = ["--message-queue", self.message_queue] if self.message_queue else []
        self.process = subprocess.Popen(
            [HALLSERVER, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--async-mode", self.async_mode,
             *queue],
            env=environment, stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"hub exited with {self.process.returncode}: {self.read_log()}")
            try:
                if requests.get(f"{self.url}/api/v1/state", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"hub did not start: {self.read_log()}")

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        return self.db.with_suffix(f".{self.port}.log").read_text(errors="replace")[-3000:]

    def get(self, path, token=None, timeout=10):
        return requests.get(f"{self.url}{path}", headers=bearer(token) if token else {}, timeout=timeout)

    def post(self, path, token, body=None, timeout=10):
        return requests.post(f"{self.url}{path}", json=body or {}, headers=bearer(token), timeout=timeout)

    def kill(self):
        """``kill -9``: no clean shutdown, no chance to flush anything."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.log:
            self.log.close()


class Frozen:
    """``with Frozen(hub):`` the hub process is stopped (SIGSTOP) inside the block: its port still
    accepts connections, nothing answers (a hung hub, a network that swallows packets)."""

    def __init__(self, hub):
        self.pid = hub.process.pid

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc_info):
        os.kill(self.pid, signal.SIGCONT)


class ResponseDroppingProxy:
    """A loopback HTTP proxy, one exchange per connection, that lets the hub handle the
    first ``drops`` counter actions but drops the hub's answers: the client sees a broken connection."""

    def __init__(self, port, drops=1):
        self.target = port
        self.drops = drops
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.bodies = []
        self.dropped = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                request = read_http_message(connection)
                with socket.create_connection(("127.0.0.1", self.target), timeout=10) as upstream:
                    upstream.sendall(request)
                    response = read_http_message(upstream)
                self.bodies.append(json.loads(request.split(b"\r\n\r\n", 1)[1] or b"{}"))
                if self.dropped < self.drops and request.startswith(b"POST /api/v1/counters/"):
                    self.dropped += 1
                    continue  # closed without an answer, after the hub committed
                head, body = response.split(b"\r\n\r\n", 1)
                head = b"\r\n".join(line for line in head.split(b"\r\n")
                                    if not line.lower().startswith(b"connection:"))
                connection.sendall(head + b"\r\nConnection: close\r\n\r\n" + body)

    def close(self):
        self.listener.close()


def read_http_message(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def hub_with_tokens(db, counter=1):
    """A HubProcess on ``db`` (not started) with a kiosk token ``hub.kiosk`` and a token
    ``hub.counter`` for ``counter``."""
    hub = HubProcess(db)
    hub.kiosk = device_token(db, "kiosk")
    hub.counter = device_token(db, "counter", counter)
    return hub


class DisplayClient:
    """A python-socketio client joined to the display room (or ``room``, with ``token``),
    recording what it hears."""

    def __init__(self, url, room="display", token=None,
                 events=("state", "called", "queue", "counter", "ticket", "counter_state")):
        self.events = []
        self.arrived = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        for name in events:
            self.client.on(name, self._recorder(name))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)
        self.ack = self.client.call("join", {"room": room, **({"token": token} if token else {})}, timeout=10)

    def _recorder(self, name):
        def record(payload):
            with self.arrived:
                self.events.append((name, payload))
                self.arrived.notify_all()
        return record

    def wait_for(self, name, predicate=lambda payload: True, timeout=10):
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for event_name, payload in self.events:
                    if event_name == name and predicate(payload):
                        return payload
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {name} event within {timeout}s: {self.events}")
                self.arrived.wait(remaining)

    def close(self):
        """Disconnect without waiting: the hub hears the close at once, but websocket-client's
        close() then waits 3 s for a reply its own reader thread has already taken."""
        closing = threading.Thread(target=self.client.disconnect, daemon=True)
        closing.start()
        closing.join(0.5)


class ScreenClient(DisplayClient):
    """A hall screen joined to the display room that reports its health (``screen_status``)."""

    def __init__(self, url, screen="screen-test", kind="browser", name=None, sound="ok"):
        super().__init__(url)
        self.status = {"screen": screen, "kind": kind, "name": name, "sound": sound, "last_announcement": None}

    def report(self, **changes):
        """Send the status with ``changes`` (kept for the next report); the hub's ack."""
        self.status.update(changes)
        return self.client.call("screen_status", self.status, timeout=10)


class DashboardClient(DisplayClient):
    """A supervisor's socket joined to ``dashboard``, recording its snapshots and alerts."""

    def __init__(self, url, token):
        super().__init__(url, room="dashboard", token=token, events=("dashboard", "alert"))
        assert self.ack["ok"], self.ack
        self.token = token

    def fresh(self):
        """A snapshot built now (joining again answers with one)."""
        with self.arrived:
            self.events.clear()
        self.client.call("join", {"room": "dashboard", "token": self.token}, timeout=10)
        return self.wait_for("dashboard")

    def until(self, predicate, timeout=15):
        """Fresh snapshots until one satisfies ``predicate``; that snapshot."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self.fresh()
            if predicate(snapshot):
                return snapshot
            if time.monotonic() > deadline:
                raise AssertionError(f"no snapshot as expected within {timeout} s: {snapshot['screens']}")
            time.sleep(0.2)


class NginxServer:
    """Debian's nginx on a free loopback port, serving the shipped site
    ``deploy/nginx-hall-queue.conf`` with its upstream servers replaced by ``upstream_ports``;
    everything it writes (pid, logs, temporary files) stays in ``directory``."""

    SITE = Path(__file__).resolve().parent.parent / "deploy" / "nginx-hall-queue.conf"
    PROXY_ADDRESS = "127.0.0.2"

    def __init__(self, directory, upstream_ports):
        self.directory = Path(directory)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstream_ports = upstream_ports
        self.process = None

    def configuration(self):
        """The shipped site inside a minimal nginx.conf (the site itself is used as written)."""
        site = self.SITE.read_text()
        upstreams = re.findall(r"^ *server 127\.0\.0\.1:\d+;\n", site, flags=re.MULTILINE)
        assert upstreams, "the shipped site names no upstream server"
        site = site.replace("".join(upstreams), "".join(
            f"    server 127.0.0.1:{port};\n" for port in self.upstream_ports))
        site = site.replace("    listen [::]:80;\n", "").replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        temporary = "\n".join(f"    {kind}_temp_path {self.directory / kind};"
                               for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        # As root, nginx's workers would run as nobody, who cannot enter pytest's private tmp.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        # nginx reaches the hubs from an address of its own (127.0.0.2), as a proxy on another
        # machine would, so what the hub takes for the visitor's address tells the two apart.
        return (f"{user}daemon off;\nworker_processes 1;\npid {self.directory / 'nginx.pid'};\n"
                f"error_log {self.directory / 'error.log'} info;\nevents {{ worker_connections 512; }}\n"
                f"http {{\n    access_log {self.directory / 'access.log'};\n{temporary}\n"
                f"    proxy_bind {self.PROXY_ADDRESS};\n{site}\n}}\n")

    def start(self, timeout=10):
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "nginx.conf").write_text(self.configuration())
        self.process = subprocess.Popen(
            ["/usr/sbin/nginx", "-p", str(self.directory), "-c", str(self.directory / "nginx.conf")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}: {self.error_log()}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not start: {self.error_log()}")

    def error_log(self):
        path = self.directory / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()   # SIGTERM: nginx's fast shutdown
            self.process.wait(timeout=10)


class RedisServer:
    """Debian's ``redis-server`` on a free loopback port, in ``directory``, saving nothing."""

    def __init__(self, directory):
        self.directory = Path(directory)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self, timeout=10):
        import redis

        self.directory.mkdir(parents=True, exist_ok=True)
        self.log = open(self.directory / "redis.log", "wb")
        self.process = subprocess.Popen(
            ["/usr/bin/redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.directory)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url).ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.log.close()


def wait_until(condition, timeout=30, every=0.1, what="the condition"):
    """Poll ``condition()`` until it returns something true (returned); AssertionError at ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} did not happen within {timeout} s")


# -- a real browser (Playwright pages) -------------------------------------------------------------

def browser_sign_in(page, url, username, password=PASSWORD, path="/dang-nhap"):
    """Sign in through the form: go to ``path`` (which may redirect to the form; None: the
    page is on the form already), fill it in and submit it."""
    if path is not None:
        page.goto(f"{url}{path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


OFFICE_PC = {"width": 1366, "height": 768}   # the supervisor's and admin's screen


def office_sign_in(open_page, url, username, lands):
    """A new page at an office PC's size (1366×768, Vietnamese), signed in as ``username`` and
    landed on ``lands`` (``/admin``, ``/dashboard``)."""
    page = open_page(viewport=OFFICE_PC, locale="vi-VN")
    browser_sign_in(page, url, username)
    page.wait_for_url(f"{url}{lands}")
    return page


def browser_pair_kiosk(page, url, token):
    """Pair the page as a kiosk with a kiosk token and wait for the kiosk screen."""
    page.goto(f"{url}/kiosk/ghep-noi")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/kiosk")


# -- artifacts ------------------------------------------------------------------------------------

def screenshot(page, name):
    """Keep a screenshot of a Playwright page as a test artifact (test-artifacts/NAME.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def write_pack(directory, clip_ids, seconds=0.05, sample_rate=22050, missing_files=()):
    """A small voice pack in the ``hallserver.voice.pack`` format: one short tone per clip."""
    directory.mkdir(parents=True, exist_ok=True)
    frames = int(seconds * sample_rate)
    tone = b"".join(int(8000 * (1 if (i // 20) % 2 else -1)).to_bytes(2, "little", signed=True)
                    for i in range(frames))
    clips = {}
    for clip_id in clip_ids:
        name = f"{clip_id}.wav"
        if clip_id not in missing_files:
            with wave.open(str(directory / name), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(sample_rate)
                out.writeframes(tone)
        clips[clip_id] = {"file": name, "text": clip_id, "sample_rate": sample_rate, "duration": seconds}
    manifest = {"manifest_version": 1, "format": "wav", "sample_rate": sample_rate, "channels": 1,
                "sample_width": 2, "playback": {"gap_seconds": 0.01, "after_chime_seconds": 0.02}, "clips": clips}
    (directory / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return directory


# -- an SMS / Zalo gateway on loopback ---------------------------------------------------------

class Gateway:
    """An SMS gateway stand-in: records each POST, answers the queued statuses (then 200)."""

    def __init__(self):
        self.requests = []
        self.statuses = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
                self.send_response(gateway.statuses.pop(0) if gateway.statuses else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# -- a network ticket printer on loopback ------------------------------------------------------

DLE_EOT = b"\x10\x04"
RASTER = b"\x1dv0"   # GS v 0: a raster image
READY = {1: 0x12, 2: 0x12, 4: 0x12}  # DLE EOT 1, 2, 4: online, nothing wrong, paper adequate

class FakeNetworkPrinter:
    """A raw-TCP printer on loopback that keeps what each connection sent, and answers its
    real-time status queries (DLE EOT n) like an ESC/POS printer.

    ``status``: its answer byte to DLE EOT 1, 2 and 4 (None: it reads everything and never
    answers); ``answers``: how many queries it answers before falling silent; ``reads=False``:
    it accepts connections and never reads a byte (a printer whose firmware hung).
    ``jobs`` holds each connection's bytes without the status queries, ``queries`` the n of each query.
    """

    def __init__(self, status=READY, *, answers=None, reads=True):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.status, self.answers, self.reads = status, answers, reads
        self.jobs, self.queries = [], []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def spec(self):
        return f"network:127.0.0.1:{self.port}"

    def _serve(self):
        self.server.settimeout(0.1)
        while not self.stopping.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            with connection:
                if self.reads:
                    self.jobs.append(self._read_job(connection))
                else:
                    self.stopping.wait()

    def _read_job(self, connection):
        data, job, at = b"", bytearray(), 0
        while chunk := connection.recv(65536):
            data += chunk
            while at < len(data):
                rest = data[at:]
                if rest.startswith(RASTER) and len(rest) >= 8:
                    size = (rest[4] + 256 * rest[5]) * (rest[6] + 256 * rest[7])
                    if len(rest) < 8 + size:
                        break
                    job += rest[:8 + size]
                    at += 8 + size
                elif rest.startswith(DLE_EOT) and len(rest) >= 3:
                    self._answer(connection, rest[2])
                    at += 3
                elif RASTER.startswith(rest[:3]) or DLE_EOT.startswith(rest[:2]) and len(rest) < 3:
                    break  # the start of a command whose rest is still on its way
                else:
                    job.append(rest[0])
                    at += 1
        return bytes(job + data[at:])

    def _answer(self, connection, n):
        self.queries.append(n)
        if self.status is None or (self.answers is not None and len(self.queries) > self.answers):
            return
        connection.sendall(bytes([self.status[n]]))

    def close(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.server.close()


def closed_port():
    with socket.create_server(("127.0.0.1", 0)) as server:
        return server.getsockname()[1]


# -- what a citizen's phone and the kiosk must show (browser tests) -----------------------------

SMALL_PHONE = {"viewport": {"width": 360, "height": 640}, "is_mobile": True, "has_touch": True, "locale": "vi-VN"}
NO_OVERFLOW = "() => document.documentElement.scrollWidth <= window.innerWidth"


def assert_fits(page):
    assert page.evaluate(NO_OVERFLOW), page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]")


THUMB_PX = 48   # the smallest control a thumb hits on a phone
CONTROLS = ("button, .button, select, textarea, input:not([type=hidden]):not([type=radio]):not([type=checkbox]), "
            "label:has(> input[type=radio]), label:has(> input[type=checkbox]), nav a, #new-challenge")


def assert_thumb_sized(page):
    """Every control shown (buttons, fields, choices, tabs, language links) is at least THUMB_PX."""
    small = page.eval_on_selector_all(CONTROLS, """(controls, smallest) => controls
        .filter((control) => control.getClientRects().length)
        .map((control) => [control.textContent.trim().slice(0, 30) || control.name || control.id,
                           control.getBoundingClientRect().width, control.getBoundingClientRect().height])
        .filter(([, width, height]) => width < smallest || height < smallest)""", THUMB_PX)
    assert not small, small


PHONE_TEXT_PX = 15   # the smallest text on a citizen's phone


def texts_smaller_than(page, smallest):
    """[text, its size in px] of every text shown smaller than ``smallest`` px."""
    return page.evaluate("""(smallest) => {
        const found = [];
        const texts = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        while (texts.nextNode()) {
            const element = texts.currentNode.parentElement;
            const text = texts.currentNode.textContent.trim();
            const style = getComputedStyle(element);
            if (!text || !element.getClientRects().length || style.visibility === "hidden"
                || element.closest("script")) continue;
            if (parseFloat(style.fontSize) < smallest) found.push([text.slice(0, 40), parseFloat(style.fontSize)]);
        }
        return found;
    }""", smallest)


def assert_readable_on_a_phone(page):
    """No text shown under PHONE_TEXT_PX (the waits, places left, notes and badges included)."""
    small = texts_smaller_than(page, PHONE_TEXT_PX)
    assert not small, small
