"""Bench 2 and 3: call-next → ``called`` on 200 hall screens, and the hub's memory.

The hub gets ``calls`` tickets (HT and CT, which counter 2 serves) before any screen
connects. Then ``clients`` python-socketio clients (websocket transport only, asyncio
client on aiohttp) spread over ``processes`` processes connect at the same moment
(a hall's screens reconnecting after a hub restart) and ``join`` the ``display`` room.
The driver then POSTs ``call-next`` for counter 2 ``calls`` times, ``gap`` seconds
apart, taking ``t0`` just before each request; every client notes when each ``called``
event reaches its handler. Latency = receive time - t0, over all clients × calls.

Clocks: ``time.monotonic()`` is CLOCK_MONOTONIC on Linux, one clock for every process
on the machine, so times taken in different processes compare directly.

RSS (VmRSS from /proc/PID/status) of the hub: idle after start, with the clients
connected, after the calls, and after the clients have gone.
"""

import asyncio
import base64
import hashlib
import json
import multiprocessing
import os
import queue
import time

import requests

from .hub import Hub

clock = time.monotonic
WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


# -- the client processes ----------------------------------------------------------

class SocketIOScreen:
    """A hall screen as the display will be: python-socketio's asyncio client."""

    def __init__(self, url, store, timeout):
        import socketio

        self.url, self.store, self.timeout = url, store, timeout
        self.client = socketio.AsyncClient(reconnection=False, request_timeout=timeout)
        self.client.on("called", self.on_called)
        self.client.on("*", self.on_other)
        self.messages = 0

    def on_called(self, data):
        self.store.setdefault(data["ticket"]["number"], clock())
        self.messages += 1

    def on_other(self, event, data):
        self.messages += 1

    async def connect(self):
        await self.client.connect(self.url, transports=["websocket"], wait_timeout=self.timeout)
        ack = await self.client.call("join", {"room": "display"}, timeout=self.timeout)
        if not (isinstance(ack, dict) and ack.get("ok")):
            raise RuntimeError(f"join refused: {ack!r}")

    async def disconnect(self):
        await self.client.disconnect()


