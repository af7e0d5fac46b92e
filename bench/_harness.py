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


class CpuMeter:
    """Cores used by this process, by the server, and by everything else between start and stop."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid
        self._start = self._sample()
        self.client = self.server = self.other = 0.0

    def _sample(self) -> tuple[float, float, float, float]:
        server = _process_cpu_seconds(self.server_pid) if self.server_pid else 0.0
        return time.monotonic(), _machine_busy_seconds(), _process_cpu_seconds(os.getpid()), server

    def stop(self) -> CpuMeter:
        end = self._sample()
        wall = max(end[0] - self._start[0], 1e-9)
        busy, client, server = (end[i] - self._start[i] for i in (1, 2, 3))
        self.client, self.server = client / wall, server / wall
        self.other = max(0.0, (busy - client - server) / wall)
        return self

    def __str__(self) -> str:
        return f"{self.client:.2f} / {self.server:.2f} / {self.other:.2f}"


def wait_until_quiet(server_pid: int | None, max_wait: float, threshold: float = 0.3) -> CpuMeter:
    """Wait (at most max_wait s) until other processes use < threshold cores over 2 s.

    Returns the last 2 s sample, which also tells what the idle server itself used.
    """
    deadline = time.monotonic() + max_wait
    while True:
        meter = CpuMeter(server_pid)
        time.sleep(2)
        meter.stop()
        if meter.other < threshold or time.monotonic() >= deadline:
            return meter
