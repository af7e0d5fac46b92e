"""`symbol` and `timeframe` filters read the way the webhook reads them, for the API and the console.

A symbol may be written "BTCUSDT", "BTC/USDT", "BTC-USDT", "BTC_USDT", "BINANCE:BTCUSDT" or
"BTCUSDT.P" (or as the venue spells its id); a timeframe "15", "15m", "60", "1h" or "1D".
"""

from __future__ import annotations

import re

from django.db.models import F, Q, Value
from django.db.models.functions import Replace, Upper
from django.db.models.lookups import Contains

from exchanges.models import MarketRule
from trading.core.symbols import normalise_timeframe as _normalise_timeframe
from trading.core.symbols import read_symbol

SYMBOL_MAX = 40
_SYMBOL_TEXT = re.compile(r"[A-Za-z0-9/:._-]+")


def symbol_text(raw: str) -> str:
    """The filter text itself, or ValueError saying what a symbol may look like."""
    text = raw.strip()
    if not text or len(text) > SYMBOL_MAX or not _SYMBOL_TEXT.fullmatch(text):
        raise ValueError(
            f"not a symbol: use up to {SYMBOL_MAX} letters, digits and / : . _ -, "
            "e.g. BTCUSDT, BTC/USDT, BINANCE:BTCUSDT or BTCUSDT.P"
        )
    return text


def timeframe_value(raw: str) -> str:
    """The timeframe as the engine stores it ("15" → "15m", "60" → "1h", "1D" → "1d"), or ValueError."""
    try:
        return _normalise_timeframe(raw)
    except ValueError:
        raise ValueError(
            f"unrecognised timeframe {raw.strip()[:20]!r}: use TradingView's interval (15, 60, 240, 1D) "
            "or a count and unit (15m, 1h, 4h, 1d)"
        ) from None


def matching_symbols(raw: str) -> set[str]:
    """Every stored (unified) symbol the text may name: ccxt's spelling names itself; any other names
    its reading and the markets whose venue id it spells (so on a Binance perpetual account "BTCUSDT"
    also finds "BTC/USDT:USDT", and "BTC-USDT-SWAP" finds OKX's)."""
    text = symbol_text(raw).upper()
    pair, _, settle = text.partition(":")
    if "/" in pair:  # ccxt's own spelling names exactly one market ("BTC/USDT", "BTC/USDT:USDT")
        unified = read_symbol(text).unified
        return {text if settle else unified} if unified else set()
    read = read_symbol(text)
    found = set(
        MarketRule.objects.filter(exchange_symbol__in=read.venue_ids).values_list("symbol", flat=True)
    )
    if read.unified:
        found.add(read.unified)
        if text.endswith((".P", "PERP")):  # TradingView's perpetual: a USDT-margined swap
            base, quote = read.unified.split("/")
            found.add(f"{base}/{quote}:{quote}")
    return found


def symbol_filter(raw: str, field: str = "symbol") -> Q:
    """Rows whose `field` holds a symbol the text names (nothing matches an unknown one)."""
    return Q(**{f"{field}__in": sorted(matching_symbols(raw))})


def symbol_search(raw: str, field: str = "symbol") -> Q:
    """The console's pair search: the symbols the text names, or for a fragment that names no pair
    ("btc", "USDT") every symbol containing it, whatever the separators."""
    where = symbol_filter(raw, field)
    text = symbol_text(raw)
    if read_symbol(text).unified is None:
        compact = Replace(Upper(F(field)), Value("/"), Value(""))
        where |= Q(Contains(compact, read_symbol(text).venue_ids[-1]))
    return where


def market_filter(symbol: str | None = None, timeframe: str | None = None, *, field: str = "symbol") -> Q:
    """The rows of one symbol and/or timeframe (both already validated); Q() matches every row."""
    where = Q()
    if symbol:
        where &= symbol_filter(symbol, field)
    if timeframe:
        where &= Q(timeframe=timeframe)
    return where