def client_frame(text, opcode=0x1):
    """``text`` as one masked, final WebSocket frame, as a client sends it (RFC 6455 §5.3)."""
    payload = text.encode("utf-8")
    size, mask = len(payload), os.urandom(4)
    if size < 126:
        header = bytes((0x80 | opcode, 0x80 | size))
    elif size < 1 << 16:
        header = bytes((0x80 | opcode, 0x80 | 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + size.to_bytes(8, "big")
    key = int.from_bytes((mask * (size // 4 + 1))[:size], "big")
    return header + mask + (int.from_bytes(payload, "big") ^ key).to_bytes(size, "big")


class RawScreen(asyncio.Protocol):
    """The same screen speaking WebSocket (RFC 6455), Engine.IO 4 and Socket.IO 5 by hand on an
    asyncio transport: the upgrade handshake (its accept key checked), the Engine.IO open
    packet, the Socket.IO connect and the ``join`` with its ack, answering pings.

    Frames are parsed where the bytes arrive (``data_received``), with no reader task, queue
    or wake-up per message: a frame costs the client a few microseconds, so what the bench
    measures is the hub and the kernel rather than the clients (they share its two cores).
    Every frame is parsed; ``called`` and ``ticket`` events are decoded (JSON) and timed.
    """

    CALLED = b'42["called",'
    TICKET = b'42["ticket",'

    def __init__(self, url, store, timeout, room="display"):
        address = url.removeprefix("http://").split("/", 1)[0]
        self.host, _, port = address.partition(":")
        self.port = int(port or 80)
        self.path = "/socket.io/?EIO=4&transport=websocket"
        self.store, self.timeout, self.room = store, timeout, room
        self.transport = None
        self.buffer = bytearray()
        self.upgraded = False
        self.texts = None      # while connecting: the text frames not yet awaited
        self.arrived = None    # while connecting: set when a frame (or the end) arrives
        self.messages = 0
        self.tickets = []      # (seq, receive time) of each ``ticket`` frame (ticket pages)
        self.pings = []        # receive times of the hub's pings: their gaps show its stalls
        self.closed = False    # the hub closed the connection before the bench did
        self.closing = False   # the bench is closing it

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        if not self.closing:
            self.closed = True
        if self.arrived is not None:
            self.arrived.set()

    def data_received(self, data):
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.response, self.buffer = bytes(self.buffer[:end]), self.buffer[end + 4:]
            self.upgraded = True
            self.arrived.set()
        buffer, offset = self.buffer, 0
        while len(buffer) - offset >= 2:
            first, second = buffer[offset], buffer[offset + 1]
            size, start = second & 0x7F, offset + 2
            if size == 126:
                if len(buffer) - offset < 4:
                    break
                size, start = int.from_bytes(buffer[offset + 2:offset + 4], "big"), offset + 4
            elif size == 127:
                if len(buffer) - offset < 10:
                    break
                size, start = int.from_bytes(buffer[offset + 2:offset + 10], "big"), offset + 10
            if second & 0x80 or not first & 0x80:
                raise RuntimeError("the hub sent a masked or fragmented frame")
            if len(buffer) - start < size:
                break
            payload, offset = bytes(buffer[start:start + size]), start + size
            self.frame(first & 0x0F, payload)
        del buffer[:offset]

    # -- frames ------------------------------------------------------------------------

    def frame(self, opcode, payload):
        if opcode == 0x1:
            if self.texts is not None:
                self.texts.append(payload)
                self.arrived.set()
            else:
                self.text(payload)
        elif opcode == 0x8:  # the hub closes: answer, as RFC 6455 asks
            self.closed = not self.closing
            self.transport.write(client_frame("", opcode=0x8))
            self.transport.close()
        elif opcode == 0x9:
            self.transport.write(client_frame(payload.decode(), opcode=0xA))

    def text(self, payload):
        if payload.startswith(b"42"):
            self.messages += 1
            if payload.startswith(self.CALLED):
                now = clock()
                self.store.setdefault(json.loads(payload[2:])[1]["ticket"]["number"], now)
            elif payload.startswith(self.TICKET):
                now = clock()
                self.tickets.append((json.loads(payload[2:])[1]["seq"], now))
        elif payload == b"2":
            self.pings.append(clock())
            self.send("3")

    def send(self, text):
        self.transport.write(client_frame(text))

    async def receive(self):
        """The next text frame, while connecting."""
        while not self.texts:
            if self.transport.is_closing():
                raise ConnectionError("the hub closed the connection")
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), self.timeout)
        return self.texts.pop(0).decode("utf-8")

    # -- the bench's side ----------------------------------------------------------------

    async def connect(self):
        loop = asyncio.get_running_loop()
        self.texts, self.arrived = [], asyncio.Event()
        await asyncio.wait_for(loop.create_connection(lambda: self, self.host, self.port), self.timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write((f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nUpgrade: websocket\r\n"
                              f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                              ).encode())
        await asyncio.wait_for(self.arrived.wait(), self.timeout)
        accept = base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest())
        status, *headers = self.response.split(b"\r\n") if self.upgraded else [b"(closed)"]
        if not status.startswith(b"HTTP/1.1 101") or not any(
                line.lower().startswith(b"sec-websocket-accept:") and line.split(b":", 1)[1].strip() == accept
                for line in headers):
            raise RuntimeError(f"websocket upgrade refused: {status[:80]!r}")
        opened = await self.receive()
        if not opened.startswith("0"):
            raise RuntimeError(f"expected an Engine.IO open packet, got {opened[:80]!r}")
        self.send("40")
        while True:
            frame = await self.receive()
            if frame == "2":  # a busy hub may ping before it acknowledges: answer, as real clients do
                self.pings.append(clock())
                self.send("3")
            elif frame.startswith("40"):
                break
            elif frame.startswith("44"):
                raise RuntimeError(f"connect refused: {frame[:200]}")
        self.send('421["join",' + json.dumps({"room": self.room}) + ']')
        while True:
            frame = await self.receive()
            if frame.startswith("431"):
                ack = json.loads(frame[3:])[0]
                if not ack.get("ok"):
                    raise RuntimeError(f"join refused: {ack!r}")
                break
            self.text(frame.encode("utf-8"))
        # from now on each frame is handled where it arrives
        pending, self.texts = self.texts, None
        for payload in pending:
            self.text(payload)

    async def disconnect(self):
        if self.transport is not None and not self.transport.is_closing():
            self.closing = True
            self.transport.write(client_frame("", opcode=0x8))
            self.transport.close()


SCREENS = {"socketio": SocketIOScreen, "raw": RawScreen}


async def _connect_all(clients, start_at):
    """At ``start_at``, connect (and join) every client at once: (the connected, their
    (start, joined) times, the failures); a client that failed is closed."""
    connected, connect_times, failures = [], [], []

    async def connect(client):
        started = clock()
        try:
            await client.connect()
        except Exception as error:  # noqa: BLE001 - a bench reports every failure
            failures.append(f"{type(error).__name__}: {error}")
            try:
                await client.disconnect()
            except Exception:  # noqa: BLE001
                pass
            return
        connect_times.append((started, clock()))
        connected.append(client)

    delay = start_at - clock()
    if delay > 0:
        await asyncio.sleep(delay)
    await asyncio.gather(*(connect(client) for client in clients))
    return connected, connect_times, failures


async def _until(done_event, seconds):
    deadline = clock() + seconds
    while not done_event.is_set() and clock() < deadline:
        await asyncio.sleep(0.02)


async def _clients(kind, url, count, start_at, done_event, connect_timeout, report):
    screens, connect_times, failures = await _connect_all(
        [SCREENS[kind](url, {}, connect_timeout) for _ in range(count)], start_at)
    report("ready", connect_times, failures)
    cpu_ready = time.process_time()
    messages_ready = sum(screen.messages for screen in screens)
    await _until(done_event, 600)
    report("received", [screen.store for screen in screens], time.process_time() - cpu_ready,
           sum(screen.messages for screen in screens) - messages_ready)
    await asyncio.gather(*(screen.disconnect() for screen in screens), return_exceptions=True)


def client_process(kind, url, count, start_at, ready_queue, done_event, result_queue, connect_timeout):
    """One process of ``count`` asyncio screens; reports connects, then receive times and CPU."""
    def report(what, *data):
        (ready_queue if what == "ready" else result_queue).put((os.getpid(), *data))

    asyncio.run(_clients(kind, url, count, start_at, done_event, connect_timeout, report))


# -- the driver ----------------------------------------------------------------

def _start(workers, ready_queue, timeout):
    """Start the client processes; once each has reported: every client's (connect start,
    joined) times and the failures."""
    for worker in workers:
        worker.start()
    connect_times, failures = [], []
    for _ in workers:
        _, times, failed = ready_queue.get(timeout=timeout)
        connect_times += times
        failures += failed
    return connect_times, failures


def _warn(label, call_errors, log_problems, say):
    if call_errors:
        say(f"[{label}] ! call-next errors: {call_errors[:3]}")
    if log_problems:
        say(f"[{label}] ! hub log: {log_problems}")


def percentiles(values):
    if not values:
        return {}
    ordered = sorted(values)

    def at(fraction):
        return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1], "n": len(ordered)}


def _issue(hub, token, count):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    for index in range(count):
        response = session.post(hub.url + "/api/v1/tickets", json={"service": ("HT", "CT")[index % 2]}, timeout=10)
        response.raise_for_status()
    session.close()


def run(clients=200, processes=4, calls=100, gap=0.1, async_mode="gevent", kind="socketio", connect_timeout=30,
        say=print):
    """Run bench 2 (+ RSS) on a fresh demo-hall hub; returns a dict of figures."""
    figures = {"async_mode": async_mode, "kind": kind, "clients": clients, "processes": processes, "calls": calls,
               "gap": gap}
    label = f"push/{async_mode}/{kind}"
    context = multiprocessing.get_context("spawn")
    with Hub(async_mode=async_mode, label=f"push-{async_mode}") as hub:
        kiosk = hub.token("kiosk")
        counter = hub.token("counter", counter=2)
        figures["rss_idle_kib"] = hub.rss_kib()
        say(f"[{label}] hub pid {hub.pid} at {hub.url}; RSS idle {figures['rss_idle_kib'] / 1024:.1f} MiB")
        _issue(hub, kiosk, calls)
        say(f"[{label}] issued {calls} tickets (HT/CT); starting {clients} clients in {processes} processes ...")

        ready_queue, result_queue = context.Queue(), context.Queue()
        done_event = context.Event()
        sizes = [clients // processes + (1 if index < clients % processes else 0) for index in range(processes)]
        start_at = clock() + 2.0  # after the processes have imported socketio/aiohttp
        workers = [
            context.Process(target=client_process, daemon=True, args=(
                kind, hub.url, size, start_at, ready_queue, done_event, result_queue, connect_timeout))
            for size in sizes if size
        ]
        try:
            connect_times, failures = _start(workers, ready_queue, timeout=connect_timeout + 30)
            connected = len(connect_times)
            starts = [started for started, _ in connect_times]
            ends = [ended for _, ended in connect_times]
            per_client_ms = [(ended - started) * 1000 for started, ended in connect_times]
            figures["connected"] = connected
            figures["connect_failures"] = failures
            figures["connect_wall_s"] = (max(ends) - min(starts)) if connect_times else None
            figures["connect_ms"] = percentiles(per_client_ms)
            time.sleep(0.5)
            figures["rss_connected_kib"] = hub.rss_kib()
            say(f"[{label}] {connected}/{clients} connected and joined 'display' in "
                f"{figures['connect_wall_s']:.2f} s (all at once); per client p50 "
                f"{figures['connect_ms'].get('p50', 0):.0f} ms, p95 {figures['connect_ms'].get('p95', 0):.0f} ms, "
                f"max {figures['connect_ms'].get('max', 0):.0f} ms; failures {len(failures)}"
                f"{': ' + failures[0] if failures else ''}")
            say(f"[{label}] RSS with {connected} clients {figures['rss_connected_kib'] / 1024:.1f} MiB")

            # -- the calls ------------------------------------------------------------
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {counter}"
            sent, http_ms, bad = {}, [], []
            cpu_before = hub.cpu_seconds()
            calls_started = clock()
            for index in range(calls):
                due = calls_started + index * gap
                pause = due - clock()
                if pause > 0:
                    time.sleep(pause)
                t0 = clock()
                response = session.post(hub.url + "/api/v1/counters/2/call-next", json={}, timeout=10)
                t1 = clock()
                http_ms.append((t1 - t0) * 1000)
                if response.status_code != 200 or not response.json().get("ticket"):
                    bad.append(f"{response.status_code} {response.text[:200]}")
                    continue
                sent[response.json()["ticket"]["number"]] = t0
            calls_elapsed = clock() - calls_started
            cpu_after = hub.cpu_seconds()
            session.close()
            time.sleep(1.0)  # the last pushes are still on their way
            figures["rss_after_calls_kib"] = hub.rss_kib()
        finally:
            done_event.set()
        received, client_cpu, messages = [], 0.0, 0
        try:
            for _ in workers:
                _, stores, cpu, count = result_queue.get(timeout=60)
                received += stores
                client_cpu += cpu
                messages += count
        except queue.Empty:
            say(f"[{label}] ! a client process did not report its receive times")
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
        time.sleep(1.0)
        figures["rss_after_kib"] = hub.rss_kib()

        latencies, missing, unexpected = [], 0, 0
        for store in received:
            for number, t0 in sent.items():
                if number in store:
                    latencies.append((store[number] - t0) * 1000)
                else:
                    missing += 1
            unexpected += len(set(store) - set(sent))
        figures.update({
            "calls_ok": len(sent),
            "call_errors": bad,
            "deliveries": len(latencies),
            "expected_deliveries": len(sent) * len(received),
            "missing": missing,
            "unexpected": unexpected,
            "latency_ms": percentiles(latencies),
            "http_ms": percentiles(http_ms),
            "calls_elapsed_s": calls_elapsed,
            "hub_cpu_share": (cpu_after - cpu_before) / calls_elapsed if cpu_before is not None else None,
            "clients_cpu_share": client_cpu / calls_elapsed,
            "hub_cpu_ms_per_call": (cpu_after - cpu_before) * 1000 / max(1, len(sent)) if cpu_before is not None
            else None,
            "messages_per_call_per_client": messages / max(1, len(sent) * len(received)),
            "log_problems": hub.log_problems()[:5],
        })
    latency = figures["latency_ms"]
    say(f"[{label}] {len(sent)} call-next, {gap * 1000:.0f} ms apart, to {len(received)} clients: "
        f"{len(latencies)}/{figures['expected_deliveries']} 'called' delivered, {missing} missing")
    if latency:
        say(f"[{label}] call-next → 'called' latency ms: p50 {latency['p50']:.1f}, p95 {latency['p95']:.1f}, "
            f"p99 {latency['p99']:.1f}, max {latency['max']:.1f} (n={latency['n']})")
    http = figures["http_ms"]
    say(f"[{label}] call-next HTTP answer ms: p50 {http.get('p50', 0):.1f}, p99 {http.get('p99', 0):.1f}, "
        f"max {http.get('max', 0):.1f}; during the calls the hub used {figures['hub_cpu_share'] * 100:.0f}% "
        f"and the client processes {figures['clients_cpu_share'] * 100:.0f}% of one core")
    say(f"[{label}] hub CPU per call-next {figures['hub_cpu_ms_per_call']:.1f} ms; each client got "
        f"{figures['messages_per_call_per_client']:.1f} Socket.IO events per call")
    say(f"[{label}] RSS MiB: idle {figures['rss_idle_kib'] / 1024:.1f}, {figures['connected']} clients "
        f"{figures['rss_connected_kib'] / 1024:.1f}, after calls {figures['rss_after_calls_kib'] / 1024:.1f}, "
        f"clients gone {figures['rss_after_kib'] / 1024:.1f}")
    _warn(label, bad, figures["log_problems"], say)
    return figures


# -- fan-out: hall screens and ticket pages, one or more hub processes ---------------------------

async def _fanout_clients(specs, start_at, done_event, connect_timeout, report):
    """Raw sockets joining ``specs`` [(hub url, room)] all at once; reports connects, then what each heard."""
    clients, connect_times, failures = await _connect_all(
        [RawScreen(url, {}, connect_timeout, room=room) for url, room in specs], start_at)
    report("ready", connect_times, failures)
    await _until(done_event, 900)
    report("received", [{"room": client.room, "called": client.store, "tickets": client.tickets,
                         "pings": client.pings, "closed": client.closed} for client in clients])
    await asyncio.gather(*(client.disconnect() for client in clients), return_exceptions=True)


def fanout_process(specs, start_at, ready_queue, done_event, result_queue, connect_timeout):
    def report(what, *data):
        (ready_queue if what == "ready" else result_queue).put((os.getpid(), *data))

    asyncio.run(_fanout_clients(specs, start_at, done_event, connect_timeout, report))


def _issue_many(hub, token, count, threads=8):
    """``count`` tickets, HT and CT in turn, from ``threads`` kiosks at once: [(number, service, track token)]."""
    import concurrent.futures

    def issue(indexes):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        made = []
        for index in indexes:
            answer = session.post(hub.url + "/api/v1/tickets", json={"service": ("HT", "CT")[index % 2]}, timeout=30)
            answer.raise_for_status()
            ticket = answer.json()["ticket"]
            made.append((ticket["number"], ticket["service"], ticket["track_token"]))
        session.close()
        return made

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        parts = pool.map(issue, [range(part, count, threads) for part in range(threads)])
    return [ticket for part in parts for ticket in part]


def run_fanout(screens=200, pages=1800, hubs=1, calls=30, gap=0.25, processes=4, connect_timeout=600,
               async_mode="gevent", say=print):
    """Screens (room ``display``) and ticket pages (``ticket:<token>``, each following its own
    waiting ticket) all join at once, spread over ``hubs`` hub processes on one database
    (linked by a real redis-server when more than one). Calls go through the first process."""
    import contextlib
    import random

    from .hub import RedisServer

    label = f"fanout/{hubs}x/{screens}+{pages}"
    figures = {"screens": screens, "pages": pages, "hubs": hubs, "calls": calls, "gap": gap}
    context = multiprocessing.get_context("spawn")
    with contextlib.ExitStack() as stack:
        queue_url = stack.enter_context(RedisServer()).url if hubs > 1 else None
        first = stack.enter_context(Hub(async_mode=async_mode, label="fanout", message_queue=queue_url))
        kiosk, counter = first.token("kiosk"), first.token("counter", counter=2)
        all_hubs = [first] + [stack.enter_context(Hub(async_mode=async_mode, label=f"fanout{index}",
                                                      message_queue=queue_url, database_of=first))
                              for index in range(1, hubs)]
        rss_idle = [hub.rss_kib() for hub in all_hubs]
        started = clock()
        _issue(first, kiosk, calls)  # the calls take these, the oldest
        followed = _issue_many(first, kiosk, pages)
        say(f"[{label}] {calls + pages} tickets issued in {clock() - started:.1f} s; hubs {[h.pid for h in all_hubs]}")
        number_of = {token: (number, service) for number, service, token in followed}
        specs = [(all_hubs[index % hubs].url, "display") for index in range(screens)]
        specs += [(all_hubs[index % hubs].url, f"ticket:{token}") for index, (_, _, token) in enumerate(followed)]
        random.Random(14).shuffle(specs)
        ready_queue, result_queue, done_event = context.Queue(), context.Queue(), context.Event()
        start_at = clock() + 3.0
        workers = [context.Process(target=fanout_process, daemon=True, args=(
            specs[index::processes], start_at, ready_queue, done_event, result_queue, connect_timeout))
            for index in range(processes)]
        try:
            connect_times, failures = _start(workers, ready_queue, timeout=connect_timeout + 60)
            if not connect_times:
                raise RuntimeError(f"no socket joined: {failures[:3]}")
            figures["connected"] = len(connect_times)
            figures["connect_failures"] = len(failures)
            figures["connect_wall_s"] = max(end for _, end in connect_times) - min(s for s, _ in connect_times)
            figures["connect_ms"] = percentiles([(end - begin) * 1000 for begin, end in connect_times])
            time.sleep(1.0)
            rss_connected = [hub.rss_kib() for hub in all_hubs]
            figures["rss_idle_kib"], figures["rss_connected_kib"] = rss_idle, rss_connected
            figures["rss_per_socket_kib"] = (sum(rss_connected) - sum(rss_idle)) / max(1, len(connect_times))
            say(f"[{label}] {len(connect_times)}/{len(specs)} joined at once in {figures['connect_wall_s']:.1f} s "
                f"(per socket p50 {figures['connect_ms']['p50']:.0f} ms, max {figures['connect_ms']['max']:.0f} ms),"
                f" {len(failures)} failures{': ' + failures[0] if failures else ''}; hub RSS MiB "
                f"{[round(r / 1024, 1) for r in rss_idle]} → {[round(r / 1024, 1) for r in rss_connected]}, "
                f"{figures['rss_per_socket_kib']:.0f} KiB per socket")
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {counter}"
            sent, http_ms, bad = [], [], []  # (number, service, seq, t0)
            cpu_before = [hub.cpu_seconds() for hub in all_hubs]
            calls_started = clock()
            for index in range(calls):
                pause = calls_started + index * gap - clock()
                if pause > 0:
                    time.sleep(pause)
                t0 = clock()
                answer = session.post(first.url + "/api/v1/counters/2/call-next", json={}, timeout=30)
                http_ms.append((clock() - t0) * 1000)
                if answer.status_code != 200 or not answer.json().get("ticket"):
                    bad.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                body = answer.json()
                sent.append((body["ticket"]["number"], body["ticket"]["service"], body["seq"], t0))
            elapsed = clock() - calls_started
            cpu_after = [hub.cpu_seconds() for hub in all_hubs]
            session.close()
            time.sleep(6.0)  # the last pushes are on their way; every client sees two pings at least
            quiet_by = clock() + 120  # ... and until the hubs have sent them (a second of idle CPU)
            while clock() < quiet_by:
                before = sum(hub.cpu_seconds() for hub in all_hubs)
                time.sleep(1.0)
                if sum(hub.cpu_seconds() for hub in all_hubs) - before < 0.1:
                    break
        finally:
            done_event.set()
        heard = []
        for _ in workers:
            _, results = result_queue.get(timeout=120)
            heard += results
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.terminate()
        figures["log_problems"] = [line for hub in all_hubs for line in hub.log_problems()][:5]

    screen_ms, page_ms, screen_missing, page_missing, deaf_screens = [], [], 0, 0, 0
    gaps = []
    for client in heard:
        gaps += [later - earlier for earlier, later in zip(client["pings"], client["pings"][1:], strict=False)]
        if client["room"] == "display":
            missed = [number for number, _, _, _ in sent if number not in client["called"]]
            screen_missing += len(missed)
            deaf_screens += bool(missed)
            screen_ms += [(client["called"][number] - t0) * 1000 for number, _, _, t0 in sent
                          if number in client["called"]]
            continue
        number, service = number_of[client["room"].removeprefix("ticket:")]
        for called_number, called_service, seq, t0 in sent:
            if called_service != service:
                continue
            first_frame = next((at for frame_seq, at in client["tickets"] if frame_seq >= seq and at >= t0), None)
            if first_frame is None:
                page_missing += 1
            else:
                page_ms.append((first_frame - t0) * 1000)
            if called_number == number:
                break  # its own call: later calls no longer move it
    cpu = sum(after - before for before, after in zip(cpu_before, cpu_after, strict=True))
    figures.update({
        "calls_ok": len(sent), "call_errors": bad[:3], "http_ms": percentiles(http_ms),
        "screen_latency_ms": percentiles(screen_ms), "screen_missing": screen_missing, "deaf_screens": deaf_screens,
        "page_latency_ms": percentiles(page_ms), "page_missing": page_missing,
        "closed_by_hub": sum(client["closed"] for client in heard),
        "max_ping_gap_s": max(gaps) if gaps else None,
        "hub_cpu_ms_per_call": cpu * 1000 / max(1, len(sent)), "hub_cpu_share": cpu / elapsed,
    })
    screen, page, http = figures["screen_latency_ms"], figures["page_latency_ms"], figures["http_ms"]
    say(f"[{label}] {len(sent)} calls {gap * 1000:.0f} ms apart via process 1: screens 'called' p50 "
        f"{screen.get('p50', 0):.1f} / p99 {screen.get('p99', 0):.1f} / max {screen.get('max', 0):.1f} ms, "
        f"{screen_missing} missing, {deaf_screens} screens missed a call")
    say(f"[{label}] ticket pages 'ticket' after a call of their service: p50 {page.get('p50', 0):.1f} / p99 "
        f"{page.get('p99', 0):.1f} / max {page.get('max', 0):.1f} ms over {page.get('n', 0)}, {page_missing} missing")
    say(f"[{label}] call-next HTTP p50 {http.get('p50', 0):.1f} / p99 {http.get('p99', 0):.1f} ms; hub CPU "
        f"{figures['hub_cpu_ms_per_call']:.0f} ms per call ({figures['hub_cpu_share'] * 100:.0f}% of a core); "
        f"longest gap between two pings a client saw {figures['max_ping_gap_s'] or 0:.2f} s; "
        f"{figures['closed_by_hub']} sockets closed by a hub")
    _warn(label, bad, figures["log_problems"], say)
    return figures


def main(argv=None):
    """``python -m bench.push fanout [--screens N --pages N --hubs N --calls N --gap S --processes N]``."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m bench.push", description=run_fanout.__doc__)
    parser.add_argument("mode", choices=["fanout"])
    parser.add_argument("--screens", type=int, default=200)
    parser.add_argument("--pages", type=int, default=1800)
    parser.add_argument("--hubs", type=int, default=1, help="hub processes (2+: linked by a redis-server)")
    parser.add_argument("--calls", type=int, default=30)
    parser.add_argument("--gap", type=float, default=0.25)
    parser.add_argument("--processes", type=int, default=4, help="client processes")
    parser.add_argument("--json", dest="json_path")
    arguments = parser.parse_args(argv)
    figures = run_fanout(screens=arguments.screens, pages=arguments.pages, hubs=arguments.hubs, calls=arguments.calls,
                         gap=arguments.gap, processes=arguments.processes)
    if arguments.json_path:
        with open(arguments.json_path, "w") as output:
            json.dump(figures, output, indent=1)


if __name__ == "__main__":
    main()
