"""Shared helpers for the benchmark scripts: start `manage.py run`, talk to it, summarise timings.

Everything here talks to 127.0.0.1 only. The server runs as a child process with its own temp data
dir (never the developer's `./engine_data`), and is stopped with SIGINT like a user would.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(cell) for cell in row) + " |")
    return "\n".join(lines)


def ms(seconds: float) -> str:
    return "n/a" if seconds != seconds else f"{seconds * 1000:.1f}"  # NaN check


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def call(
    method: str, url: str, body: dict | None = None, token: str | None = None, timeout: float = 10
) -> tuple[int, Any]:
    """One blocking JSON request (set-up and checks only; the load generators use httpx)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        return status, raw.decode(errors="replace")


class EngineServer:
    """`manage.py run` on a free loopback port with a throw-away data dir.

    Use as a context manager; `restart()` keeps the data dir (so a config change that is only read
    at start-up, like `app.engine_poll_interval_ms`, takes effect).
    """

    def __init__(self, *, keep: bool = False, label: str = "bench") -> None:
        self.keep = keep
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tv-{label}-"))
        self.data_dir = self.tmp / "data"
        self.port = free_port()
        self.base = f"http://{LOOPBACK}:{self.port}"
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.token = ""
        self.secret = ""

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env["ENGINE_DATA_DIR"] = str(self.data_dir)
        # keyring and friends must not touch the developer's home.
        env["XDG_DATA_HOME"] = str(self.tmp)
        env["XDG_CONFIG_HOME"] = str(self.tmp)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    @property
    def db_path(self) -> Path:
        return self.data_dir / "engine.sqlite3"

    @property
    def log_path(self) -> Path:
        return self.tmp / "run.log"

    def start(self, timeout: float = 90) -> None:
        self._log = open(self.log_path, "a")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", "run", "--host", LOOPBACK, "--port", str(self.port)],
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"manage.py run exited early; see {self.log_path}:\n{self.tail()}")
            try:
                return call("GET", f"{self.base}/healthz", timeout=2)[0] == 200
            except OSError:
                return False

        wait_for(up, timeout, "manage.py run to answer /healthz")
        config = json.loads((self.data_dir / "config.json").read_text())
        self.secret = config["security"]["webhook_secret"]

    def issue_token(self) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", "create_api_token", "bench", "--create-user"],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.token = result.stdout.strip()
        return self.token

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        return call(method, f"{self.base}/api/v1/{path.lstrip('/')}", body, self.token)

    def stop(self, timeout: float = 30) -> int | None:
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
                try:
                    self.proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            code = self.proc.returncode
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def restart(self) -> None:
        self.stop()
        self.start()

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text()[-chars:]
        except OSError:
            return ""

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Read the engine's SQLite database read-only (WAL lets us read while it writes)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def __enter__(self) -> EngineServer:
        try:
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.keep:
            print(f"\n(kept data dir {self.data_dir}, server log {self.log_path})", file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


# ---- CPU accounting: the machine is shared, so every phase says who else used the cores ----------

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / _CLK_TCK


def _process_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLK_TCK  # utime + stime, all threads


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(roots: Iterable[int], tree: dict[int, list[int]] | None = None) -> set[int]:
    """The roots and all their descendants (an engine child, uvicorn's or gunicorn's workers)."""
    tree = _children() if tree is None else tree
    found: set[int] = set()
    todo = [pid for pid in roots if pid]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(tree.get(pid, []))
    return found


def _pids(value: int | Iterable[int] | None) -> list[int]:
    if value is None:
        return []
    return [value] if isinstance(value, int) else [pid for pid in value if pid]


class CpuMeter:
    """Cores used between start and stop by this process, the web server (its process trees, minus
    the engine's), the engine (its process trees), the database server's backends for this install
    (`db`: a callable giving their pids; PostgreSQL runs a process per connection) and everything
    else on the machine.

    `server` is web + engine, as before the engine had its own process.
    """

    def __init__(
        self,
        web: int | Iterable[int] | None,
        engine: int | Iterable[int] | None = None,
        db: Callable[[], Iterable[int]] | None = None,
    ) -> None:
        self.web_roots, self.engine_roots, self.db_pids = _pids(web), _pids(engine), db
        self._start = self._sample()
        self.client = self.web = self.engine = self.db = self.other = 0.0

    def _sample(self) -> tuple[float, float, dict[str, dict[int, float]]]:
        tree = _children()
        engine = process_tree(self.engine_roots, tree)
        parties = {
            "client": {os.getpid()},
            "web": process_tree(self.web_roots, tree) - engine,
            "engine": engine,
            "db": set(self.db_pids()) if self.db_pids else set(),
        }
        cpu = {name: {pid: _process_cpu_seconds(pid) for pid in pids} for name, pids in parties.items()}
        return time.monotonic(), _machine_busy_seconds(), cpu

    def stop(self) -> CpuMeter:
        end = self._sample()
        wall = max(end[0] - self._start[0], 1e-9)
        used = {}
        for name, now in end[2].items():
            before = self._start[2][name]
            # A process born during the phase (a worker restarted, a new pool connection) counts whole.
            used[name] = sum(max(0.0, cpu - before.get(pid, 0.0)) for pid, cpu in now.items()) / wall
        self.client, self.web, self.engine, self.db = (used[k] for k in ("client", "web", "engine", "db"))
        self.other = max(0.0, (end[1] - self._start[1]) / wall - sum(used.values()))
        return self

    @property
    def server(self) -> float:
        return self.web + self.engine

    def __str__(self) -> str:
        if self.db_pids:
            return (
                f"{self.client:.2f} / {self.web:.2f} / {self.engine:.2f} / {self.db:.2f} / {self.other:.2f}"
            )
        if self.engine_roots:
            return f"{self.client:.2f} / {self.web:.2f} / {self.engine:.2f} / {self.other:.2f}"
        return f"{self.client:.2f} / {self.server:.2f} / {self.other:.2f}"


def wait_until_quiet(
    web: int | Iterable[int] | None,
    max_wait: float,
    threshold: float = 0.3,
    engine: int | Iterable[int] | None = None,
    db: Callable[[], Iterable[int]] | None = None,
) -> CpuMeter:
    """Wait (at most max_wait s) until other processes use < threshold cores over 2 s.

    Returns the last 2 s sample, which also tells what the idle server itself used.
    """
    deadline = time.monotonic() + max_wait
    while True:
        meter = CpuMeter(web, engine, db)
        time.sleep(2)
        meter.stop()
        if meter.other < threshold or time.monotonic() >= deadline:
            return meter


# ---- reporting: one line per figure, with its target and PASS/MISS --------------------------------


def load_average() -> str:
    """The 1 / 5 / 15-minute load averages, to print beside every run on this shared machine."""
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def figure(name: str, target: str, result: str, ok: bool | None, **context: object) -> str:
    """Print and return one summary line: `FIGURE name | target | result | PASS/MISS | k=v ...`."""
    verdict = "n/a" if ok is None else ("PASS" if ok else "MISS")
    extra = " | ".join(f"{key}={value}" for key, value in context.items())
    line = f"FIGURE {name} | target {target} | {result} | {verdict}" + (f" | {extra}" if extra else "")
    print(line, flush=True)
    return line


def _p50_p99(values: Sequence[float]) -> str:
    return f"p50 {percentile(values, 50) * 1000:.2f} / p99 {percentile(values, 99) * 1000:.2f} ms"


def wakeup_probe(samples: int = 200, postgres: str | None = None) -> str:
    """How long a sleeping thread waits for a core, and what PostgreSQL round trips cost, right now.

    On a shared 2-core machine the load average says how many want a core; this says what it costs
    a latency path made of many short waits: `time.sleep(1 ms)`'s overshoot, and with `postgres` a
    `SELECT 1` and a durable commit (an xid, so the commit waits for the WAL flush).
    """
    over = []
    for _ in range(samples):
        began = time.perf_counter()
        time.sleep(0.001)
        over.append(time.perf_counter() - began - 0.001)
    text = f"sleep(1 ms) overshoot {_p50_p99(over)}"
    if postgres:
        import psycopg

        trips, commits = [], []
        with psycopg.connect(postgres, autocommit=True) as conn:
            for _ in range(samples):
                began = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                trips.append(time.perf_counter() - began)
            for _ in range(samples // 4):
                began = time.perf_counter()
                conn.execute("SELECT txid_current()").fetchone()  # autocommit: its own durable commit
                commits.append(time.perf_counter() - began)
        text += f"; PostgreSQL SELECT 1 {_p50_p99(trips)}, durable commit {_p50_p99(commits)}"
    return text
