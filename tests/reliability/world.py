"""Real processes on a real database, for tests that kill or cut things (stdlib + psycopg only).

Each test gets its own install: a data dir, and on PostgreSQL (when the suite runs with a
PostgreSQL DATABASE_URL) its own throwaway database. The engine runs as `manage.py run` or
`manage.py runengine`, exactly as a user starts it; the test reads the database directly.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from contextlib import closing
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tests.serving import free_port, stop, wait_for

ROOT = Path(__file__).resolve().parents[2]
SECRET = "reliability-test-secret"


def postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


class Install:
    """One engine install: its data dir, its database, and how to run commands against it."""

    def __init__(self, tmp_path: Path, database_url: str | None = None) -> None:
        self.data_dir = tmp_path / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url
        self.logs: list[Path] = []

    # ---- database --------------------------------------------------------------------------

    @classmethod
    def create(cls, tmp_path: Path) -> Install:
        """On PostgreSQL a fresh database of its own (dropped by `destroy`), else SQLite in the data dir."""
        server = postgres_url()
        if server is None:
            return cls(tmp_path)
        name = f"tvengine_rel_{uuid.uuid4().hex[:10]}"
        _admin(server, f"CREATE DATABASE {name}")
        parts = urlsplit(server)
        return cls(tmp_path, urlunsplit(parts._replace(path=f"/{name}")))

    def destroy(self) -> None:
        if self.database_url:
            name = urlsplit(self.database_url).path.lstrip("/")
            _admin(self.database_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the install's database directly (SQLite placeholders: ?, converted for PostgreSQL)."""
        if self.database_url:
            import psycopg

            with psycopg.connect(self.database_url, autocommit=True) as conn:
                return conn.execute(sql.replace("?", "%s"), params).fetchall()
        path = self.data_dir / "engine.sqlite3"
        if not path.exists():
            return []
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
            try:
                return conn.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise

    def scalar(self, sql: str, params: tuple = ()) -> Any:
        rows = self.query(sql, params)
        return rows[0][0] if rows else None

    # ---- processes -------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ENGINE_CRASH_AT")
        }
        env.update(ENGINE_DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1", ENGINE_WEBHOOK_SECRET=SECRET)
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(extra)
        return env

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        log_path = self.data_dir.parent / f"process-{len(self.logs)}.log"
        self.logs.append(log_path)
        with open(log_path, "w") as log:
            return subprocess.Popen(
                [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(**env), stdout=log, stderr=log
            )

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(), capture_output=True, text=True
        )

    def invariants(self) -> dict:
        done = self.manage("check_invariants", "--json")
        assert done.stdout, done.stderr
        return json.loads(done.stdout)

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-2500:]}" for p in self.logs if p.exists())


class Server:
    """`manage.py run` on a free port: the embedded default, web and engine together."""

    def __init__(self, install: Install, *args: str, **env: str) -> None:
        self.install = install
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc = install.start("run", "--port", str(self.port), *args, **env)
        self.log_path = install.logs[-1]
        wait_for(self._healthy, timeout=90, what="manage.py run to answer")

    def log(self) -> str:
        return self.log_path.read_text()

    def engine_was_killed(self) -> bool:
        """`run` saw its engine process die by SIGKILL (and starts a new one: trading/engine_process.py)."""
        return f"exited with status -{signal.SIGKILL.value}" in self.log()

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"manage.py run exited with {self.proc.returncode}:\n{self.install.tail()}")
        try:
            with urllib.request.urlopen(f"{self.base}/healthz", timeout=5) as response:
                return response.status == 200
        except OSError:
            return False

    def webhook(self, **tv: str) -> int:
        return post_webhook(self.base, **tv)

    def stop(self) -> None:
        stop(self.proc)


def post_webhook(base: str, *, intent: str = "signal", side: str = "buy", with_body: bool = False, **tv: str):
    """POST an alert; the status (0: no answer at all), or (status, JSON body) with `with_body`."""
    trade_id = tv.pop("trade_id", None)
    payload = {
        "secret": SECRET,
        "tv": {"exchange": "BINANCE", "symbol": "BTCUSDT", "timeframe": "15", **tv},
        "execution_intent": {"type": intent, "side": side, "position_size_type": "quote"},
    }
    if trade_id is not None:
        payload["strategy_info"] = {"trade_id": trade_id}
    request = urllib.request.Request(
        f"{base}/webhooks/tradingview",
        data=json.dumps(payload).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    except OSError:  # refused, reset, timed out: the server is not there
        status, raw = 0, b""
    if not with_body:
        return status
    try:
        return status, json.loads(raw or b"{}")
    except ValueError:
        return status, {}


def _admin(url: str, sql: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(sql)
