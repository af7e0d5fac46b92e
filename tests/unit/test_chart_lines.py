"""The group chart's lines and the price history's thinning: pure rules, hand-checked values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trading.core.chart import ChartLeg, Marker, chart_lines, sorted_markers, trade_marker_kind
from trading.core.price_history import samples_due
from trading.core.types import Side, TpMode

D = Decimal
T = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _leg(
    index: int, price: str, state: str = "open", qty: str = "0", fill: str | None = None, **kw
) -> ChartLeg:
    values = {"tp_percent": D("1"), "tp_price": None, "pyramid_tp": None}
    values.update(kw)
    return ChartLeg(0, index, state, D(price), D(qty), D(fill) if fill else None, **values)


SHORT_LEGS = [
    _leg(0, "100", "filled", qty="2", fill="100"),
    _leg(1, "101", "filled", qty="1", fill="103"),
    _leg(2, "102"),
    _leg(3, "103", "skipped"),
]


def test_chart_lines_skip_legs_that_never_rest_on_the_book() -> None:
    lines = chart_lines(Side.SHORT, TpMode.LEG, D("1"), SHORT_LEGS, None)
    assert [line.label for line in lines if line.kind == "leg"] == ["P0 DCA 0", "P0 DCA 1", "P0 DCA 2"]


def test_chart_leg_targets_of_a_short_are_below_each_fill() -> None:
    lines = chart_lines(Side.SHORT, TpMode.LEG, D("1"), SHORT_LEGS, None)
    assert {line.label: line.price for line in lines if line.kind == "tp"} == {
        "TP P0 DCA 0": D("99"),  # 100 × 0.99
        "TP P0 DCA 1": D("101.97"),  # 103 × 0.99
    }
    # (2 × 100 + 1 × 103) ÷ 3 = 101
    assert [(line.label, line.price) for line in lines if line.kind == "avg"] == [("Avg entry", D("101"))]


def test_chart_hybrid_draws_leg_targets_and_the_aggregate_target() -> None:
    lines = chart_lines(Side.SHORT, TpMode.HYBRID, D("2"), SHORT_LEGS, D("110"))
    targets = {line.label: line.price for line in lines if line.kind == "tp"}
    assert targets["Aggregate TP"] == D("98.98")  # 101 × 0.98
    assert len(targets) == 3
    assert [(line.label, line.price) for line in lines if line.kind == "stop"] == [("Stop", D("110"))]


def test_chart_aggregate_mode_follows_a_pyramids_own_take_profit() -> None:
    legs = [
        _leg(0, "100", "filled", qty="1", fill="100"),
        _leg(1, "99", "filled", qty="1", fill="99", pyramid_tp=D("105")),
    ]
    lines = chart_lines(Side.LONG, TpMode.AGGREGATE, D("1"), legs, None)
    targets = {line.label: line.price for line in lines if line.kind == "tp"}
    # DCA1 follows its pyramid's TP; the aggregate covers only DCA0: 100 × 1.01.
    assert targets == {"TP P0 DCA 1": D("105"), "Aggregate TP": D("101")}


def test_chart_markers_are_in_time_order_entries_before_exits() -> None:
    tp = Marker(T, D("2"), "tp", "")
    entry = Marker(T, D("1"), "entry", "")
    early = Marker(T - timedelta(seconds=1), D("3"), "fill", "")
    assert sorted_markers([tp, entry, early]) == [early, entry, tp]
    assert (trade_marker_kind("tp_group"), trade_marker_kind("risk")) == ("tp", "exit")


def test_price_samples_are_due_once_per_interval_per_market() -> None:
    prices = {"a": D("1"), "b": D("2"), "c": D("3")}
    latest = {"a": T - timedelta(seconds=15), "b": T - timedelta(seconds=14)}
    assert samples_due(prices, latest, T, timedelta(seconds=15)) == {"a": D("1"), "c": D("3")}
    # A clock that went back records nothing until it passes the latest sample again.
    assert samples_due({"a": D("1")}, {"a": T + timedelta(seconds=5)}, T, timedelta(seconds=15)) == {}
