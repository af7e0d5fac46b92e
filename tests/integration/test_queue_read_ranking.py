"""The console and the API rank the queue exactly as the engine promotes it, from stored prices only."""

from __future__ import annotations

import pytest

from trading.engine import queueing
from trading.models import QueueEntry
from trading.reads.prices import last_prices
from trading.reads.queue import rank

from ..conftest import configure
from .engine_world import D

pytestmark = pytest.mark.django_db


def test_the_read_ranking_is_the_engines_ranking(driver) -> None:
    configure(execution_pool={"max_open_groups": 1})
    driver.send(symbol="BTCUSDT", price="43000", trade_id="btc")
    for symbol, price, trade_id in [
        ("ETHUSDT", "2000", "eth"),
        ("SOLUSDT", "20", "sol"),
        ("LTCUSDT", "70", "ltc"),
    ]:
        driver.send(symbol=symbol, price=price, size="300", trade_id=trade_id)
    driver.price("ETHUSDT", "1900")  # ETH is 5 % under its queued price: the deepest loss
    QueueEntry.objects.filter(symbol="LTC/USDT").update(promoted_at=driver.engine.ctx.now())
    entries = list(QueueEntry.objects.all())
    assert len(entries) == 3

    engine_order = queueing.ranked(driver.engine.ctx, entries)
    prices = {s: p for (_, s), p in last_prices((e.account_id, e.symbol) for e in entries).items()}
    read_order = rank(entries, prices, driver.engine.ctx.cfg.waiting_rule.selection_priority)

    def view(order):
        return [(r.entry.entry_id, r.rank, r.loss_percent) for r in order]

    assert view(read_order) == view(engine_order)
    assert read_order[0].entry.symbol == "LTC/USDT"  # promoted by the operator: first
    eth = next(r for r in read_order if r.entry.symbol == "ETH/USDT")
    assert eth.loss_percent == D("-5")
