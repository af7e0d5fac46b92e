"""Parse and validate a TradingView webhook body, purely: bytes and a dict in, a `ParsedSignal` out.

TradingView fills `{{placeholders}}` as text, so numbers usually arrive as strings ("43000.5") and a
value it could not compute arrives as "" or "NaN". Optional numbers treat those as missing; required
ones reject them. Every problem is reported at once, with the dotted field path, so a trader fixes an
alert in one round trip. No message ever echoes an input value, which keeps the secret out of them.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError

from .symbols import split_symbol
from .types import Intent, Side, SizeType
from .webhook_values import (  # the value readers live apart; this module is the schema
    _MAX_DEPTH,
    _MAX_ID,
    _MAX_SYMBOL,
    _SENSITIVE_PARTS,
    _SIDES,
    _SIZE_TYPES,
    _UNSTORABLE,
    OptionalPosition,
    OptionalPositive,
    OptionalText,
    _blank_number,
    _blank_text,
    _choice,
    _exchange,
    _intent,
    _limited,
    _optional,
    _optional_percent,
    _optional_positive,
    _secret,
    _timeframe,
    _timestamp,
)

MAX_BODY_BYTES = 64 * 1024
# A secret is masked wherever it appears only from this length (the config's minimum): a shorter one
# would mask every "a" or "tv" in a payload, and is no secret worth the name anyway.
MIN_MASKED_SECRET = 8


class PayloadError(Exception):
    """A body we refuse: `status` 400 (not a JSON object) or 422 (fields wrong), one error per field."""

    def __init__(self, status: int, errors: str | list[dict[str, str]]) -> None:
        self.status = status
        self.errors = [{"field": "body", "message": errors}] if isinstance(errors, str) else errors
        super().__init__("; ".join(f"{e['field']}: {e['message']}" for e in self.errors))


class _Section(BaseModel):
    # Lenient about keys we do not read (users add their own), strict about the ones we do.
    model_config = ConfigDict(extra="ignore")


class _Tv(_Section):
    exchange: Annotated[str | None, BeforeValidator(_optional(_exchange))] = None
    symbol: Annotated[str, BeforeValidator(_limited(_MAX_SYMBOL))]
    timeframe: Annotated[str, BeforeValidator(_timeframe)]
    market_position: OptionalPosition = None
    prev_market_position: OptionalPosition = None
    entry_price: OptionalPositive = None
    close_price: OptionalPositive = None
    order_size: OptionalPositive = None


class _StrategyInfo(_Section):
    trade_id: Annotated[str | None, BeforeValidator(_optional(_limited(_MAX_ID)))] = None
    alert_name: OptionalText = None


class _ExecutionIntent(_Section):
    type: Annotated[Intent, BeforeValidator(_intent)]
    side: Annotated[Side | None, BeforeValidator(_optional(_choice(_SIDES)))] = None
    # A bare order_size is an amount of quote currency (USDT to spend), the common TradingView habit.
    position_size_type: Annotated[SizeType | None, BeforeValidator(_optional(_choice(_SIZE_TYPES)))] = None


class _Risk(_Section):
    stop_loss: OptionalPositive = None
    take_profit: OptionalPositive = None
    max_slippage_percent: Annotated[Decimal | None, BeforeValidator(_optional_percent)] = None


class _Payload(_Section):
    secret: Annotated[str, BeforeValidator(_secret)]
    source: OptionalText = None
    timestamp: Annotated[datetime | None, BeforeValidator(_optional(_timestamp))] = None
    tv: _Tv
    strategy_info: _StrategyInfo | None = None
    execution_intent: _ExecutionIntent
    risk: _Risk | None = None


_PYDANTIC_MESSAGES = {"missing": "is required", "model_type": "must be a JSON object"}


def _schema_errors(exc: ValidationError) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    for err in exc.errors(include_url=False, include_input=False):
        if err["type"] == "value_error":
            message = str(err.get("ctx", {}).get("error", err["msg"]))
        else:
            message = _PYDANTIC_MESSAGES.get(err["type"], err["msg"])
        errors.append({"field": ".".join(str(part) for part in err["loc"]) or "body", "message": message})
    return errors


def _at(data: dict[str, Any], section: str, key: str) -> object:
    part = data.get(section)
    return part.get(key) if isinstance(part, dict) else None


def _cross_field_errors(data: dict[str, Any], reported: set[str]) -> list[dict[str, str]]:
    """Rules spanning fields; read from the raw dict so they still report when other fields fail."""
    try:
        intent = _intent(_at(data, "execution_intent", "type"))
    except ValueError:
        return []  # the type itself is already reported
    if intent not in (Intent.SIGNAL, Intent.REVERSE):
        return []
    errors = []
    if "execution_intent.side" not in reported and _blank_text(_at(data, "execution_intent", "side")):
        errors.append({"field": "execution_intent.side", "message": f"is required for {intent}"})
    prices = ("tv.entry_price", "tv.close_price")
    if (
        not reported.intersection((*prices, "tv"))
        and _blank_number(_at(data, "tv", "entry_price"))
        and _blank_number(_at(data, "tv", "close_price"))
    ):
        message = f"entry_price or close_price is required for {intent} (it is the pyramid's base price)"
        errors.append({"field": "tv.entry_price", "message": message})
    return errors + _risk_level_errors(data, reported)


def _risk_level_errors(data: dict[str, Any], reported: set[str]) -> list[dict[str, str]]:
    """An entry's stop-loss lies on the losing side of its price, its take-profit on the winning side:
    one on the wrong side would close the position the moment it opens."""
    try:
        side = _choice(_SIDES)(_at(data, "execution_intent", "side"))
        price = _optional_positive(_at(data, "tv", "entry_price"))
        if price is None:
            price = _optional_positive(_at(data, "tv", "close_price"))
    except ValueError:
        return []  # reported by the schema
    if price is None:
        return []
    long = side is Side.LONG
    rules = (("stop_loss", "below" if long else "above"), ("take_profit", "above" if long else "below"))
    errors = []
    for key, must_be in rules:
        field_name = f"risk.{key}"
        try:
            level = None if field_name in reported else _optional_positive(_at(data, "risk", key))
        except ValueError:
            continue
        if level is not None and ((level < price) != (must_be == "below") or level == price):
            errors.append(
                {
                    "field": field_name,
                    "message": f"must be {must_be} the entry price ({_plain(price)}) for a {side.value} entry",
                }
            )
    return errors


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def risk_levels(payload: dict[str, Any]) -> tuple[Decimal | None, Decimal | None]:
    """(stop_loss, take_profit) of a stored, already validated payload (the inbox keeps the body)."""
    risk = payload.get("risk") if isinstance(payload, dict) else None
    if not isinstance(risk, dict):
        return None, None
    try:
        return _optional_positive(risk.get("stop_loss")), _optional_positive(risk.get("take_profit"))
    except ValueError:
        return None, None


def _scrub(errors: list[dict[str, str]], secret: object) -> list[dict[str, str]]:
    # Messages never echo inputs; this is the belt to that braces, in case a rule ever does.
    if not isinstance(secret, str) or not secret:
        return errors
    return [e if secret not in e["message"] else {**e, "message": "is invalid"} for e in errors]


@dataclass(frozen=True)
class ParsedSignal:
    """A validated webhook, normalised for the engine (which still resolves `symbol` against markets)."""

    secret: str = field(repr=False)
    source: str | None
    sent_at: datetime | None  # aware UTC
    exchange: str | None  # None: use the default account
    raw_symbol: str
    symbol: str | None  # e.g. "BTC/USDT"; None when the ticker alone cannot tell
    timeframe: str
    intent: Intent
    side: Side | None
    entry_price: Decimal | None  # entry_price, else close_price
    order_size: Decimal | None
    size_type: SizeType
    max_slippage_percent: Decimal | None
    stop_loss: Decimal | None
    take_profit: Decimal | None
    trade_id: str | None
    alert_name: str | None
    prev_market_position: str | None
    market_position: str | None
    payload_fingerprint: str

    def dedupe_key(self) -> str | None:
        """Identify one TradingView order across retries; None unless trade_id and timestamp are set."""
        if self.trade_id is None or self.sent_at is None:
            return None
        side = str(self.side) if self.side else None
        parts = (self.trade_id, self.sent_at.isoformat(), str(self.intent), side, self.exchange)
        return _sha256(json.dumps([*parts, self.symbol or self.raw_symbol, self.timeframe]))


def decode_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """Decode a webhook body into a JSON object, whatever content type TradingView claimed.

    TradingView posts text/plain unless the alert message is itself valid JSON, so the content type
    is only used to explain a failure. Floats decode as Decimal so prices stay exact.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PayloadError(400, f"body is not UTF-8 text (bad byte at offset {exc.start})") from None
    trimmed = text.strip()
    if not trimmed:
        raise PayloadError(400, "empty body")
    try:
        data = json.loads(trimmed, parse_float=Decimal, parse_constant=Decimal)
    except json.JSONDecodeError as exc:
        pos = exc.pos + len(text) - len(text.lstrip())
        line, column = text.count("\n", 0, pos) + 1, pos - text.rfind("\n", 0, pos)
        raise PayloadError(
            400, f"invalid JSON: {exc.msg} at line {line} column {column}{_json_hint(trimmed, content_type)}"
        ) from None
    except (ValueError, RecursionError):
        # Huge integers and absurd nesting fail outside the JSON grammar proper.
        raise PayloadError(400, "invalid JSON: a number is too long or the nesting is too deep") from None
    if not isinstance(data, dict):
        raise PayloadError(400, "expected a JSON object")
    if _too_deep(data):
        raise PayloadError(400, f"JSON nested deeper than {_MAX_DEPTH} levels")
    return data


