"""A burst of entry signals: every waiting entry is decided first, then all their DCA0 orders leave
together, before any other leg of any of them; each signal still commits on its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from exchanges.core.adapter import OrderReport, OrderRequest
from exchanges.paper import PaperExchange
from trading.core.clientid import Purpose
from trading.engine.wakeup import Waker
from trading.models import Order, PositionGroup, Signal, SignalStatus

from ..conftest import configure
from .engine_world import paper_account

pytestmark = pytest.mark.django_db

# Ten markets of the bundled Binance catalogue at prices where the default 500 USDT ladder is valid.
BURST = {
    "BTCUSDT": "43000",
    "ETHUSDT": "2000",
    "SOLUSDT": "100",
    "BNBUSDT": "300",
    "XRPUSDT": "0.5",
    "ADAUSDT": "0.4",
    "DOGEUSDT": "0.08",
    "LTCUSDT": "70",
    "DOTUSDT": "6",
    "LINKUSDT": "14",
}


class RecordingPaper(PaperExchange):
    """The engine's paper venue, recording each call that places orders and what was still
    undecided in the inbox at that moment."""

    calls: list[tuple[list[str], int]]
    on_first_call: Callable[[], None] | None = None  # e.g. a webhook arriving meanwhile

    def create_orders(self, requests: list[OrderRequest]) -> list[Any]:
        waiting = Signal.objects.filter(status=SignalStatus.RECEIVED).count()
        self.calls.append(([r.client_order_id for r in requests], waiting))
        if self.on_first_call is not None:
            arrive, self.on_first_call = self.on_first_call, None
            arrive()
        return super().create_orders(requests)

    def create_order(self, request: OrderRequest) -> OrderReport:
        return super().create_order(request)  # goes through create_orders: recorded there


@pytest.fixture
def venue(engine) -> RecordingPaper:
    account = paper_account()
    paper = engine.ctx.adapter(account)
    paper.__class__ = RecordingPaper  # the same instance (its catalogue and state), now recording
    paper.calls = []
    return paper


def _purpose(client_order_id: str) -> str:
    return Order.objects.get(client_order_id=client_order_id).purpose


def _send_burst(driver) -> None:
    for symbol, price in BURST.items():
        response = driver.webhook(symbol=symbol, price=price, trade_id=f"burst-{symbol}")
        assert response.status_code == 202, response.content


def test_with_ten_entry_signals_waiting_every_dca0_is_sent_before_any_other_leg(driver, venue):
    _send_burst(driver)

    driver.tick()

    sent = [cid for batch, _ in venue.calls for cid in batch]
    purposes = [_purpose(cid) for cid in sent]
    assert purposes.count(Purpose.ENTRY.value) == 10
    assert purposes.count(Purpose.DCA.value) == 40  # the other four legs of each ladder, after
    last_entry = max(n for n, p in enumerate(purposes) if p == Purpose.ENTRY.value)
    first_leg = min(n for n, p in enumerate(purposes) if p == Purpose.DCA.value)
    assert last_entry < first_leg


def test_every_waiting_entry_is_decided_before_the_first_order_leaves(driver, venue):
    _send_burst(driver)

    driver.tick()

    assert PositionGroup.objects.count() == 10
    first_batch, still_waiting = venue.calls[0]
    assert still_waiting == 0  # no signal of the burst waited for another's order to be sent
    assert sorted(_purpose(cid) for cid in first_batch) == [Purpose.ENTRY.value] * 10


def test_each_signal_of_a_burst_is_committed_on_its_own(driver, venue):
    """A signal that fails (here: an unknown market) rejects alone; the others open their groups."""
    _send_burst(driver)
    driver.webhook(symbol="NOSUCHUSDT", price="1", trade_id="burst-unknown")

    driver.tick()

    outcomes = dict(Signal.objects.values_list("trade_id", "status"))
    assert outcomes.pop("burst-unknown") == SignalStatus.REJECTED
    assert set(outcomes.values()) == {SignalStatus.APPLIED}
    assert Order.objects.filter(purpose=Purpose.ENTRY.value, state="filled").count() == 10


def test_a_signal_arriving_while_a_tick_runs_goes_before_the_earlier_entrys_resting_legs(driver, venue):
    """The second entry of a burst arrives while the first one's DCA0 is at the venue: it is
    decided and its DCA0 sent before the first entry's four resting legs leave."""
    waker = Waker()

    def second_arrives() -> None:
        driver.webhook(symbol="ETHUSDT", price="2000", trade_id="second")
        waker.wake()  # what the web's commit does

    venue.on_first_call = second_arrives
    driver.webhook(symbol="BTCUSDT", price="43000", trade_id="first")

    waker.run(lambda: driver.engine.tick().more_waiting)

    purposes = [[_purpose(cid) for cid in batch] for batch, _ in venue.calls]
    assert purposes[0] == [Purpose.ENTRY.value]  # the first entry's DCA0
    assert purposes[1] == [Purpose.ENTRY.value]  # the second's, before any resting leg
    assert sorted(p for batch in purposes[2:] for p in batch) == [Purpose.DCA.value] * 8


