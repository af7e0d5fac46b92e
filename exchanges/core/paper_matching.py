"""The paper exchange's matching and balance rules, as pure functions over plain values.

No Django and no I/O: `exchanges/paper.py` loads rows, asks these functions what happens, and
writes the answer back. Backtests can call the same rules, so there is one simulator, not two.

Matching model (one last price per symbol, no order book; the last price is where the rest of
the market trades, and liquidity there is what fills us):
- A limit order whose limit is through the market is a taker: each fill is at the current price,
  clamped by its limit (buy: min(limit, price); sell: max(limit, price)). That holds at placement
  and for every later fill of an order that has been marketable at every price since: the unfilled
  rest of a marketable order (`partial_fill_ratio` < 1) still takes the market price, never its
  worse limit.
- Once a price does not reach an order's limit, the order rests in the book (`rested`). A later
  price that crosses it fills it at its own limit (maker): in a continuous market the price trades
  through the resting bid (ask) on its way, and the crossing sellers (buyers) hit it there. A jump
  between two feed prices is not a gap the order could profit from.
- Market orders always fill completely at the current price.
- `partial_fill_ratio` r (0 < r <= 1) caps each fill of a limit order at r x its original
  quantity, floored to the market step (at least one step), so tests can watch an order fill
  in pieces over several price updates.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from trading.core.types import OrderSide

from .adapter import OrderType

# Binance books commissions to 8 decimals; rounding up means the simulator never undercharges.
FEE_QUANTUM = Decimal("0.00000001")


@dataclass(frozen=True)
class MatchOrder:
    """The parts of an order that matching needs. `limit_price` is None for market orders.

    `rested`: some price since placement did not reach the limit, so the order sits in the book
    and is a maker from then on (see the module doc); False while it is still a taker.
    """

    side: OrderSide
    type: OrderType
    qty: Decimal
    filled_qty: Decimal
    limit_price: Decimal | None
    rested: bool = False

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty


@dataclass(frozen=True)
class Fill:
    qty: Decimal
    price: Decimal
    maker: bool  # True when a resting order was crossed, False when it took liquidity

    @property
    def notional(self) -> Decimal:
        return self.qty * self.price


@dataclass(frozen=True)
class BalanceChange:
    """Signed changes to the free base and free quote balances caused by one fill."""

    base: Decimal
    quote: Decimal


def check_ratio(partial_fill_ratio: Decimal) -> Decimal:
    """Return the ratio if 0 < r <= 1, else raise ValueError (a bad config must fail loudly)."""
    if not Decimal(0) < partial_fill_ratio <= Decimal(1):
        raise ValueError(f"partial_fill_ratio must be in (0, 1], got {partial_fill_ratio}")
    return partial_fill_ratio


def is_marketable(side: OrderSide, limit_price: Decimal, last_price: Decimal) -> bool:
    """A buy limit trades when the price is at or below it, a sell limit at or above it."""
    return last_price <= limit_price if side is OrderSide.BUY else last_price >= limit_price


def fill_chunk(order: MatchOrder, step_size: Decimal, partial_fill_ratio: Decimal) -> Decimal:
    """The most one price update may fill: r x original qty on the step grid, >= one step."""
    remaining = order.remaining_qty
    if remaining <= 0:
        return Decimal(0)
    cap = order.qty * check_ratio(partial_fill_ratio)
    if step_size > 0:
        cap = (cap / step_size).to_integral_value(rounding=ROUND_FLOOR) * step_size
        cap = max(cap, step_size)
    elif cap <= 0:
        cap = remaining
    return min(cap, remaining)


def decide_fill(
    order: MatchOrder,
    last_price: Decimal,
    *,
    step_size: Decimal,
    partial_fill_ratio: Decimal,
    at_placement: bool,
) -> Fill | None:
    """What a new last price fills of this order, or None if nothing trades.

    A taker (`at_placement`, or an order that has not `rested` yet) fills at the current price
    clamped by its limit; a rested order that the price crosses fills at its limit (maker).
    """
    if order.remaining_qty <= 0 or last_price <= 0:
        return None
    if order.type is OrderType.MARKET:
        return Fill(qty=order.remaining_qty, price=last_price, maker=False)
    if order.limit_price is None:
        raise ValueError("a limit order needs a limit price")
    if not is_marketable(order.side, order.limit_price, last_price):
        return None
    qty = fill_chunk(order, step_size, partial_fill_ratio)
    if at_placement or not order.rested:
        return Fill(qty=qty, price=taker_price(order.side, order.limit_price, last_price), maker=False)
    return Fill(qty=qty, price=order.limit_price, maker=True)


def taker_price(side: OrderSide, limit_price: Decimal, last_price: Decimal) -> Decimal:
    """The current price, clamped so the trader never pays past the limit (buy: min, sell: max)."""
    return min(last_price, limit_price) if side is OrderSide.BUY else max(last_price, limit_price)


def rests_after(order: MatchOrder, last_price: Decimal) -> bool:
    """Whether the order is resting in the book once this price is known: it was already, or the
    price does not reach its limit (from then on a crossing price fills it at its limit)."""
    if order.rested or order.type is OrderType.MARKET or order.limit_price is None:
        return order.rested
    return not is_marketable(order.side, order.limit_price, last_price)


def fee_for(notional: Decimal, fee_percent: Decimal) -> Decimal:
    """Fee in the quote currency: notional x fee% / 100, rounded up to 8 decimals."""
    if fee_percent <= 0 or notional <= 0:
        return Decimal(0)
    raw = notional * fee_percent / 100
    return raw.quantize(FEE_QUANTUM, rounding=ROUND_CEILING)


def balance_change(side: OrderSide, fill: Fill, fee: Decimal) -> BalanceChange:
    """Buy: quote -= cost + fee, base += qty. Sell: base -= qty, quote += proceeds - fee."""
    if side is OrderSide.BUY:
        return BalanceChange(base=fill.qty, quote=-(fill.notional + fee))
    return BalanceChange(base=-fill.qty, quote=fill.notional - fee)


def buy_reserve(qty: Decimal, price: Decimal, fee_percent: Decimal) -> Decimal:
    """Quote a buy of `qty` at `price` needs, fee included."""
    notional = qty * price
    return notional + fee_for(notional, fee_percent)


def required_funds(side: OrderSide, qty: Decimal, price: Decimal, fee_percent: Decimal) -> Decimal:
    """What an order must have free: quote (qty x price + fee) for a buy, base qty for a sell.

    `price` is the limit price, or the current price for a market order.
    """
    if side is OrderSide.BUY:
        return buy_reserve(qty, price, fee_percent)
    return qty


def funds_shortfall(
    side: OrderSide,
    qty: Decimal,
    price: Decimal,
    fee_percent: Decimal,
    *,
    free_base: Decimal,
    free_quote: Decimal,
) -> Decimal:
    """How much is missing to place the order (0 when it can be placed)."""
    needed = required_funds(side, qty, price, fee_percent)
    free = free_quote if side is OrderSide.BUY else free_base
    return max(needed - free, Decimal(0))


def lock_for_remaining(order: MatchOrder, fee_percent: Decimal) -> Decimal:
    """Funds a resting limit order keeps locked for its unfilled part (quote for buys, base for sells)."""
    remaining = order.remaining_qty
    if remaining <= 0 or order.type is OrderType.MARKET:
        return Decimal(0)
    if order.side is OrderSide.SELL:
        return remaining
    if order.limit_price is None:
        raise ValueError("a limit order needs a limit price")
    return buy_reserve(remaining, order.limit_price, fee_percent)


def split_symbol(symbol: str) -> tuple[str, str]:
    """("BTC", "USDT") from "BTC/USDT" (a ":SETTLE" suffix is ignored: paper is spot)."""
    pair = symbol.split(":", 1)[0]
    base, sep, quote = pair.partition("/")
    if not sep or not base or not quote:
        raise ValueError(f"not a unified symbol: {symbol!r}")
    return base, quote