def _too_deep(data: object) -> bool:
    # Iterative on purpose: recursion is exactly what absurd nesting would exhaust.
    stack = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth >= _MAX_DEPTH:
                return True
            stack.extend(
                (child, depth + 1) for child in (value.values() if isinstance(value, dict) else value)
            )
    return False


def _json_hint(text: str, content_type: str | None) -> str:
    if "{{" in text:
        return " (a {{placeholder}} outside double quotes breaks the JSON when it is filled or left empty)"
    if content_type and content_type.split(";")[0].strip().lower() == "text/plain":
        return " (TradingView sends text/plain when the alert message is not valid JSON)"
    return ""


def parse_signal(data: dict[str, Any]) -> ParsedSignal:
    """Validate a decoded webhook; raise PayloadError(422) naming every bad field at once."""
    if not isinstance(data, dict) or _too_deep(data):
        raise PayloadError(400, f"expected a JSON object nested at most {_MAX_DEPTH} levels")
    errors: list[dict[str, str]] = []
    payload: _Payload | None = None
    try:
        payload = _Payload.model_validate(data)
    except ValidationError as exc:
        errors = _schema_errors(exc)
    errors += _cross_field_errors(data, {e["field"] for e in errors})
    if errors or payload is None:
        raise PayloadError(422, _scrub(errors, data.get("secret")))
    tv, intent = payload.tv, payload.execution_intent
    info, risk = payload.strategy_info or _StrategyInfo(), payload.risk or _Risk()
    # Free-text fields become inbox columns and event messages: a secret pasted into one stays out.
    hide = _masker(payload.secret)
    raw_symbol = hide(tv.symbol)
    return ParsedSignal(
        secret=payload.secret,
        source=_maybe(hide, payload.source),
        sent_at=payload.timestamp,
        exchange=tv.exchange,
        raw_symbol=raw_symbol,
        symbol=split_symbol(raw_symbol),  # None is fine: the engine resolves it against real markets
        timeframe=tv.timeframe,
        intent=intent.type,
        side=intent.side,
        entry_price=tv.entry_price if tv.entry_price is not None else tv.close_price,
        order_size=tv.order_size,
        size_type=intent.position_size_type or SizeType.QUOTE,
        max_slippage_percent=risk.max_slippage_percent,
        stop_loss=risk.stop_loss,
        take_profit=risk.take_profit,
        trade_id=_maybe(hide, info.trade_id),
        alert_name=_maybe(hide, info.alert_name),
        prev_market_position=tv.prev_market_position,
        market_position=tv.market_position,
        payload_fingerprint=payload_fingerprint(data),
    )


