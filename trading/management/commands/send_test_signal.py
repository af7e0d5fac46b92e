"""`python manage.py send_test_signal`: post a sample TradingView alert to a running engine.

For people wiring up TradingView: it proves the URL, the secret and the engine answer before a real
alert fires, and `--print` shows the JSON to paste into the alert's message box. Without `--url` it
posts to the address `manage.py run` recorded in the data directory (`trading.web_address`), else
to the default http://127.0.0.1:8000.
"""

from __future__ import annotations

import argparse
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from trading import config_service, web_address
from trading.config_schema import MASK

DEFAULT_URL = "http://127.0.0.1:8000/webhooks/tradingview"
TIMEOUT_SECONDS = 10
WEBHOOK_PATH = "/webhooks/tradingview"
NOT_RUNNING_HINT = "Is the engine running? Start it with `python manage.py run`."
ELSEWHERE_HINT = (
    "If it serves on another host or port (or daphne runs it without `run`), pass "
    "--url http://HOST:PORT/webhooks/tradingview."
)


def number(text: str) -> str:
    """Check a number argument but keep its text: TradingView sends numbers as strings."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text!r}")
    return text


def sample_payload(
    *,
    secret: str,
    symbol: str,
    exchange: str,
    timeframe: str,
    side: str,
    price: str,
    size: str,
    size_type: str,
    intent: str,
    max_slippage: str,
    now: datetime,
    trade_id: str,
) -> dict[str, Any]:
    """An alert shaped like the one the README tells TradingView users to send.

    `side` is the position's side; `tv.action` is the order TradingView would report, so an exit or
    reduce of a long says "sell", as `{{strategy.order.action}}` does.
    """
    buys = side in ("buy", "long")
    action = "buy" if buys == (intent in ("signal", "reverse")) else "sell"
    return {
        "secret": secret,
        "source": "tradingview",
        "timestamp": now.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "tv": {
            "exchange": exchange,
            "symbol": symbol,
            "timeframe": timeframe,
            "action": action,
            "entry_price": price,
            "close_price": price,
            "order_size": size,
        },
        "strategy_info": {
            "trade_id": trade_id,
            "alert_name": f"send_test_signal {symbol} {timeframe}",
            "alert_message": "",
        },
        "execution_intent": {"type": intent, "side": side, "position_size_type": size_type},
        "risk": {"max_slippage_percent": max_slippage},
    }


def post_json(url: str, body: bytes) -> tuple[int, str, str]:
    """POST and return (status, content type, body text); an HTTP error status is an answer, not an
    exception."""
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "tv-engine send_test_signal"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            content_type = response.headers.get("Content-Type", "")
            return response.status, content_type, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        content_type = exc.headers.get("Content-Type", "") if exc.headers else ""
        return exc.code, content_type, exc.read().decode("utf-8", "replace")


def refused_host(status: int, content_type: str, text: str, url: str) -> str | None:
    """The explanation of the host check, or None: Django's HTML 400 under a WSGI server, or the
    webhook route's JSON 400 naming ALLOWED_HOSTS under an ASGI one (`trading.webhook_route`)."""
    html = "html" in content_type.lower()
    if status != 400 or not (html or "ALLOWED_HOSTS" in text):
        return None
    host = urllib.parse.urlsplit(url).hostname or url
    answer = "Django answered its HTML 400" if html else "the server answered 400"
    return (
        f"host not allowed: add {host} to ALLOWED_HOSTS (comma-separated) where the web server runs "
        f"and restart it; the signal never reached the engine ({answer})"
    )


class Command(BaseCommand):
    help = "Post a sample TradingView-style webhook to a running engine and print its answer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            help=f"webhook URL (default: where `manage.py run` serves, else {DEFAULT_URL})",
        )
        parser.add_argument("--symbol", default="BTCUSDT", help="TradingView ticker, e.g. BTCUSDT")
        parser.add_argument("--exchange", default="BINANCE", help="TradingView exchange, e.g. BINANCE")
        parser.add_argument("--timeframe", default="15", help="TradingView interval: 15, 60, 240, 1D …")
        parser.add_argument(
            "--side",
            default="buy",
            choices=["buy", "sell", "long", "short"],
            help="the position's side (an exit or reduce closes that side)",
        )
        parser.add_argument("--price", default="43000", type=number, help="entry price")
        parser.add_argument("--size", default="100", type=number, help="order size (see --size-type)")
        parser.add_argument("--size-type", default="quote", choices=["quote", "base", "contracts"])
        parser.add_argument("--intent", default="signal", choices=["signal", "exit", "reduce", "reverse"])
        parser.add_argument("--max-slippage", default="0.5", type=number, help="risk.max_slippage_percent")
        parser.add_argument("--secret", help="webhook secret (default: the one this install has configured)")
        parser.add_argument(
            "--print", action="store_true", dest="print_only", help="only print the JSON it would send"
        )
        parser.add_argument("--show-secret", action="store_true", help="with --print, show the real secret")

    def handle(self, *args: Any, **options: Any) -> None:
        print_only, show_secret = options["print_only"], options["show_secret"]
        # A masked print needs no secret, so it works before the engine has ever run.
        masked = print_only and not show_secret
        secret = options["secret"] or ("" if masked else self.configured_secret())
        payload = sample_payload(
            secret=secret,
            symbol=options["symbol"],
            exchange=options["exchange"],
            timeframe=options["timeframe"],
            side=options["side"],
            price=options["price"],
            size=options["size"],
            size_type=options["size_type"],
            intent=options["intent"],
            max_slippage=options["max_slippage"],
            now=datetime.now(UTC),
            trade_id=f"test-{secrets.token_hex(4)}",
        )
        if print_only:
            self.stdout.write(json.dumps({**payload, "secret": MASK} if masked else payload, indent=2))
            return
        url = options["url"]
        guessed = url is None
        if guessed:
            running = web_address.running_base_url()
            url = running + WEBHOOK_PATH if running else DEFAULT_URL
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CommandError(f"{url} is not a URL we can post to; use e.g. {DEFAULT_URL}")
        try:
            status, content_type, answer = post_json(url, json.dumps(payload).encode())
        except OSError as exc:  # URLError, refused, timed out
            reason = getattr(exc, "reason", exc)
            hint = f"{NOT_RUNNING_HINT} {ELSEWHERE_HINT}" if guessed else NOT_RUNNING_HINT
            raise CommandError(f"could not reach {url}: {reason}. {hint}") from exc
        self.stdout.write(f"HTTP {status}")
        self.stdout.write(answer)
        host_problem = refused_host(status, content_type, answer, url)
        if host_problem:
            raise CommandError(host_problem)
        if not 200 <= status < 300:
            raise CommandError(f"the engine refused the test signal (HTTP {status}); see its answer above")

    def configured_secret(self) -> str:
        try:
            secret = config_service.webhook_secret(config_service.current())
        except DatabaseError as exc:
            raise CommandError(
                f"no --secret given and the configuration cannot be read ({exc}); "
                "pass --secret, or run this where the engine's data directory is"
            ) from exc
        if not secret:
            raise CommandError(
                "no webhook secret is configured; set security.webhook_secret or pass --secret"
            )
        return secret
