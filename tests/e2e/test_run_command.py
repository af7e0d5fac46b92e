"""`manage.py run` as a user starts it: a subprocess on a free port, driven over HTTP only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.serving import free_port, stop, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def call(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture
def running_engine(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["ENGINE_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONUNBUFFERED"] = "1"
    log = open(tmp_path / "run.log", "w")  # noqa: SIM115 - closed in the finaliser
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "run", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return call("GET", f"{base}/api/v1/health")[0] == 200
        except OSError:
            return False

    try:
        wait_for(healthy, timeout=60, what="manage.py run to answer")
        token = subprocess.run(
            [sys.executable, "manage.py", "create_api_token", "e2e", "--create-user"],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        secret = json.loads((tmp_path / "data" / "config.json").read_text())["security"]["webhook_secret"]
        yield base, token, secret, proc
    finally:
        stop(proc)
        log.close()
        print((tmp_path / "run.log").read_text()[-3000:])


def webhook(base: str, secret: str, **tv) -> tuple[int, dict]:
    intent = tv.pop("intent", "signal")
    payload = {
        "secret": secret,
        "tv": {"exchange": "BINANCE", "symbol": "BTCUSDT", "timeframe": "15", **tv},
        "execution_intent": {"type": intent, "side": "buy", "position_size_type": "quote"},
    }
    return call("POST", f"{base}/webhooks/tradingview", payload)


def test_webhook_to_fill_to_take_profit_to_exit_over_http(running_engine):
    base, token, secret, proc = running_engine
    status, body = webhook(base, secret, entry_price="43000", order_size="500")
    assert status == 202, body

    def group_with_dca0_filled():
        _, groups = call("GET", f"{base}/api/v1/groups?status=open", token=token)
        items = groups.get("items", groups) if isinstance(groups, dict) else groups
        return items[0] if items and items[0]["status"] == "partially_filled" else None

    group = wait_for(group_with_dca0_filled, what="the group to open with DCA0 filled")
    assert call("GET", f"{base}/api/v1/pool", token=token)[1]["used"] == 1

    # The price falls through DCA1 (42785), then rises to its 0.5 % take-profit.
    assert (
        call("POST", f"{base}/api/v1/paper/prices", {"symbol": "BTCUSDT", "price": "42780"}, token)[0] == 202
    )

    def leg_state(index: int) -> str:
        _, detail = call("GET", f"{base}/api/v1/groups/{group['id']}", token=token)
        legs = [leg for pyramid in detail["pyramids"] for leg in pyramid["legs"]]
        return next(leg["state"] for leg in legs if leg["index"] == index)

    wait_for(lambda: leg_state(1) == "filled", what="DCA1 to fill")
    assert (
        call("POST", f"{base}/api/v1/paper/prices", {"symbol": "BTCUSDT", "price": "43000"}, token)[0] == 202
    )
    wait_for(lambda: leg_state(1) == "hit_tp", what="DCA1 to take profit")

    assert webhook(base, secret, intent="exit", close_price="43000")[0] == 202

    def closed():
        _, detail = call("GET", f"{base}/api/v1/groups/{group['id']}", token=token)
        return detail["status"] == "closed"

    wait_for(closed, what="the exit to close the group")
    assert call("GET", f"{base}/api/v1/pool", token=token)[1]["used"] == 0
    _, trades = call("GET", f"{base}/api/v1/trades", token=token)
    items = trades.get("items", trades) if isinstance(trades, dict) else trades
    assert {t["reason"] for t in items} >= {"tp_leg", "exit"}

    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) == 0
