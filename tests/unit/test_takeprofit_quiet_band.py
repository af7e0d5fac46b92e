"""`quiet_band` is exactly the set of prices where `evaluate_take_profit` triggers nothing.

The replay skips price points inside it (docs/replay.md), so a band too wide would drop a fill or a
take-profit, and one too narrow would only cost speed: both directions are checked.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trading.core.takeprofit import OpenLeg, QuietBand, evaluate_take_profit, quiet_band
from trading.core.types import Side, TpMode

D = Decimal

prices = st.decimals(min_value=D("50"), max_value=D("150"), places=2)
percents = st.decimals(min_value=D("0"), max_value=D("20"), places=2)


@st.composite
def open_legs(draw):
    count = draw(st.integers(min_value=0, max_value=4))
    return [
        OpenLeg(
            leg_id=n,
            open_qty=draw(st.sampled_from([D("0"), D("0.5"), D("1.25")])),
            avg_fill_price=draw(prices),
            tp_percent=draw(percents),
            tp_price=draw(st.none() | prices),
        )
        for n in range(count)
    ]


@settings(max_examples=400, deadline=None)
@given(
    side=st.sampled_from(list(Side)),
    legs=open_legs(),
    mode=st.sampled_from(list(TpMode)),
    aggregate=percents,
    stop=st.none() | prices,
    price=st.decimals(min_value=D("40"), max_value=D("200"), places=2),
)
def test_a_price_triggers_nothing_exactly_when_it_is_inside_the_quiet_band(
    side, legs, mode, aggregate, stop, price
):
    band = quiet_band(side, legs, mode, aggregate, stop_loss=stop)
    decision = evaluate_take_profit(side, legs, price, mode, aggregate, stop_loss=stop)
    fired = decision.close_group or bool(decision.legs)
    assert fired != band.holds(price), (band, decision)


def test_a_long_band_runs_from_the_stop_to_the_nearest_leg_target():
    legs = [
        OpenLeg(leg_id=1, open_qty=D("1"), avg_fill_price=D("100"), tp_percent=D("2")),
        OpenLeg(leg_id=2, open_qty=D("1"), avg_fill_price=D("95"), tp_percent=D("2")),
    ]
    band = quiet_band(Side.LONG, legs, TpMode.LEG, stop_loss=D("90"))
    assert band == QuietBand(below=D("90"), above=D("96.90"))


def test_a_short_band_in_aggregate_mode_ends_at_the_average_target():
    legs = [
        OpenLeg(leg_id=1, open_qty=D("1"), avg_fill_price=D("100"), tp_percent=D("1")),
        OpenLeg(leg_id=2, open_qty=D("3"), avg_fill_price=D("104"), tp_percent=D("1")),
    ]
    band = quiet_band(Side.SHORT, legs, TpMode.AGGREGATE, D("2"))
    assert band == QuietBand(below=D("103") * D("0.98"), above=None)


def test_the_margin_keeps_a_price_a_tick_away_from_either_edge():
    band = QuietBand(below=D("90"), above=D("110"))
    assert band.holds(D("90.02"), margin=D("0.01"))
    assert not band.holds(D("90.01"), margin=D("0.01"))
    assert not band.holds(D("109.99"), margin=D("0.01"))
