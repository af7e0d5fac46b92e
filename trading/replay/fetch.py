"""Candles for a replay from a configured venue (ccxt `fetch_ohlcv` through the exchange adapter),
cached on disk so a second replay of the same range asks the venue nothing.

The cache is one freqtrade-format JSON file per venue, market and timeframe —
`<data dir>/candles/<venue>/BTC_USDT-1h.json`, the format `--candles` reads — so a cached file can
also be handed to `--candles` directly. A longer range asks only for what the file lacks (before its
first candle or after its last); a candle that has not closed yet is never cached.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from exchanges.core.candles import Candle

from .candles import InputError

PAGE = 1000  # candles asked per request; venues that give fewer per page are paged all the same
TIMEFRAMES = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "1d": timedelta(days=1),
}

Fetch = Callable[[str, str, int, datetime], list[Candle]]  # (symbol, timeframe, limit, since)
Row = list[Any]  # [open time ms, open, high, low, close, volume]


def candle_step(timeframe: str) -> timedelta:
    try:
        return TIMEFRAMES[timeframe]
    except KeyError:
        raise InputError(f"--timeframe {timeframe!r}: use one of {', '.join(TIMEFRAMES)}") from None


def fetch_range(fetch: Fetch, symbol: str, timeframe: str, start: datetime, end: datetime) -> list[Candle]:
    """Every candle opened in [start, end], page by page (the venue decides the page size)."""
    step = candle_step(timeframe)
    found: list[Candle] = []
    since = start
    while since <= end:
        page = [c for c in fetch(symbol, timeframe, PAGE, since) if since <= c.opened_at <= end]
        if not page:
            break  # the venue has nothing later (or nothing in this range)
        found.extend(page)
        since = page[-1].opened_at + step
    return found


def closed_only(candles: list[Candle], timeframe: str, now: datetime) -> list[Candle]:
    """Candles whose interval has ended: a still-open candle's high, low and close are not final."""
    step = candle_step(timeframe)
    return [c for c in candles if c.opened_at + step <= now]


def gaps_to_fetch(
    cached: list[Row], start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end] before the cache's first candle and after its last."""
    if not cached:
        return [(start, end)] if start <= end else []
    first, last = _when(cached[0]), _when(cached[-1])
    wanted = [(start, min(end, first - step)), (max(start, last + step), end)]
    return [(a, b) for a, b in wanted if a <= b]


def merged(cached: list[Row], fetched: list[Candle]) -> list[Row]:
    """The cache's rows with the fetched candles added (a fetched candle replaces one at its time)."""
    rows = {int(row[0]): row for row in cached}
    for c in fetched:
        ms = int(c.opened_at.timestamp() * 1000)
        rows[ms] = [ms, c.open, c.high, c.low, c.close, c.volume]
    return [rows[ms] for ms in sorted(rows)]


def read_cache(path: Path) -> list[Row]:
    if not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text(), parse_float=Decimal)
    except (OSError, ValueError):
        return []  # a damaged cache is fetched again, not trusted
    return rows if isinstance(rows, list) else []


def write_cache(path: Path, rows: list[Row]) -> None:
    """Write the rows as JSON numbers straight from their Decimal text (no float on the way)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join("[" + ", ".join(_number(v) for v in row) + "]" for row in rows)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("[\n" + lines + "\n]\n")
    tmp.replace(path)


def cached_candles(
    fetch: Fetch,
    cache_dir: Path,
    symbol: str,
    timeframe: str,
    start: datetime,
    end: datetime,
    now: datetime,
) -> Path:
    """The cache file of `symbol` holding [start, end] (end capped at `now`), fetching what it lacks."""
    step = candle_step(timeframe)
    path = cache_dir / f"{symbol.replace('/', '_').replace(':', '_')}-{timeframe}.json"
    cached = read_cache(path)
    end = min(end, now - step)
    fetched: list[Candle] = []
    for a, b in gaps_to_fetch(cached, start, end, step):
        fetched.extend(closed_only(fetch_range(fetch, symbol, timeframe, a, b), timeframe, now))
    if fetched or not path.is_file():
        rows = merged(cached, fetched)
        if not rows:
            raise InputError(f"{symbol}: the venue has no {timeframe} candles from {start:%Y-%m-%d %H:%M} on")
        write_cache(path, rows)
    return path


def _when(row: Row) -> datetime:
    from .candles import parse_time

    return parse_time(row[0], "candle cache")


def _number(value: Any) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)
