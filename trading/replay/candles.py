"""Candle files and the price path a replay walks through each candle. Pure: no Django, no clock.

Candle path convention: a bullish candle (close >= open) is walked open → low → high → close, any
other open → high → low → close: the wick against the candle's direction is assumed to come first,
which is the cautious guess (a long's DCA legs fill before its take-profit is reached).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path


class InputError(ValueError):
    """A candle or signal file the replay cannot use; the message says which and why."""


@dataclass(frozen=True)
class Candle:
    at: datetime  # open time, aware UTC
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def price_path(candle: Candle) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """The four prices a candle is replayed as (see the module docstring)."""
    if candle.close >= candle.open:
        return (candle.open, candle.low, candle.high, candle.close)
    return (candle.open, candle.high, candle.low, candle.close)


def parse_time(value: object, where: str) -> datetime:
    """Epoch seconds or milliseconds, or ISO 8601 (naive means UTC), as aware UTC."""
    text = str(value).strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is not None and number.is_finite():
        seconds = number / 1000 if abs(number) >= 10**11 else number
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=float(seconds))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{where}: {text!r} is not a timestamp (ISO 8601 or epoch s/ms)") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _decimal(value: object, where: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise InputError(f"{where}: {value!r} is not a number") from exc
    if not number.is_finite() or number <= 0:
        raise InputError(f"{where}: price {value!r} must be a positive number")
    return number


def _candle(at: object, o: object, h: object, lo: object, c: object, where: str) -> Candle:
    candle = Candle(
        parse_time(at, where), _decimal(o, where), _decimal(h, where), _decimal(lo, where), _decimal(c, where)
    )
    if not (candle.low <= min(candle.open, candle.close) and candle.high >= max(candle.open, candle.close)):
        raise InputError(f"{where}: low/high do not contain open and close")
    return candle


def load_candles(path: Path) -> list[Candle]:
    """A freqtrade JSON file ([[open_time_ms, open, high, low, close, volume], …]) or a CSV with a
    header naming timestamp (or date/time), open, high, low and close; sorted by time, ascending."""
    if not path.is_file():
        raise InputError(f"{path}: no such candle file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    candles = _from_json(text, path) if path.suffix.lower() == ".json" else _from_csv(text, path)
    if not candles:
        raise InputError(f"{path}: no candles")
    candles.sort(key=lambda c: c.at)
    for before, after in zip(candles, candles[1:], strict=False):
        if before.at == after.at:
            raise InputError(f"{path}: two candles at {after.at.isoformat()}")
    return candles


def _from_json(text: str, path: Path) -> list[Candle]:
    try:
        rows = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(rows, list):
        raise InputError(f"{path}: expected a list of [time, open, high, low, close, volume] rows")
    out = []
    for n, row in enumerate(rows, 1):
        if not isinstance(row, list) or len(row) < 5:
            raise InputError(f"{path}: row {n}: expected [time, open, high, low, close, volume]")
        out.append(_candle(*row[:5], where=f"{path}: row {n}"))
    return out


def _from_csv(text: str, path: Path) -> list[Candle]:
    reader = csv.DictReader(text.splitlines())
    fields = {name.strip().lower(): name for name in reader.fieldnames or []}
    time_key = next((fields[k] for k in ("timestamp", "date", "time", "open_time") if k in fields), None)
    missing = [k for k in ("open", "high", "low", "close") if k not in fields]
    if time_key is None or missing:
        raise InputError(
            f"{path}: CSV header needs timestamp, open, high, low, close (got {reader.fieldnames})"
        )
    out = []
    for n, row in enumerate(reader, 2):
        values = [row[time_key]] + [row[fields[k]] for k in ("open", "high", "low", "close")]
        if any(v is None for v in values):
            raise InputError(f"{path}: line {n}: too few columns")
        out.append(_candle(*values, where=f"{path}: line {n}"))
    return out


def symbol_from_name(name: str) -> str:
    """ "BTC_USDT-1h.json" → "BTC/USDT" (freqtrade's file naming)."""
    pair = name.split("-", 1)[0]
    base, _, quote = pair.partition("_")
    if not base or not quote:
        raise InputError(f"cannot tell the symbol from file name {name!r}; pass it as SYMBOL=FILE")
    return f"{base}/{quote}"


def interval_of(candles: list[Candle]) -> timedelta:
    """The candle length: the smallest gap between two candles (gaps in the data are longer)."""
    gaps = [b.at - a.at for a, b in zip(candles, candles[1:], strict=False)]
    return min(gaps) if gaps else timedelta(hours=1)