def payload_fingerprint(data: dict[str, Any]) -> str:
    """Hash the canonical JSON of a payload, secrets removed, to spot an identical re-send."""
    canonical = json.dumps(redact(data), sort_keys=True, separators=(",", ":"), default=str)
    return _sha256(canonical)


def _sha256(text: str) -> str:
    # json.dumps escapes to ASCII, so lone surrogates from a hostile body cannot break the encode.
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _sensitive(key: object) -> bool:
    name = str(key).lower().replace("-", "_").replace(" ", "_")
    # Other bots' bodies carry their auth in a bare "key" (tradingview-webhooks-bot, #07/#08).
    return name == "key" or any(part in name for part in _SENSITIVE_PARTS)


def redact(data: dict[str, Any]) -> dict[str, Any]:
    """Deep-copy a decoded payload for logs and storage: secret-looking values become "***".

    The payload's own `secret` is also masked wherever else the sender put it, in a value or in a key
    name. The copy is storable as JSON anywhere: Decimals become their exact text, and NUL or unpaired
    surrogate characters become U+FFFD.
    """
    secret = data.get("secret") if isinstance(data, dict) else None
    mask = _masker(secret) if isinstance(secret, str) else _storable

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            # Keys too: a sender that uses the secret as a key name would otherwise store it verbatim.
            return {mask(str(k)): "***" if _sensitive(k) else walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str):
            return mask(value)
        if isinstance(value, Decimal) or (isinstance(value, float) and not math.isfinite(value)):
            return str(value)
        return value  # other JSON leaves are immutable, so sharing them is a copy

    return walk(data)


def _storable(text: str) -> str:
    return _UNSTORABLE.sub("\ufffd", text)


def _maybe(mask: Callable[[str], str], text: str | None) -> str | None:
    return None if text is None else mask(text)


def _masker(secret: str) -> Callable[[str], str]:
    if len(secret) < MIN_MASKED_SECRET:
        return _storable
    # Masked before the unstorable characters are replaced, so a secret containing one still matches.
    return lambda text: _storable(text.replace(secret, "***"))


def is_stale(sent_at: datetime | None, now: datetime, max_lag_seconds: int) -> bool:
    """True when an alert was sent more than `max_lag_seconds` before `now` (both aware).

    0 turns the check off, and an alert without a timestamp is never stale. A timestamp in the
    future is never stale either, however far ahead: that is clock skew between TradingView and
    this host, not a delayed delivery, and refusing it would drop live signals.
    """
    if sent_at is None or max_lag_seconds <= 0:
        return False
    return (now - sent_at).total_seconds() > max_lag_seconds
