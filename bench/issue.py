"""Bench 1: ticket issuance from 8 concurrent clients, then correctness from the database.

wrk (C, keep-alive, Lua script ``tickets.lua``) posts ``POST /api/v1/tickets`` with the
kiosk token, services round-robin, for ``duration`` seconds. Afterwards the database
file itself is read:

- no duplicate (day, number), and per service the values are gap-free from the block
  start (count == max - min + 1): no number was skipped or handed out twice;
- ``daily_numbers`` and the ``issued`` events agree with the tickets;
- the 201s wrk counted equal the tickets in the database, give or take the requests
  still in flight when wrk stopped (at most one per connection): those were served by
  the hub but wrk closed the connection before reading the answer.

A Python variant (``requests`` in 8 threads, a fixed number of requests each) then
checks the stronger property that wrk cannot: every 201 answer's number is exactly one
new row in the database, and every new row was answered.

Whether a ticket costs more as the line grows (nobody is called, so every ticket issued
stays waiting): ``python -m bench.issue --seconds 60 --per-second`` prints the tickets
issued in each second of the run beside the line's length, and the rate of the last ten
full seconds against the first ten. ``--hall demo`` runs on the demo hall instead of
``bench_hall.toml`` (its smallest blocks hold 999 numbers: keep such runs to about 4 s).
``--hubs 2`` serves one database from two hub processes linked by a real redis-server (as
behind nginx, see README "More than one process"): wrk's connections are split between them
and their rates added. ``--screens N`` keeps N hall screens (raw websocket clients, as in the
push bench, in a process of their own) joined to the display room during the run, as in a
hall: it prints the frames each screen received per second.
"""

import argparse
import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter

import requests

from . import variants
from .hub import BENCH_HALL, HERE, ROOT, Hub, RedisServer, cpu_seconds

LUA = os.path.join(HERE, "tickets.lua")
SERVICES = ("HT", "CT", "DD", "TP", "XH")


def _read_only(db_path):
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)


def db_snapshot(db_path):
    """What the database holds now: per-service ranges and the cross-checks."""
    with _read_only(db_path) as db:
        per_service = {
            service: {"count": count, "distinct": distinct, "min": low, "max": high}
            for service, count, distinct, low, high in db.execute(
                "SELECT service, COUNT(*), COUNT(DISTINCT value), MIN(value), MAX(value) "
                "FROM tickets GROUP BY service ORDER BY service"
            )
        }
        blocks = dict(db.execute("SELECT code, block_start FROM services"))
        total, distinct_numbers = db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT day || '/' || number) FROM tickets").fetchone()
        daily = {service: (last, issued) for service, last, issued in db.execute(
            "SELECT service, last_value, issued FROM daily_numbers")}
        issued_events = db.execute("SELECT COUNT(*) FROM events WHERE type = 'issued'").fetchone()[0]
        per_second = db.execute(
            "SELECT CAST(issued_at AS INTEGER) AS second, COUNT(*) FROM tickets GROUP BY second ORDER BY second"
        ).fetchall()
        max_id = db.execute("SELECT COALESCE(MAX(id), 0) FROM tickets").fetchone()[0]
    return {"per_service": per_service, "blocks": blocks, "total": total, "distinct_numbers": distinct_numbers,
            "daily": daily, "issued_events": issued_events, "per_second": per_second, "max_id": max_id}


def check_database(snapshot):
    """Problems found in a snapshot (an empty list when the numbers are sound)."""
    problems = []
    if snapshot["distinct_numbers"] != snapshot["total"]:
        problems.append(f"duplicate (day, number): {snapshot['total'] - snapshot['distinct_numbers']}")
    for service, row in snapshot["per_service"].items():
        if row["distinct"] != row["count"]:
            problems.append(f"{service}: {row['count'] - row['distinct']} duplicate values")
        if row["count"] != row["max"] - row["min"] + 1:
            problems.append(f"{service}: gaps: {row['count']} tickets over {row['min']}..{row['max']}")
        if row["min"] != snapshot["blocks"].get(service):
            problems.append(f"{service}: first number {row['min']} is not the block start "
                            f"{snapshot['blocks'].get(service)}")
        last, issued = snapshot["daily"].get(service, (None, None))
        if last != row["max"] or issued != row["count"]:
            problems.append(f"{service}: daily_numbers says last={last} issued={issued}, "
                            f"tickets say max={row['max']} count={row['count']}")
    if snapshot["issued_events"] != snapshot["total"]:
        problems.append(f"{snapshot['issued_events']} 'issued' events for {snapshot['total']} tickets")
    return problems


