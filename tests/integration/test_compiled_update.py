"""A compiled update (trading/compiled.py) writes exactly what its queryset's `update()`, or the
instance's `save(update_fields=…)`, writes, with the ORM's own SQL, on whichever database the suite
runs. Each of the engine's compiled statements is checked by name."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from exchanges import paper_rows
from exchanges.paper_models import PaperBalance
from risk.engine import cycle
from trading.compiled import CompiledUpdate, save_fields
from trading.engine import fills, intake, orders, queueing
from trading.models import (
    DcaLeg,
    LegState,
    Order,
    OrderState,
    PositionGroup,
    QueueEntry,
    Signal,
    SignalStatus,
)

from ..factories import (
    T0,
    DcaLegFactory,
    ExchangeAccountFactory,
    OrderFactory,
    PositionGroupFactory,
    PyramidFactory,
    QueueEntryFactory,
    SignalFactory,
)

pytestmark = pytest.mark.django_db


def row_values(instance) -> dict:
    """Every column but the primary key, as read back from the database (value and type)."""
    fresh = type(instance).objects.get(pk=instance.pk)
    return {
        f.attname: (getattr(fresh, f.attname), type(getattr(fresh, f.attname)))
        for f in type(instance)._meta.concrete_fields
        if not f.primary_key
    }


def twin_signals() -> tuple[Signal, Signal]:
    made = [SignalFactory(status=SignalStatus.RECEIVED, processed_at=None) for _ in range(2)]
    Signal.objects.filter(pk=made[1].pk).update(received_at=made[0].received_at, fingerprint="twin")
    Signal.objects.filter(pk=made[0].pk).update(fingerprint="first")
    return made[0], made[1]


def same_but_fingerprint(first: Signal, second: Signal) -> bool:
    a, b = row_values(first), row_values(second)
    a.pop("fingerprint"), b.pop("fingerprint")
    return a == b


@pytest.mark.parametrize("with_group", [True, False], ids=["a group", "no group (NULL)"])
def test_a_signals_outcome_is_written_as_the_querysets_update_writes_it(with_group) -> None:
    by_orm, compiled = twin_signals()
    group = PositionGroupFactory() if with_group else None
    values = dict(
        status=SignalStatus.APPLIED,
        reason="opened group (pyramid 1/5)",
        group_id=group.pk if group else None,
        processed_at=T0 + timedelta(seconds=1, microseconds=250),
    )

    orm_rows = Signal.objects.filter(pk=by_orm.pk, status=SignalStatus.RECEIVED).update(**values)
    rows = intake._CLAIM_OUTCOME.run(compiled.pk, str(SignalStatus.RECEIVED), **values)

    assert (rows, orm_rows) == (1, 1)
    assert same_but_fingerprint(by_orm, compiled)


def test_a_signal_no_longer_in_the_expected_status_is_not_claimed() -> None:
    signal = SignalFactory(status=SignalStatus.APPLIED, reason="applied before")

    rows = intake._CLAIM_OUTCOME.run(
        signal.pk, str(SignalStatus.RECEIVED), status="ignored", reason="late", group_id=None, processed_at=T0
    )

    assert rows == 0
    assert Signal.objects.get(pk=signal.pk).reason == "applied before"


def test_a_replaced_queue_entrys_signal_is_marked_ignored_as_the_queryset_would() -> None:
    by_orm, compiled = twin_signals()
    values = dict(status=SignalStatus.IGNORED, reason="replaced in the queue by signal #9")

    Signal.objects.filter(pk=by_orm.pk).update(**values)
    queueing._SIGNAL_OUTCOME.run(compiled.pk, **values)

    assert same_but_fingerprint(by_orm, compiled)


@pytest.mark.parametrize(
    "update, values",
    [
        (fills._GROUP_FEES, {"fees_paid": Decimal("0.01234567")}),
        (cycle._RISK_TIMER, {"risk_timer_started_at": T0 + timedelta(minutes=3, microseconds=7)}),
        (cycle._RISK_TIMER, {"risk_timer_started_at": None}),
    ],
    ids=["fees paid", "risk timer started", "risk timer cleared (NULL)"],
)
def test_a_groups_column_is_written_as_the_querysets_update_writes_it(update, values) -> None:
    account = ExchangeAccountFactory()
    by_orm, compiled = (
        PositionGroupFactory(account=account, timeframe=tf, risk_timer_started_at=T0) for tf in ("5", "15")
    )

    PositionGroup.objects.filter(pk=by_orm.pk).update(**values)
    update.run(compiled.pk, **values)

    expected, found = row_values(by_orm), row_values(compiled)
    for made_apart in ("timeframe", "opened_at", "updated_at"):  # the factory's sequence; auto_now
        expected.pop(made_apart), found.pop(made_apart)
    assert found == expected
    assert found[next(iter(values))][0] == next(iter(values.values()))


def test_a_paper_balance_is_written_as_the_querysets_update_writes_it() -> None:
    account = ExchangeAccountFactory()
    by_orm, compiled = (PaperBalance.objects.create(account=account, asset=a) for a in ("USDT", "BTC"))
    values = dict(free=Decimal("9876.54321"), locked=Decimal("123.45679"))

    PaperBalance.objects.filter(pk=by_orm.pk).update(**values)
    paper_rows._BALANCE.run(compiled.pk, **values)

    assert PaperBalance.objects.get(pk=compiled.pk).free == values["free"]
    assert {k: v for k, v in row_values(compiled).items() if k != "asset"} == {
        k: v for k, v in row_values(by_orm).items() if k != "asset"
    }


@pytest.mark.parametrize("count", [1, 3])
def test_placed_paper_orders_get_the_venue_id_of_their_row_one_or_several(count) -> None:
    """One order (an entry's DCA0) takes the compiled UPDATE, several the ORM's bulk_update: the
    same id either way, written to its own row only."""
    from exchanges.paper_models import PaperOrder

    account = ExchangeAccountFactory()
    untouched = PaperOrder.objects.create(
        account=account, client_order_id="other", exchange_order_id="P-keep", symbol="BTC/USDT",
        side="buy", type="limit", qty=Decimal("1"), price=Decimal("1"), created_at=T0, updated_at=T0,
    )  # fmt: skip
    rows = [
        PaperOrder(
            account=account,
            client_order_id=f"c{n}",
            exchange_order_id="",
            symbol="BTC/USDT",
            side="buy",
            type="limit",
            qty=Decimal("1"),
            price=Decimal("1"),
            created_at=T0,
            updated_at=T0,
        )  # fmt: skip
        for n in range(count)
    ]

    paper_rows.insert_orders(rows)

    for row in rows:
        assert (
            PaperOrder.objects.get(pk=row.pk).exchange_order_id == f"P{row.pk:06d}" == row.exchange_order_id
        )
    assert PaperOrder.objects.get(pk=untouched.pk).exchange_order_id == "P-keep"


def saved_both_ways(make, change, fields: tuple[str, ...]):
    """Two equal rows, changed alike: one saved by `save(update_fields=…)`, one by `save_fields`."""
    by_orm, compiled = make(), make()
    before = {by_orm.pk: row_values(by_orm), compiled.pk: row_values(compiled)}
    for instance in (by_orm, compiled):
        change(instance)
    by_orm.save(update_fields=list(fields))
    save_fields(compiled, fields)
    return before, by_orm, compiled


def assert_saved_alike(before, by_orm, compiled, fields: tuple[str, ...], *, differ=()) -> None:
    expected, found = row_values(by_orm), row_values(compiled)
    for name in differ:  # columns the factory makes different on purpose
        expected.pop(name), found.pop(name)
    if type(compiled)._meta.get_field("updated_at").auto_now:  # each save took its own time
        assert found.pop("updated_at")[0] > before[compiled.pk]["updated_at"][0]
        expected.pop("updated_at")
    assert found == expected
    written = {type(compiled)._meta.get_field(name).attname for name in fields}
    unchanged = {
        k: v for k, v in before[compiled.pk].items() if k not in written and k not in differ and k in found
    }
    assert {k: found[k] for k in unchanged} == unchanged  # and nothing else moved


def test_an_orders_report_is_saved_as_save_with_update_fields_saves_it() -> None:
    group = PositionGroupFactory()

    def change(order: Order) -> None:
        order.filled_qty, order.avg_fill_price = Decimal("0.00046"), Decimal("43012.5")
        order.fee_quote, order.state, order.error = Decimal("0.0197857"), OrderState.FILLED, ""
        order.exchange_order_id = "P000123"

    made = saved_both_ways(lambda: OrderFactory(group=group), change, orders._REPORTED)
    assert_saved_alike(*made, orders._REPORTED, differ=("client_order_id",))


def test_an_order_report_without_a_fill_price_saves_null_alike() -> None:
    group = PositionGroupFactory()

    def change(order: Order) -> None:
        order.avg_fill_price, order.state, order.error = None, OrderState.REJECTED, "min notional"

    made = saved_both_ways(lambda: OrderFactory(group=group), change, orders._REPORTED)
    assert_saved_alike(*made, orders._REPORTED, differ=("client_order_id", "exchange_order_id"))
    assert Order.objects.get(pk=made[2].pk).avg_fill_price is None


@pytest.mark.parametrize("fields", [fills._LEG_FILL_FIELDS, fills._LEG_STATE_FIELDS], ids=["fill", "state"])
def test_a_legs_fill_is_saved_as_save_with_update_fields_saves_it(fields) -> None:
    group = PositionGroupFactory()

    def change(leg: DcaLeg) -> None:
        leg.filled_qty, leg.avg_fill_price = Decimal("0.0002"), Decimal("42990.1")
        leg.entry_fees, leg.tp_price, leg.state = Decimal("0.0085980"), None, LegState.FILLED

    made = saved_both_ways(
        lambda: DcaLegFactory(pyramid=PyramidFactory(group=group, index=DcaLeg.objects.count())),
        change,
        fields,
    )
    assert_saved_alike(*made, fields, differ=("pyramid_id",))


def test_a_replaced_queue_entry_is_saved_as_save_with_update_fields_saves_it() -> None:
    account, newer = ExchangeAccountFactory(), SignalFactory()

    def change(entry: QueueEntry) -> None:
        entry.signal, entry.entry_price, entry.replacement_count = newer, Decimal("42000.5"), 3
        entry.expected_profit, entry.reason = Decimal("1.2345"), "pool_full"
        entry.updated_at = T0 + timedelta(hours=1)  # as enqueue does: the queue's own clock

    def make() -> QueueEntry:
        return QueueEntryFactory(account=account, timeframe=str(QueueEntry.objects.count() + 1))

    made = saved_both_ways(make, change, queueing._REPLACED)
    assert_saved_alike(*made, queueing._REPLACED, differ=("timeframe", "queued_at"))
    assert QueueEntry.objects.get(pk=made[2].pk).signal_id == newer.pk


def test_the_sql_sent_is_the_orms_own() -> None:
    signal = SignalFactory(status=SignalStatus.RECEIVED, processed_at=None)
    values = dict(status="applied", reason="same", group_id=None, processed_at=T0)

    with CaptureQueriesContext(connection) as orm:
        Signal.objects.filter(pk=signal.pk, status="received").update(**values)
    Signal.objects.filter(pk=signal.pk).update(status="received")
    with CaptureQueriesContext(connection) as compiled:
        intake._CLAIM_OUTCOME.run(signal.pk, "received", **values)

    assert [q["sql"] for q in compiled.captured_queries] == [q["sql"] for q in orm.captured_queries]


def test_each_pattern_of_nulls_is_compiled_once(monkeypatch) -> None:
    group = PositionGroupFactory()
    update = CompiledUpdate(PositionGroup, ("risk_timer_started_at", "fees_paid"))
    compiles = []
    real = update._compile
    monkeypatch.setattr(update, "_compile", lambda *a: compiles.append(a[1]) or real(*a))

    for minute in range(3):
        update.run(group.pk, risk_timer_started_at=T0 + timedelta(minutes=minute), fees_paid=Decimal(minute))
        update.run(group.pk, risk_timer_started_at=None, fees_paid=Decimal(minute))

    assert len(compiles) == 2
    assert PositionGroup.objects.get(pk=group.pk).fees_paid == Decimal(2)


def test_a_row_that_is_gone_raises_as_save_does() -> None:
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).delete()

    with pytest.raises(DatabaseError, match="did not affect any rows"):
        save_fields(order, orders._REPORTED)


def test_a_model_with_save_receivers_is_saved_through_save() -> None:
    signal = SignalFactory()  # Signal's post_save wakes the engine: skipping it would be a change

    with pytest.raises(ValueError, match="has save receivers"):
        save_fields(signal, ("reason",))


@pytest.mark.parametrize(
    "where, values, message",
    [
        ((Decimal(1),), {"fees_paid": Decimal(1)}, "int or str"),
        ((1, 2), {"fees_paid": Decimal(1)}, "expected 1 values"),
        ((1,), {"fees": Decimal(1)}, "expected values for"),
    ],
    ids=["a decimal to match", "too many to match", "an unknown column"],
)
def test_values_of_another_kind_are_refused_before_anything_is_sent(where, values, message) -> None:
    group = PositionGroupFactory(fees_paid=Decimal("0.5"))

    with CaptureQueriesContext(connection) as sent, pytest.raises(TypeError, match=message):
        fills._GROUP_FEES.run(*where, **values)

    assert sent.captured_queries == []
    assert PositionGroup.objects.get(pk=group.pk).fees_paid == Decimal("0.5")


def test_values_given_in_another_order_than_the_columns_still_land_in_their_own_columns() -> None:
    """The first call compiles; if its values happen to be equal, a later call must not swap them."""
    account = ExchangeAccountFactory()
    row = PaperBalance.objects.create(account=account, asset="USDT")
    update = CompiledUpdate(PaperBalance, ("free", "locked"))

    update.run(row.pk, locked=Decimal("5"), free=Decimal("5"))  # compiled here: equal values
    update.run(row.pk, locked=Decimal("1"), free=Decimal("9"))

    found = PaperBalance.objects.get(pk=row.pk)
    assert (found.free, found.locked) == (Decimal("9"), Decimal("1"))


def test_rows_are_matched_on_their_own_columns_whatever_the_order_of_the_match() -> None:
    """Django sorts a filter's keywords; the compiled statement matches in the order it was given."""
    account = ExchangeAccountFactory()
    groups = {
        tf: PositionGroupFactory(account=account, symbol=symbol, timeframe=tf)
        for tf, symbol in (("X", "X"), ("15", "ETH/USDT"), ("ETH/USDT", "15"))
    }
    update = CompiledUpdate(PositionGroup, ("fees_paid",), where=("timeframe", "symbol"))

    update.run("X", "X", fees_paid=Decimal("1"))  # compiled here: equal values to match
    changed = update.run("15", "ETH/USDT", fees_paid=Decimal("2"))

    assert changed == 1
    fees = {tf: PositionGroup.objects.get(pk=g.pk).fees_paid for tf, g in groups.items()}
    assert fees == {"X": Decimal("1"), "15": Decimal("2"), "ETH/USDT": Decimal("0")}
