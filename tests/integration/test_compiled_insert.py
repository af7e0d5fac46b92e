"""A compiled insert (trading/compiled.py) leaves exactly the rows `bulk_create` leaves, on whichever
database the suite runs: every column's value and type read back, JSON included, one row or many
(PostgreSQL sends several rows as one array per column), each row count compiled once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models.functions import Now
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from trading import events
from trading.compiled import CompiledInsert
from trading.models import Event, Pyramid

from ..factories import PositionGroupFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def _events(tag: str, count: int) -> list[Event]:
    """Every kind of value an event holds: nested JSON, unicode, NULL references, a long message."""
    return [
        Event(
            created_at=T0 + timedelta(microseconds=n),
            category=Event.Category.ORDER,
            severity=Event.Severity.WARNING if n % 2 else Event.Severity.INFO,
            symbol="BTC/USDT" if n % 3 else "",
            timeframe="15m",
            group_id_ref=None if n % 2 else 1000 + n,
            signal_id_ref=7 if n % 3 == 1 else None,
            message=f"{tag} #{n}: filled 0.00232 @ 43000 — ünïcødé ✓ " + "x" * 400,
            context={"order": f"tv-{n}", "qty": "0.00232", "nested": {"list": [1, 2.5, None, "a"]}, "n": n},
        )
        for n in range(count)
    ]


def _read_back(tag: str) -> list[dict]:
    rows = Event.objects.filter(message__startswith=f"{tag} #").order_by("created_at")
    return [{**model_to_dict(row, exclude=["id"]), "_types": [type(v) for v in model_to_dict(row).values()]} for row in rows]  # fmt: skip


@pytest.mark.parametrize("count", [1, 2, 7])
def test_the_rows_are_the_ones_bulk_create_leaves(count) -> None:
    Event.objects.bulk_create(_events("orm", count))

    CompiledInsert(Event).run(_events("compiled", count))

    orm, compiled = _read_back("orm"), _read_back("compiled")
    assert len(compiled) == count
    for mine, theirs in zip(compiled, orm, strict=True):
        mine["message"] = mine["message"].replace("compiled", "orm", 1)
        assert mine == theirs


def test_each_row_count_is_compiled_once_and_sent_as_one_statement() -> None:
    insert = CompiledInsert(Event)
    for tag in ("a", "b", "c"):
        with CaptureQueriesContext(connection) as captured:
            insert.run(_events(tag, 3))
        assert len(captured.captured_queries) == 1
    insert.run(_events("d", 1))

    assert sorted(count for _, count in insert._by_shape) == [1, 3]
    assert Event.objects.filter(message__regex=r"^[abcd] #").count() == 10


def test_a_fields_pre_save_gives_its_value_as_on_insert() -> None:
    """auto_now takes the time, as `bulk_create` (and `save`) would."""
    group = PositionGroupFactory()
    before = datetime.now(UTC)

    CompiledInsert(Pyramid).run(
        [Pyramid(group=group, index=5, base_price=Decimal("43000.5"), size_amount=Decimal("100"),
                 size_unit="quote", max_slippage_percent=Decimal("0.5"), created_at=T0)]
    )  # fmt: skip

    pyramid = Pyramid.objects.get(group=group, index=5)
    assert pyramid.base_price == Decimal("43000.5")
    assert pyramid.created_at == T0
    if hasattr(pyramid, "updated_at"):
        assert pyramid.updated_at >= before


def test_an_expression_is_refused_before_anything_is_sent() -> None:
    row = _events("expr", 1)[0]
    row.created_at = Now()

    with CaptureQueriesContext(connection) as captured, pytest.raises(TypeError, match="expression"):
        CompiledInsert(Event).run([row])
    assert captured.captured_queries == []


def test_more_rows_than_one_statement_takes_go_through_the_orm() -> None:
    insert = CompiledInsert(Event)
    many = insert.MAX_PARAMS // len(insert.fields) + 5

    insert.run(_events("many", many))

    assert Event.objects.filter(message__startswith="many #").count() == many
    assert insert._by_shape == {}


def test_a_decisions_events_are_written_by_the_compiled_insert() -> None:
    with CaptureQueriesContext(connection) as captured, events.batched():
        events.record(events.Category.SIGNAL, "batched one", context={"price": Decimal("43000.10")})
        events.record(events.Category.SIGNAL, "batched two")

    inserts = [
        q["sql"] for q in captured.captured_queries if q["sql"].startswith('INSERT INTO "trading_event"')
    ]
    assert len(inserts) == 1
    assert "RETURNING" not in inserts[0]  # nobody reads the new ids back
    assert list(
        Event.objects.filter(message__startswith="batched").order_by("id").values_list("message", "context")
    ) == [
        ("batched one", {"price": "43000.10"}),
        ("batched two", {}),
    ]