def parse_wrk(output):
    result = {"statuses": {}, "non201": []}
    for line in output.splitlines():
        if line.startswith("STATUS "):
            _, status, count = line.split()
            result["statuses"][status] = int(count)
        elif line.startswith("NON201 "):
            result["non201"].append(line[7:])
        elif line.startswith("LATENCY_US "):
            result["latency_ms"] = {key: int(float(value)) / 1000
                                    for key, value in re.findall(r"(\w+)=([\d.]+)", line)}
        elif line.startswith("SUMMARY "):
            result["summary"] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
        elif line.startswith("Requests/sec:"):
            result["requests_per_second"] = float(line.split()[1])
    return result


def run_wrk(url, token, duration, connections, threads):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
               "-s", LUA, url]
    env = dict(os.environ, KIOSK_TOKEN=token, SERVICES=",".join(SERVICES))
    started = time.monotonic()
    completed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    elapsed = time.monotonic() - started
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stdout}{completed.stderr}")
    result = parse_wrk(completed.stdout)
    result["raw"] = completed.stdout
    result["elapsed"] = elapsed
    return result


def python_clients(url, token, threads=8, per_thread=50):
    """``threads`` threads × ``per_thread`` POSTs with requests; returns answers and timing."""
    numbers, statuses, latencies = [], Counter(), []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def worker(index):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        mine, my_statuses, my_latencies = [], Counter(), []
        barrier.wait(timeout=30)
        for request_number in range(per_thread):
            service = SERVICES[(index + request_number) % len(SERVICES)]
            started = time.monotonic()
            try:
                response = session.post(url + "/api/v1/tickets", json={"service": service}, timeout=10)
            except requests.RequestException as error:
                my_statuses[f"exception {type(error).__name__}"] += 1
                continue
            my_latencies.append(time.monotonic() - started)
            my_statuses[str(response.status_code)] += 1
            if response.status_code == 201:
                mine.append((service, response.json()["ticket"]["number"]))
        session.close()
        with lock:
            numbers.extend(mine)
            statuses.update(my_statuses)
            latencies.extend(my_latencies)

    workers = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(threads)]
    started = time.monotonic()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    elapsed = time.monotonic() - started
    return {"numbers": numbers, "statuses": dict(statuses), "elapsed": elapsed, "latencies": latencies,
            "stuck": sum(thread.is_alive() for thread in workers)}


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def per_second_lines(seconds, cpu=None, waiting=0):
    """The run second by second (tickets issued, line length at its end, and with ``cpu``
    {second: hub CPU seconds used in it} the hub's CPU per ticket, which other work on the
    cores skews less than the rate), then how it moved: the last ten full seconds against
    the first ten. ``seconds``: [(epoch second, tickets issued in it)]; ``waiting``: the line before."""
    cpu = cpu or {}
    lines = ["second  tickets  waiting  hub CPU ms/ticket"]
    rows = []
    for index, (second, count) in enumerate(seconds):
        waiting += count
        per_ticket = 1000 * cpu[second] / count if second in cpu and count else None
        rows.append((count, per_ticket))
        lines.append(f"{index:6d}  {count:7d}  {waiting:7d}  {'' if per_ticket is None else f'{per_ticket:6.2f}'}")
    full = rows[1:-1]   # the first and last seconds are partial
    if len(full) >= 4:
        span = min(10, len(full) // 2)

        def mean(values):
            values = [value for value in values if value is not None]
            return sum(values) / len(values) if values else float("nan")

        first, last = mean([count for count, _ in full[:span]]), mean([count for count, _ in full[-span:]])
        lines.append(f"first {span} full seconds {first:.0f}/s, last {span} {last:.0f}/s: "
                     f"{(last / first - 1) * 100:+.0f}% while the line grew to {waiting}")
        if cpu:
            first, last = mean([cost for _, cost in full[:span]]), mean([cost for _, cost in full[-span:]])
            lines.append(f"hub CPU per ticket: first {span} full seconds {first:.2f} ms, last {span} {last:.2f} ms "
                         f"({(last / first - 1) * 100:+.0f}%)")
    return lines


# Issues ``count`` tickets in one transaction through the hub's own core (so the numbers,
# events and counts are what the hub would write), services round-robin. Run in a child
# process with the hub's environment, so ``--ref`` code fills the line its own way.
PREFILL = """
import sys, time
from hallserver import core
from hallserver.store import open_store
store = open_store(sys.argv[1])
config = store.config()
services = sys.argv[3].split(",")
with store.transaction() as db:
    for index in range(int(sys.argv[2])):
        core.issue_ticket(db, config, service=services[index % len(services)], now=time.time())
"""


def prefill(hub, count):
    """Put ``count`` waiting tickets in the hub's line (nobody calls them)."""
    subprocess.run([sys.executable, "-c", PREFILL, hub.db_path, str(count), ",".join(SERVICES)],
                   env=hub._env(), cwd=ROOT, check=True, timeout=600)


class CpuBySecond(threading.Thread):
    """Reads the hub's CPU time at every whole second of the clock: {second: CPU seconds used in it}."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.readings, self.done = pid, [], threading.Event()

    def run(self):
        while not self.done.is_set():
            self.done.wait(1 - time.time() % 1 + 0.001)
            value = cpu_seconds(self.pid)
            if value is not None:
                self.readings.append((int(time.time()), value))

    def stop(self):
        self.done.set()
        self.join(timeout=5)
        return {second - 1: later - earlier for (second, later), (previous, earlier)
                in zip(self.readings[1:], self.readings[:-1], strict=True) if second == previous + 1}


@contextlib.contextmanager
def hubs_on_one_database(count, config, async_mode):
    """``count`` hub processes on one database (the first one's), linked by a redis-server when
    more than one: yields the list."""
    with contextlib.ExitStack() as stack:
        queue = stack.enter_context(RedisServer()).url if count > 1 else None
        first = stack.enter_context(Hub(config=config, async_mode=async_mode, label=f"issue-{async_mode}",
                                        message_queue=queue))
        others = [stack.enter_context(Hub(config=config, async_mode=async_mode, label=f"issue-{async_mode}-{index}",
                                          message_queue=queue, database_of=first))
                  for index in range(1, count)]
        yield [first, *others]


def run_wrk_on(hubs, token, duration, connections, threads):
    """wrk on each hub at once, the connections split between them: one result, rates added."""
    if len(hubs) == 1:
        return run_wrk(hubs[0].url, token, duration, connections, threads)
    results = [None] * len(hubs)

    def one(index):
        results[index] = run_wrk(hubs[index].url, token, duration, max(1, connections // len(hubs)),
                                 max(1, threads // len(hubs)))
    workers = [threading.Thread(target=one, args=(index,)) for index in range(len(hubs))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    statuses, summary = Counter(), Counter()
    for result in results:
        statuses.update(result["statuses"])
        summary.update(result.get("summary", {}))
    return {"statuses": dict(statuses), "summary": dict(summary), "non201": sum((r["non201"] for r in results), []),
            "requests_per_second": sum(result["requests_per_second"] for result in results),
            "latency_ms": {key: max(result["latency_ms"].get(key, 0) for result in results)
                           for key in ("p50", "p90", "p99", "max")},
            "elapsed": max(result["elapsed"] for result in results)}


@contextlib.contextmanager
def screens_joined(hub, count, timeout=60):
    """``count`` raw websocket screens joined to ``hub``'s display room, in a process of their
    own, for the block; yields a dict that gets ``frames`` (what they received, pings included)
    and ``client_cpu`` (seconds) once they have closed."""
    import multiprocessing

    from .push import client_process, clock
    received = {}
    if not count:
        yield received
        return
    context = multiprocessing.get_context("spawn")
    ready_queue, result_queue, done_event = context.Queue(), context.Queue(), context.Event()
    worker = context.Process(target=client_process, daemon=True, args=(
        "raw", hub.url, count, clock() + 2.0, ready_queue, done_event, result_queue, timeout))
    worker.start()
    try:
        _, joined, failures = ready_queue.get(timeout=timeout + 30)
        if failures or len(joined) != count:
            raise RuntimeError(f"{len(joined)} of {count} screens joined: {failures[:3]}")
        received["started"] = time.monotonic()
        yield received
    finally:
        done_event.set()
        received["seconds"] = time.monotonic() - received.get("started", time.monotonic())
        _, _, received["client_cpu"], received["frames"] = result_queue.get(timeout=60)
        worker.join(timeout=30)


def run(duration=10, connections=8, threads=2, python_threads=8, python_per_thread=50, async_mode="gevent",
        say=print, config=BENCH_HALL, per_second=False, waiting=0, hubs=1, screens=0):
    """Run bench 1 on a fresh hub; returns a dict of figures (and prints as it goes).
    ``config``: the hall file (None: the demo hall); ``per_second``: print the run second by second;
    ``waiting``: tickets already waiting when wrk starts; ``hubs``: processes on the one database
    (latency figures are then the worst hub's); ``screens``: hall screens joined during the run."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    figures = {"async_mode": async_mode, "duration": duration, "connections": connections, "threads": threads,
               "hall": os.path.basename(config) if config else "demo", "hubs": hubs, "screens": screens}
    with hubs_on_one_database(hubs, config, async_mode) as serving:
        hub = serving[0]
        token = hub.token("kiosk")
        figures["rss_idle_kib"] = hub.rss_kib()
        say(f"[issue/{async_mode}] hub pid {hub.pid} at {hub.url}, db {hub.db_path}, "
            f"RSS idle {figures['rss_idle_kib'] / 1024:.1f} MiB")
        if waiting:
            prefill(hub, waiting)
            say(f"[issue/{async_mode}] {waiting} tickets waiting before the run")
        say(f"[issue/{async_mode}] wrk -t{threads} -c{connections} -d{duration}s POST /api/v1/tickets ...")
        sampler = CpuBySecond(hub.pid)
        with screens_joined(hub, screens) as received:
            if screens:
                say(f"[issue/{async_mode}] {screens} screens joined the display room")
            if per_second:
                sampler.start()
            cpu_before = sum(each.cpu_seconds() for each in serving)
            wrk = run_wrk_on(serving, token, duration, connections, threads)
            cpu_after = sum(each.cpu_seconds() for each in serving)
            cpu_by_second = sampler.stop() if per_second else {}
        if screens:
            figures["screen_frames_per_second"] = received["frames"] / screens / received["seconds"]
            say(f"[issue/{async_mode}] each screen received {figures['screen_frames_per_second']:.1f} frames/s "
                f"(screens' client CPU {received['client_cpu']:.1f} s)")
        time.sleep(0.5)  # let requests cut off by wrk's stop finish their transaction
        snapshot = db_snapshot(hub.db_path)
        problems = check_database(snapshot)
        created = wrk["statuses"].get("201", 0)
        in_flight = snapshot["total"] - waiting - created
        run_seconds = snapshot["per_second"]
        if waiting:   # the run's own tickets only (the line was filled into a fresh database)
            with _read_only(hub.db_path) as db:
                run_seconds = db.execute(
                    "SELECT CAST(issued_at AS INTEGER) AS second, COUNT(*) FROM tickets WHERE id > ? "
                    "GROUP BY second ORDER BY second", [waiting]).fetchall()
        if not 0 <= in_flight <= connections:
            problems.append(f"wrk counted {created} × 201 but the database holds {snapshot['total']} tickets "
                            f"(difference {in_flight}, at most {connections} may be in flight at the stop)")
        others = {status: count for status, count in wrk["statuses"].items() if status != "201"}
        if others:
            problems.append(f"non-201 answers: {others}; first bodies: {wrk['non201']}")
        errors = {key: value for key, value in wrk.get("summary", {}).items() if key.startswith("errors_") and value}
        seconds = [count for _, count in run_seconds]
        full = seconds[1:-1] or seconds  # the first and last seconds are partial
        figures.update({
            "tickets_per_second": wrk.get("requests_per_second"),
            "created_201": created,
            "db_tickets": snapshot["total"],
            "in_flight_at_stop": in_flight,
            "latency_ms": wrk.get("latency_ms", {}),
            "wrk_errors": errors,
            "non201": others,
            "hub_cpu_share": (cpu_after - cpu_before) / wrk["elapsed"] if cpu_before is not None else None,
            "first_second_rate": full[0] if full else None,
            "last_second_rate": full[-1] if full else None,
            "per_second": seconds,
            "rss_after_kib": hub.rss_kib(),
            "per_service": snapshot["per_service"],
        })
        latency = figures["latency_ms"]
        say(f"[issue/{async_mode}] {figures['tickets_per_second']:.0f} tickets/s; latency ms "
            f"p50 {latency.get('p50', float('nan')):.1f} p90 {latency.get('p90', float('nan')):.1f} "
            f"p99 {latency.get('p99', float('nan')):.1f} max {latency.get('max', float('nan')):.1f}; "
            f"hub CPU {figures['hub_cpu_share'] * 100:.0f}% of one core")
        say(f"[issue/{async_mode}] tickets per second of the run (DB issued_at): {seconds}")
        if per_second:
            for line in per_second_lines(run_seconds, cpu_by_second, waiting):
                say(f"[issue/{async_mode}]   {line}")
        say(f"[issue/{async_mode}] wrk 201s {created}, DB tickets {snapshot['total']} "
            f"(in flight at wrk's stop: {in_flight}); wrk socket errors {errors or 'none'}")
        for service, row in snapshot["per_service"].items():
            say(f"[issue/{async_mode}]   {service}: {row['count']} tickets, values {row['min']}..{row['max']}, "
                f"{row['distinct']} distinct")

        # -- the Python variant: exact answer-to-row correspondence ---------------------
        if python_threads and python_per_thread:
            before_id = snapshot["max_id"]
            say(f"[issue/{async_mode}] python requests: {python_threads} threads × {python_per_thread} POSTs ...")
            answers = python_clients(hub.url, token, python_threads, python_per_thread)
            time.sleep(0.2)
            after = db_snapshot(hub.db_path)
            problems += [f"(python phase) {problem}" for problem in check_database(after)]
            with _read_only(hub.db_path) as db:
                new_rows = sorted(db.execute(
                    "SELECT service, number FROM tickets WHERE id > ?", [before_id]).fetchall())
            answered = sorted(answers["numbers"])
            if len(set(answered)) != len(answered):
                problems.append(f"(python phase) the hub answered a number twice: "
                                f"{[n for n, c in Counter(answered).items() if c > 1][:5]}")
            if answered != new_rows:
                problems.append(f"(python phase) {len(answered)} numbers answered, {len(new_rows)} new rows; "
                                f"answered-not-stored {sorted(set(answered) - set(new_rows))[:5]}, "
                                f"stored-not-answered {sorted(set(new_rows) - set(answered))[:5]}")
            expected = python_threads * python_per_thread
            if answers["statuses"].get("201", 0) != expected:
                problems.append(f"(python phase) statuses {answers['statuses']} for {expected} requests")
            figures["python"] = {
                "requests": expected,
                "statuses": answers["statuses"],
                "per_second": expected / answers["elapsed"],
                "p50_ms": percentile(answers["latencies"], 0.5) * 1000,
                "p99_ms": percentile(answers["latencies"], 0.99) * 1000,
                "exact_match": answered == new_rows,
            }
            say(f"[issue/{async_mode}] python: {figures['python']['per_second']:.0f} tickets/s, "
                f"p50 {figures['python']['p50_ms']:.1f} ms p99 {figures['python']['p99_ms']:.1f} ms, "
                f"statuses {answers['statuses']}, answers == new rows: {figures['python']['exact_match']}")
        figures["waiting_at_end"] = after["total"] if python_threads and python_per_thread else snapshot["total"]
        log_problems = [problem for each in serving for problem in each.log_problems()]
        if log_problems:
            problems.append(f"hub log: {log_problems[:5]}")
    figures["problems"] = problems
    say(f"[issue/{async_mode}] correctness: {'OK' if not problems else 'PROBLEMS'}")
    for problem in problems:
        say(f"[issue/{async_mode}]   ! {problem}")
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.issue", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10, help="wrk seconds (default 10)")
    parser.add_argument("--per-second", action="store_true", help="print the run second by second")
    parser.add_argument("--hall", choices=("bench", "demo"), default="bench",
                        help="bench_hall.toml (default) or the demo hall")
    parser.add_argument("--waiting", type=int, default=0,
                        help="tickets put in the line before the run (one transaction through the core)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hubs", type=int, default=1, help="hub processes on the one database (2+: over Redis)")
    parser.add_argument("--python-requests", type=int, default=50,
                        help="requests per Python thread afterwards (8 threads; 0: none)")
    parser.add_argument("--variant", help="serve the hub through bench/variants.py, e.g. no-push,no-estimate")
    parser.add_argument("--screens", type=int, default=0, help="hall screens joined to the display room meanwhile")
    arguments = parser.parse_args(argv)
    if arguments.variant:
        print(f"[issue] hub variant: {', '.join(variants.serve_with(arguments.variant)) or 'none'}")
    if arguments.hubs > 1 and arguments.per_second:
        parser.error("--per-second reads one hub process's CPU: use it with --hubs 1")
    figures = run(duration=arguments.seconds, connections=arguments.connections, threads=arguments.threads,
                  python_per_thread=arguments.python_requests, config=BENCH_HALL if arguments.hall == "bench" else None,
                  per_second=arguments.per_second, waiting=arguments.waiting, hubs=arguments.hubs,
                  screens=arguments.screens)
    return 1 if figures["problems"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
