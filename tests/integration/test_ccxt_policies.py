"""The pure parts around the ccxt adapter: venue profiles, client ids, rate limits, retries, errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import ccxt
import ccxt.pro
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchanges.ccxt_errors import redact, translate
from exchanges.core.adapter import (
    AuthenticationError,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    RateLimited,
    TemporaryError,
)
from exchanges.ratelimit import (
    OrderRateLimiter,
    bucket_for_windows,
    default_limits,
    limits_from_exchange_info,
)
from exchanges.retry import RetryBudgetExceeded, RetryPolicy, call_with_retry, place_with_retry
from exchanges.venues import PROFILES, client_id_for, our_id_from, profile_for
from tests.ccxt_transport import fixture_json
from tests.integration.ccxt_world import no_sockets  # noqa: F401 - autouse fixture
from trading.core.clientid import Purpose, client_order_id
from trading.core.types import OrderSide

D = Decimal


def test_venue_rate_and_retry_policies_import_neither_django_nor_ccxt() -> None:
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "import exchanges.venues, exchanges.ratelimit, exchanges.retry\n"
        "leaked = sorted(m for m in ('django', 'ccxt') if m in sys.modules)\n"
        "assert not leaked, leaked\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


# ---- profiles stay true to the installed ccxt ------------------------------------------------


@pytest.mark.parametrize("venue", sorted(PROFILES))
def test_profile_matches_the_installed_ccxt(venue: str) -> None:
    profile = profile_for(venue)
    exchange = getattr(ccxt, profile.ccxt_id)()
    assert exchange.precisionMode == ccxt.TICK_SIZE
    assert bool(exchange.requiredCredentials.get("password")) is profile.needs_passphrase
    pro = getattr(ccxt.pro, profile.ccxt_id)()
    assert bool(pro.has.get("watchOrders")) is profile.watch_orders
    assert bool(pro.has.get("watchTickers")) is profile.watch_tickers
    if profile.has_sandbox:
        assert exchange.urls.get("test") or exchange.urls.get("demo")


def test_only_binance_and_bybit_offer_a_testnet() -> None:
    assert sorted(v for v, p in PROFILES.items() if p.has_sandbox) == ["binance", "bybit"]
    assert sorted(v for v, p in PROFILES.items() if p.needs_passphrase) == ["kucoin", "okx"]
    assert profile_for("GATE").ccxt_id == "gate" and not hasattr(ccxt, "gateio")


# ---- client ids ---------------------------------------------------------------------------------


def _valid(venue: str, venue_id: str) -> bool:
    rule = profile_for(venue).client_id
    return (
        len(venue_id) <= rule.max_length
        and venue_id.startswith(rule.prefix)
        and re.fullmatch(f"[{rule.charset}]+", venue_id) is not None
    )


@pytest.mark.parametrize("venue", sorted(PROFILES))
def test_our_usual_ids_are_sent_unchanged_except_gates_prefix(venue: str) -> None:
    ours = client_order_id("ab12", 12, 0, 3, Purpose.DCA, 0)
    sent = client_id_for(profile_for(venue), ours)
    assert sent == ("t-" + ours if venue == "gate" else ours)
    assert _valid(venue, sent) and our_id_from(profile_for(venue), sent) == ours


def test_a_long_id_is_shortened_deterministically_and_attempts_stay_distinct() -> None:
    gate = profile_for("gate")
    first = client_order_id("abcdefgh", 12345678901, 12, 34, Purpose.TP_GROUP, 1)
    second = client_order_id("abcdefgh", 12345678901, 12, 34, Purpose.TP_GROUP, 2)
    assert len(first) == 32
    assert client_id_for(gate, first) == client_id_for(gate, first)
    assert client_id_for(gate, first) != client_id_for(gate, second)
    assert len(client_id_for(gate, first)) == 28 and _valid("gate", client_id_for(gate, first))
    assert client_id_for(profile_for("okx"), first) == first  # 32 fits OKX exactly


def test_characters_a_venue_refuses_are_an_error() -> None:
    with pytest.raises(ValueError, match="characters"):
        client_id_for(profile_for("okx"), "tv-ab12")


# The shapes the engine makes: a 6-hex install namespace, up to 20 pyramids and legs, 99 attempts
# (a wider space can exceed the 32-character id limit, which client_order_id refuses by design).
ids = st.builds(
    client_order_id,
    st.text("0123456789abcdef", min_size=6, max_size=6),
    st.integers(0, 10**9),
    st.none() | st.integers(0, 20),
    st.none() | st.integers(0, 20),
    st.sampled_from(list(Purpose)),
    st.integers(0, 99),
)


@given(st.lists(ids, min_size=2, max_size=30, unique=True))
def test_every_venue_accepts_every_id_we_make_and_none_collide(our_ids: list[str]) -> None:
    for venue, profile in PROFILES.items():
        sent = [client_id_for(profile, ours) for ours in our_ids]
        assert all(_valid(venue, s) for s in sent)
        assert len(set(sent)) == len(sent)


# ---- the order-rate limiter ------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_burst_then_paces_at_the_rate() -> None:
    clock = Clock()
    bucket = OrderRateLimiter(rate_per_sec=2.5, burst=25, clock=clock)
    assert sum(bucket.try_acquire() for _ in range(40)) == 25
    assert bucket.wait_time() == pytest.approx(0.4)
    clock.now += 0.4
    assert bucket.try_acquire() and not bucket.try_acquire()


def test_bucket_accepts_the_engine_clock() -> None:
    now = [datetime(2024, 1, 1, tzinfo=UTC)]
    bucket = OrderRateLimiter(rate_per_sec=1, burst=1, clock=lambda: now[0])
    assert bucket.try_acquire() and not bucket.try_acquire()
    now[0] += timedelta(seconds=1)
    assert bucket.headroom == pytest.approx(1.0)


def test_binance_order_limits_come_from_exchange_info() -> None:
    spot = fixture_json("markets", "binance_spot_exchangeInfo_2023-09-08.subset.json")
    futures = fixture_json("markets", "binance_usdm_exchangeInfo_2025-03-06.subset.json")
    assert limits_from_exchange_info(spot) == (2.5, 25.0)  # 50 orders / 10 s; the daily cap is volume
    assert limits_from_exchange_info(futures) == (10.0, 150.0)  # 300 / 10 s and 1200 / minute
    assert limits_from_exchange_info({"rateLimits": []}, profile_for("mexc")) == default_limits(
        profile_for("mexc")
    )
    with pytest.raises(ValueError):
        limits_from_exchange_info(None)


@pytest.mark.parametrize(
    "windows", [[(10.0, 50.0)], [(10.0, 300.0), (60.0, 1200.0)], [(1.0, 5.0), (10.0, 40.0)]]
)
def test_a_saturated_bucket_never_breaks_any_window(windows: list[tuple[float, float]]) -> None:
    rate, burst = bucket_for_windows(windows)
    clock = Clock()
    bucket = OrderRateLimiter(rate, burst, clock)
    sent: list[float] = []
    for _ in range(12000):  # 120 s of trying every 10 ms
        if bucket.try_acquire():
            sent.append(clock.now)
        clock.now += 0.01
    for window, limit in windows:
        for i, start in enumerate(sent):
            in_window = sum(1 for t in sent[i:] if t < start + window)
            assert in_window <= limit


# ---- retry policy -----------------------------------------------------------------------------------


def test_backoff_grows_is_capped_and_jitter_only_adds() -> None:
    policy = RetryPolicy(base_delay_sec=0.5, multiplier=2, max_delay_sec=3, jitter=0.5)
    error = TemporaryError("timeout")
    assert [policy.delay(n, error, lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(1, error, lambda: 0.999) < 0.75
    assert policy.delay(1, RateLimited("429", retry_after_sec=2), lambda: 0.0) == 2
    with pytest.raises(RetryBudgetExceeded):
        policy.delay(1, RateLimited("418", retry_after_sec=120), lambda: 0.0)


def test_call_with_retry_retries_temporary_errors_only() -> None:
    answers: list[object] = [TemporaryError("503"), RateLimited("429"), "ok"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    sleeps: list[float] = []
    assert call_with_retry(call, sleeps.append, rand=lambda: 0.0) == "ok"
    assert sleeps == [0.5, 1.0]
    with pytest.raises(InvalidOrder):
        call_with_retry(lambda: (_ for _ in ()).throw(InvalidOrder("bad")), sleeps.append)


class ScriptedAdapter:
    """Answers create/fetch from scripts and records the calls (a fake, not a patch)."""

    venue = "fake"

    def __init__(self, creates: list[object], fetches: list[object]) -> None:
        self.creates, self.fetches, self.calls = creates, fetches, []

    def _next(self, script: list[object], name: str) -> object:
        self.calls.append(name)
        answer = script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def create_order(self, request: OrderRequest) -> object:
        return self._next(self.creates, "create")

    def fetch_order(self, client_order_id: str, symbol: str) -> object:
        return self._next(self.fetches, "fetch")


REPORT = OrderReport(
    "tvx", "1", "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, OrderStatus.OPEN, D("1"), D("1"), D(0), None, D(0),
    datetime(2024, 1, 1, tzinfo=UTC),
)  # fmt: skip
REQUEST = OrderRequest("tvx", "BTC/USDT", OrderSide.BUY, OrderType.LIMIT, D("1"), D("1"))


def test_a_duplicate_refusal_after_a_resend_is_resolved_by_one_more_lookup() -> None:
    adapter = ScriptedAdapter(
        creates=[TemporaryError("timeout"), InvalidOrder("Duplicate clientOrderId")], fetches=[None, REPORT]
    )
    assert place_with_retry(adapter, REQUEST, lambda s: None, rand=lambda: 0.0) is REPORT  # type: ignore[arg-type]
    assert adapter.calls == ["create", "fetch", "create", "fetch"]


def test_a_failed_lookup_is_retried_before_anything_is_resent() -> None:
    adapter = ScriptedAdapter(
        creates=[TemporaryError("timeout")], fetches=[TemporaryError("timeout"), REPORT]
    )
    assert place_with_retry(adapter, REQUEST, lambda s: None, rand=lambda: 0.0) is REPORT  # type: ignore[arg-type]
    assert adapter.calls == ["create", "fetch", "fetch"]


def test_invalid_and_funding_errors_are_not_retried() -> None:
    for error in (InvalidOrder("filter"), InsufficientFunds("no USDT"), AuthenticationError("bad key")):
        adapter = ScriptedAdapter(creates=[error], fetches=[])
        with pytest.raises(type(error)):
            place_with_retry(adapter, REQUEST, lambda s: None)  # type: ignore[arg-type]
        assert adapter.calls == ["create"]


# ---- error translation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ccxt_error", "ours"),
    [
        (ccxt.RequestTimeout, TemporaryError),
        (ccxt.NetworkError, TemporaryError),
        (ccxt.ExchangeNotAvailable, TemporaryError),
        (ccxt.OnMaintenance, TemporaryError),
        (ccxt.RateLimitExceeded, RateLimited),
        (ccxt.DDoSProtection, RateLimited),
        (ccxt.AuthenticationError, AuthenticationError),
        (ccxt.PermissionDenied, AuthenticationError),
        (ccxt.AccountSuspended, AuthenticationError),
        (ccxt.InsufficientFunds, InsufficientFunds),
        (ccxt.InvalidOrder, InvalidOrder),
        (ccxt.BadSymbol, InvalidOrder),
        (ccxt.BadRequest, InvalidOrder),
        (ccxt.OrderNotFound, OrderNotFound),
        (ccxt.NotSupported, ExchangeError),
        (ccxt.ExchangeError, ExchangeError),
    ],
)
def test_ccxt_errors_translate_to_our_taxonomy(ccxt_error: type, ours: type) -> None:
    translated = translate(ccxt_error("boom"))
    assert type(translated) is ours


def test_rate_limit_carries_retry_after_and_messages_hide_signatures() -> None:
    error = translate(
        ccxt.DDoSProtection("binance GET /api/v3/order?symbol=X&signature=abc123"), {"Retry-After": "5"}
    )
    assert isinstance(error, RateLimited) and error.retry_after_sec == 5.0
    assert "abc123" not in str(error) and "signature=***" in str(error)
    assert redact("apiKey=k1&secret=s2&price=5") == "apiKey=***&secret=***&price=5"


def test_mexc_unknown_order_text_is_order_not_found() -> None:
    markers = profile_for("mexc").not_found_markers
    body = 'mexc {"code":-2013,"msg":"Order does not exist."}'
    assert type(translate(ccxt.ExchangeError(body), None, markers)) is OrderNotFound
    assert type(translate(ccxt.InsufficientFunds(body), None, markers)) is InsufficientFunds


def test_sockets_beyond_this_machine_are_blocked() -> None:
    import socket

    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        pytest.raises(AssertionError, match="network"),
    ):
        sock.connect(("93.184.216.34", 443))
    with pytest.raises(AssertionError, match="network"):
        socket.create_connection(("93.184.216.34", 443), timeout=1)
