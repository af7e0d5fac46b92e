"""Sizing: tv.order_size read per position_size_type, else grid_strategy.default_pyramid_size_quote."""

from __future__ import annotations

import pytest

from ..conftest import configure
from .engine_world import D, group_of, legs_of, pyramid_of

pytestmark = pytest.mark.django_db


def test_quote_size_is_spent_across_legs_by_weight(driver):
    driver.send(price="43000", size="1000", size_type="quote")

    group = group_of()
    pyramid = pyramid_of(group, 0)
    assert (pyramid.size_amount, pyramid.size_unit) == (D("1000"), "quote")
    # 20 % of 1000 = 200 USDT per leg: 200/43000, 200/42785, 200/42570, 200/42355, 200/42140 floored.
    assert [leg.qty for leg in legs_of(group)] == [
        D("0.00465"),
        D("0.00467"),
        D("0.00469"),
        D("0.00472"),
        D("0.00474"),
    ]


def test_base_size_is_a_base_asset_quantity(driver):
    driver.send(price="43000", size="0.01", size_type="base")

    group = group_of()
    pyramid = pyramid_of(group, 0)
    assert (pyramid.size_amount, pyramid.size_unit) == (D("0.01"), "base")
    assert [leg.qty for leg in legs_of(group)] == [D("0.002")] * 5


def test_contracts_count_as_base_quantity(driver):
    driver.send(price="43000", size="0.015", size_type="contracts")

    group = group_of()
    assert pyramid_of(group, 0).size_unit == "base"
    assert [leg.qty for leg in legs_of(group)] == [D("0.003")] * 5


def test_missing_size_uses_default_pyramid_size_quote(driver):
    configure(grid_strategy={"default_pyramid_size_quote": "250"})
    driver.send(price="43000", size=None)

    group = group_of()
    pyramid = pyramid_of(group, 0)
    assert (pyramid.size_amount, pyramid.size_unit) == (D("250"), "quote")
    # 50 USDT per leg: 50/43000, 50/42785, 50/42570, 50/42355, 50/42140 floored to 0.00001.
    assert [leg.qty for leg in legs_of(group)] == [
        D("0.00116"),
        D("0.00116"),
        D("0.00117"),
        D("0.00118"),
        D("0.00118"),
    ]
