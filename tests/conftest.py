"""Shared fixtures: a fresh hall database per test, a controllable clock, tokens,
the Flask test clients, a real hub process on loopback and a real browser. Plain helper
functions and classes are in tests/helpers.py."""

import pytest

from hallserver.config import demo_config, demo_mapping, parse_config
from hallserver.hall import Hall
from hallserver.store import open_store
from tests.helpers import (
    Clock,
    Gateway,
    HubProcess,
    RedisServer,
    booking_hall,
    demo_app,
    hall_time,
    init_database,
    make_token,
    small_hall_mapping,
)


def pytest_collection_modifyitems(items):
    """Mark what the fixtures say, besides the modules' own marks: a test using ``hub`` starts
    a hub process (``hub``), one using ``browser`` or ``page`` drives Chromium (``browser``)."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "hub" in names:
            item.add_marker(pytest.mark.hub)
        if names & {"browser", "page"}:
            item.add_marker(pytest.mark.browser)


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


@pytest.fixture
def bhall(tmp_path, clock):
    """A hall taking bookings (``booking_hall``) on its own database file."""
    hall = booking_hall(tmp_path, clock)
    yield hall
    hall.store.close()


@pytest.fixture
def small_hall(tmp_path, clock):
    store = open_store(tmp_path / "small.db")
    store.apply_config(parse_config(small_hall_mapping()))
    yield Hall(store, clock=clock)
    store.close()


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


@pytest.fixture
def web_app(tmp_path, clock):
    """The demo hall open around the clock with its procedures (see ``demo_app``)."""
    app = demo_app(tmp_path, clock)
    yield app
    app.extensions["hall"].store.close()


# -- a real hub process on loopback ------------------------------------------------

@pytest.fixture
def hub_db(tmp_path):
    db = tmp_path / "hub.db"
    init_database(db)
    return db


@pytest.fixture
def hub(hub_db):
    process = HubProcess(hub_db).start()
    yield process
    process.stop()


@pytest.fixture
def redis_server(tmp_path):
    """A real redis-server on loopback (the message queue between hub processes)."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


# -- a real browser ---------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
# As the machine's probe found: without these, Chromium keeps trying to reach Google.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


# Content-Security-Policy violations Chromium reported on its console during the current test.
CSP_VIOLATIONS = []


def _watch_for_csp_violations(message):
    if "Content Security Policy" in message.text:
        CSP_VIOLATIONS.append(f"{message.location.get('url', '')}: {message.text}")


def _watched(browser):
    """``browser`` whose every new context and page reports CSP violations."""
    new_context, new_page = browser.new_context, browser.new_page

    def watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        context.on("console", _watch_for_csp_violations)
        return context

    def watched_page(*args, **kwargs):
        page = new_page(*args, **kwargs)
        page.on("console", _watch_for_csp_violations)
        return page

    browser.new_context, browser.new_page = watched_context, watched_page
    return browser


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, driven by Playwright. Every context it opens reports the
    page's Content-Security-Policy violations (a browser test then fails: see below)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _watched(playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS))
        yield browser
        browser.close()


@pytest.fixture
def launch_chromium(browser):
    """``launch_chromium(*flags)``: another headless Chromium started with more command-line
    flags (e.g. the kiosk launcher's), watched like ``browser``; closed after the test."""
    launched = []

    def launch(*flags):
        other = _watched(browser.browser_type.launch(executable_path=CHROMIUM, headless=True,
                                                     args=CHROMIUM_ARGS + list(flags)))
        launched.append(other)
        return other
    yield launch
    for other in launched:
        other.close()


@pytest.fixture(autouse=True)
def no_csp_violations():
    """No page broke the hub's Content-Security-Policy (an inline script, a blocked socket...)."""
    CSP_VIOLATIONS.clear()
    yield
    violations, CSP_VIOLATIONS[:] = list(CSP_VIOLATIONS), []
    assert not violations, "\n".join(violations)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 800}, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def open_page(browser):
    """``open_page(**context_options)``: a page in a browser context of its own (its own
    cookies: a second person, another device); every context is closed after the test."""
    contexts = []

    def open_in_new_context(**options):
        context = browser.new_context(**options)
        contexts.append(context)
        return context.new_page()
    yield open_in_new_context
    for context in contexts:
        context.close()


@pytest.fixture
def gateway():
    """A webhook receiver on loopback standing in for the hall's SMS / Zalo gateway."""
    gateway = Gateway()
    yield gateway
    gateway.close()
