"""Ctrl-C and SIGTERM stop `manage.py run` — web and engine — within 5 s, also under load.

The load is what made it hang: webhooks in flight from several clients, API reads, and console
pages with their live socket open. The bound is the issue's, measured from the signal to the
process having exited. Inside it the stop is either clean (status 0, the engine's own "engine
stopped" event) or, when the engine's step in progress outlasts the bound (a backlog on a busy
machine), ends without that step (status 1, said in the log): safe, each step commits its own work.
Never the watchdog's: that is for a stop that hangs elsewhere.
"""

from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.process import ROOT, RunProcess, start_run
from tests.serving import stop, wait_for

pytestmark = pytest.mark.e2e

STOP_BOUND_SEC = 5.0  # issue #8: from the signal to the process having exited
OPERATOR = ("viewer", "operator-pass-4711")
# One process for both (each `manage.py` start costs seconds on a busy machine); the token comes last.
CREATE_USERS = (
    "from django.core.management import call_command; "
    f"call_command('create_operator', '{OPERATOR[0]}', noinput=True); "
    "call_command('create_api_token', 'e2e', create_user=True)"
)


def sign_in(base: str, username: str, password: str) -> str:
    """The console's sign-in form, as a browser posts it; returns the session id."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/accounts/login/", timeout=30) as response:
        page = response.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert csrf, "no CSRF token on the sign-in page"
    form = {"username": username, "password": password, "csrfmiddlewaretoken": csrf.group(1)}
    opener.open(base + "/accounts/login/", urllib.parse.urlencode(form).encode(), timeout=30).close()
    session = next((cookie.value for cookie in jar if cookie.name == "sessionid"), None)
    assert session, "signing in set no session cookie"
    return session


class ConsoleSocket:
    """An open console page's live socket (`/ws/console/`), counting the bytes it is pushed."""

    def __init__(self, server: RunProcess, session: str, page: str) -> None:
        self.received = 0
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws/console/?page={page} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nOrigin: {server.base}\r\nCookie: sessionid={session}\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "the server closed the socket during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.received += len(chunk)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


class Load:
    """Clients posting webhooks and reading the API back to back, until told to stop sending."""

    def __init__(self, server: RunProcess, token: str, *, webhook_clients: int = 6, readers: int = 2) -> None:
        self.server, self.token, self.secret = server, token, server.secret()
        self.sending = threading.Event()
        self.accepted = 0  # webhooks answered 202: each must be in the inbox, stop or no stop
        self.answered = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._webhooks, args=(n,), daemon=True) for n in range(webhook_clients)
        ] + [threading.Thread(target=self._reads, daemon=True) for _ in range(readers)]

    def start(self) -> None:
        self.sending.set()
        for thread in self._threads:
            thread.start()

    def stop_sending(self) -> None:
        """No new request; those in flight stay in flight."""
        self.sending.clear()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=60)

    def _request(self, request: urllib.request.Request) -> int | None:
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError:
            return None  # cut off by the stop
        with self._lock:
            self.answered += 1
            self.accepted += status == 202
        return status

    def _webhooks(self, client: int) -> None:
        n = 0
        while self.sending.is_set():
            n += 1
            payload = {
                "secret": self.secret,
                "tv": {
                    "exchange": "BINANCE",
                    "symbol": "BTCUSDT",
                    "timeframe": ["1", "5", "15", "60", "240", "1D"][client % 6],
                    "entry_price": str(43000 + n % 50),
                    "order_size": "100",
                },
                "execution_intent": {"type": "signal", "side": "buy", "position_size_type": "quote"},
            }
            request = urllib.request.Request(
                self.server.base + "/webhooks/tradingview",
                data=json.dumps(payload).encode(),
                headers={"Content-Type": "application/json"},
            )
            self._request(request)

    def _reads(self) -> None:
        while self.sending.is_set():
            for path in ("/api/v1/groups", "/api/v1/signals", "/api/v1/pool"):
                request = urllib.request.Request(
                    self.server.base + path, headers={"Authorization": f"Bearer {self.token}"}
                )
                self._request(request)


