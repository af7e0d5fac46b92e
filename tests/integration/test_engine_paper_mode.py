"""`app.mode` paper: entries on a real-money account are rejected, its open positions stay managed.

The real-money account (Binance, not a testnet) is played offline by a paper exchange behind a
recorder, so the test sees exactly what the engine would have sent to the venue.
"""

from __future__ import annotations

from typing import Any

import pytest

from exchanges.core.adapter import OrderReport, OrderRequest
from exchanges.models import ExchangeAccount, MarketRule, Venue
from exchanges.paper import PaperExchange
from trading.engine import promotion
from trading.models import Event, GroupStatus, PositionGroup, Signal, SignalStatus

from ..conftest import configure
from ..factories import QueueEntryFactory
from .ccxt_world import no_sockets  # noqa: F401 - autouse: any connection beyond this machine fails
from .engine_world import paper_account

pytestmark = pytest.mark.django_db

REFUSAL = "app.mode is paper and account binance-main trades real money; set app.mode to live to trade it"


class RecordingVenue:
    """The venue of a real-money account, played by a paper exchange; records every order sent."""

    def __init__(self, inner: PaperExchange) -> None:
        self.inner = inner
        self.sent: list[OrderRequest] = []

    def create_order(self, request: OrderRequest) -> OrderReport:
        self.sent.append(request)
        return self.inner.create_order(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def real_money_account(engine: Any, *, sandbox: bool = False) -> tuple[ExchangeAccount, RecordingVenue]:
    """An enabled Binance account with fresh BTC/USDT rules, its venue installed in the engine."""
    account = ExchangeAccount.objects.create(
        label="binance-main", venue=Venue.BINANCE, sandbox=sandbox, markets_synced_at=engine.ctx.now()
    )
    rule = MarketRule.objects.get(account=paper_account(), symbol="BTC/USDT")
    rule.pk, rule.account = None, account
    rule.save()
    cfg = engine.ctx.cfg.exchange
    venue = RecordingVenue(
        PaperExchange(
            account,
            fee_percent=cfg.paper_fee_percent,
            partial_fill_ratio=cfg.paper_partial_fill_ratio,
            starting_balance_usdt=cfg.paper_starting_balance_usdt,
            clock=engine.ctx.clock,
        )
    )
    engine.ctx._adapters[account.pk] = venue
    return account, venue


def set_mode(engine: Any, venue: RecordingVenue, mode: str) -> None:
    configure(app={"mode": mode})
    engine.ctx.refresh_config()  # forgets the adapters: put the offline venue back
    engine.ctx._adapters[venue.inner.account.pk] = venue


def test_paper_mode_rejects_an_entry_on_a_real_money_account(driver: Any, engine: Any) -> None:
    _, venue = real_money_account(engine)
    set_mode(engine, venue, "paper")

    driver.send(exchange="BINANCE", price="43000")

    signal = Signal.objects.get()
    assert (signal.status, signal.reason) == (SignalStatus.REJECTED, f"rejected: {REFUSAL}")
    assert venue.sent == []
    assert not PositionGroup.objects.exists()


def test_paper_mode_still_closes_a_position_opened_in_live_mode(driver: Any, engine: Any) -> None:
    account, venue = real_money_account(engine)
    set_mode(engine, venue, "live")
    driver.send(exchange="BINANCE", price="43000")
    group = PositionGroup.objects.get(account=account)
    assert venue.sent  # live mode: the entry went to the venue

    set_mode(engine, venue, "paper")
    venue.sent.clear()
    driver.send(exchange="BINANCE", intent="exit", side=None, price="43100")

    group.refresh_from_db()
    assert group.status in (GroupStatus.CLOSING, GroupStatus.CLOSED)
    assert [request.side.value for request in venue.sent] == ["sell"]  # the close went out


def test_paper_mode_trades_a_testnet_account(driver: Any, engine: Any) -> None:
    account, venue = real_money_account(engine, sandbox=True)
    set_mode(engine, venue, "paper")

    driver.send(exchange="BINANCE", price="43000")

    assert Signal.objects.get().status == SignalStatus.APPLIED
    assert PositionGroup.objects.filter(account=account).exists() and venue.sent


def test_paper_mode_holds_a_queued_entry_for_a_real_money_account(engine: Any) -> None:
    account, venue = real_money_account(engine)
    set_mode(engine, venue, "paper")
    entry = QueueEntryFactory(account=account, signal__symbol="BTC/USDT")

    assert promotion.blocked_reason(engine.ctx, entry, force=True) == REFUSAL
    assert not promotion.try_promote(engine.ctx, entry, force=True)


def test_engine_start_in_paper_mode_alerts_about_real_money_accounts(engine: Any) -> None:
    _, venue = real_money_account(engine)
    set_mode(engine, venue, "paper")

    engine.start()

    alert = Event.objects.get(message__startswith="app.mode is paper")
    assert alert.severity == Event.Severity.ERROR
    assert "entries on binance-main (real money) are rejected" in alert.message
