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
import multiprocessing
import os
import queue
import time

import requests

from .hub import Hub

clock = time.monotonic


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


class RawScreen:
    """The same screen speaking Engine.IO 4 / Socket.IO 5 by hand over one aiohttp websocket.

    It decodes only ``called`` events (a prefix test on each frame), so its own CPU cost
    per frame is a few microseconds: what it measures is closer to the hub's fan-out.
    """

    CALLED = '42["called",'

    def __init__(self, url, store, timeout):
        self.url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.store, self.timeout = store, timeout
        self.session = self.ws = self.reader = None
        self.messages = 0

    async def connect(self):
        import json

        import aiohttp

        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.url, timeout=self.timeout, autoping=True)
        opened = await self.ws.receive_str(timeout=self.timeout)
        if not opened.startswith("0"):
            raise RuntimeError(f"expected an Engine.IO open packet, got {opened[:80]!r}")
        await self.ws.send_str("40")
        while True:
            frame = await self.ws.receive_str(timeout=self.timeout)
            if frame.startswith("40"):
                break
            if frame.startswith("44"):
                raise RuntimeError(f"connect refused: {frame[:200]}")
        await self.ws.send_str('421["join",{"room":"display"}]')
        while True:
            frame = await self.ws.receive_str(timeout=self.timeout)
            if frame == "2":
                await self.ws.send_str("3")
            elif frame.startswith("431"):
                ack = json.loads(frame[3:])[0]
                if not ack.get("ok"):
                    raise RuntimeError(f"join refused: {ack!r}")
                break
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        import json

        import aiohttp

        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            frame = message.data
            if frame.startswith("42"):
                self.messages += 1
            if frame.startswith(self.CALLED):
                now = clock()
                self.store.setdefault(json.loads(frame[2:])[1]["ticket"]["number"], now)
            elif frame == "2":
                await self.ws.send_str("3")

    async def disconnect(self):
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
        if self.session is not None:
            await self.session.close()


SCREENS = {"socketio": SocketIOScreen, "raw": RawScreen}


async def _clients(kind, url, count, start_at, done_event, connect_timeout, report):
    received = [dict() for _ in range(count)]
    screens, connect_times, failures = [], [], []

    async def connect(index):
        screen = SCREENS[kind](url, received[index], connect_timeout)
        started = clock()
        try:
            await screen.connect()
        except Exception as error:  # noqa: BLE001 - a bench reports every failure
            failures.append(f"{type(error).__name__}: {error}")
            received[index] = None
            try:
                await screen.disconnect()
            except Exception:  # noqa: BLE001
                pass
            return
        connect_times.append((started, clock()))
        screens.append(screen)

    delay = start_at - clock()
    if delay > 0:
        await asyncio.sleep(delay)
    await asyncio.gather(*(connect(index) for index in range(count)))
    report("ready", connect_times, failures)
    cpu_ready = time.process_time()
    messages_ready = sum(screen.messages for screen in screens)
    deadline = clock() + 600
    while not done_event.is_set() and clock() < deadline:
        await asyncio.sleep(0.02)
    report("received", [store for store in received if store is not None], time.process_time() - cpu_ready,
           sum(screen.messages for screen in screens) - messages_ready)
    await asyncio.gather(*(screen.disconnect() for screen in screens), return_exceptions=True)


def client_process(kind, url, count, start_at, ready_queue, done_event, result_queue, connect_timeout):
    """One process of ``count`` asyncio screens; reports connects, then receive times and CPU."""
    def report(what, *data):
        (ready_queue if what == "ready" else result_queue).put((os.getpid(), *data))

    asyncio.run(_clients(kind, url, count, start_at, done_event, connect_timeout, report))


# -- the driver ----------------------------------------------------------------

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
        for worker in workers:
            worker.start()
        connect_times, failures = [], []
        try:
            for _ in workers:
                pid, times, failed = ready_queue.get(timeout=connect_timeout + 30)
                connect_times += times
                failures += failed
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
    if bad:
        say(f"[{label}] ! call-next errors: {bad[:3]}")
    if figures["log_problems"]:
        say(f"[{label}] ! hub log: {figures['log_problems']}")
    return figures
