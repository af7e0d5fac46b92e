"""Which prices can trigger something on a market, read from the replay's database.

The replay skips a price point when it lies strictly inside the market's quiet band: above every
resting buy limit and stop, below every resting sell limit and take-profit target (each with one
tick of margin, since the paper exchange puts a price on the tick grid before matching). The band is
None, meaning "price every point", whenever something fills at any price: a market order, a
taker's unfilled rest, a group still opening or closing.
"""

from __future__ import annotations

from decimal import Decimal

from trading.core.takeprofit import QuietBand, quiet_band
from trading.core.types import OrderSide, Side, TpMode

_RESTING = "open"


def market_band(account_id: int, symbol: str) -> QuietBand | None:
    """The band of prices that fill no order and close nothing on (account, symbol), or None."""
    from exchanges.paper_models import PaperOrder
    from trading.engine.takeprofit import TP_STATUSES, open_legs_by_group
    from trading.models import GroupStatus, PositionGroup
    from trading.models.groups import OPEN_STATUSES

    groups = list(
        PositionGroup.objects.filter(
            account_id=account_id, symbol=symbol, status__in=OPEN_STATUSES
        ).values_list("pk", "status", "side", "tp_mode", "aggregate_tp_percent", "stop_loss")
    )
    if any(status in (GroupStatus.WAITING, GroupStatus.CLOSING) for _, status, *_ in groups):
        return None
    band = QuietBand()
    orders = PaperOrder.objects.filter(account_id=account_id, symbol=symbol, status=_RESTING)
    for side, price, rested in orders.values_list("side", "price", "rested"):
        if price is None or not rested:
            return None  # fills at whatever the next price is
        band = band.narrowed(below=price) if side == OrderSide.BUY else band.narrowed(above=price)
    legs = open_legs_by_group({(account_id, symbol)})
    for pk, status, side, mode, aggregate, stop in groups:
        if status in TP_STATUSES:
            group_band = quiet_band(Side(side), legs.get(pk, []), TpMode(mode), aggregate, stop_loss=stop)
            band = band.narrowed(group_band.below, group_band.above)
    return band


def tick_size(adapter, symbol: str) -> Decimal | None:
    """The market's tick (the band's margin: a price a tick inside the band stays inside on the grid)."""
    rules = adapter.load_markets().rules.get(symbol)
    return rules.tick_size if rules is not None else None