def test_an_exit_in_a_batch_sends_its_close_at_once_not_with_the_batch(driver, venue):
    """A close frees a slot and cuts risk: it leaves as soon as its signal commits, while the
    entries behind it are still waiting to be decided."""
    driver.send(symbol="BTCUSDT", price="43000", trade_id="open")
    venue.calls.clear()
    driver.webhook(symbol="BTCUSDT", intent="exit", side="sell", trade_id="exit")
    driver.webhook(symbol="ETHUSDT", price="2000", trade_id="eth")
    driver.webhook(symbol="SOLUSDT", price="100", trade_id="sol")

    driver.tick()

    first_batch, still_waiting = venue.calls[0]
    assert [_purpose(cid) for cid in first_batch] == [Purpose.EXIT.value]
    assert still_waiting == 2  # the two entries were decided after the close had left
    assert Signal.objects.get(trade_id="exit").status == SignalStatus.APPLIED


def test_the_risk_look_after_fills_waits_until_the_bursts_last_entry_is_decided(driver, monkeypatch):
    """The first entry's DCA0 fills while the second entry of the burst waits: the evaluation after
    fills runs once the second is decided too, not in between; the interval's is never held."""
    from risk.engine import cycle

    configure(risk_engine={"evaluate_on_fill": True, "evaluate_interval_sec": 3600})
    driver.tick()  # the config applied (new adapters), the interval's first evaluation behind us
    venue = driver.engine.ctx.adapter(paper_account())
    venue.__class__ = RecordingPaper
    venue.calls = []
    looked: list[list[str]] = []
    real_run_cycle = cycle.run_cycle

    def run_cycle(ctx, **kwargs):
        looked.append(
            sorted(Signal.objects.filter(status=SignalStatus.RECEIVED).values_list("trade_id", flat=True))
        )
        return real_run_cycle(ctx, **kwargs)

    monkeypatch.setattr(cycle, "run_cycle", run_cycle)
    waker = Waker()

    def second_arrives() -> None:
        driver.webhook(symbol="ETHUSDT", price="2000", trade_id="second")
        waker.wake()

    venue.on_first_call = second_arrives
    driver.webhook(symbol="BTCUSDT", price="43000", trade_id="first")

    waker.run(lambda: driver.engine.tick().more_waiting)

    assert (
        [batch for batch, _ in venue.calls][:2]
        == [  # both DCA0s left, the second mid-tick
            [o.client_order_id for o in Order.objects.filter(purpose=Purpose.ENTRY.value).order_by("id")][:1],
            [o.client_order_id for o in Order.objects.filter(purpose=Purpose.ENTRY.value).order_by("id")][1:],
        ]
    )
    assert looked and looked[0] == []  # the first look came with nothing left to decide
    assert driver.engine.ctx.fills_since_risk == 0  # and it took in both entries' fills
