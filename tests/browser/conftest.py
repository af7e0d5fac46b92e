"""Browser tests: Playwright (pytest-playwright) driving Debian's Chromium against `manage.py run`.

Run apart from the main suite (pytest-django is switched off here; the server is a subprocess):

    pytest tests/browser -p no:django -p no:cacheprovider -o addopts=""

No browser is downloaded: Chromium comes from `apt-get install -y chromium`. Without it the tests
skip with a message on a developer machine, and fail in CI (`CI` set), where they must run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.serving import free_port, stop, wait_for  # noqa: F401 - wait_for is used by the tests

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN = ("admin", "admin-pass-4711")
OPERATOR = ("viewer", "operator-pass-4711")
USERS_SCRIPT = f"""
from django.core.management import call_command
call_command("createsuperuser", "--noinput", username={ADMIN[0]!r}, email="admin@example.com")
call_command("create_operator", {OPERATOR[0]!r}, "--noinput")
call_command("create_api_token", {ADMIN[0]!r})
"""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if Path(CHROMIUM).exists():
        return
    message = f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium`"
    if os.environ.get("CI"):
        raise pytest.UsageError(message + " (browser tests never skip in CI)")
    for item in items:
        item.add_marker(pytest.mark.skip(reason=message + "; browser tests skipped on this machine"))


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@dataclass
class Engine:
    """The running `manage.py run`, with the few HTTP calls a trader would make."""

    base: str
    token: str
    secret: str
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    def call(self, method: str, path: str, body: Any = None, auth: bool = True) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def webhook(
        self, symbol: str, price: str, *, side: str = "buy", timeframe: str = "15", size: str = "500"
    ) -> int:
        payload = {
            "secret": self.secret,
            "tv": {
                "exchange": "BINANCE",
                "symbol": symbol,
                "timeframe": timeframe,
                "entry_price": price,
                "order_size": size,
            },
            "execution_intent": {"type": "signal", "side": side, "position_size_type": "quote"},
        }
        status, _ = self.call("POST", "/webhooks/tradingview", payload, auth=False)
        return status

    def price(self, symbol: str, price: str) -> int:
        status, body = self.call("POST", "/api/v1/paper/prices", {"symbol": symbol, "price": price})
        assert status == 202, body
        return body["command_id"]

    def command(self, command_id: int) -> dict[str, Any]:
        return self.call("GET", f"/api/v1/commands/{command_id}")[1]

    def applied(self, command_id: int) -> dict[str, Any]:
        return wait_for(
            lambda: (c := self.command(command_id))["status"] != "pending" and c,
            what=f"command #{command_id}",
        )

    def manage(self, *args: str, **env: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**self.env, **env},
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()


@contextmanager
def running_engine(*args: str) -> Iterator[Engine]:
    """`manage.py run` on a free port with its own data dir, an admin, an operator and an API token."""
    data_dir = Path(tempfile.mkdtemp(prefix="console-browser-"))
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    # The test process never touches Django itself, so DJANGO_ALLOW_ASYNC_UNSAFE is not needed
    # (and the server keeps Django's async-safety checks on).
    env.update(ENGINE_DATA_DIR=str(data_dir / "data"), PYTHONUNBUFFERED="1")
    log_path = data_dir / "run.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--port", str(port), *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, timeout=90, what="manage.py run to answer")
        engine = Engine(base, "", "", data_dir / "data", env, proc, log_path)
        # The admin, the operator and the admin's API token through the same management commands a
        # user runs, in one process (each start of Django costs seconds on a busy machine).
        engine.token = engine.manage(
            "shell",
            "-c",
            USERS_SCRIPT,
            DJANGO_SUPERUSER_PASSWORD=ADMIN[1],
            DJANGO_OPERATOR_PASSWORD=OPERATOR[1],
        ).split()[-1]
        engine.secret = json.loads((engine.data_dir / "config.json").read_text())["security"][
            "webhook_secret"
        ]
        yield engine
    finally:
        stop(proc)
        log.close()
        sys.stdout.write("\n--- manage.py run (tail) ---\n" + log_path.read_text()[-2000:] + "\n")
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    """The server most browser tests share (test_console_browser.py runs its story on it)."""
    with running_engine() as server:
        yield server


@pytest.fixture(scope="module")
def server(engine: Engine) -> Engine:
    """The module's running server: the shared one, unless the module starts its own."""
    return engine


@pytest.fixture(scope="module")
def admin(browser: Any, server: Engine) -> Iterator[Any]:
    """The admin's signed-in browser context on the module's server."""
    context = sign_in(browser, server, ADMIN)
    yield context
    context.close()


def sign_in(browser: Any, engine: Engine, who: tuple[str, str], **context_args: Any) -> Any:
    """A new browser context signed in as `who`; confirm dialogs are accepted."""
    context_args.setdefault("viewport", {"width": 1280, "height": 860})
    context = browser.new_context(accept_downloads=True, **context_args)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(engine.base + "/positions/")
    assert "/accounts/login/" in page.url  # anonymous → login
    page.fill("input[name=username]", who[0])
    page.fill("input[name=password]", who[1])
    page.click("button[type=submit]")
    page.wait_for_url(engine.base + "/positions/")
    return context


def live(page: Any) -> None:
    """Wait until the page's socket is open (so the next engine change reaches it)."""
    page.wait_for_selector("#live-status[data-state=open]", timeout=30_000)


def pushes(page: Any, count: int, timeout: float = 30_000) -> None:
    """Wait until `count` more live messages have been applied to the page."""
    seen = page.evaluate("() => window.TVConsole.messages")
    page.wait_for_function(f"() => window.TVConsole.messages >= {seen + count}", timeout=timeout)


@contextmanager
def price_stream(
    engine: Engine, symbol: str, around: Decimal, per_second: float = 4.0
) -> Iterator[list[int]]:
    """Move `symbol`'s paper price about `per_second` times a second (like `--paper-feed walk`, but
    faster and without fills: ±0.05 % around `around`) until the block ends; yields the moves sent."""
    sent: list[int] = []
    done = threading.Event()

    def run() -> None:
        step = 0
        while not done.is_set():
            step += 1
            offset = Decimal((step * 37) % 21 - 10) / Decimal(20_000)  # -0.05 % … +0.05 %
            engine.price(symbol, str((around * (1 + offset)).quantize(Decimal("0.01"))))
            sent.append(step)
            done.wait(1 / per_second)

    thread = threading.Thread(target=run, name="price-stream", daemon=True)
    thread.start()
    try:
        yield sent
    finally:
        done.set()
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    path = Path(os.environ.get("CONSOLE_SCREENSHOT_DIR") or ROOT / "docs" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"


def csp_violations(page: Any) -> list[str]:
    """Collect the page's Content-Security-Policy complaints from its console (filled as they come)."""
    found: list[str] = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and found.append(msg.text))
    return found


def axe_violations(page: Any) -> list[str]:
    """WCAG 2 A/AA violations axe-core finds on the page (the context needs bypass_csp: axe is
    injected as a script tag), each as "rule: target message | …"."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}}))
            .violations.map(v => v.id + ': ' + v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' +
              ((n.any[0] || n.all[0] || n.none[0] || {}).message || '')).join(' | '))"""
    )
