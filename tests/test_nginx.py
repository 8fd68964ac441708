"""The shipped nginx site (deploy/nginx-hall-queue.conf) in front of two hub processes linked
by a real redis-server, as README "More than one process" sets them up: Debian's nginx runs
the file as written, only its ports changed. Requests, keep-alive, the websocket upgrade and
long-polling pass; a screen whose process stops comes back through nginx on the other one;
a forwarded address a client makes up does not reach the hub."""

import threading

import pytest
import requests
import socketio

from tests.helpers import DashboardClient, HubProcess, NginxServer, bearer, device_token, wait_until

pytestmark = pytest.mark.hub


@pytest.fixture
def hall_behind_nginx(hub_db, redis_server, tmp_path):
    """Two hubs (as deploy/hallserver@.service runs them: behind a proxy) and nginx before them."""
    hubs = [HubProcess(hub_db, message_queue=redis_server.url, environment={"HALL_TRUST_PROXY": "true"})
            for _ in range(2)]
    for hub in hubs:
        hub.start()
    nginx = NginxServer(tmp_path / "nginx", [hub.port for hub in hubs]).start()
    yield nginx, hubs
    nginx.stop()
    for hub in hubs:
        hub.stop()


def established_connections(port):
    """How many TCP connections to 127.0.0.1:``port`` are open (the server's side, from /proc)."""
    local = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        return sum(1 for line in table.readlines()[1:]
                   if line.split()[1] == local and line.split()[3] == "01")   # 01: ESTABLISHED


class HallScreen:
    """A hall screen as the real ones behave: it reconnects by itself and joins the display
    room again on every connection, recording the calls it hears."""

    def __init__(self, url, transports=("websocket",), headers=None):
        self.calls, self.connections = [], 0
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=0.5)
        self.client.on("connect", self._join)
        self.client.on("called", self._called)
        self.client.connect(url, transports=list(transports), headers=headers or {}, wait_timeout=10)

    def _join(self):
        self.client.emit("join", {"room": "display"}, callback=self._joined)

    def _joined(self, ack):
        with self.changed:
            self.connections += ack["ok"]
            self.changed.notify_all()

    def _called(self, payload):
        with self.changed:
            self.calls.append(payload["ticket"]["number"])
            self.changed.notify_all()

    def wait(self, predicate, what, timeout=15):
        with self.changed:
            assert self.changed.wait_for(predicate, timeout), f"no {what} within {timeout} s"

    def close(self):
        closing = threading.Thread(target=self.client.disconnect, daemon=True)
        closing.start()
        closing.join(0.5)


def test_requests_keep_alive_websockets_and_long_polling_pass_through_the_shipped_site(hub_db, hall_behind_nginx):
    nginx, _ = hall_behind_nginx
    kiosk, counter = device_token(hub_db, "kiosk"), device_token(hub_db, "counter", 1)
    websocket_screen = HallScreen(nginx.url)
    polling_screen = HallScreen(nginx.url, transports=("polling",))
    try:
        websocket_screen.wait(lambda: websocket_screen.connections == 1, "join over the websocket")
        polling_screen.wait(lambda: polling_screen.connections == 1, "join over long-polling")
        with requests.Session() as kiosk_session:   # one keep-alive connection, as a kiosk keeps
            numbers = [kiosk_session.post(f"{nginx.url}/api/v1/tickets", json={"service": "HT"},
                                          headers=bearer(kiosk), timeout=10).json()["ticket"]["number"]
                       for _ in range(3)]
        assert len(set(numbers)) == 3

        answer = requests.post(f"{nginx.url}/api/v1/counters/1/call-next", json={}, headers=bearer(counter),
                               timeout=10)
        assert answer.status_code == 200, answer.text
        for screen in (websocket_screen, polling_screen):
            screen.wait(lambda screen=screen: screen.calls == [numbers[0]], "call")
        assert "Không tìm thấy" in requests.get(f"{nginx.url}/khong-co-trang-nay", timeout=10).text
    finally:
        websocket_screen.close()
        polling_screen.close()


def test_a_screen_whose_process_stops_comes_back_through_nginx_on_the_other(hub_db, hall_behind_nginx):
    nginx, hubs = hall_behind_nginx
    kiosk, counter = device_token(hub_db, "kiosk"), device_token(hub_db, "counter", 1)
    screen = HallScreen(nginx.url)
    try:
        screen.wait(lambda: screen.connections == 1, "join")
        # ip_hash sends every loopback client to one process: the one holding the screen's socket
        holding = wait_until(lambda: [hub for hub in hubs if established_connections(hub.port)],
                             what="the screen's connection on a hub")
        assert len(holding) == 1, "the screen's websocket is held by exactly one process"
        stopping, staying = holding[0], next(hub for hub in hubs if hub is not holding[0])
        stopping.stop()

        screen.wait(lambda: screen.connections == 2, "reconnection through nginx")
        assert established_connections(staying.port) >= 1
        ticket = requests.post(f"{nginx.url}/api/v1/tickets", json={"service": "HT"}, headers=bearer(kiosk),
                               timeout=10).json()["ticket"]
        assert requests.post(f"{nginx.url}/api/v1/counters/1/call-next", json={}, headers=bearer(counter),
                             timeout=10).status_code == 200
        screen.wait(lambda: screen.calls == [ticket["number"]], "call from the remaining process")
    finally:
        screen.close()


def test_a_forwarded_address_a_client_makes_up_does_not_reach_the_hub(hub_db, hall_behind_nginx):
    """nginx appends the address it saw (``$proxy_add_x_forwarded_for``) and the hub trusts only
    that last one: a script cannot pass for other addresses (the per-address cap on screens,
    the rate limits on taking numbers from home)."""
    nginx, _ = hall_behind_nginx
    supervisor = device_token(hub_db, "supervisor")
    forged = HallScreen(nginx.url, headers={"X-Forwarded-For": "203.0.113.9"})
    dashboard = DashboardClient(nginx.url, supervisor)
    try:
        forged.wait(lambda: forged.connections == 1, "join")
        ack = forged.client.call("screen_status", {"screen": "forged", "kind": "browser", "sound": "ok",
                                                   "last_announcement": None}, timeout=10)
        assert ack["ok"], ack
        snapshot = dashboard.until(lambda snapshot: any(row["id"] == "forged" for row in snapshot["screens"]))
        reported = next(row for row in snapshot["screens"] if row["id"] == "forged")
        assert reported["address"] == "127.0.0.1"
        assert "203.0.113.9" not in str(snapshot)
    finally:
        forged.close()
        dashboard.close()
