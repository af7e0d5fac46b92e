"""Unrealised PnL and loss % of a group (issue 4): open filled quantity only, fees paid deducted."""

from __future__ import annotations

from decimal import Decimal as D

from risk.core import LegPosition, close_usd, group_pnl
from trading.core.types import Side

# 1 @ 100 (fee 0.10) and 2 @ 90 (fee 0.18): cost 100 + 180 = 280, fees 0.28.
LEGS = (
    LegPosition(leg_id=1, open_qty=D(1), avg_fill_price=D(100), entry_fees=D("0.10")),
    LegPosition(leg_id=2, open_qty=D(2), avg_fill_price=D(90), entry_fees=D("0.18")),
)


def test_long_pnl_is_price_minus_fill_times_qty_minus_fees() -> None:
    # (95 - 100) x 1 + (95 - 90) x 2 = 5; minus fees 0.28 -> 4.72; 4.72 / 280 x 100 = 1.6857...%
    pnl = group_pnl(Side.LONG, LEGS, D(95))
    assert pnl is not None
    assert pnl.unrealised_usd == D("4.72")
    assert pnl.cost_usd == D(280)
    assert pnl.open_qty == D(3)
    assert pnl.loss_percent == D("4.72") / D(280) * 100
    assert round(pnl.loss_percent, 4) == D("1.6857")


def test_short_pnl_mirrors_the_long_and_still_pays_fees() -> None:
    # (100 - 95) x 1 + (90 - 95) x 2 = -5; minus fees 0.28 -> -5.28; -5.28 / 280 x 100 = -1.8857...%
    pnl = group_pnl(Side.SHORT, LEGS, D(95))
    assert pnl is not None
    assert pnl.unrealised_usd == D("-5.28")
    assert round(pnl.loss_percent, 4) == D("-1.8857")


def test_loss_percent_is_relative_to_the_cost_of_the_open_quantity() -> None:
    # 3 @ 120 at 80: -120 on a cost of 360 -> -33.33...%
    pnl = group_pnl(Side.LONG, (LegPosition(1, D(3), D(120), D(0)),), D(80))
    assert pnl is not None
    assert (pnl.unrealised_usd, pnl.cost_usd) == (D(-120), D(360))
    assert round(pnl.loss_percent, 2) == D("-33.33")


def test_closed_legs_do_not_count() -> None:
    legs = (*LEGS, LegPosition(leg_id=3, open_qty=D(0), avg_fill_price=D(50), entry_fees=D(0)))
    assert group_pnl(Side.LONG, legs, D(95)) == group_pnl(Side.LONG, LEGS, D(95))


def test_a_group_without_a_price_or_open_quantity_is_not_evaluable() -> None:
    assert group_pnl(Side.LONG, LEGS, None) is None
    assert group_pnl(Side.LONG, (LegPosition(1, D(0), D(100), D(0)),), D(95)) is None
    assert group_pnl(Side.LONG, (), D(95)) is None


def test_close_usd_charges_the_closed_quantitys_share_of_entry_fees() -> None:
    # Half of leg 2 at 95: (95 - 90) x 1 - 0.18 x 1/2 = 4.91. Both legs in full equals the group PnL.
    assert close_usd(Side.LONG, LEGS, [(2, D(1))], D(95)) == D("4.91")
    assert close_usd(Side.LONG, LEGS, [(1, D(1)), (2, D(2))], D(95)) == D("4.72")
    assert close_usd(Side.SHORT, LEGS, [(2, D(1))], D(95)) == D("-5.09")
