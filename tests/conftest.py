"""Shared fixtures: a fresh hall database per test, a controllable clock, tokens,
the Flask and Socket.IO test clients, and a real hub process on loopback."""

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
import socketio

from hallserver.config import demo_config, demo_mapping, parse_config
from hallserver.hall import Hall
from hallserver.services import auth
from hallserver.store import open_store

HALL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parent.parent
HALLSERVER = str(Path(sys.executable).with_name("hallserver"))


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


@pytest.fixture
def clock():
    return Clock(hall_time(2026, 11, 26, 9, 0))


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "hall.db"


@pytest.fixture
def store(db_path):
    store = open_store(db_path)
    store.apply_config(demo_config(), source=demo_mapping())
    yield store
    store.close()


@pytest.fixture
def hall(store, clock):
    return Hall(store, clock=clock)


def small_hall_mapping(**changes):
    """A two-service hall for policy tests, as a TOML-shaped mapping."""
    mapping = {
        "hall": {"name": "Xã Thử"},
        "hours": {"default": ["07:30-11:30", "13:30-17:00"], "saturday": ["07:30-11:30"], "sunday": []},
        "policy": {"priority_streak": 2, "max_recalls": 2},
        "priorities": [{"code": "elderly", "name": "Người cao tuổi"}, {"code": "disabled", "name": "Người khuyết tật"}],
        "services": [
            {"code": "HT", "name": "Hộ tịch", "block": "1001-1999", "service_minutes": 6},
            {"code": "CT", "name": "Chứng thực", "prefix": "B", "width": 3, "daily_cap": 3, "service_minutes": 4},
        ],
        "counters": [
            {"number": 1, "services": ["HT"]},
            {"number": 2, "services": ["HT", "CT"]},
            {"number": 3, "services": ["CT", "HT"]},
        ],
    }
    mapping.update(changes)
    return mapping


@pytest.fixture
def small_hall(tmp_path, clock):
    store = open_store(tmp_path / "small.db")
    store.apply_config(parse_config(small_hall_mapping()))
    yield Hall(store, clock=clock)
    store.close()


def make_token(store, role, counter=None):
    with store.transaction() as db:
        return auth.create_token(db, role=role, counter=counter, now=time.time())


@pytest.fixture
def tokens(store):
    """Plain tokens for every role, counter tokens for counters 1-3."""
    return {
        "kiosk": make_token(store, "kiosk"),
        "display": make_token(store, "display"),
        "supervisor": make_token(store, "supervisor"),
        "counter1": make_token(store, "counter", 1),
        "counter2": make_token(store, "counter", 2),
        "counter3": make_token(store, "counter", 3),
    }


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def app(store, clock):
    from hallserver import create_app

    app = create_app({"db": store.path, "async_mode": "threading"}, clock=clock)
    app.config["TESTING"] = True
    yield app
    app.extensions["hall"].store.close()


@pytest.fixture
def client(app):
    return app.test_client()


# -- a real hub process on loopback ------------------------------------------------

def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_cli(*arguments, db, check=True, input=None):
    environment = dict(os.environ, HALL_DB=str(db))
    return subprocess.run([HALLSERVER, *arguments], env=environment, capture_output=True, text=True,
                          check=check, input=input, timeout=60)


class HubProcess:
    """``hallserver serve`` in a subprocess on a free loopback port."""

    def __init__(self, db, port=None, async_mode="gevent"):
        self.db = Path(db)
        self.port = port or free_port()
        self.async_mode = async_mode
        self.process = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout=20):
        environment = dict(os.environ, HALL_DB=str(self.db))
        self.log = open(self.db.with_suffix(f".{self.port}.log"), "ab")
        self.process = subprocess.Popen(
            [HALLSERVER, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--async-mode", self.async_mode],
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
        if self.process:
            self.log.close()


@pytest.fixture
def hub_db(tmp_path):
    db = tmp_path / "hub.db"
    run_cli("init", db=db)
    return db


@pytest.fixture
def hub(hub_db):
    process = HubProcess(hub_db).start()
    yield process
    process.stop()


def init_hall(tmp_path, toml_text):
    """A hall database initialised by ``hallserver init --config`` from a TOML text."""
    db = tmp_path / "hall.db"
    config = tmp_path / "hall.toml"
    config.write_text(toml_text, encoding="utf-8")
    run_cli("init", "--config", str(config), db=db)
    return db


def cli_token(db, role, counter=None):
    arguments = ["token", "create", "--role", role] + (["--counter", str(counter)] if counter else [])
    return run_cli(*arguments, db=db).stdout.strip().splitlines()[-1]


class DisplayClient:
    """A python-socketio client joined to the display room, recording what it hears."""

    def __init__(self, url):
        self.events = []
        self.arrived = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        for name in ("state", "called", "queue", "counter"):
            self.client.on(name, self._recorder(name))
        self.client.connect(url, transports=["websocket"], wait_timeout=10)
        self.ack = self.client.call("join", {"room": "display"}, timeout=10)

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
        self.client.disconnect()


# -- a real browser ---------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
# As the machine's probe found: without these, Chromium keeps trying to reach Google.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name):
    """Keep a screenshot as a test artifact (test-artifacts/NAME.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
