"""Invariants of the pure core that must hold for any input, checked with hypothesis."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from trading.core.clientid import Purpose, client_order_id, parse_client_order_id
from trading.core.ladder import build_ladder
from trading.core.precision import fits, floor_qty, order_violations, round_price
from trading.core.sizing import PyramidSize, leg_quantity
from trading.core.takeprofit import OpenLeg, evaluate_take_profit, leg_tp_price
from trading.core.types import DcaLevel, MarketRules, OrderSide, Side, TpMode

TICKS = [D(t) for t in ("0.00000001", "0.0001", "0.01", "0.1", "0.5", "1")]
STEPS = [D(s) for s in ("0.00001", "0.001", "0.01", "0.1", "1")]

prices = st.decimals(
    min_value=D("0.0001"), max_value=D(100000), places=4, allow_nan=False, allow_infinity=False
)
sides = st.sampled_from(list(Side))


@st.composite
def market_rules(draw: st.DrawFn) -> MarketRules:
    step = draw(st.sampled_from(STEPS))
    return MarketRules(
        symbol="X/USDT",
        tick_size=draw(st.sampled_from(TICKS)),
        step_size=step,
        min_qty=step * draw(st.integers(0, 20)),
        min_notional=D(draw(st.sampled_from([0, 1, 5, 10]))),
    )


@st.composite
def dca_levels(draw: st.DrawFn) -> list[DcaLevel]:
    count = draw(st.integers(1, 8))
    # Weights in 0.01% units: cut 10000 at count-1 distinct points, so every share is positive.
    cuts = sorted(draw(st.lists(st.integers(1, 9999), min_size=count - 1, max_size=count - 1, unique=True)))
    bounds = [0, *cuts, 10000]
    weights = [D(bounds[i + 1] - bounds[i]) / 100 for i in range(count)]
    gap = D(0)
    levels = []
    for i in range(count):
        if i:
            gap -= D(draw(st.integers(0, 500))) / 100  # up to 5% deeper per leg, 35% at most
        levels.append(DcaLevel(gap, weights[i], D(draw(st.integers(1, 500))) / 100))
    return levels


@st.composite
def pyramid_sizes(draw: st.DrawFn) -> PyramidSize:
    if draw(st.booleans()):
        return PyramidSize(draw(st.decimals(D("0.01"), D(100000), places=2)), "quote")
    return PyramidSize(draw(st.decimals(D("0.00001"), D(1000), places=5)), "base")


@settings(deadline=None)
@given(price=prices, tick=st.sampled_from(TICKS))
def test_buy_price_rounds_down_and_sell_up_within_one_tick(price: D, tick: D) -> None:
    rules = MarketRules("X/USDT", tick_size=tick, step_size=D("0.001"))
    buy = round_price(price, OrderSide.BUY, rules)
    sell = round_price(price, OrderSide.SELL, rules)
    assert buy <= price < buy + tick
    assert sell - tick < price <= sell
    assert buy % tick == 0 and sell % tick == 0


@settings(deadline=None)
@given(qty=st.decimals(D(0), D(10000), places=8), step=st.sampled_from(STEPS))
def test_quantity_floors_to_step_within_one_step(qty: D, step: D) -> None:
    floored = floor_qty(qty, MarketRules("X/USDT", tick_size=D("0.01"), step_size=step))
    assert floored <= qty < floored + step
    assert floored % step == 0


@settings(deadline=None)
@given(side=sides, base=prices, size=pyramid_sizes(), levels=dca_levels(), rules=market_rules())
def test_ladder_invariants_hold_for_any_ladder(
    side: Side, base: D, size: PyramidSize, levels: list[DcaLevel], rules: MarketRules
) -> None:
    assume(base * D("0.6") > rules.tick_size)  # every leg price stays above zero on the tick
    plan = build_ladder(side, base, size, levels, rules)

    for leg in plan.legs:
        assert leg.price <= base if side is Side.LONG else leg.price >= base
    if not plan.ok:
        # Refused only when DCA0 carrying the whole pyramid is still too small for the market.
        price = round_price(base, side.entry_order_side, rules)
        whole = floor_qty(leg_quantity(size, D(100), price), rules)
        assert {v.code for v in order_violations(price, whole, rules)} & {"min_qty", "min_notional"}
        assert plan.active_legs == ()
        return

    active = plan.active_legs
    assert active[0].index == 0  # DCA0 is the entry and is never merged away
    assert sum(leg.weight_percent for leg in active) == 100
    for leg in active:
        assert fits(leg.price, leg.qty, rules), order_violations(leg.price, leg.qty, rules)
    for leg in plan.legs:
        if leg.skipped:
            assert (leg.qty, leg.weight_percent) == (0, 0)
            assert leg.merged_into is not None and not plan.legs[leg.merged_into].skipped
    if size.unit == "quote":
        assert sum(leg.qty * leg.price for leg in active) <= size.amount
    else:
        assert plan.total_qty <= size.amount
    assert len(plan.adjustments) == sum(leg.skipped for leg in plan.legs)


@settings(deadline=None)
@given(side=sides, fill=prices, tp=st.decimals(D("0.01"), D(50), places=2))
def test_tp_price_sits_on_the_profit_side_of_the_fill(side: Side, fill: D, tp: D) -> None:
    target = leg_tp_price(side, fill, tp)
    assert target > fill if side is Side.LONG else target < fill


@settings(deadline=None)
@given(side=sides, fill=prices, tp=st.decimals(D("0.01"), D(50), places=2))
def test_leg_tp_triggers_exactly_at_and_beyond_its_price(side: Side, fill: D, tp: D) -> None:
    leg = OpenLeg(1, D(1), fill, tp)
    target = leg_tp_price(side, fill, tp)
    before = target - fill / 1000 if side is Side.LONG else target + fill / 1000
    assert evaluate_take_profit(side, [leg], target, TpMode.LEG).legs == (1,)
    assert evaluate_take_profit(side, [leg], before, TpMode.LEG).legs == ()


@settings(deadline=None)
@given(
    namespace=st.text(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=8
    ),
    group=st.integers(0, 10**9),
    pyramid=st.none() | st.integers(0, 999),
    leg=st.none() | st.integers(0, 99),
    purpose=st.sampled_from(list(Purpose)),
    attempt=st.integers(0, 99),
)
def test_client_id_round_trips(
    namespace: str, group: int, pyramid: int | None, leg: int | None, purpose: Purpose, attempt: int
) -> None:
    cid = client_order_id(namespace, group, pyramid, leg, purpose, attempt)
    assert len(cid) <= 32 and cid.isascii() and cid.isalnum()
    parsed = parse_client_order_id(cid)
    assert parsed == (namespace, group, pyramid, leg, purpose, attempt)
