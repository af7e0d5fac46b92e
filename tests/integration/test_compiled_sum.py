"""A compiled sum (trading/compiled.py) answers exactly what its queryset's `.aggregate()` answers
(value and type), on whichever database the suite runs: the funds check's four reservations over
long and short groups, two quote assets, two accounts, unsent and sent orders, and nothing at all."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from trading.compiled import CompiledSum
from trading.engine import admission
from trading.models import DcaLeg, GroupStatus, OrderState

from ..factories import (
    DcaLegFactory,
    ExchangeAccountFactory,
    OrderFactory,
    PositionGroupFactory,
    PyramidFactory,
    fill_leg,
)

pytestmark = pytest.mark.django_db

D = Decimal


def _filled_leg(group, price: str, qty: str, closed: str = "0") -> DcaLeg:
    pyramid = PyramidFactory(group=group, index=group.pyramids.count())
    leg = DcaLegFactory(pyramid=pyramid, qty=D(qty))
    fill_leg(leg, D(price))
    leg.closed_qty = D(closed)
    leg.save()
    return leg


@pytest.fixture
def world():
    """Two accounts; on the first, longs and shorts with filled legs on USDT and BTC quotes (one
    partly closed, one group closed), unsent and sent entry orders on both sides; the second
    account holds rows of its own that must not count."""
    first, second = ExchangeAccountFactory(), ExchangeAccountFactory(label="second")
    for account in (first, second):
        long_btc = PositionGroupFactory(account=account, symbol="BTC/USDT", side="long")
        short_eth = PositionGroupFactory(account=account, symbol="ETH/USDT", side="short")
        short_eth_btc = PositionGroupFactory(account=account, symbol="ETH/BTC", side="short")
        closed = PositionGroupFactory(
            account=account, symbol="BTC/USDT", side="short", status=GroupStatus.CLOSED
        )
        _filled_leg(long_btc, "43000.5", "0.00123", closed="0.0001")
        _filled_leg(long_btc, "42000.25", "0.0021")
        _filled_leg(short_eth, "2000.123", "0.3333", closed="0.1")
        _filled_leg(short_eth_btc, "0.05123", "1.5")
        _filled_leg(closed, "43000", "1")
        for state, side, symbol in [
            (OrderState.QUEUED, "buy", "BTC/USDT"),
            (OrderState.SUBMITTING, "buy", "SOL/USDT"),
            (OrderState.OPEN, "buy", "BTC/USDT"),  # at the venue: its balance holds it already
            (OrderState.QUEUED, "sell", "BTC/USDT"),
            (OrderState.QUEUED, "sell", "BTC/ETH"),
        ]:
            OrderFactory(
                group=long_btc, state=state, side=side, symbol=symbol, price=D("101.37"), qty=D("0.777")
            )
    return first


@pytest.mark.parametrize("name", ["_HELD", "_SELLING", "_OWED", "_BUYING"])
@pytest.mark.parametrize("asset", ["BTC", "ETH", "USDT", "XRP"])
def test_each_reservation_sums_exactly_what_its_queryset_aggregates(world, name, asset) -> None:
    compiled = getattr(admission, name)
    expected = compiled._build(world.pk, asset).aggregate(total=compiled._expression)["total"]

    total = compiled.total(world.pk, asset)

    assert total == expected
    assert type(total) is type(expected)


def test_the_reservations_count_what_they_should(world) -> None:
    """Not only equal to the ORM: the rows the funds check means (the second account's, the closed
    group's, and orders already at the venue are left out)."""
    assert admission._reserved_quote(world, "USDT") == (
        (D("0.3333") - D("0.1")) * D("2000.123")  # the open short's legs to buy back
        + D("0.777") * D("101.37") * 2  # two unsent buys on .../USDT
    )
    assert admission._reserved_base(world, "BTC") == (
        D("0.00123") - D("0.0001") + D("0.0021") + D("0.777") * 2  # the long's coins, two unsent sells
    )


def test_a_sum_over_no_rows_is_none_as_the_orms() -> None:
    account = ExchangeAccountFactory()

    assert admission._OWED.total(account.pk, "USDT") is None
    assert admission._reserved_quote(account, "USDT") == 0


def test_a_compiled_sum_runs_one_statement_of_the_orms_sql(world) -> None:
    compiled = CompiledSum(lambda pk: DcaLeg.objects.filter(group__account_id=pk), Sum("qty"), 0)
    compiled.total(world.pk)  # compiles, and checks itself against the ORM

    with CaptureQueriesContext(connection) as captured:
        compiled.total(world.pk)

    assert len(captured.captured_queries) == 1
    assert "SUM" in captured.captured_queries[0]["sql"]


def test_a_like_pattern_takes_its_value_escaped_as_the_orm_would(world) -> None:
    """A value with LIKE's own characters matches them literally, not as wildcards."""
    compiled = CompiledSum(
        lambda pk, quote: DcaLeg.objects.filter(group__account_id=pk, group__symbol__endswith=f"/{quote}"),
        Sum("qty"),
        0,
        "QUOTE",
    )
    assert compiled.total(world.pk, "USDT") is not None

    assert compiled.total(world.pk, "US_T") is None  # "_" is not "any one character"
    assert compiled.total(world.pk, "%") is None


def test_wrong_values_and_placeholders_are_refused_before_anything_is_sent(world) -> None:
    with pytest.raises(TypeError):
        CompiledSum(lambda s: DcaLeg.objects.filter(state=s), Sum("qty"), "not/plain")
    compiled = CompiledSum(lambda pk: DcaLeg.objects.filter(group__account_id=pk), Sum("qty"), 0)
    with CaptureQueriesContext(connection) as captured, pytest.raises(TypeError):
        compiled.total("1")
    assert captured.captured_queries == []


def test_a_placeholder_that_cannot_be_found_once_is_refused(world) -> None:
    twice = CompiledSum(lambda pk: DcaLeg.objects.filter(group__account_id=pk, pyramid__group__account_id=pk), Sum("qty"), 0)  # fmt: skip

    with pytest.raises(ValueError, match="appears 2 times"):
        twice.total(world.pk)
