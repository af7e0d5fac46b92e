"""The engine's price history for the group chart: at most one sample per market per
`SAMPLE_EVERY`, written in one insert per fetch, pruned with the events after `KEEP_FOR`."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.core.price_history import KEEP_FOR, SAMPLE_EVERY
from trading.engine import price_history
from trading.models import PriceSample

from .engine_world import paper_account

D = Decimal
pytestmark = pytest.mark.django_db


def _samples() -> list[tuple[str, Decimal]]:
    return list(PriceSample.objects.order_by("taken_at", "symbol").values_list("symbol", "price"))


def test_price_history_keeps_one_sample_per_market_per_interval(engine, clock) -> None:
    account = paper_account().pk
    price_history.record(engine.ctx, {(account, "BTC/USDT"): D("43000"), (account, "ETH/USDT"): D("2300")})
    clock.advance(seconds=SAMPLE_EVERY.total_seconds() - 1)
    assert price_history.record(engine.ctx, {(account, "BTC/USDT"): D("43010")}) == 0
    clock.advance(seconds=1)
    assert price_history.record(engine.ctx, {(account, "BTC/USDT"): D("43020")}) == 1
    assert _samples() == [("BTC/USDT", D("43000")), ("ETH/USDT", D("2300")), ("BTC/USDT", D("43020"))]


def test_price_history_writes_every_due_market_in_one_insert(engine, clock) -> None:
    account = paper_account().pk
    prices = {(account, f"C{n}/USDT"): D(n + 1) for n in range(20)}
    with CaptureQueriesContext(connection) as queries:
        assert price_history.record(engine.ctx, prices) == 20
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1


def test_price_history_costs_no_query_until_a_sample_is_due(engine, clock) -> None:
    account = paper_account().pk
    price_history.record(engine.ctx, {(account, "BTC/USDT"): D("43000")})
    clock.advance(seconds=1)
    with CaptureQueriesContext(connection) as queries:
        assert price_history.record(engine.ctx, {(account, "BTC/USDT"): D("43001")}) == 0
    assert len(queries.captured_queries) == 0


def test_price_history_after_a_restart_reads_the_last_sample_once(engine, clock) -> None:
    account = paper_account().pk
    price_history.record(engine.ctx, {(account, "BTC/USDT"): D("43000")})
    engine.ctx.sampled_at.clear()  # a new engine run: nothing remembered
    clock.advance(seconds=1)
    assert price_history.record(engine.ctx, {(account, "BTC/USDT"): D("43001")}) == 0
    assert _samples() == [("BTC/USDT", D("43000"))]


def test_price_history_records_what_the_engine_receives(driver, clock) -> None:
    driver.price("BTCUSDT", "42900")
    driver.send(price="43000")  # an open group: the engine now watches BTC/USDT every tick
    clock.advance(seconds=SAMPLE_EVERY.total_seconds())
    driver.price("BTCUSDT", "42800")
    assert [price for _, price in _samples()] == [D("42900"), D("42800")]


def test_price_history_is_pruned_with_the_events(engine, clock) -> None:
    account = paper_account().pk
    price_history.record(engine.ctx, {(account, "BTC/USDT"): D("43000")})
    clock.advance(seconds=(KEEP_FOR - timedelta(seconds=1)).total_seconds())
    price_history.record(engine.ctx, {(account, "BTC/USDT"): D("44000")})
    engine.prune_events()
    assert _samples() == [("BTC/USDT", D("43000")), ("BTC/USDT", D("44000"))]
    clock.advance(seconds=2)
    engine.prune_events()
    assert _samples() == [("BTC/USDT", D("44000"))]
