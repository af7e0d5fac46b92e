"""A further entry on a group that has all its pyramids is ignored from the group's row alone: no
legs, orders, pyramids, prices or balances are read for it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from trading.models import Event, Signal, SignalStatus

from ..conftest import configure
from .engine_world import group_of

pytestmark = pytest.mark.django_db

# Tables an ignored signal has no business reading: the group's graph, the market and the venue.
GRAPH_AND_VENUE = (
    "trading_dcaleg",
    "trading_pyramid",
    "trading_order",
    "exchanges_paperprice",
    "exchanges_paperbalance",
    "exchanges_paperorder",
    "trading_queueentry",
)


@pytest.fixture
def full_group(driver):
    for n in range(5):
        driver.send(price="43000", trade_id=f"p{n}")
    driver.tick()  # settle the fills and the sync
    group = group_of()
    assert group.pyramid_count == 5
    return group


def _tables_read_by_the_signal(driver, **fields) -> set[str]:
    """The tables the decision of one signal touched (the tick's own steps left out)."""
    driver.webhook(**fields)
    with CaptureQueriesContext(connection) as captured:
        driver.engine.tick()
    decision = []
    inside = False
    for query in captured.captured_queries:
        sql = query["sql"]
        inside = inside or "trading_enginelease" in sql  # the decision's write starts with its fence
        if inside:
            decision.append(sql)
        if inside and sql.startswith('INSERT INTO "trading_event"'):
            break  # the outcome's event ends the decision
    return {table for table in GRAPH_AND_VENUE for sql in decision if f'"{table}"' in sql}


def test_an_ignored_signal_loads_no_legs_orders_prices_or_balances(driver, full_group):
    touched = _tables_read_by_the_signal(driver, price="43000", trade_id="p5")

    sixth = Signal.objects.get(trade_id="p5")
    assert (sixth.status, sixth.reason) == (
        SignalStatus.IGNORED,
        f"ignored: 5/5 pyramids on group #{full_group.pk}",
    )
    assert touched == set()


def test_a_further_entry_on_a_full_group_is_ignored_whatever_its_price(driver, full_group):
    """Nothing about the signal can make it trade, so its price is not even looked at: ignored, not
    rejected as too far from the market."""
    configure(grid_strategy={"max_entry_deviation_percent": "1"})

    driver.send(price="60000", trade_id="far")

    far = Signal.objects.get(trade_id="far")
    assert far.status == SignalStatus.IGNORED
    assert far.reason.startswith("ignored: 5/5 pyramids")
    assert Event.objects.filter(signal_id_ref=far.pk, message__contains="ignored: 5/5 pyramids").exists()


def test_an_entry_on_the_other_side_of_a_full_group_is_still_judged_in_full(driver, full_group):
    """Only the same side counts as "full": a short on the long group goes through the admission
    checks as before (the spot paper account holds no coins to sell, so it is rejected for that)."""
    driver.send(side="sell", price="43000", trade_id="short")

    short = Signal.objects.get(trade_id="short")
    assert short.status == SignalStatus.REJECTED
    assert "shorts need a swap/margin account" in short.reason
