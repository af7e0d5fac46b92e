"""`manage.py replay --fetch ACCOUNT`: the candles come from the account's venue through the exchange
adapter (ccxt's real `fetch_ohlcv` parsing, fed recorded Binance klines — no network) and are
cached, so the replay takes exactly the hand-checked trades of the same candles given as a file,
and a second replay of the range asks the venue nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from exchanges import registry
from tests.factories import ExchangeAccountFactory
from trading.replay.candles import load_candles

from .ccxt_world import make_world, no_sockets  # noqa: F401 - the offline guard
from .test_replay import EXPECTED_TRADES, FIXTURES, replay, trades_of

pytestmark = pytest.mark.django_db
HOUR_MS = 3_600_000


def klines_from(candles: list) -> Any:
    """A Binance /api/v3/klines responder over `candles`: `limit` of them from `startTime` on."""

    def respond(request) -> list[list[Any]]:
        since, limit = int(request.query["startTime"]), int(request.query["limit"])
        rows = []
        for c in candles:
            opened = int(c.at.timestamp() * 1000)
            if opened >= since:
                rows.append([opened, str(c.open), str(c.high), str(c.low), str(c.close), "1.5",
                             opened + HOUR_MS - 1, "0", 10, "0", "0", "0"])  # fmt: skip
        return rows[:limit]

    return respond


@pytest.fixture
def binance(monkeypatch, settings, tmp_path: Path):
    settings.DATA_DIR = tmp_path / "data"
    world = make_world("binance")
    world.transport.on("GET", "/api/v3/klines", klines_from(load_candles(FIXTURES / "BTC_USDT-1h.csv")))
    ExchangeAccountFactory(label="binance-main", venue="binance")
    monkeypatch.setattr(registry, "build_adapter", lambda account, cfg, clock: world.adapter)
    return world


def test_replay_on_fetched_candles_takes_the_hand_checked_trades(binance, tmp_path: Path) -> None:
    out = tmp_path / "out"
    replay(signals=str(FIXTURES / "signals.csv"), fetch="binance-main", out=str(out))
    assert trades_of(out) == EXPECTED_TRADES
    cached = tmp_path / "data" / "candles" / "binance" / "BTC_USDT-1h.json"
    assert load_candles(cached) == load_candles(FIXTURES / "BTC_USDT-1h.csv")
    asked = binance.transport.sent("GET", "/api/v3/klines")
    assert asked and {r.query["symbol"] for r in asked} == {"BTCUSDT"}
    assert {r.query["interval"] for r in asked} == {"1h"}


def test_a_second_replay_of_the_range_reads_the_cache_and_asks_the_venue_nothing(binance, tmp_path) -> None:
    replay(signals=str(FIXTURES / "signals.csv"), fetch="binance-main", out=str(tmp_path / "a"))
    cached = tmp_path / "data" / "candles" / "binance" / "BTC_USDT-1h.json"
    end = load_candles(cached)[-1].at.isoformat()
    before = len(binance.transport.sent("GET", "/api/v3/klines"))
    replay(signals=str(FIXTURES / "signals.csv"), fetch="binance-main", end=end, out=str(tmp_path / "b"))
    assert len(binance.transport.sent("GET", "/api/v3/klines")) == before
    assert trades_of(tmp_path / "b") == EXPECTED_TRADES


@pytest.mark.parametrize(
    "label, reason",
    [("nobody", "no such exchange account"), ("paper", "keeps no candle history")],
)
def test_fetch_from_an_unusable_account_is_a_clear_command_error(binance, label: str, reason: str) -> None:
    from django.core.management import CommandError

    from exchanges.registry import ensure_paper_account

    ensure_paper_account()
    with pytest.raises(CommandError, match=reason):
        replay(signals=str(FIXTURES / "signals.csv"), fetch=label, out="unused")
