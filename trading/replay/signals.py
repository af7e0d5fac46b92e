"""Signal files for a replay: TradingView alert payloads (JSON) or a plain CSV. Pure: no Django.

Each signal becomes `{"at": ISO time, "payload": alert}`: the payload goes through the real webhook
parser when it is injected, at `at` on the replay's clock.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from trading.core.webhook_payload import PayloadError, parse_signal

from .candles import InputError, parse_time

CSV_COLUMNS = ("timestamp", "symbol", "timeframe", "intent", "side", "price", "size")
# Stands in for the secret while a file is checked; the replay's own secret replaces it on injection.
PLACEHOLDER_SECRET = "replay-placeholder-secret"


def load_signals(path: Path) -> list[dict[str, Any]]:
    """Read and validate a signal file; sorted by time (file order among equal times)."""
    if not path.is_file():
        raise InputError(f"{path}: no such signal file")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    payloads = _from_json(text, path) if path.suffix.lower() == ".json" else _from_csv(text, path)
    signals = [timed(payload, f"{path}: signal {n}") for n, payload in enumerate(payloads, 1)]
    return sorted(signals, key=lambda s: s["at"])


def timed(payload: Any, where: str, at: datetime | None = None) -> dict[str, Any]:
    """Check a payload with the webhook parser and pair it with its time (its own `timestamp`
    unless `at` is given)."""
    if not isinstance(payload, dict):
        raise InputError(f"{where}: expected a JSON object (a TradingView alert)")
    try:
        parsed = parse_signal({**payload, "secret": PLACEHOLDER_SECRET})
    except PayloadError as exc:
        details = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors) if exc.errors else str(exc)
        raise InputError(f"{where}: not a valid alert: {details}") from exc
    when = at or parsed.sent_at
    if when is None:
        raise InputError(f"{where}: the alert has no timestamp, so it cannot be placed on the candles")
    return {"at": when.isoformat(), "payload": payload}


def _from_json(text: str, path: Path) -> list[Any]:
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of TradingView alert payloads")
    return [_plain(item) for item in data]


def _plain(value: Any) -> Any:
    """Decimals back to strings, so the payload can be written as JSON again (the parser takes both)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _from_csv(text: str, path: Path) -> list[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    header = [name.strip().lower() for name in reader.fieldnames or []]
    if header[: len(CSV_COLUMNS)] != list(CSV_COLUMNS):
        raise InputError(f"{path}: CSV header must be {','.join(CSV_COLUMNS)} (got {reader.fieldnames})")
    payloads = []
    for n, row in enumerate(reader, 2):
        values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if any(values.get(k) is None for k in CSV_COLUMNS) or None in row:
            raise InputError(f"{path}: line {n}: expected {len(CSV_COLUMNS)} columns")
        payloads.append(csv_payload(values, f"{path}: line {n}"))
    return payloads


def csv_payload(row: dict[str, str], where: str) -> dict[str, Any]:
    """One CSV row as the alert TradingView would have sent (docs/tradingview.md)."""
    tv: dict[str, Any] = {"exchange": "BINANCE", "symbol": row["symbol"], "timeframe": row["timeframe"]}
    if row["price"]:
        tv["entry_price"] = row["price"]
    if row["size"]:
        tv["order_size"] = row["size"]
    intent: dict[str, Any] = {"type": row["intent"], "position_size_type": "quote"}
    if row["side"]:
        intent["side"] = row["side"]
    return {
        "secret": PLACEHOLDER_SECRET,
        "source": "tradingview",
        "timestamp": parse_time(row["timestamp"], where).isoformat(),
        "tv": tv,
        "execution_intent": intent,
    }
