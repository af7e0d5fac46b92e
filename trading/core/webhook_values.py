"""Readers for the text TradingView fills into a webhook: numbers as strings, timestamps, placeholders.

Pure helpers of `webhook_payload`; messages never echo an input value (the secret stays out).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, TypeVar

from pydantic import BeforeValidator

from .symbols import normalise_exchange, normalise_timeframe
from .types import Intent, Side, SizeType

T = TypeVar("T")

_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# No crypto price, size or percentage lies outside 1e-12..1e18: beyond that a value is a typo or
# garbage, and it would not fit the inbox's Decimal(30, 12) columns.
_MIN_EXPONENT, _MAX_EXPONENT = -12, 17
# Text limits, generous for real values and within the inbox's columns: "BINANCE:1000PEPEUSDT.P" is 22.
_MAX_SYMBOL, _MAX_EXCHANGE, _MAX_TIMEFRAME, _MAX_ID, _MAX_TEXT = 32, 20, 8, 100, 200
# TradingView's payload is 3 levels deep; far deeper is garbage that would exhaust Python's recursion
# in every later walk over it (pydantic, redact, the JSON encoder of the inbox).
_MAX_DEPTH = 20
# Characters no database text or JSON column accepts (PostgreSQL refuses NUL and lone surrogates).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_PLACEHOLDER_HINT = (
    "looks like a TradingView {{placeholder}} that was never filled in "
    "(placeholders are case-sensitive; check the spelling)"
)
_SENSITIVE_PARTS = ("secret", "password", "token", "api_key", "apikey", "passphrase")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Epoch numbers at or above this are milliseconds: as seconds they would be past the year 5000.
_MS_THRESHOLD = Decimal(10**11)
_MAX_EPOCH_SECONDS = Decimal(253402300799)  # 9999-12-31T23:59:59Z, the end of datetime's range


def _blank_text(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _blank_number(value: object) -> bool:
    # TradingView prints `na` as NaN; a bare NaN in the JSON decodes to Decimal("NaN").
    if isinstance(value, Decimal):
        return value.is_nan()
    if isinstance(value, float):
        return math.isnan(value)
    return _blank_text(value) or (isinstance(value, str) and value.strip().lower() == "nan")


def _text(value: object, limit: int = _MAX_TEXT) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # an unquoted {{interval}} or order id arrives as a JSON number
    if not isinstance(value, str):
        raise ValueError("must be a string (wrap the value in double quotes)")
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if len(text) > limit:
        raise ValueError(f"must be at most {limit} characters")
    if "{{" in text:
        raise ValueError(_PLACEHOLDER_HINT)
    if _UNSTORABLE.search(text):
        raise ValueError("must not contain NUL or unpaired surrogate characters")
    return text


def _optional(parse: Callable[[object], T]) -> Callable[[object], T | None]:
    return lambda value: None if _blank_text(value) else parse(value)


def _limited(limit: int) -> Callable[[object], str]:
    return lambda value: _text(value, limit)


def _choice(choices: Mapping[str, T]) -> Callable[[object], T]:
    """Case-insensitive pick from a fixed vocabulary ("BUY", "Long", "exit" all read)."""

    def pick(value: object) -> T:
        picked = choices.get(_text(value).lower())
        if picked is None:
            raise ValueError("must be one of: " + ", ".join(choices))
        return picked

    return pick


_intent = _choice({intent.value: intent for intent in Intent})
_SIDES = {"buy": Side.LONG, "sell": Side.SHORT, "long": Side.LONG, "short": Side.SHORT}
_SIZE_TYPES = {size_type.value: size_type for size_type in SizeType}
_POSITIONS = {position: position for position in ("long", "short", "flat")}


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, str):
        text = value.strip()
        if "{{" in text:
            raise ValueError(_PLACEHOLDER_HINT)
        if not text or text.lower() == "nan":
            raise ValueError("is required (TradingView sends an empty value or NaN when it has none)")
        if not _NUMBER.fullmatch(text):
            raise ValueError("must be a number like 43000.5")
        number = Decimal(text)
    elif isinstance(value, int | Decimal):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))  # the shortest text that round-trips, not the binary expansion
    else:
        raise ValueError("must be a number like 43000.5")
    if not number.is_finite():
        raise ValueError("must be a finite number (TradingView sends NaN when it has no value)")
    if number and not _MIN_EXPONENT <= number.adjusted() <= _MAX_EXPONENT:
        raise ValueError("is out of range")
    return number


def _optional_positive(value: object) -> Decimal | None:
    number = None if _blank_number(value) else _decimal(value)
    if number is not None and number <= 0:
        raise ValueError("must be greater than 0")
    return number


def _optional_percent(value: object) -> Decimal | None:
    number = _optional_positive(value)
    if number is not None and number > 100:
        raise ValueError("must be a percentage between 0 and 100")
    return number


def _timeframe(value: object) -> str:
    text = _text(value, _MAX_TIMEFRAME)
    try:
        timeframe = normalise_timeframe(text)
        if len(timeframe) > _MAX_TIMEFRAME:
            raise ValueError(timeframe)
        return timeframe
    except ValueError:
        raise ValueError("is not a timeframe we know (use {{interval}}, e.g. 15, 60, 1D)") from None


def _exchange(value: object) -> str:
    text = _text(value, _MAX_EXCHANGE)
    try:
        return normalise_exchange(text)
    except ValueError:
        raise ValueError("is not an exchange we recognise") from None


def _timestamp(value: object) -> datetime:
    """Read ISO 8601 (naive means UTC, as TradingView's times are) or epoch seconds/milliseconds."""
    is_number = isinstance(value, int | Decimal | float) and not isinstance(value, bool)
    text = None if is_number else _text(value)
    if text is None or _NUMBER.fullmatch(text):
        number = _decimal(value)
        seconds = number / 1000 if number >= _MS_THRESHOLD else number
        if not 0 <= seconds <= _MAX_EPOCH_SECONDS:
            raise ValueError("is out of range")
        return _EPOCH + timedelta(microseconds=int((seconds * 1_000_000).to_integral_value()))
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise ValueError("must be ISO 8601 (2024-05-03T10:15:00Z) or epoch seconds/milliseconds") from None


def _secret(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a string (wrap it in double quotes)")
    if not value:
        raise ValueError("must not be empty")
    return value  # kept verbatim: the comparison with the configured secret is exact


OptionalText = Annotated[str | None, BeforeValidator(_optional(_text))]
OptionalPositive = Annotated[Decimal | None, BeforeValidator(_optional_positive)]
OptionalPosition = Annotated[str | None, BeforeValidator(_optional(_choice(_POSITIONS)))]
