"""The hall screen: call made → its announcement starts playing on a running display;
the display's memory and idle CPU.

A real hub and a real ``hall-display`` process (pygame, the real mixer on SDL's dummy
audio driver, an off-screen surface) on loopback. The display logs when each
announcement starts (``announcing call N``, millisecond timestamps, UTC); the bench
notes the wall time just before each ``call-next`` request and pairs the two by call id.
"""

import datetime
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

import requests

from hallserver.voice.pack import voice_pack_dir

from .hub import ROOT, Hub, cpu_seconds, rss_kib

JOINED = re.compile(r"joined (the )?display")  # hallclient's log line: "joined display of URL (websocket)"
ANNOUNCING = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO display\.announcer: "
                        r"announcing call (\d+):.*\((\d+\.\d) s\)$")


def _announcements(log_path):
    """{call_id: (epoch seconds when the display started announcing it, its length in s)}."""
    started = {}
    with open(log_path, encoding="utf-8", errors="replace") as log:
        for line in log:
            match = ANNOUNCING.match(line.rstrip())
            if match:
                moment = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
                started[match.group(2)] = (moment.replace(tzinfo=datetime.UTC).timestamp(),
                                           float(match.group(3)))
    return started


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[max(0, -(-int(fraction * 100) * len(ordered) // 100) - 1)]


def run(calls=10, idle_seconds=10, voice="vi"):
    """Make ``calls`` calls, each once the previous announcement has finished (so none
    waits behind another), and report call → announcement start, RSS and idle CPU. The
    display plays the shipped pack of ``voice`` (the calls are said twice, as by default)."""
    sounds = voice_pack_dir(os.path.join(ROOT, "sounds"), voice)
    with Hub(label="display") as hub:
        kiosk, counter = hub.token("kiosk"), hub.token("counter", 2)
        log_path = os.path.join(tempfile.mkdtemp(prefix="hall-bench-display-"), "display.log")
        environment = dict(os.environ, TZ="UTC", SDL_AUDIODRIVER="dummy", SDL_VIDEODRIVER="dummy")
        with open(log_path, "w") as log:
            display = subprocess.Popen(
                [sys.executable, "-m", "display", "--hub", hub.url, "--audio", "pygame", "--screen", "offscreen",
                 "--size", "1920x1080", "--sounds", str(sounds)], cwd=ROOT, env=environment, stdout=log,
                stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 20
            while not JOINED.search(open(log_path, encoding="utf-8").read()):
                if time.monotonic() > deadline or display.poll() is not None:
                    raise RuntimeError(f"the display did not join:\n{open(log_path).read()[-2000:]}")
                time.sleep(0.1)
            time.sleep(1)
            cpu_before, wall_before = cpu_seconds(display.pid), time.monotonic()
            time.sleep(idle_seconds)
            idle_cpu = (cpu_seconds(display.pid) - cpu_before) / (time.monotonic() - wall_before)
            rss_idle = rss_kib(display.pid)
            for _ in range(calls):
                requests.post(f"{hub.url}/api/v1/tickets", json={"service": "CT"},
                              headers={"Authorization": f"Bearer {kiosk}"}, timeout=10)
            made = {}
            session = requests.Session()
            for _ in range(calls):
                before = time.time()
                answer = session.post(f"{hub.url}/api/v1/counters/2/call-next", json={},
                                      headers={"Authorization": f"Bearer {counter}"}, timeout=10).json()
                call_id = str(answer["seq"])
                made[call_id] = before
                wait_until = time.monotonic() + 15
                while call_id not in _announcements(log_path) and time.monotonic() < wait_until:
                    time.sleep(0.05)
                length = _announcements(log_path).get(call_id, (0, 0))[1]
                # let it finish, and the announcer's pause after it: the next call meets an idle speaker
                time.sleep(length + 1.0)
            rss_after = rss_kib(display.pid)
        finally:
            display.terminate()
            display.wait(timeout=10)
    started = _announcements(log_path)
    latencies = [(started[call_id][0] - made_at) * 1000 for call_id, made_at in made.items() if call_id in started]
    figures = {
        "calls": calls, "announced": len(latencies),
        "latency_ms": {"p50": statistics.median(latencies), "p95": _percentile(latencies, 0.95),
                       "max": max(latencies)} if latencies else None,
        "rss_idle_kib": rss_idle, "rss_after_kib": rss_after, "idle_cpu_share": idle_cpu,
    }
    print(f"[display] {voice} pack; {len(latencies)}/{calls} calls announced; call → announcement start ms "
          f"p50 {figures['latency_ms']['p50']:.0f} p95 {figures['latency_ms']['p95']:.0f} "
          f"max {figures['latency_ms']['max']:.0f}; RSS idle {rss_idle / 1024:.1f} MiB, after "
          f"{rss_after / 1024:.1f} MiB; idle CPU {idle_cpu * 100:.1f}% of one core")
    return figures
