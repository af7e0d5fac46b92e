"""The deploy files' own web command serves what TradingView and the console need.

`deploy/systemd/tv-engine-web.service` runs gunicorn with two uvicorn workers, the layout the
README recommends for a server (the Dockerfile's CMD is the same command, checked in
tests/unit/test_deploy_files.py). This starts that very command line, only on a free port, over a
migrated data dir, and checks through real sockets what daphne gave before:
- a webhook is stored (202 and its inbox row), with the address the proxy put in X-Forwarded-For
  (`--forwarded-allow-ips`: the sign-in throttle and the inbox see the client, not the proxy);
- a signed-in console page opens its live socket (HTTP 101) and is pushed its panels. uvicorn
  refuses the upgrade unless a websocket library is installed: the `serve` extra pins one.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.e2e.process import ROOT, RunProcess
from tests.e2e.test_shutdown import CREATE_USERS, OPERATOR, sign_in
from tests.serving import free_port, stop, wait_for

pytestmark = pytest.mark.e2e

WEB_UNIT = ROOT / "deploy" / "systemd" / "tv-engine-web.service"
SECRET = "production-web-test-secret"
PROXIED_CLIENT = "203.0.113.7"  # TEST-NET-3: what a proxy would have seen as the client


def unit_command(port: int) -> list[str]:
    """The unit's ExecStart, run by this interpreter's gunicorn, bound to `port`."""
    line = next(x for x in WEB_UNIT.read_text().splitlines() if x.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[0].endswith("/gunicorn"), argv[0]
    bind = argv.index("--bind") + 1
    argv[bind] = f"127.0.0.1:{port}"
    return [sys.executable, "-m", "gunicorn", *argv[1:]]


@pytest.fixture
def web(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(ENGINE_DATA_DIR=str(tmp_path / "data"), PYTHONUNBUFFERED="1", ENGINE_WEBHOOK_SECRET=SECRET)
    port = free_port()
    log_path = tmp_path / "web.log"
    prepare = "from django.core.management import call_command; call_command('migrate', verbosity=0); "
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", prepare + CREATE_USERS],
        cwd=ROOT,
        env={**env, "DJANGO_OPERATOR_PASSWORD": OPERATOR[1]},
        check=True,
        capture_output=True,
    )
    with open(log_path, "w") as log:
        proc = subprocess.Popen(unit_command(port), cwd=ROOT, env=env, stdout=log, stderr=log)
    server = RunProcess(proc, f"http://127.0.0.1:{port}", port, tmp_path / "data", env, log_path)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"gunicorn exited with {proc.returncode}:\n{server.log()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.base}/healthz", timeout=30) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, timeout=90, what="gunicorn's workers to answer")
        yield server
    finally:
        stop(proc)


def stored_source_ips(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "engine.sqlite3") as db:
        return [row[0] for row in db.execute("SELECT source_ip FROM trading_signal ORDER BY id")]


def test_the_deployed_web_command_stores_a_webhook_with_the_proxied_client_address(web):
    payload = {
        "secret": SECRET,
        "tv": {
            "exchange": "BINANCE",
            "symbol": "BTCUSDT",
            "timeframe": "15",
            "entry_price": "43000",
            "order_size": "100",
        },
        "execution_intent": {"type": "signal", "side": "buy", "position_size_type": "quote"},
    }
    request = urllib.request.Request(
        web.base + "/webhooks/tradingview",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": PROXIED_CLIENT},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 202, response.read()
    assert stored_source_ips(web.data_dir) == [PROXIED_CLIENT], web.log()[-3000:]


def test_the_deployed_web_command_opens_the_consoles_live_socket(web):
    session = sign_in(web.base, *OPERATOR)
    headers = {"Cookie": f"sessionid={session}", "Origin": web.base}
    url = f"ws://127.0.0.1:{web.port}/ws/console/?page=overview"
    with connect(url, additional_headers=headers, open_timeout=60) as socket:
        assert socket.response.status_code == 101
        socket.send(json.dumps({"refresh": True}))  # what a page sends after it reconnects
        pushed = socket.recv(timeout=60)
    assert "hx-swap-oob" in pushed, pushed[:500]
