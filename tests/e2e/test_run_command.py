"""`manage.py run` as a user starts it: a subprocess on a free port, driven over HTTP only."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.process import call, start_run
from tests.serving import stop, wait_for

pytestmark = pytest.mark.e2e


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


def test_send_test_signal_finds_the_running_server_without_a_url(tmp_path):
    server = start_run(tmp_path)
    try:
        output = server.manage("send_test_signal", "--symbol", "BTCUSDT", "--price", "43000")
        assert "HTTP 202" in output  # it found this server's port (not 8000) on its own
    finally:
        stop(server.proc)
    assert not (server.data_dir / "web_address.json").exists()  # a stopped server leaves no address
