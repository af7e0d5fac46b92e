"""`manage.py send_test_signal` against a live server: the sample alert lands in the inbox."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import TEST_SECRET, configure
from trading import web_address
from trading.config_schema import MASK
from trading.core.webhook_payload import parse_signal
from trading.management.commands import send_test_signal
from trading.models import Signal, SignalStatus

pytestmark = pytest.mark.django_db(transaction=True)

MANAGE_PY = Path(__file__).resolve().parents[2] / "manage.py"


@pytest.fixture
def webhook_url(live_server) -> str:
    configure(security={"webhook_secret": TEST_SECRET, "max_signal_lag_seconds": 60})
    return f"{live_server.url}/webhooks/tradingview"


def send(*args: str) -> str:
    out = StringIO()
    call_command("send_test_signal", *args, stdout=out)
    return out.getvalue()


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/webhooks/tradingview"


def test_sample_signal_with_the_configured_secret_lands_in_the_inbox(webhook_url):
    output = send("--url", webhook_url)
    assert output.startswith("HTTP 202\n")
    signal = Signal.objects.get()
    assert json.loads(output.split("\n", 1)[1]) == {"status": "accepted", "signal_id": signal.pk}
    assert signal.status == SignalStatus.RECEIVED
    assert (signal.exchange, signal.raw_symbol, signal.symbol) == ("binance", "BTCUSDT", "BTC/USDT")
    assert (signal.timeframe, signal.intent, signal.side) == ("15m", "signal", "long")
    assert (signal.entry_price, signal.order_size, signal.size_type) == (
        Decimal(43000),
        Decimal(100),
        "quote",
    )
    assert signal.max_slippage_percent == Decimal("0.5")
    assert signal.trade_id.startswith("test-")
    assert signal.sent_at is not None  # and not stale: max_signal_lag_seconds is 60 here
    assert signal.payload["secret"] == "***"


def test_options_shape_the_sample_signal(webhook_url):
    send(
        "--url", webhook_url, "--symbol", "ETHUSDT", "--exchange", "BINANCE", "--timeframe", "60",
        "--side", "sell", "--price", "2500.5", "--size", "0.25", "--size-type", "base",
    )  # fmt: skip
    signal = Signal.objects.get()
    assert (signal.raw_symbol, signal.timeframe, signal.side) == ("ETHUSDT", "1h", "short")
    assert (signal.entry_price, signal.order_size, signal.size_type) == (
        Decimal("2500.5"),
        Decimal("0.25"),
        "base",
    )
    assert signal.payload["tv"]["action"] == "sell"


def test_exit_intent_reports_the_closing_order_side(webhook_url):
    send("--url", webhook_url, "--intent", "exit", "--side", "buy")
    signal = Signal.objects.get()
    assert (signal.intent, signal.side) == ("exit", "long")
    assert signal.payload["tv"]["action"] == "sell"  # closing a long sells


def test_each_run_is_a_new_alert_not_a_duplicate(webhook_url):
    send("--url", webhook_url)
    send("--url", webhook_url, "--price", "43001")
    assert Signal.objects.filter(status=SignalStatus.RECEIVED).count() == 2


def test_wrong_secret_prints_the_answer_and_fails(webhook_url):
    out = StringIO()
    with pytest.raises(CommandError, match=r"HTTP 401"):
        call_command("send_test_signal", "--url", webhook_url, "--secret", "not-the-secret", stdout=out)
    assert out.getvalue().startswith("HTTP 401\n")
    assert "wrong or missing secret" in out.getvalue()
    assert Signal.objects.count() == 0


def test_engine_not_running_fails_with_a_hint_to_start_it(transactional_db):
    with pytest.raises(
        CommandError, match=r"(?i)is the engine running\? start it with `python manage.py run`"
    ) as exc:
        send("--url", closed_port_url(), "--secret", TEST_SECRET)
    assert "could not reach" in str(exc.value)


def test_url_without_a_scheme_fails_clearly(transactional_db):
    with pytest.raises(CommandError, match="not a URL we can post to"):
        send("--url", "127.0.0.1:8000/webhooks/tradingview", "--secret", TEST_SECRET)


def test_no_secret_configured_fails_clearly(transactional_db, settings):
    settings.ENGINE_WEBHOOK_SECRET = ""
    configure(security={"webhook_secret": ""})
    with pytest.raises(CommandError, match="no webhook secret is configured"):
        send("--url", closed_port_url())


def test_print_masks_the_secret_and_sends_nothing(webhook_url):
    output = send("--print", "--url", webhook_url)
    printed = json.loads(output)
    assert printed["secret"] == MASK
    assert TEST_SECRET not in output
    assert set(printed) == {
        "secret",
        "source",
        "timestamp",
        "tv",
        "strategy_info",
        "execution_intent",
        "risk",
    }
    assert Signal.objects.count() == 0


def test_print_with_show_secret_is_an_alert_the_intake_accepts(webhook_url):
    printed = json.loads(send("--print", "--show-secret"))
    assert printed["secret"] == TEST_SECRET
    parsed = parse_signal(printed)
    assert (parsed.raw_symbol, parsed.timeframe, parsed.entry_price) == ("BTCUSDT", "15m", Decimal(43000))


def test_bad_number_is_refused_by_the_argument_parser(transactional_db):
    with pytest.raises(CommandError, match="must be a positive number"):
        send("--print", "--price", "abc")


def test_exit_code_is_non_zero_when_the_engine_cannot_be_reached(tmp_path):
    env = {**os.environ, "ENGINE_DATA_DIR": str(tmp_path)}  # --secret given: no database needed
    command = [
        sys.executable,
        str(MANAGE_PY),
        "send_test_signal",
        "--url",
        closed_port_url(),
        "--secret",
        "s",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode != 0
    assert "python manage.py run" in result.stderr


def test_an_html_400_from_the_host_check_is_reported_as_host_not_allowed(webhook_url, settings):
    settings.ALLOWED_HOSTS = ["engine.example.com"]  # as the README's production example once had it
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("send_test_signal", "--url", webhook_url, stdout=out)
    message = str(exc.value)
    assert message.startswith("host not allowed: add localhost to ALLOWED_HOSTS")
    assert "refused the test signal" not in message
    assert out.getvalue().startswith("HTTP 400\n")
    assert Signal.objects.count() == 0


def test_without_url_it_posts_to_the_address_the_running_instance_recorded(live_server, monkeypatch):
    configure(security={"webhook_secret": TEST_SECRET, "max_signal_lag_seconds": 60})
    monkeypatch.setattr(send_test_signal, "DEFAULT_URL", closed_port_url())  # never the fallback
    host, port = live_server.thread.host, live_server.thread.port
    web_address.remember(host, port)
    try:
        output = send()
    finally:
        web_address.forget()
    assert output.startswith("HTTP 202\n")
    assert Signal.objects.count() == 1


def test_without_url_a_record_left_by_a_dead_process_is_ignored(transactional_db, monkeypatch):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    web_address.remember("127.0.0.1", 1, pid=int(dead.stdout))
    try:
        assert web_address.running_base_url() is None
    finally:
        web_address.path().unlink(missing_ok=True)


def test_without_url_and_nothing_answering_it_says_to_pass_url(transactional_db, monkeypatch):
    web_address.path().unlink(missing_ok=True)
    monkeypatch.setattr(send_test_signal, "DEFAULT_URL", closed_port_url())
    with pytest.raises(CommandError) as exc:
        send("--secret", TEST_SECRET)
    message = str(exc.value)
    assert "Is the engine running? Start it with `python manage.py run`" in message
    assert "pass --url http://HOST:PORT/webhooks/tradingview" in message


def test_the_webhook_routes_json_400_for_a_host_is_reported_as_host_not_allowed():
    """Under daphne or uvicorn the webhook's own ASGI route checks the Host and answers JSON."""
    from trading.management.commands.send_test_signal import refused_host

    text = '{"status": "rejected", "error": "the Host header is not in ALLOWED_HOSTS"}'
    message = refused_host(400, "application/json", text, "http://engine.example.com/webhooks/tradingview")
    assert message is not None and message.startswith(
        "host not allowed: add engine.example.com to ALLOWED_HOSTS"
    )
    # Any other JSON 400 is the webhook's own refusal (a bad payload), not the host check.
    assert refused_host(400, "application/json", '{"error": "invalid JSON"}', "http://x/") is None
