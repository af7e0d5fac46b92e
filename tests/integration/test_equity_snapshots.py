"""The engine records equity every `analytics.snapshot_interval_sec` and at each group close, thins
old points, and `rebuild_equity` recomputes realised equity from the trades."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from tests.conftest import configure
from tests.factories import T0, PositionGroupFactory, TradeFactory
from trading.engine import equity
from trading.engine.runner import build_scheduler
from trading.models import EquitySnapshot, GroupStatus, Trade

from .engine_world import D, group_of, paper_account

pytestmark = pytest.mark.django_db

# DCA0 of the default 500 USDT pyramid: 0.00232 BTC at 43000, 0.1 % fee = 0.09976.
ENTRY_FEE = D("0.09976")


def snapshots(source: str | None = None) -> list[tuple[D, D]]:
    rows = EquitySnapshot.objects.order_by("taken_at", "id")
    if source:
        rows = rows.filter(source=source)
    return [(s.realised, s.total) for s in rows]


def test_the_engine_records_equity_on_its_interval_marked_at_the_paper_price(driver, clock):
    recorder = equity.EquityRecorder(driver.engine)
    driver.send(price="43000")  # DCA0 fills

    recorder.step()
    assert snapshots() == [(D(0), -ENTRY_FEE)]  # nothing realised; open at cost, entry fee paid

    driver.price("BTCUSDT", "43200")  # below DCA0's TP (43430)
    recorder.step()
    assert len(snapshots()) == 1  # not due yet

    clock.advance(seconds=60)
    recorder.step()
    # 0.00232 × (43200 − 43000) − 0.09976
    assert snapshots()[-1] == (D(0), D("0.464") - ENTRY_FEE)
    assert EquitySnapshot.objects.filter(account=paper_account()).count() == 2


def test_the_interval_comes_from_the_config(driver, clock):
    configure(analytics={"snapshot_interval_sec": 300})
    driver.engine.ctx.refresh_config()
    recorder = equity.EquityRecorder(driver.engine)
    driver.send(price="43000")
    recorder.step()
    clock.advance(seconds=299)
    recorder.step()
    assert len(snapshots()) == 1
    clock.advance(seconds=1)
    recorder.step()
    assert len(snapshots()) == 2


def test_a_group_close_records_the_accounts_equity(driver):
    driver.send(price="43000")
    driver.price("BTCUSDT", "43200")
    driver.send(intent="exit", side=None, price="43200", trade_id="x")

    assert group_of().status == GroupStatus.CLOSED
    realised = Trade.objects.get().realized_pnl
    assert snapshots(EquitySnapshot.Source.CLOSE) == [(realised, realised)]  # nothing left open


def test_compaction_keeps_a_point_a_minute_for_a_week_and_one_an_hour_before(engine, clock):
    account = paper_account()
    now = clock()
    recent = [now - timedelta(days=1, seconds=s) for s in (0, 20, 40)]  # one minute: 1 kept
    old = [now - timedelta(days=10, minutes=m) for m in range(0, 120, 10)]  # 12 points in 2-3 hours
    for at in recent + old:
        EquitySnapshot.objects.create(account=account, taken_at=at, realised=D(1), total=D(1))
    hours = {at.replace(minute=0, second=0, microsecond=0) for at in old}
    minutes = {at.replace(second=0, microsecond=0) for at in recent}

    dropped = equity.compact(engine.ctx)

    assert EquitySnapshot.objects.count() == len(hours) + len(minutes)
    assert dropped == len(recent) + len(old) - len(hours) - len(minutes)
    assert equity.compact(engine.ctx) == 0  # already compact


def test_the_engine_schedules_the_equity_job(engine):
    scheduler = build_scheduler(engine)
    job = scheduler.get_job("equity")
    assert job is not None and job.trigger.interval == timedelta(seconds=equity.CHECK_EVERY_SEC)


def test_rebuild_equity_recomputes_realised_from_trades(db):
    group = PositionGroupFactory()
    first = TradeFactory(group=group, realized_pnl=D("5"), closed_at=T0)
    TradeFactory(group=group, realized_pnl=D("-2"), closed_at=T0 + timedelta(hours=2))
    account = first.account
    # Recorded later with a wrong realised part; 3 of unrealised on top.
    snap = EquitySnapshot.objects.create(
        account=account, taken_at=T0 + timedelta(hours=3), realised=D("1"), total=D("4")
    )
    before_first = EquitySnapshot.objects.create(
        account=account, taken_at=T0 + timedelta(hours=1), realised=D("0"), total=D("0")
    )

    out = StringIO()
    call_command("rebuild_equity", stdout=out)

    snap.refresh_from_db()
    before_first.refresh_from_db()
    assert (snap.realised, snap.total) == (D("3"), D("6"))  # 5 − 2, unrealised 3 kept
    assert (before_first.realised, before_first.total) == (D("5"), D("5"))
    rebuilt = EquitySnapshot.objects.filter(source=EquitySnapshot.Source.REBUILT)
    assert [(s.taken_at, s.realised) for s in rebuilt] == [(T0, D("5"))]  # before the first snapshot
    assert "2 snapshot(s) updated, 1 point(s) added" in out.getvalue()

    call_command("rebuild_equity", "--account", account.label, stdout=StringIO())
    assert EquitySnapshot.objects.count() == 3  # idempotent


def test_rebuild_equity_refuses_an_unknown_account(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no account labelled 'nope'"):
        call_command("rebuild_equity", "--account", "nope", stdout=StringIO())


def test_a_leg_take_profit_records_the_accounts_equity_while_the_group_stays_open(driver):
    # DCA0 fills at 43000 and takes profit at +1 % (43430); the resting legs keep the group open.
    driver.send(price="43000")
    driver.price("BTCUSDT", "43500")
    driver.tick(2)

    assert group_of().status != GroupStatus.CLOSED
    realised = Trade.objects.get().realized_pnl
    assert [r for r, _ in snapshots(EquitySnapshot.Source.CLOSE)] == [realised]
