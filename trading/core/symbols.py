"""Normalising what TradingView alerts say about timeframe, exchange and symbol."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TIMEFRAME = re.compile(r"(\d*)([A-Za-z]?)")
_MINUTES_PER_DAY = 1440

_EXCHANGES = {
    "binance": "binance",
    "bybit": "bybit",
    "okx": "okx",
    "okex": "okx",
    "kucoin": "kucoin",
    "mexc": "mexc",
    "gateio": "gate",
    "gate.io": "gate",
    "gate": "gate",
}

DEFAULT_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")
_SEPARATORS = re.compile(r"[/\-_]")
_ASSET = re.compile(r"[A-Z0-9]+")
_TV_PERPETUAL = ".P"  # TradingView's perpetual-contract suffix
_PERPETUAL = "PERP"


def normalise_timeframe(raw: str) -> str:
    """TradingView's interval ("15", "240", "1D", "W", "1M") or a ccxt one ("4H") as ccxt's ("4h")."""
    text = raw.strip()
    match = _TIMEFRAME.fullmatch(text)
    if not text or match is None:
        raise ValueError(_bad_timeframe(raw))
    digits, unit = match.groups()
    count = int(digits) if digits else 1
    if count <= 0:
        raise ValueError(_bad_timeframe(raw))
    if not digits and unit not in ("D", "W", "M"):
        # A bare unit is TradingView's shorthand for one period, which it only writes for D, W and M.
        raise ValueError(_bad_timeframe(raw))
    # Case matters for one letter only: "M" is a month, "m" a minute.
    if unit == "M":
        return f"{count}M"
    unit = unit.lower()
    if unit in ("", "m"):
        return _from_minutes(count)
    if unit == "h":
        return _from_minutes(count * 60)
    if unit in ("s", "d", "w"):
        return f"{count}{unit}"
    raise ValueError(_bad_timeframe(raw))


def normalise_exchange(raw: str) -> str:
    """TradingView's exchange prefix ("BINANCE", "GATEIO") as a ccxt exchange id."""
    key = raw.strip().lower()
    if not key:
        raise ValueError("exchange name is empty")
    return _EXCHANGES.get(key, key)


@dataclass(frozen=True)
class SymbolText:
    """What a ticker text names, in the two forms the project stores and looks up.

    `unified` is ccxt's "BASE/QUOTE" (what groups, signals, queue entries, trades and events hold),
    None when the quote cannot be told from the text. `venue_ids` are the spellings a venue may use
    for its own market id (`MarketRule.exchange_symbol`): the text as written and without separators.
    """

    unified: str | None
    venue_ids: tuple[str, ...]


def read_symbol(raw: str, quotes: tuple[str, ...] = DEFAULT_QUOTES) -> SymbolText:
    """The one reading of a ticker, for the webhook, the engine and every filter.

    "BTCUSDT", "BTC/USDT", "btc-usdt", "BTC_USDT", "BINANCE:BTCUSDT", "BTCUSDT.P" and "BTC/USDT:USDT"
    all name BTC/USDT; TradingView's exchange prefix and perpetual suffix ".P" and ccxt's settle coin
    are never part of a venue's id. "PERP" is dropped for the unified symbol only: some venues spell
    it into their ids ("BTCPERP").
    """
    text = raw.strip().upper()
    parts = text.split(":")
    # "BINANCE:BTCUSDT" carries the exchange in front; "BTC/USDT:USDT" (ccxt) carries the settle coin behind.
    if len(parts) > 1 and not _SEPARATORS.search(parts[0]):
        parts = parts[1:]
    text = parts[0].removesuffix(_TV_PERPETUAL)
    compact = _SEPARATORS.sub("", text)
    venue_ids = (text,) if compact == text else (text, compact)
    return SymbolText(unified=_unified(text, quotes), venue_ids=venue_ids)


def split_symbol(raw: str, quotes: tuple[str, ...] = DEFAULT_QUOTES) -> str | None:
    """A ticker in any common spelling ("BINANCE:BTCUSDT.P", "btc-usdt") as "BTC/USDT"; None if unclear."""
    return read_symbol(raw, quotes).unified


def compact_symbol(raw: str) -> str:
    """A ticker as most venues spell their market id: "BINANCE:BTCUSDT.P", "BTC/USDT:USDT" → "BTCUSDT"."""
    return read_symbol(raw).venue_ids[-1]


def _unified(text: str, quotes: tuple[str, ...]) -> str | None:
    text = text.removesuffix(_PERPETUAL)
    pieces = _SEPARATORS.split(text)
    if len(pieces) == 2:
        base, quote = pieces
        return f"{base}/{quote}" if _ASSET.fullmatch(base) and _ASSET.fullmatch(quote) else None
    if len(pieces) > 2 or not _ASSET.fullmatch(text):
        return None
    # Longest first, so "FDUSD" wins over any shorter quote it ends with.
    for quote in sorted((q.upper() for q in quotes), key=len, reverse=True):
        if text.endswith(quote) and len(text) > len(quote):
            return f"{text[: -len(quote)]}/{quote}"
    return None


def _from_minutes(minutes: int) -> str:
    if minutes % _MINUTES_PER_DAY == 0:
        return f"{minutes // _MINUTES_PER_DAY}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def _bad_timeframe(raw: str) -> str:
    return (
        f"unrecognised timeframe {raw!r}: expected minutes like '15' or '240', "
        f"or a count and unit like '1D', 'W', '1M' (month), '15m', '4h'"
    )
