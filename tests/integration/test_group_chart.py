"""`GET /api/v1/groups/{id}/chart`: a paper group's chart from the prices the engine received, with
its leg prices, take-profit targets, average entry and stop as lines and its fills and closes as
markers. Values checked by hand against the default ladder (gaps 0 / -0.5 / -1 / -1.5 / -2 %, TP
1 / 0.5 / 2 / 1.5 / 1 %, 20 % of a 500 USDT order each)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.factories import ApiTokenFactory
from trading.models import PositionGroup

from ..conftest import configure
from .engine_world import group_of

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}")


def _chart(api: Client, group: PositionGroup) -> dict[str, Any]:
    response = api.get(f"/api/v1/groups/{group.pk}/chart")
    assert response.status_code == 200, response.content
    return response.json()


def _lines(chart: dict[str, Any], kind: str) -> dict[str, str]:
    return {line["label"]: line["price"] for line in chart["lines"] if line["kind"] == kind}


def _two_legs_filled(driver, clock) -> PositionGroup:
    """DCA0 fills at 42900 (the alert said 43000), DCA1 at its limit 42785 when the price dips."""
    driver.price("BTCUSDT", "42900")
    driver.send(price="43000")
    clock.advance(seconds=20)
    driver.price("BTCUSDT", "42700")
    return group_of()


def test_chart_draws_leg_prices_leg_targets_and_the_average_entry(driver, clock, api) -> None:
    chart = _chart(api, _two_legs_filled(driver, clock))
    assert (chart["symbol"], chart["tick"], chart["kind"], chart["candles"]) == (
        "BTC/USDT",
        "0.01",
        "points",
        [],
    )
    # Limits: 43000 × (1 − gap): 43000, 42785, 42570, 42355, 42140.
    assert _lines(chart, "leg") == {
        "P0 DCA 0": "43000", "P0 DCA 1": "42785", "P0 DCA 2": "42570", "P0 DCA 3": "42355", "P0 DCA 4": "42140",
    }  # fmt: skip
    # Each open leg's own target: 42900 × 1.01 = 43329; 42785 × 1.005 = 42998.925.
    assert _lines(chart, "tp") == {"TP P0 DCA 0": "43329", "TP P0 DCA 1": "42998.925"}
    # (0.00232 × 42900 + 0.00233 × 42785) ÷ 0.00465 = 199.21705 ÷ 0.00465
    assert D(_lines(chart, "avg")["Avg entry"]) == (D("199.21705") / D("0.00465")).quantize(D("1E-12"))


def test_chart_points_are_the_received_prices_thinned(driver, clock, api) -> None:
    group = _two_legs_filled(driver, clock)
    clock.advance(seconds=5)
    driver.price("BTCUSDT", "42750")  # 5 s after the last sample: not recorded
    chart = _chart(api, group)
    prices = [point["price"] for point in chart["points"]]
    assert prices == ["42900", "42700"]
    times = [point["time"] for point in chart["points"]]
    assert times[1] - times[0] == 20 and times[1] == int(clock().timestamp()) - 5


def test_chart_markers_show_entry_fill_and_take_profit_in_time_order(driver, clock, api) -> None:
    group = _two_legs_filled(driver, clock)
    clock.advance(seconds=30)
    driver.price("BTCUSDT", "43000")  # DCA1's target 42998.925 is reached, DCA0's 43329 is not
    markers = _chart(api, group)["markers"]
    assert [(m["kind"], m["price"]) for m in markers] == [
        ("entry", "42900"),
        ("fill", "42785"),
        ("tp", "43000"),
    ]
    assert markers[0]["text"] == "P0 DCA 0 filled 0.00232" and markers[1]["text"] == "P0 DCA 1 filled 0.00233"
    assert markers[2]["text"].startswith("Leg TP +")
    assert [m["time"] for m in markers] == sorted(m["time"] for m in markers)


def test_chart_of_an_aggregate_group_draws_one_target_and_the_stop(driver, clock, api) -> None:
    configure(grid_strategy={"tp_mode": "aggregate"})
    driver.price("BTCUSDT", "42900")
    driver.send(price="43000", risk={"stop_loss": "41000"})
    chart = _chart(api, group_of())
    # One open leg (DCA0 at 42900): the aggregate target is 42900 × (1 + aggregate % ÷ 100).
    percent = group_of().aggregate_tp_percent
    assert _lines(chart, "tp") == {"Aggregate TP": str((D("42900") * (1 + percent / 100)).normalize())}
    assert _lines(chart, "stop") == {"Stop": "41000"}


def test_chart_exit_marker_for_an_exit_signal(driver, clock, api) -> None:
    group = _two_legs_filled(driver, clock)
    clock.advance(seconds=30)
    driver.send(intent="exit", side=None, price="42600")
    kinds = [m["kind"] for m in _chart(api, group)["markers"]]
    assert kinds[:2] == ["entry", "fill"] and kinds[-1] == "exit"


def test_chart_of_an_unknown_group_is_a_404_and_it_needs_a_token_or_a_session(
    driver, clock, api, admin_client
) -> None:
    response = api.get("/api/v1/groups/987654/chart")
    assert response.status_code == 404 and response.json() == {"detail": "group #987654 not found"}
    group = _two_legs_filled(driver, clock)
    assert Client().get(f"/api/v1/groups/{group.pk}/chart").status_code == 401
    assert admin_client.get(f"/api/v1/groups/{group.pk}/chart").json()["symbol"] == "BTC/USDT"  # the console
