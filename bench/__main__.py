"""``python -m bench``: run the hub benchmarks against real hub processes and print figures.

    .venv/bin/python -m bench                 # everything, about 2 minutes
    .venv/bin/python -m bench --only issue    # one bench (issue, push, eventlet, display, simulate)
    .venv/bin/python -m bench --quick         # a smaller smoke run (~40 s)
    .venv/bin/python -m bench --json out.json # also keep the figures

Each bench starts its own hub (``hallserver serve`` on 127.0.0.1, a free port, a fresh
temporary database) and stops it by its pid at the end. Needs ``wrk`` (Debian package).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import time

from . import display, hub, issue, push, simulate, variants

TARGET_TICKETS_PER_SECOND = 500
TARGET_P99_MS = 50
TARGET_DISPLAY_MS = 150
TARGET_DISPLAY_RSS_MIB = 120


def _eventlet_available():
    import importlib.util

    return importlib.util.find_spec("eventlet") is not None


def _mib(kib):
    return "-" if kib is None else f"{kib / 1024:.1f}"


def _machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model or platform.machine()}, Python {platform.python_version()}"


def summary(results):
    """The figures as a Markdown table (what bench/README.md keeps)."""
    lines = ["| bench | figure | value | target |", "| --- | --- | --- | --- |"]
    for key, figures in results.items():
        if figures.get("error"):
            lines.append(f"| {key} | error | {figures['error']} | |")
            continue
        if key == "simulate":
            lines += simulate.summary_lines(figures)
            continue
        if key == "display":
            latency = figures["latency_ms"]
            lines.append(f"| display | call-next → announcement starts on a running hall-display, "
                         f"{figures['announced']}/{figures['calls']} calls: p50 / p95 / max ms | "
                         f"{latency['p50']:.0f} / **{latency['p95']:.0f}** / {latency['max']:.0f} | "
                         f"≤ {TARGET_DISPLAY_MS} |")
            lines.append(f"| display | display RSS idle / after the calls MiB | {_mib(figures['rss_idle_kib'])} / "
                         f"**{_mib(figures['rss_after_kib'])}** | ≤ {TARGET_DISPLAY_RSS_MIB} |")
            lines.append(f"| display | display CPU when idle | {figures['idle_cpu_share'] * 100:.1f}% of one core | |")
            continue
        if key.startswith("issue"):
            latency = figures["latency_ms"]
            lines.append(f"| {key} | tickets/s (wrk -t{figures['threads']} -c{figures['connections']} "
                         f"-d{figures['duration']}s) | **{figures['tickets_per_second']:.0f}** "
                         f"| ≥ {TARGET_TICKETS_PER_SECOND} |")
            lines.append(f"| {key} | latency p50 / p90 / p99 / max ms | {latency['p50']:.1f} / {latency['p90']:.1f} / "
                         f"{latency['p99']:.1f} / {latency['max']:.1f} | |")
            lines.append(f"| {key} | tickets/s by second of the run | {' '.join(map(str, figures['per_second']))} | |")
            lines.append(f"| {key} | hub CPU during the run | {figures['hub_cpu_share'] * 100:.0f}% of one core | |")
            lines.append(f"| {key} | 201s / DB tickets (in flight at stop) | {figures['created_201']} / "
                         f"{figures['db_tickets']} ({figures['in_flight_at_stop']}) | equal ± connections |")
            if "python" in figures:
                python = figures["python"]
                lines.append(f"| {key} | python requests 8 threads: tickets/s, p50 / p99 ms, answers == rows "
                             f"| {python['per_second']:.0f}, {python['p50_ms']:.1f} / {python['p99_ms']:.1f}, "
                             f"{'yes' if python['exact_match'] else 'NO'} | |")
            lines.append(f"| {key} | duplicate or skipped numbers, non-201s | "
                         f"{'none' if not figures['problems'] else '; '.join(figures['problems'])} | none |")
            lines.append(f"| {key} | hub RSS idle / after MiB | {_mib(figures['rss_idle_kib'])} / "
                         f"{_mib(figures['rss_after_kib'])} | |")
        else:
            latency, connect = figures["latency_ms"], figures["connect_ms"]
            clients = f"{figures['connected']}/{figures['clients']} {figures['kind']} clients"
            lines.append(f"| {key} | call-next → 'called', {clients}, {figures['calls_ok']} calls "
                         f"{figures['gap'] * 1000:.0f} ms apart: p50 / p95 / p99 / max ms | {latency['p50']:.1f} / "
                         f"{latency['p95']:.1f} / **{latency['p99']:.1f}** / {latency['max']:.1f} "
                         f"| p99 ≤ {TARGET_P99_MS} |")
            lines.append(f"| {key} | delivered / expected, missing | {figures['deliveries']} / "
                         f"{figures['expected_deliveries']}, {figures['missing']} | all, 0 |")
            http = figures["http_ms"]
            lines.append(f"| {key} | call-next HTTP answer p50 / p99 ms | {http['p50']:.1f} / {http['p99']:.1f} | |")
            lines.append(f"| {key} | CPU during the calls: hub / client processes | "
                         f"{figures['hub_cpu_share'] * 100:.0f}% / "
                         f"{figures['clients_cpu_share'] * 100:.0f}% of one core | |")
            lines.append(f"| {key} | hub CPU per call-next; events per call per client | "
                         f"{figures['hub_cpu_ms_per_call']:.1f} ms; {figures['messages_per_call_per_client']:.1f} | |")
            lines.append(f"| {key} | connect + join of all clients at once: wall s; per client p50 / max ms | "
                         f"{figures['connect_wall_s']:.2f}; {connect['p50']:.0f} / {connect['max']:.0f} | |")
            lines.append(f"| {key} | hub RSS MiB: idle / {figures['connected']} clients / after calls / "
                         f"clients gone | {_mib(figures['rss_idle_kib'])} / {_mib(figures['rss_connected_kib'])} / "
                         f"{_mib(figures['rss_after_calls_kib'])} / {_mib(figures['rss_after_kib'])} | |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="issue,push,eventlet,display",
                        help="comma-separated: issue, push, eventlet, display (default: all), "
                             "simulate (the wait estimate on simulated days, see simulate.py; not in the default)")
    parser.add_argument("--quick", action="store_true", help="smaller runs for a smoke test")
    parser.add_argument("--duration", type=int, default=10, help="wrk seconds (default 10)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--processes", type=int, default=4, help="client processes for the clients")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.1, help="seconds between call-next requests")
    parser.add_argument("--kinds", default="socketio,raw",
                        help="client kinds for the push bench: socketio (python-socketio) and/or raw")
    parser.add_argument("--ref", help="benchmark hallserver/ as committed at this git ref (e.g. HEAD) "
                             "instead of the working tree")
    parser.add_argument("--variant", help="serve the hub with proposed changes applied in-process "
                             "(see bench/variants.py), e.g. nagle or flush")
    parser.add_argument("--json", dest="json_path", help="write every figure to this JSON file")
    arguments = parser.parse_args(argv)

    if arguments.quick:
        arguments.duration, arguments.clients, arguments.calls = 3, 50, 30
        arguments.processes = min(arguments.processes, 2)
    selected = {part.strip() for part in arguments.only.split(",") if part.strip()}
    kinds = [kind.strip() for kind in arguments.kinds.split(",") if kind.strip()]
    source_directory = None
    if arguments.ref:
        source_directory, commit = hub.export_ref(arguments.ref)
        os.environ["HALL_BENCH_SOURCE"] = source_directory
        source = f"hallserver/ at {arguments.ref} ({commit})"
    else:
        source = hub.describe_source()
    if arguments.variant:
        chosen = variants.serve_with(arguments.variant)
        source += f", variant {','.join(chosen) or 'none'}"
    try:
        return _run(arguments, selected, kinds, source)
    finally:
        if source_directory:
            shutil.rmtree(source_directory, ignore_errors=True)


def _run(arguments, selected, kinds, source):
    started = time.monotonic()
    print(f"Hall Queue bench, {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}; "
          f"machine: {_machine()}")
    load = os.getloadavg()
    print(f"hub code: {source}")
    print(f"load average before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (other work on the cores skews figures)")
    results = {}

    def attempt(key, function, **keywords):
        try:
            results[key] = function(**keywords)
        except Exception as error:  # noqa: BLE001 - report and go on with the other benches
            print(f"[{key}] FAILED: {type(error).__name__}: {error}")
            last = [line for line in str(error).strip().splitlines() if line.strip()][-1:] or [""]
            results[key] = {"error": f"{type(error).__name__}: {last[0][:200]}"}

    if "issue" in selected:
        if shutil.which("wrk") is None:
            print("[issue] skipped: wrk is not installed (apt-get install wrk)")
        else:
            attempt("issue/gevent", issue.run, duration=arguments.duration, connections=arguments.connections,
                    threads=arguments.threads, python_per_thread=25 if arguments.quick else 50)
    if "push" in selected:
        for kind in kinds:
            attempt(f"push/gevent/{kind}", push.run, clients=arguments.clients, processes=arguments.processes,
                    calls=arguments.calls, gap=arguments.gap, kind=kind)
    if "eventlet" in selected:
        if not _eventlet_available():
            print("[eventlet] skipped: eventlet is not installed (pip install eventlet)")
        else:
            if shutil.which("wrk") is not None:
                attempt("issue/eventlet", issue.run, duration=min(arguments.duration, 5),
                        connections=arguments.connections, threads=arguments.threads, async_mode="eventlet",
                        python_per_thread=25)
            attempt("push/eventlet/socketio", push.run, clients=arguments.clients, processes=arguments.processes,
                    calls=max(10, arguments.calls // 2), gap=arguments.gap, async_mode="eventlet", kind="socketio")

    if "display" in selected:
        attempt("display", display.run, calls=8 if arguments.quick else 20)
    if "simulate" in selected:
        attempt("simulate", simulate.run, arguments=argparse.Namespace(
            days=1 if arguments.quick else 3, seed=1, scenarios="all-day,lunch", fairness=True,
            plot=str(simulate.PLOT_PATH), no_plot=False, json_path=None))

    print()
    print(f"## Summary ({time.monotonic() - started:.0f} s)")
    print()
    print(summary(results))
    if arguments.json_path:
        with open(arguments.json_path, "w", encoding="utf-8") as output:
            json.dump({"machine": _machine(), "results": results}, output, indent=2, default=str)
        print(f"\nfigures written to {arguments.json_path}")
    failed = [key for key, figures in results.items() if figures.get("error") or figures.get("problems")
              or figures.get("missing")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
