from __future__ import annotations

from decimal import Decimal as D

import pytest

from trading.core.sizing import PyramidSize, leg_quantity, pyramid_size, size_in_quote
from trading.core.types import SizeType


@pytest.mark.parametrize("size_type", [SizeType.BASE, SizeType.CONTRACTS])
def test_base_and_contract_sizes_are_base_quantities(size_type: SizeType) -> None:
    assert pyramid_size(D("0.5"), size_type, D(100)) == PyramidSize(D("0.5"), "base")


def test_quote_size_is_a_quote_amount() -> None:
    assert pyramid_size(D(250), SizeType.QUOTE, D(100)) == PyramidSize(D(250), "quote")


@pytest.mark.parametrize("order_size", [None, D(0), D(-1)])
def test_missing_or_non_positive_size_falls_back_to_default_quote(order_size: D | None) -> None:
    assert pyramid_size(order_size, SizeType.BASE, D(100)) == PyramidSize(D(100), "quote")


def test_base_leg_quantity_is_weight_share_of_amount() -> None:
    assert leg_quantity(PyramidSize(D(2), "base"), D(25), D(43000)) == D("0.5")


def test_quote_leg_quantity_divides_weight_share_by_price() -> None:
    assert leg_quantity(PyramidSize(D(500), "quote"), D(20), D(40)) == D("2.5")


def test_quote_leg_quantity_refuses_non_positive_price() -> None:
    with pytest.raises(ValueError, match="price must be positive"):
        leg_quantity(PyramidSize(D(500), "quote"), D(20), D(0))


def test_size_in_quote_values_base_at_price_and_keeps_quote_as_is() -> None:
    assert size_in_quote(PyramidSize(D("0.01"), "base"), D(43000)) == D(430)
    assert size_in_quote(PyramidSize(D(500), "quote"), D(43000)) == D(500)
