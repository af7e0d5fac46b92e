"""A real web process for tests that need real concurrency: daphne (or `manage.py run`) as a subprocess.

Talks HTTP only, stdlib only, so many threads can hit it at once. The subprocess has its own data
dir; on PostgreSQL it shares the test's database (pass the URL), on SQLite it migrates its own file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from tests.serving import free_port, stop, wait_for

ROOT = Path(__file__).resolve().parents[1]
SERVER_APP_NAME = "tv-engine-test-web"  # PGAPPNAME of the server, to count its connections only


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def request(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> Reply:
    """One HTTP request with a generous timeout (the machine may be busy); never raises on an HTTP status."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            status, raw, head = response.status, response.read(), response.headers
    except urllib.error.HTTPError as exc:
        status, raw, head = exc.code, exc.read(), exc.headers
    try:
        parsed: Any = json.loads(raw)
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return Reply(status, {key.lower(): value for key, value in head.items()}, parsed)


def shared_database_url() -> str:
    """The URL of the database this test runs on (pytest-django's `test_<name>` on PostgreSQL)."""
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


class WebServer:
    """`daphne engine_site.asgi:application` (the production web process) on a free port.

    Without `database_url` it runs `manage.py run --no-engine` instead, which migrates its own SQLite
    file first (a test's in-memory SQLite database cannot be shared with another process).
    """

    def __init__(self, tmp_path: Path, database_url: str | None, **env: str) -> None:
        self.tmp = tmp_path
        self.data_dir = tmp_path / "data"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.extra_env = env
        self.log_path = tmp_path / "server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "engine.sqlite3"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(
            ENGINE_DATA_DIR=str(self.data_dir),
            XDG_DATA_HOME=str(self.tmp),
            XDG_CONFIG_HOME=str(self.tmp),
            PYTHONUNBUFFERED="1",
            PGAPPNAME=SERVER_APP_NAME,
        )
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self) -> WebServer:
        if self.database_url:
            # A deep accept queue: a burst of hundreds of connections at once otherwise overflows
            # daphne's default of 50, and the kernel resets some of them before daphne sees them.
            endpoint = f"tcp:port={self.port}:interface=127.0.0.1:backlog=1024"
            command = [sys.executable, "-m", "daphne", "-e", endpoint, "engine_site.asgi:application"]
        else:
            command = [sys.executable, "manage.py", "run", "--no-engine", "--port", str(self.port)]
        log = open(self.log_path, "w")  # noqa: SIM115 - the child owns it; closed below
        self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env(), stdout=log, stderr=log)
        log.close()

        def answers() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"the server exited early:\n{self.log()}")
            try:
                # 405 needs no database, so this works even when the database is unreachable.
                return request("GET", f"{self.base}/webhooks/tradingview").status == 405
            except OSError:
                return False

        wait_for(answers, timeout=90, what="the web server to answer")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)

    def log(self) -> str:
        return self.log_path.read_text()[-4000:] if self.log_path.exists() else ""

    def post_json(self, path: str, payload: dict, headers: dict | None = None) -> Reply:
        body = json.dumps(payload).encode()
        return request(
            "POST", self.base + path, body, {"Content-Type": "application/json", **(headers or {})}
        )

    def get(self, path: str, headers: dict | None = None) -> Reply:
        return request("GET", self.base + path, headers=headers)


def all_at_once(calls: list, *, clients: int | None = None) -> list:
    """Run the callables on `clients` threads (default: one each) released together; results in order."""
    clients = clients or len(calls)
    results: list = [None] * len(calls)
    start = threading.Barrier(clients)
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        start.wait()
        for index in range(offset, len(calls), clients):
            try:
                results[index] = calls[index]()
            except BaseException as exc:  # noqa: BLE001 - reported to the test below
                errors.append(exc)

    threads = [threading.Thread(target=worker, args=(offset,)) for offset in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    if errors:
        raise errors[0]
    return results
