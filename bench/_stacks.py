"""The two layouts the benchmarks run against, behind one small interface.

- `Embedded`: `manage.py run` (web here, the engine in a child process), SQLite in a temp data dir,
  or PostgreSQL with `database=`.
- `Production`: N web workers (daphne, uvicorn or gunicorn with uvicorn workers) + `manage.py
  runengine`, on a throw-away PostgreSQL database, with Redis as the channel layer (as the README's
  production layout says).

Both give base `urls` (a load generator round-robins over them, like a reverse proxy over several
daphne ports), the `secret`, `query()` on the install's database (SQLite `?` placeholders, converted
for PostgreSQL), the web and engine process ids for CPU accounting, and a clean stop.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from _harness import LOOPBACK, ROOT, EngineServer, _children, call, free_port, wait_for

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
# A database index of its own, so the console pushes of a benchmark never reach anyone else's pages.
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
# gunicorn: uvicorn workers (ASGI, websockets too); gunicorn-wsgi: Django's WSGI handler in gthread
# workers (HTTP only: the console's websockets would still need an ASGI server beside it).
SERVERS = ("daphne", "uvicorn", "gunicorn", "gunicorn-wsgi")
ENGINE_POOL_MAX = "4"  # README, connection budget: the engine uses about three at a time


class PgDatabase:
    """A throw-away database on a PostgreSQL server, dropped by `drop()`."""

    def __init__(self, server_url: str, label: str) -> None:
        import psycopg

        self.server_url = server_url
        self.name = f"tvbench_{label.replace('-', '_')}_{os.getpid()}_{secrets.token_hex(3)}"
        self.url = urlunsplit(urlsplit(server_url)._replace(path=f"/{self.name}"))
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {self.name}")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), tuple(params)).fetchall()

    def backend_pids(self) -> list[int]:
        """The server processes serving this database now (for CPU accounting)."""
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.name,)
            ).fetchall()
        return [pid for (pid,) in rows]

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


class Embedded(EngineServer):
    """`manage.py run`: one command, the engine a child process linked to it."""

    layout = "embedded"

    def __init__(
        self, *, keep: bool = False, label: str = "bench", database: PgDatabase | None = None
    ) -> None:
        super().__init__(keep=keep, label=label)
        self.database = database
        self.description = "manage.py run, " + ("PostgreSQL" if database else "SQLite")

    @property
    def env(self) -> dict[str, str]:
        env = super().env
        if self.database is not None:
            env["DATABASE_URL"] = self.database.url
        return env

    @property
    def urls(self) -> list[str]:
        return [self.base]

    @property
    def web_pids(self) -> list[int]:
        return [self.proc.pid] if self.proc else []

    @property
    def engine_pids(self) -> list[int]:
        return _children().get(self.proc.pid, []) if self.proc else []

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.database.query(sql, params) if self.database else super().query(sql, params)

    @property
    def db_pids(self) -> Callable[[], list[int]] | None:
        return self.database.backend_pids if self.database else None

    def __exit__(self, *exc: object) -> None:
        super().__exit__(*exc)
        if self.database is not None and not self.keep:
            self.database.drop()


class Production:
    """N web workers + `runengine` + PostgreSQL + Redis, each a process of its own."""

    layout = "production"

    def __init__(
        self,
        server: str = "daphne",
        workers: int = 2,
        *,
        postgres: str = DEFAULT_POSTGRES,
        redis: str | None = DEFAULT_REDIS,
        keep: bool = False,
        label: str = "bench",
    ) -> None:
        if server not in SERVERS:
            raise ValueError(f"server must be one of {SERVERS}")
        self.server, self.workers, self.keep = server, workers, keep
        self.postgres, self.redis, self.label = postgres, redis, label
        self.tmp = Path(tempfile.mkdtemp(prefix=f"tv-{label}-"))
        self.data_dir = self.tmp / "data"
        self.secret = secrets.token_urlsafe(24)
        self.token = ""
        self.database: PgDatabase | None = None
        self.engine: subprocess.Popen | None = None
        self.webs: list[subprocess.Popen] = []
        self.urls: list[str] = []
        self.description = f"{server} ×{workers} + runengine, PostgreSQL" + (", Redis" if redis else "")

    @property
    def env(self) -> dict[str, str]:
        env = {
            k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "ENGINE_CRASH_AT")
        }
        env.update(
            ENGINE_DATA_DIR=str(self.data_dir),
            XDG_DATA_HOME=str(self.tmp),
            XDG_CONFIG_HOME=str(self.tmp),
            PYTHONUNBUFFERED="1",
            ENGINE_WEBHOOK_SECRET=self.secret,
            DJANGO_SETTINGS_MODULE="engine_site.settings",
        )
        if self.database is not None:
            env["DATABASE_URL"] = self.database.url
        if self.redis:
            env["REDIS_URL"] = self.redis
        return env

    @property
    def web_pids(self) -> list[int]:
        return [proc.pid for proc in self.webs]

    @property
    def engine_pids(self) -> list[int]:
        return [self.engine.pid] if self.engine else []

    @property
    def db_pids(self) -> Callable[[], list[int]] | None:
        return self.database.backend_pids if self.database else None

    def _spawn(self, name: str, argv: list[str], **extra: str) -> subprocess.Popen:
        log = open(self.tmp / f"{name}.log", "a")  # noqa: SIM115 - the child keeps it; closed with tmp
        return subprocess.Popen(
            [sys.executable, *argv], cwd=ROOT, env={**self.env, **extra}, stdout=log, stderr=subprocess.STDOUT
        )

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def _web_commands(self) -> list[tuple[int, list[str]]]:
        app = "engine_site.asgi:application"
        if self.server == "daphne":  # no workers flag: one process per port, the client round-robins
            ports = [free_port() for _ in range(self.workers)]
            return [
                (p, ["-m", "daphne", "-e", f"tcp:port={p}:interface={LOOPBACK}:backlog=1024", app])
                for p in ports
            ]
        port = free_port()
        if self.server == "uvicorn":
            argv = [
                "-m",
                "uvicorn",
                app,
                "--host",
                LOOPBACK,
                "--port",
                str(port),
                "--workers",
                str(self.workers),
            ]
            argv += ["--lifespan", "off", "--no-access-log", "--backlog", "1024", "--log-level", "warning"]
            return [(port, argv)]
        argv = ["-m", "gunicorn", "-w", str(self.workers), "-b", f"{LOOPBACK}:{port}", "--backlog", "1024"]
        if self.server == "gunicorn-wsgi":
            return [(port, [*argv, "-k", "gthread", "--threads", "4", "engine_site.wsgi:application"])]
        return [(port, [*argv, "-k", "uvicorn_worker.UvicornWorker", app])]

    def start(self, timeout: float = 120) -> None:
        self.database = PgDatabase(self.postgres, self.label)
        self.manage("migrate", "-v0")
        self.engine = self._spawn(
            "engine", ["manage.py", "runengine", "--no-migrate"], DB_POOL_MAX_SIZE=ENGINE_POOL_MAX
        )

        def engine_up() -> bool:
            if self.engine is not None and self.engine.poll() is not None:
                raise RuntimeError(f"runengine exited early:\n{self.tail()}")
            return bool(
                self.query("SELECT 1 FROM trading_event WHERE message LIKE ? LIMIT 1", ("engine started%",))
            )

        wait_for(engine_up, timeout, "runengine to start")
        for n, (port, argv) in enumerate(self._web_commands()):
            self.webs.append(self._spawn(f"web{n}", argv))
            self.urls.append(f"http://{LOOPBACK}:{port}")
        for url in self.urls:
            wait_for(lambda url=url: self._healthy(url), timeout, f"{self.server} to answer on {url}")
        if self.server != "daphne" and self.workers > 1:  # every worker up, not only the first
            wait_for(lambda: len(_children().get(self.webs[0].pid, [])) >= self.workers, timeout, "workers")

    def _healthy(self, url: str) -> bool:
        if any(proc.poll() is not None for proc in self.webs):
            raise RuntimeError(f"a web process exited early:\n{self.tail()}")
        try:
            return call("GET", f"{url}/healthz", timeout=2)[0] == 200
        except OSError:
            return False

    @property
    def base(self) -> str:
        return self.urls[0]

    def issue_token(self) -> str:
        self.token = self.manage("create_api_token", "bench", "--create-user").strip()
        return self.token

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
        return call(method, f"{self.base}/api/v1/{path.lstrip('/')}", body, self.token)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        assert self.database is not None
        return self.database.query(sql, params)

    def stop(self, timeout: float = 30) -> int | None:
        """Stop the web first (SIGINT: daphne, uvicorn; SIGTERM: gunicorn's graceful stop), then the engine."""
        worst = 0
        stopping = signal.SIGTERM if self.server.startswith("gunicorn") else signal.SIGINT
        for proc in [*self.webs, *([self.engine] if self.engine else [])]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT if proc is self.engine else stopping)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            worst = proc.returncode if proc.returncode != 0 and worst == 0 else worst
        self.webs, self.engine = [], None
        return worst

    def tail(self, chars: int = 2500) -> str:
        logs = sorted(self.tmp.glob("*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-chars:]}" for p in logs)

    def __enter__(self) -> Production:
        try:
            self.start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if self.keep:
            print(f"\n(kept {self.tmp} and database {self.database and self.database.name})", file=sys.stderr)
            return
        if self.database is not None:
            self.database.drop()
        shutil.rmtree(self.tmp, ignore_errors=True)


def make_stack(
    layout: str,
    *,
    server: str = "daphne",
    workers: int = 2,
    postgres: str | None = None,
    redis: str | None = DEFAULT_REDIS,
    keep: bool = False,
    label: str = "bench",
):
    """`embedded` (SQLite, or PostgreSQL with `postgres`) or `production` (PostgreSQL always)."""
    if layout == "embedded":
        database = PgDatabase(postgres, label) if postgres else None
        return Embedded(keep=keep, label=label, database=database)
    return Production(
        server, workers, postgres=postgres or DEFAULT_POSTGRES, redis=redis, keep=keep, label=label
    )
