"""A real hub process for the benchmarks: temp database, tokens, serve, RSS, stop.

``Hub`` runs the same commands an installer would (``hallserver init``, ``hallserver
token create``, ``hallserver serve``) in child processes on loopback, with the database
in a fresh temporary directory, and stops the server by its own pid when done.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
# Every bench runs on this hall: the demo hall's services and counters, blocks big enough
# for a run, open around the clock, "next" without the double-press guard.
BENCH_HALL = os.path.join(HERE, "bench_hall.toml")
ROOT = os.path.dirname(HERE)


def hallserver_command():
    """The ``hallserver`` console script next to this interpreter, or ``python -m`` style."""
    script = os.path.join(os.path.dirname(sys.executable), "hallserver")
    if os.path.exists(script):
        return [script]
    return [sys.executable, "-c", "import sys; from hallserver.cli import main; main(sys.argv[1:])"]


def export_ref(ref):
    """Copy ``hallserver/`` as committed at git ``ref`` into a temp dir; returns (dir, commit).

    Putting that dir first on PYTHONPATH makes the hub processes run that code instead of
    the working tree (the editable install's finder comes after PYTHONPATH).
    """
    commit = subprocess.run(["git", "rev-parse", "--short", f"{ref}^{{commit}}"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    directory = tempfile.mkdtemp(prefix=f"hall-bench-src-{commit}-")
    archive = subprocess.run(["git", "archive", commit, "hallserver"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
    return directory, commit


def describe_source():
    """Which hub code runs: the commit, and whether hallserver/ has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "hallserver"], cwd=ROOT, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"working tree at {commit}{' + uncommitted hallserver/ changes' if dirty else ''}"


def free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid):
    """VmRSS of ``pid`` in KiB (from /proc/PID/status), or None when gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        return None
    return None


def cpu_seconds(pid):
    """User + system CPU seconds used so far by ``pid`` (from /proc/PID/stat)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class Hub:
    """``with Hub(config=...) as hub:`` → a running hub at ``hub.url`` with ``hub.tokens``."""

    def __init__(self, config=BENCH_HALL, async_mode="gevent", label="hub", keep=False, serve_command=None,
                 message_queue=None, database_of=None):
        self.config = config
        # Several hub processes on one database: ``database_of`` (a started Hub) lends its
        # database and tokens; ``message_queue`` links them (``serve --message-queue``).
        self.message_queue = message_queue
        self.database_of = database_of
        # ``serve_command``: another way to start ``hallserver serve`` (a list; the serve
        # arguments are appended), e.g. a wrapper that applies a candidate hub change.
        self.serve_command = serve_command or os.environ.get("HALL_BENCH_SERVE", "").split() or None
        self.async_mode = async_mode
        self.label = label
        self.keep = keep
        self.directory = None
        self.process = None
        self.port = None
        self.tokens = {}

    # -- set up -------------------------------------------------------------

    @property
    def db_path(self):
        if self.database_of is not None:
            return self.database_of.db_path
        return os.path.join(self.directory, "hall.db")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.process.pid

    def _env(self):
        env = dict(os.environ)
        env["HALL_DB"] = self.db_path
        source = os.environ.get("HALL_BENCH_SOURCE")  # set by ``python -m bench --ref``
        if source:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [source, env.get("PYTHONPATH")]))
        env.pop("HALL_ASYNC_MODE", None)
        return env

    def _run(self, *arguments):
        result = subprocess.run(
            [*hallserver_command(), *arguments], env=self._env(), cwd=ROOT,
            capture_output=True, text=True, timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"hallserver {' '.join(arguments)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def token(self, role, counter=None):
        arguments = ["token", "create", "--role", role, "--label", f"bench {role}"]
        if counter is not None:
            arguments += ["--counter", str(counter)]
        plain = self._run(*arguments).strip().splitlines()[-1].strip()
        self.tokens[(role, counter)] = plain
        return plain

    def start(self, timeout=20):
        self.directory = tempfile.mkdtemp(prefix=f"hall-bench-{self.label}-")
        if self.database_of is None:
            self._run("init", *(["--config", self.config] if self.config else []))
        else:
            self.tokens = self.database_of.tokens
        self.port = free_port()
        self.log_path = os.path.join(self.directory, "hub.log")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [*(self.serve_command or hallserver_command()), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--async-mode", self.async_mode, *(["--message-queue", self.message_queue] if self.message_queue else [])],
            env=self._env(), cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the hub exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/api/v1/state", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the hub did not answer within {timeout} s:\n{self.log()}")

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as log:
                return log.read()
        except (OSError, AttributeError):
            return ""

    def log_problems(self):
        """Lines of the hub's log that look like errors (tracebacks, 5xx)."""
        markers = ("Traceback", "Exception", "Error:")
        return [line for line in self.log().splitlines() if any(marker in line for marker in markers)]

    def rss_kib(self):
        return rss_kib(self.pid)

    def cpu_seconds(self):
        return cpu_seconds(self.pid)

    # -- tear down ------------------------------------------------------------

    def stop(self):
        """SIGINT the server (its own pid), then SIGKILL if it lingers; remove the temp dir."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None
        if self.directory and not self.keep:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


class RedisServer:
    """``with RedisServer() as redis:`` Debian's redis-server on a free loopback port, in a
    temporary directory, saving nothing; ``redis.url`` for ``serve --message-queue``."""

    def __init__(self, executable="/usr/bin/redis-server"):
        self.executable = executable
        self.process = None

    def __enter__(self):
        self.directory = tempfile.mkdtemp(prefix="hall-bench-redis-")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [self.executable, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.05)
        self.__exit__()
        raise RuntimeError("redis-server did not start")

    def __exit__(self, *exc_info):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)
