"""Request and response shapes of the API. Money, prices and percents travel as decimal strings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from ninja import Schema
from pydantic import AfterValidator, Field, PlainSerializer

from trading.core.takeprofit import OpenLeg, aggregate_tp_price, weighted_average_entry
from trading.core.types import Side
from trading.reads.filters import symbol_text, timeframe_value

_DB_QUANTUM = Decimal("1E-12")  # the model columns' 12 decimal places


def decimal_text(value: Decimal) -> str:
    """A Decimal as a plain string without trailing zeros: Decimal("43000.500000000000") → "43000.5"."""
    with localcontext() as ctx:
        ctx.prec = 60  # quantizing 18 integer digits to 12 places must not overflow the default 28
        if value.as_tuple().exponent < -12:  # type: ignore[operator] - finite values only
            value = value.quantize(_DB_QUANTUM, rounding=ROUND_HALF_EVEN)
        text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


Dec = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str)]

# Bounds of every list endpoint's `limit` and `offset` (out of range: 422). Unbounded, an offset past
# 2**63 overflowed the database's 64-bit LIMIT/OFFSET into a 500; no table here nears a billion rows.
MAX_LIMIT = 500
MAX_OFFSET = 1_000_000_000


def _blank_or(read: Callable[[str], str]) -> Callable[[str], str]:
    return lambda value: "" if not value.strip() else read(value)  # `?symbol=` filters nothing


# `?symbol=` and `?timeframe=` read as the webhook reads them; a bad value is a 422 saying why.
SymbolParam = Annotated[
    str,
    AfterValidator(_blank_or(symbol_text)),
    Field(description="BTCUSDT, BTC/USDT, BTC-USDT, BTC_USDT, BINANCE:BTCUSDT, BTCUSDT.P or the venue's id"),
]
TimeframeParam = Annotated[
    str,
    AfterValidator(_blank_or(timeframe_value)),
    Field(description="TradingView's interval (15, 60, 240, 1D) or 15m, 1h, 4h, 1d"),
]


def page(rows: QuerySet, limit: int, offset: int) -> dict[str, Any]:
    """One page of a queryset in the shape every list endpoint answers with."""
    return {
        "count": rows.count(),
        "limit": limit,
        "offset": offset,
        "items": list(rows[offset : offset + limit]),
    }


class ErrorOut(Schema):
    detail: str


class FieldError(Schema):
    field: str
    message: str


class ConfigErrorOut(Schema):
    detail: str
    errors: list[FieldError]


class ConfigConflictOut(Schema):
    detail: str
    current_version: int


class CommandAccepted(Schema):
    command_id: int
    status: str


class CommandOut(Schema):
    id: int
    kind: str
    args: dict[str, Any]
    status: str
    result: str
    created_at: datetime
    applied_at: datetime | None
    created_by: str | None

    @staticmethod
    def resolve_created_by(obj: Any) -> str | None:
        return obj.created_by.get_username() if obj.created_by_id else None


# --- system -------------------------------------------------------------------------------------


class HealthOut(Schema):
    engine: str
    heartbeat_at: datetime | None
    db: str
    last_webhook_at: datetime | None
    config_version: int | None
    instance_name: str | None
    mode: str | None  # app.mode: paper | live
    skipped_ticks: int | None


class PoolOut(Schema):
    max: int
    used: int
    queued: int
    queued_waiting_precision: int


class ConfigOut(Schema):
    version: int
    config: dict[str, Any]


class EventOut(Schema):
    id: int
    created_at: datetime
    category: str
    severity: str
    symbol: str
    timeframe: str
    group_id: int | None = Field(None, validation_alias="group_id_ref")
    signal_id: int | None = Field(None, validation_alias="signal_id_ref")
    message: str
    context: dict[str, Any]
    acknowledged: bool


class EventPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[EventOut]


class TradeOut(Schema):
    id: int
    group_id: int
    order_id: int | None
    account: str
    symbol: str
    timeframe: str
    side: str
    reason: str
    qty: Dec
    entry_price: Dec
    exit_price: Dec
    realized_pnl: Dec
    fees: Dec
    closed_at: datetime

    @staticmethod
    def resolve_account(obj: Any) -> str:
        return obj.account.label


class TradePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[TradeOut]


# --- groups -------------------------------------------------------------------------------------


class LegOut(Schema):
    id: int
    index: int
    label: str
    gap_percent: Dec
    weight_percent: Dec
    tp_percent: Dec
    price: Dec
    qty: Dec
    filled_qty: Dec
    closed_qty: Dec
    avg_fill_price: Dec | None
    tp_price: Dec | None
    state: str
    realized_pnl: Dec
    entry_fees: Dec
    merged_into: int | None
    tp_progress_percent: Dec | None = None  # filled in when a last price is known


class PyramidOut(Schema):
    id: int
    index: int
    signal_id: int | None
    base_price: Dec
    size_amount: Dec
    size_unit: str
    max_slippage_percent: Dec
    adjustments: list[Any]
    created_at: datetime
    legs: list[LegOut]


class OrderOut(Schema):
    id: int
    client_order_id: str
    leg_id: int | None
    purpose: str
    symbol: str
    side: str
    type: str
    price: Dec | None
    qty: Dec
    filled_qty: Dec
    avg_fill_price: Dec | None
    fee_quote: Dec
    state: str
    exchange_order_id: str
    attempt: int
    error: str
    created_at: datetime
    updated_at: datetime


# Every GroupStatus value plus "open" (every status but closed); a test keeps the two in step.
GroupStatusFilter = Literal["open", "waiting", "live", "partially_filled", "active", "closing", "closed"]


def _open_legs(group: Any) -> list[OpenLeg]:
    # group.legs is prefetched by the routes, so this costs no query per group.
    return [
        OpenLeg(leg.pk, leg.open_qty, leg.avg_fill_price, leg.tp_percent)
        for leg in group.legs.all()
        if leg.open_qty > 0 and leg.avg_fill_price is not None
    ]


class GroupOut(Schema):
    id: int
    account: str
    symbol: str
    timeframe: str
    side: str
    status: str
    tp_mode: str
    aggregate_tp_percent: Dec
    pyramid_count: int
    realized_pnl: Dec
    fees_paid: Dec
    close_reason: str
    opened_at: datetime
    closed_at: datetime | None
    risk_blocked: bool
    open_qty: Dec
    avg_entry_price: Dec | None  # weighted by open quantity
    aggregate_tp_price: Dec | None  # the group TP (aggregate/hybrid modes) at the current average

    @staticmethod
    def resolve_account(obj: Any) -> str:
        return obj.account.label

    @staticmethod
    def resolve_open_qty(obj: Any) -> Decimal:
        return sum((leg.open_qty for leg in _open_legs(obj)), Decimal(0))

    @staticmethod
    def resolve_avg_entry_price(obj: Any) -> Decimal | None:
        return weighted_average_entry(_open_legs(obj))

    @staticmethod
    def resolve_aggregate_tp_price(obj: Any) -> Decimal | None:
        return aggregate_tp_price(Side(obj.side), _open_legs(obj), obj.aggregate_tp_percent)


class GroupDetailOut(GroupOut):
    last_price: Dec | None = None  # the paper exchange's last price; None for live accounts
    pyramids: list[PyramidOut]
    orders: list[OrderOut]


class GroupPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[GroupOut]


# --- queue and signals --------------------------------------------------------------------------


class QueueEntryOut(Schema):
    id: int
    rank: int
    account: str
    symbol: str
    timeframe: str
    side: str
    entry_price: Dec
    size_amount: Dec
    size_unit: str
    expected_profit: Dec
    loss_percent: Dec | None
    replacement_count: int
    reason: str
    queued_at: datetime
    promoted_at: datetime | None
    signal_id: int


class QueuePage(Schema):
    count: int
    limit: int
    offset: int
    items: list[QueueEntryOut]


class SignalOut(Schema):
    id: int
    received_at: datetime
    processed_at: datetime | None
    status: str
    reason: str
    intent: str
    side: str
    exchange: str
    raw_symbol: str
    symbol: str
    timeframe: str
    entry_price: Dec | None
    order_size: Dec | None
    size_type: str
    trade_id: str
    group_id: int | None
    replay_of_id: int | None


class SignalDetailOut(SignalOut):
    payload: Any  # as received, with the webhook secret redacted


class SignalPage(Schema):
    count: int
    limit: int
    offset: int
    items: list[SignalOut]


# --- paper --------------------------------------------------------------------------------------


class PaperPriceIn(Schema):
    symbol: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9/:._-]+$", examples=["BTCUSDT"])
    # The columns hold 30 digits with 12 decimals; a bigger or finer price could never be stored.
    price: Decimal = Field(gt=0, max_digits=30, decimal_places=12, examples=["43000.5"])
    account: str = Field("paper", min_length=1, max_length=40)
