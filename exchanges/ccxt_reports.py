"""ccxt's unified order dicts → our OrderReport, and the small conversions around them.

No ccxt import and no I/O. Every ccxt number becomes a Decimal through its shortest text
form (`to_decimal`), swap amounts in contracts become base-asset quantities, and a ccxt status
becomes one of ours. Only the ccxt adapter uses this module.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from trading.core.types import MarketRules, OrderSide

from .core.adapter import InvalidOrder, OrderReport, OrderRequest, OrderStatus, OrderType
from .markets import plain, to_decimal

log = logging.getLogger(__name__)

_STATUS = {
    "open": OrderStatus.OPEN,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def report_from_ccxt(
    order: dict[str, Any],
    *,
    our_id: str,
    contract_size: Decimal,
    step_size: Decimal,
    request: OrderRequest | None,
    now: datetime,
) -> OrderReport:
    """One ccxt order as an OrderReport under our client id. Fields ccxt leaves empty fall back
    to the request (thin acks); the average price is cost / filled when ccxt gives none."""
    symbol = order.get("symbol") or (request.symbol if request else "")
    qty = _base(order.get("amount"), contract_size)
    if qty is None:
        qty = request.qty if request else Decimal(0)
    filled = _base(order.get("filled"), contract_size) or Decimal(0)
    type_ = _order_type(order.get("type"), request)
    average = _positive(order.get("average"))
    if average is None and filled > 0:
        cost = _positive(order.get("cost"))
        average = plain(cost / filled) if cost is not None else None
    return OrderReport(
        client_order_id=our_id,
        exchange_order_id=str(order.get("id") or ""),
        symbol=symbol,
        side=OrderSide(order["side"]) if order.get("side") in ("buy", "sell") else _side(request),
        type=type_,
        status=_status(order.get("status"), qty, filled, step_size),
        qty=qty,
        price=_positive(order.get("price")) if type_ is OrderType.LIMIT else None,
        filled_qty=filled,
        avg_fill_price=average if filled > 0 else None,
        fee_quote=_fee_in_quote(order, symbol, average),
        updated_at=_timestamp(order) or now,
    )


def provisional_report(request: OrderRequest, ack: dict[str, Any], now: datetime) -> OrderReport:
    """An accepted order whose details could not be fetched yet: open, nothing filled."""
    return OrderReport(
        client_order_id=request.client_order_id,
        exchange_order_id=str(ack.get("id") or ""),
        symbol=request.symbol,
        side=request.side,
        type=request.type,
        status=OrderStatus.OPEN,
        qty=request.qty,
        price=request.price if request.type is OrderType.LIMIT else None,
        filled_qty=Decimal(0),
        avg_fill_price=None,
        fee_quote=Decimal(0),
        updated_at=now,
    )


def to_ccxt_number(value: Decimal, what: str) -> float:
    """ccxt's interface takes floats: send one only if it carries the Decimal exactly."""
    number = float(value)
    if Decimal(repr(number)) != value:
        raise InvalidOrder(f"{what} {value} cannot be sent exactly (more than 15 significant digits)")
    return number


def base_unit_rules(rules: MarketRules, contract_size: Decimal) -> MarketRules:
    return replace(
        rules,
        step_size=plain(rules.step_size * contract_size),
        min_qty=plain(rules.min_qty * contract_size),
        max_qty=plain(rules.max_qty * contract_size) if rules.max_qty is not None else None,
    )


def contract_size_of(market: dict[str, Any]) -> Decimal:
    size = market.get("contractSize")
    return to_decimal(size) if market.get("contract") and size else Decimal(1)


def is_order_for(order: dict[str, Any] | None, venue_cid: str) -> bool:
    """A parsed order that is really the one asked for (KuCoin answers `data: null` as `{}`)."""
    if not order or not order.get("id"):
        return False
    echoed = order.get("clientOrderId")
    return echoed in (None, "", venue_cid)


def first_with(venue_cid: str, *lists: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    for orders in lists:
        for order in orders:
            if order.get("clientOrderId") == venue_cid and order.get("id"):
                return order
    return None


def decimal_or_zero(value: Any) -> Decimal:
    return Decimal(0) if value is None else to_decimal(value)


def _positive(value: Any) -> Decimal | None:
    if value is None:
        return None
    number = to_decimal(value)
    return number if number > 0 else None


def _base(value: Any, contract_size: Decimal) -> Decimal | None:
    return None if value is None else plain(to_decimal(value) * contract_size)


def _side(request: OrderRequest | None) -> OrderSide:
    if request is None:
        raise InvalidOrder("order without a side")
    return request.side


def _order_type(value: Any, request: OrderRequest | None) -> OrderType:
    if value in ("market", "limit"):
        return OrderType(value)
    return request.type if request else OrderType.LIMIT


def _status(value: Any, qty: Decimal, filled: Decimal, step: Decimal) -> OrderStatus:
    """ccxt's unified status → ours. ccxt calls an order `closed` when the venue stopped it,
    including IOC remainders it cancelled (Bybit PartiallyFilledCanceled): a remainder of at
    least one lot step makes it CANCELLED after a partial fill; less is dust, so FILLED."""
    if value == "closed":
        remainder = qty - filled
        if step > 0 and remainder >= step:
            return OrderStatus.CANCELLED
        return OrderStatus.FILLED
    return _STATUS.get(str(value), OrderStatus.OPEN)


def _fee_in_quote(order: dict[str, Any], symbol: str, average: Decimal | None) -> Decimal:
    """Fees in the quote currency; base-currency fees at the average price; others skipped."""
    base, _, rest = symbol.partition("/")
    quote = rest.split(":", 1)[0]
    fees = order.get("fees") or ([order["fee"]] if order.get("fee") else [])
    total = Decimal(0)
    for fee in fees:
        if not fee or fee.get("cost") is None:
            continue
        cost = to_decimal(fee["cost"])
        currency = fee.get("currency")
        if currency == quote:
            total += cost
        elif currency == base and average is not None:
            total += cost * average
        elif cost:
            log.warning("%s: fee of %s %s not counted (no %s price)", symbol, cost, currency, currency)
    return plain(total)


def _timestamp(order: dict[str, Any]) -> datetime | None:
    for key in ("lastUpdateTimestamp", "lastTradeTimestamp", "timestamp"):
        value = order.get(key)
        if value:
            return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    return None