def inbox_size(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "engine.sqlite3") as db:
        return db.execute("SELECT count(*) FROM trading_signal").fetchone()[0]


@pytest.mark.parametrize(
    ("signum", "sigint_ignored"),
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGINT", "SIGTERM", "SIGINT-inherited-as-ignored"],
)
def test_a_signal_stops_web_and_engine_within_five_seconds_under_load(tmp_path, signum, sigint_ignored):
    server = start_run(tmp_path, sigint_ignored=sigint_ignored)
    sockets: list[ConsoleSocket] = []
    load: Load | None = None
    code = None
    try:
        token = server.manage("shell", "-c", CREATE_USERS, DJANGO_OPERATOR_PASSWORD=OPERATOR[1]).split()[-1]
        session = sign_in(server.base, *OPERATOR)
        sockets = [ConsoleSocket(server, session, page) for page in ("overview", "positions")]
        load = Load(server, token)
        load.start()
        wait_for(
            lambda: load.answered >= 40 and all(s.received for s in sockets),
            timeout=120,
            what="the load to flow and both console pages to get live pushes",
        )
        load.stop_sending()
        signalled = time.monotonic()
        server.proc.send_signal(signum)
        try:
            code = server.proc.wait(timeout=4 * STOP_BOUND_SEC)  # the bound itself is asserted below
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - signalled
    finally:
        stop(server.proc)
        if load is not None:
            load.join()
        for sock in sockets:
            sock.close()
    log = server.log()
    print(f"{signal.Signals(signum).name}: exit status {code} {took:.2f} s after the signal")
    assert code is not None and took < STOP_BOUND_SEC, (
        f"{signal.Signals(signum).name}: {'still running' if code is None else 'exited'} after {took:.1f} s"
        f"\n{log[-4000:]}"
    )
    clean = code == 0 and "engine stopped" in (server.data_dir / "logs" / "engine.jsonl").read_text()
    step_cut_off = code == 1 and "the engine's step in progress was cut off" in log
    assert clean or step_cut_off, f"exit status {code} after {took:.1f} s\n{log[-4000:]}"
    assert inbox_size(server.data_dir) >= load.accepted  # every 202 survived the stop


# The two last resorts, on `trading.shutdown` alone: a clean stop that hangs.
HANGING_STOP = """
import logging, time
from trading.shutdown import Shutdown

logging.basicConfig(level=logging.INFO)
stopping = Shutdown()
stopping.install()
print("ready", flush=True)
stopping.requested.wait()

def a_clean_stop_that_hangs():
    time.sleep(120)

a_clean_stop_that_hangs()
"""


def start_hanging_stop(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    log_path = tmp_path / "out.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-c", HANGING_STOP], cwd=ROOT, stdout=log, stderr=log)
    wait_for(lambda: "ready" in log_path.read_text(), timeout=60, what="the process to start")
    return proc, log_path


def test_the_watchdog_ends_a_stop_that_overruns_and_shows_what_overran(tmp_path):
    proc, log_path = start_hanging_stop(tmp_path)
    try:
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        took = time.monotonic() - signalled
    finally:
        stop(proc)
    assert code == 1 and took < STOP_BOUND_SEC, (code, took)
    assert "a_clean_stop_that_hangs" in log_path.read_text()  # every thread's stack, printed


def test_a_second_ctrl_c_ends_the_process_at_once(tmp_path):
    proc, log_path = start_hanging_stop(tmp_path)
    try:
        proc.send_signal(signal.SIGINT)
        wait_for(lambda: "stopping" in log_path.read_text(), timeout=30, what="the first Ctrl-C to register")
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
        took = time.monotonic() - signalled
    finally:
        stop(proc)
    assert code == -signal.SIGINT and took < 1.0, (code, took)
