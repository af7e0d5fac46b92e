"""An entry that opens a group reaches its first order without reading anything twice: its account
once, its market's rule row once, the paper balances in one statement, the new group written with
its pyramid count, and the chart's price sample only after the batch's orders have left."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.models import Pyramid, Signal, SignalStatus
from trading.models.prices import PriceSample

from .engine_world import group_of

pytestmark = pytest.mark.django_db

DCA0_BOOKED = 'UPDATE "trading_order" SET "filled_qty"'  # an order's report booked: the DCA0's first


def _opening_tick(driver, **fields) -> list[str]:
    """The statements of the tick that applies one entry on a market the engine has not seen."""
    # The start's own reads and the paper account's first use (its balances seeded) are behind us.
    driver.send(symbol="ETHUSDT", price="2000", trade_id="seeds-the-balances")
    driver.engine.ctx.market_rows.clear()  # as after a restart: the market is new to the engine
    driver.webhook(**fields)
    with CaptureQueriesContext(connection) as captured:
        driver.engine.tick()
    assert Signal.objects.get(trade_id=fields["trade_id"]).status == SignalStatus.APPLIED
    return [query["sql"] for query in captured.captured_queries]


def _until_dca0_booked(statements: list[str]) -> list[str]:
    end = next(n for n, sql in enumerate(statements) if sql.startswith(DCA0_BOOKED))
    return statements[:end]


def _reading(statements: list[str], table: str) -> list[str]:
    return [sql for sql in statements if sql.startswith("SELECT") and f'FROM "{table}"' in sql]


def test_an_opening_entry_reads_its_account_once(driver):
    statements = _until_dca0_booked(_opening_tick(driver, trade_id="open-1"))

    assert len(_reading(statements, "exchanges_exchangeaccount")) == 1


def test_an_opening_entry_reads_its_market_rule_row_once(driver):
    statements = _until_dca0_booked(_opening_tick(driver, trade_id="open-1"))

    assert len(_reading(statements, "exchanges_marketrule")) == 1


def test_an_opening_entry_reads_the_paper_balances_in_one_statement(driver):
    statements = _until_dca0_booked(_opening_tick(driver, trade_id="open-1"))
    decision = statements[: next(n for n, sql in enumerate(statements) if "trading_positiongroup" in sql and sql.startswith("INSERT"))]  # fmt: skip

    # Not "is the account seeded?" and then its rows: the rows answer both.
    assert len(_reading(decision, "exchanges_paperbalance")) == 1


def test_a_new_group_is_written_with_its_first_pyramid_counted(driver):
    statements = _until_dca0_booked(_opening_tick(driver, trade_id="open-1"))

    assert not [sql for sql in statements if sql.startswith('UPDATE "trading_positiongroup"')]
    group = group_of()
    assert group.pyramid_count == 1
    assert list(Pyramid.objects.filter(group=group).values_list("index", flat=True)) == [0]


def test_a_new_groups_second_entry_is_its_second_pyramid(driver):
    """The counter a new group starts with is the one further entries add to."""
    driver.send(trade_id="open-1")
    driver.send(trade_id="open-2")

    group = group_of()
    assert group.pyramid_count == 2
    assert sorted(Pyramid.objects.filter(group=group).values_list("index", flat=True)) == [0, 1]


def test_the_charts_price_sample_is_written_after_the_entrys_first_order(driver):
    statements = _opening_tick(driver, trade_id="open-1")

    booked = next(n for n, sql in enumerate(statements) if sql.startswith(DCA0_BOOKED))
    sampled = [n for n, sql in enumerate(statements) if sql.startswith('INSERT INTO "trading_pricesample"')]
    assert sampled and min(sampled) > booked
    assert PriceSample.objects.filter(symbol="BTC/USDT").count() >= 1
