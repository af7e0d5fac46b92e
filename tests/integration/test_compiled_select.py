"""A compiled lookup (trading/compiled.py) answers exactly what its queryset's `.first()`
answers, on whichever database the suite runs, and compiles once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict

from exchanges.models import MarketRule
from trading.compiled import CompiledSelect
from trading.core.clientid import Purpose as P
from trading.engine import dispatch, markets, queueing
from trading.engine.context import EngineContext
from trading.models import GroupStatus, OrderState, PositionGroup, QueueEntry
from trading.models.groups import OPEN_STATUSES

from ..factories import (
    ExchangeAccountFactory,
    MarketRuleFactory,
    OrderFactory,
    PositionGroupFactory,
    QueueEntryFactory,
    SignalFactory,
)

pytestmark = pytest.mark.django_db


def same_row(found, expected) -> bool:
    """The same row with the same values, converted alike (Decimal, aware datetimes)."""
    if found is None or expected is None:
        return found is expected
    fields = [f.attname for f in type(expected)._meta.concrete_fields]
    return type(found) is type(expected) and all(
        getattr(found, name) == getattr(expected, name)
        and type(getattr(found, name)) is type(getattr(expected, name))
        for name in fields
    )


@pytest.fixture
def groups() -> list[PositionGroup]:
    """Two accounts; on one market a closed group beside the live one; every open status once."""
    first, second = ExchangeAccountFactory(), ExchangeAccountFactory(label="second")
    made = [
        PositionGroupFactory(account=first, symbol="BTC/USDT", timeframe="15", status=GroupStatus.CLOSED),
        PositionGroupFactory(account=first, symbol="BTC/USDT", timeframe="15", fees_paid=Decimal("0.0123")),
        PositionGroupFactory(account=second, symbol="BTC/USDT", timeframe="15", status=GroupStatus.CLOSING),
        PositionGroupFactory(account=first, symbol="ETH/USDT", timeframe="60", status=GroupStatus.ACTIVE),
        PositionGroupFactory(account=first, symbol="SOL/USDT", timeframe="5", status=GroupStatus.WAITING),
        PositionGroupFactory(account=second, symbol="SOL/USDT", timeframe="5", status=GroupStatus.CLOSED),
    ]
    return made


def test_the_live_group_is_the_one_the_queryset_finds_for_every_market(groups) -> None:
    markets = {(g.account_id, g.symbol, g.timeframe) for g in groups} | {
        (groups[0].account_id, "XRP/USDT", "15")
    }
    found_any = 0
    for account_id, symbol, timeframe in sorted(markets):
        expected = PositionGroup.objects.filter(
            account_id=account_id, symbol=symbol, timeframe=timeframe, status__in=OPEN_STATUSES
        ).first()
        found = queueing.live_group(account_id, symbol, timeframe)
        assert same_row(found, expected), (account_id, symbol, timeframe)
        found_any += found is not None
    assert found_any == 4  # the closed groups and the unknown market find nothing


def test_the_queued_entry_is_the_one_the_queryset_finds() -> None:
    entry = QueueEntryFactory(signal=SignalFactory(symbol="ETH/USDT", timeframe="60"))
    QueueEntryFactory(account=entry.account, signal=SignalFactory(symbol="ETH/USDT", timeframe="15"))

    for timeframe in ("60", "15", "240"):
        expected = QueueEntry.objects.filter(
            account=entry.account, symbol="ETH/USDT", timeframe=timeframe
        ).first()
        assert same_row(queueing.queued_entry(entry.account_id, "ETH/USDT", timeframe), expected)
    assert queueing.queued_entry(entry.account_id, "ETH/USDT", "60").pk == entry.pk


def test_a_lookup_is_compiled_once_however_often_it_is_asked(groups) -> None:
    built = []

    def build(account_id: int, symbol: str):
        built.append((account_id, symbol))
        return PositionGroup.objects.filter(account_id=account_id, symbol=symbol)

    lookup = CompiledSelect(build, -1, "(symbol)")
    for group in groups:
        lookup.first(group.account_id, group.symbol)

    assert built == [(-1, "(symbol)")]


def test_a_placeholder_the_query_does_not_carry_is_refused_when_compiled() -> None:
    lookup = CompiledSelect(
        lambda account_id, symbol: PositionGroup.objects.filter(account_id=account_id), -1, "x"
    )

    with pytest.raises(ValueError, match="placeholder 'x' appears 0 times"):
        lookup.first(1, "BTC/USDT")


@pytest.mark.parametrize(
    "values, message",
    [((1,), "expected 2 values"), (("1", "BTC/USDT"), "expected int"), ((True, "BTC/USDT"), "expected int")],
)
def test_values_of_another_kind_are_refused(values, message) -> None:
    lookup = CompiledSelect(
        lambda account_id, symbol: PositionGroup.objects.filter(account_id=account_id, symbol=symbol),
        -1,
        "(symbol)",
    )

    with pytest.raises(TypeError, match=message):
        lookup.first(*values)


def test_only_int_and_str_placeholders_are_accepted() -> None:
    with pytest.raises(TypeError, match="placeholders are int or str"):
        CompiledSelect(lambda price: PositionGroup.objects.filter(fees_paid=price), Decimal("1"))


def test_the_result_is_a_usable_model_instance(groups) -> None:
    live = queueing.live_group(groups[1].account_id, "BTC/USDT", "15")
    live.pyramid_count = 2
    live.save(update_fields=["pyramid_count"])  # an update, not an insert: it came from the database

    assert PositionGroup.objects.get(pk=groups[1].pk).pyramid_count == 2
    assert model_to_dict(live)["account"] == groups[1].account_id


@pytest.mark.parametrize("field", ["symbol", "exchange_symbol"])
def test_a_market_rule_is_the_one_the_queryset_finds(field) -> None:
    first, second = ExchangeAccountFactory(), ExchangeAccountFactory(label="second")
    for account in (first, second):
        MarketRuleFactory(account=account, symbol="BTC/USDT", exchange_symbol="BTCUSDT")
        MarketRuleFactory(account=account, symbol="ETH/USDT", exchange_symbol="ETHUSDT")
    asked = {"symbol": ("BTC/USDT", "ETH/USDT", "XRP/USDT"), "exchange_symbol": ("BTCUSDT", "ETHUSDT", "X")}

    for account in (first, second):
        for value in asked[field]:
            expected = (
                MarketRule.objects.filter(account_id=account.pk, **{field: value}).order_by("id").first()
            )
            assert same_row(markets.rule_row(EngineContext(), account.pk, field, value), expected)
    assert markets.rule_row(EngineContext(), second.pk, field, asked[field][1]).account_id == second.pk


@pytest.mark.parametrize("urgent_only", [False, True])
def test_the_send_queue_lists_what_its_queryset_lists_in_its_order(groups, urgent_only) -> None:
    """Every purpose, queued or not, on two accounts: the same rows, values and ranks, best first."""
    first, second = groups[1], groups[2]
    for group in (first, second):
        for n, purpose in enumerate([P.DCA, P.ENTRY, P.TP_LEG, P.EXIT, P.DCA, P.RISK, P.REDUCE, P.TP_GROUP]):
            OrderFactory(
                group=group, purpose=purpose.value, state=OrderState.QUEUED, qty=Decimal(f"0.00{n + 1}")
            )
        OrderFactory(group=group, purpose=P.EXIT.value, state=OrderState.OPEN)  # at the venue: not queued
    for group in (first, second):
        expected = list(dispatch._queue(group.account_id, urgent_only))

        found = dispatch._queued(group.account_id, urgent_only)

        assert [order.pk for order in found] == [order.pk for order in expected]
        assert all(same_row(a, b) and a.rank == b.rank for a, b in zip(found, expected, strict=True))
    urgent = {P(order.purpose) for order in dispatch._queued(first.account_id, True)}
    assert urgent == {
        P.EXIT,
        P.RISK,
        P.TP_LEG,
        P.TP_GROUP,
        P.REDUCE,
        P.ENTRY,
    }  # every leg but the resting DCAs
