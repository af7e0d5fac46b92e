"""Durable state: every change is committed as it happens, so a restart resumes with nothing lost."""

from __future__ import annotations

import pytest

from trading.engine.context import EngineContext
from trading.engine.loop import Engine
from trading.models import DcaLeg, GroupStatus, LegState, Order, QueueEntry, Signal, SignalStatus, Trade

from ..conftest import Driver, configure
from .engine_world import D, group_of, leg

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        "legs": list(
            DcaLeg.objects.order_by("id").values_list("id", "state", "qty", "filled_qty", "avg_fill_price")
        ),
        "orders": list(Order.objects.order_by("id").values_list("client_order_id", "state", "filled_qty")),
        "queue": list(QueueEntry.objects.values_list("symbol", "entry_price")),
    }


def test_a_new_engine_on_the_same_database_resumes_and_keeps_trading(driver, client, clock):
    configure(execution_pool={"max_open_groups": 1})
    driver.send(price="43000")
    driver.price("BTCUSDT", "42780")  # DCA1 fills
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")  # waits in the queue
    before = snapshot()
    group = group_of()
    del driver  # the process dies: nothing in memory survives

    engine = Engine(EngineContext(clock=clock), use_lock=False)
    engine.start()
    after = Driver(engine, client)

    assert snapshot() == before
    assert group_of().status == GroupStatus.PARTIALLY_FILLED
    after.price("BTCUSDT", "42999")  # DCA1's TP still fires after the restart
    assert leg(group, 1).state == LegState.HIT_TP
    assert Trade.objects.get().qty == D("0.00233")
    after.price("BTCUSDT", "42560")  # and resting legs still fill
    assert leg(group, 2).filled_qty == D("0.00234")

    after.send(intent="exit", side=None, trade_id="x")  # the queued entry is promoted as before
    assert Signal.objects.get(trade_id="eth").status == SignalStatus.APPLIED
