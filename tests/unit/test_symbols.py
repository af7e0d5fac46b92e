from __future__ import annotations

import pytest

from trading.core.symbols import (
    compact_symbol,
    normalise_exchange,
    normalise_timeframe,
    read_symbol,
    split_symbol,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", "1m"),
        ("5", "5m"),
        ("15", "15m"),
        ("45", "45m"),
        ("60", "1h"),
        ("120", "2h"),
        ("240", "4h"),
        ("1440", "1d"),
        ("1D", "1d"),
        ("D", "1d"),
        ("3D", "3d"),
        ("1W", "1w"),
        ("W", "1w"),
        ("1M", "1M"),
        ("M", "1M"),
        ("30S", "30s"),
        (" 15 ", "15m"),
    ],
)
def test_tradingview_intervals_become_ccxt_timeframes(raw: str, expected: str) -> None:
    assert normalise_timeframe(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("15m", "15m"), ("1h", "1h"), ("4H", "4h"), ("60m", "1h"), ("1d", "1d"), ("1w", "1w")],
)
def test_already_normalised_timeframes_are_accepted(raw: str, expected: str) -> None:
    assert normalise_timeframe(raw) == expected


def test_capital_m_is_a_month_and_small_m_a_minute() -> None:
    assert normalise_timeframe("1M") == "1M"
    assert normalise_timeframe("1m") == "1m"


@pytest.mark.parametrize("raw", ["", "0", "-5", "abc", "1X", "15min", "1.5", "h", "d"])
def test_unrecognised_timeframe_raises_a_clear_error(raw: str) -> None:
    with pytest.raises(ValueError, match="unrecognised timeframe"):
        normalise_timeframe(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BINANCE", "binance"),
        ("BYBIT", "bybit"),
        ("OKX", "okx"),
        ("KUCOIN", "kucoin"),
        ("MEXC", "mexc"),
        ("GATEIO", "gate"),
        ("GATE", "gate"),
        ("binance", "binance"),
        ("KRAKEN", "kraken"),
    ],
)
def test_exchange_prefix_becomes_ccxt_id(raw: str, expected: str) -> None:
    assert normalise_exchange(raw) == expected


def test_empty_exchange_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        normalise_exchange("  ")


@pytest.mark.parametrize(
    "raw",
    [
        "BTCUSDT",
        "BTC/USDT",
        "btc-usdt",
        "BTC_USDT",
        "BTCUSDT.P",
        "BINANCE:BTCUSDT",
        "BTC/USDT:USDT",
        " btcusdt ",
    ],
)
def test_common_spellings_become_unified_symbol(raw: str) -> None:
    assert split_symbol(raw) == "BTC/USDT"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ETHBTC", "ETH/BTC"),
        ("BTCFDUSD", "BTC/FDUSD"),
        ("1000PEPEUSDT", "1000PEPE/USDT"),
        ("BTCTUSD", "BTC/TUSD"),
        ("USDTTRY", "USDT/TRY"),
        ("BYBIT:SOLUSDC.P", "SOL/USDC"),
        ("BTCUSDTPERP", "BTC/USDT"),
    ],
)
def test_quote_is_found_from_the_end(raw: str, expected: str) -> None:
    assert split_symbol(raw) == expected


@pytest.mark.parametrize("raw", ["USDT", "BTCXYZ", "", "BTC/", "A/B/C", "BTC$USDT"])
def test_unclear_symbol_gives_none(raw: str) -> None:
    assert split_symbol(raw) is None


def test_custom_quote_list_is_used() -> None:
    assert split_symbol("BTCXYZ", quotes=("XYZ",)) == "BTC/XYZ"


@pytest.mark.parametrize(
    ("raw", "unified", "venue_ids"),
    [
        ("BTCUSDT", "BTC/USDT", ("BTCUSDT",)),
        ("BINANCE:BTCUSDT", "BTC/USDT", ("BTCUSDT",)),
        ("BTCUSDT.P", "BTC/USDT", ("BTCUSDT",)),
        ("BTC/USDT:USDT", "BTC/USDT", ("BTC/USDT", "BTCUSDT")),
        ("btc-usdt", "BTC/USDT", ("BTC-USDT", "BTCUSDT")),
        ("OKX:BTC-USDT-SWAP", None, ("BTC-USDT-SWAP", "BTCUSDTSWAP")),
        ("BYBIT:BTCPERP", None, ("BTCPERP",)),  # a venue id that keeps its PERP
    ],
)
def test_one_reading_of_a_ticker_gives_the_unified_symbol_and_the_venue_ids(
    raw: str, unified: str | None, venue_ids: tuple[str, ...]
) -> None:
    read = read_symbol(raw)
    assert (read.unified, read.venue_ids) == (unified, venue_ids)
    assert split_symbol(raw) == unified


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BTCUSDT", "BTCUSDT"),
        ("BINANCE:BTCUSDT.P", "BTCUSDT"),
        ("btc_usdt", "BTCUSDT"),
        ("BTC/USDT", "BTCUSDT"),
        ("BTC/USDT:USDT", "BTCUSDT"),  # the settle coin is not the market (intake once read "USDT")
    ],
)
def test_compact_symbol_is_the_venue_spelling_without_prefix_suffix_or_separators(
    raw: str, expected: str
) -> None:
    assert compact_symbol(raw) == expected
