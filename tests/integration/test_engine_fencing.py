"""An engine that lost its lock stops trading at once; a stale engine's writes fail (the lease).

The PostgreSQL version, with a real database blip through a TCP proxy, is
tests/reliability/test_lock_loss.py; these run on every database in-process.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings

from trading.engine import lock as lock_module
from trading.engine.context import EngineContext
from trading.engine.fencing import LeaseLost
from trading.engine.lockguard import RETRY_EVERY
from trading.engine.loop import Engine
from trading.models import Command, Event, Order, Pyramid, Signal, SignalStatus

from ..conftest import Driver

pytestmark = pytest.mark.django_db

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def test_a_stale_engine_cannot_write_an_order_or_apply_a_signal(driver, engine, clock):
    newer = Engine(EngineContext(clock=clock), use_lock=False)
    newer.take_over()  # a second engine took the lease: `engine` has not noticed yet
    response = driver.webhook(price="43000")
    assert response.status_code == 202

    report = engine.tick()  # the stale engine's first write is refused by the fence

    assert report.signals == 0
    assert engine.suspended and "no longer current" in engine.suspended
    assert not Pyramid.objects.exists() and not Order.objects.exists()
    assert Signal.objects.get().status == SignalStatus.RECEIVED  # left for the engine that holds it
    assert Event.objects.filter(severity="critical", message__startswith="engine stopped trading").exists()

    Driver(newer, driver.client).tick()
    assert Signal.objects.get().status == SignalStatus.APPLIED
    assert Pyramid.objects.count() == 1


def test_an_order_insert_under_an_old_lease_fails(driver, engine, clock):
    driver.send(price="43000")
    stale_ctx = engine.ctx
    Engine(EngineContext(clock=clock), use_lock=False).take_over()
    group = Pyramid.objects.get().group

    from trading.core.clientid import Purpose
    from trading.core.types import OrderSide
    from trading.engine import orders

    with pytest.raises(LeaseLost):
        orders.new_order(
            stale_ctx,
            group=group,
            leg=None,
            purpose=Purpose.MANUAL,
            side=OrderSide.SELL,
            order_type="market",
            qty=group.legs.first().qty,
            price=None,
        )
    assert not Order.objects.filter(purpose=Purpose.MANUAL.value).exists()


def test_a_stale_engine_does_not_apply_operator_commands(driver, engine, clock):
    driver.send(price="43000")
    Engine(EngineContext(clock=clock), use_lock=False).take_over()
    Command.objects.create(
        kind="close_group", args={"group_id": Pyramid.objects.get().group_id}, created_at=clock()
    )

    engine.tick()

    assert Command.objects.get().status == "pending"
    assert Pyramid.objects.get().group.status != "closing"


@pytest.mark.skipif(ON_POSTGRES, reason="the lock file is SQLite's; PostgreSQL: tests/reliability")
def test_an_engine_whose_lock_file_vanished_stops_trading_until_it_locks_again(
    tmp_path, monkeypatch, engine, client, clock
):
    db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "engine.sqlite3")}
    monkeypatch.setattr(lock_module, "settings", SimpleNamespace(DATABASES={"default": db}))
    first = Engine(EngineContext(clock=clock))
    first.start()
    lock_file = tmp_path / "engine.sqlite3.engine.lock"
    lock_file.unlink()  # someone cleans up the data dir: a second engine can now lock a new file
    second = Engine(EngineContext(clock=clock))
    second.start()

    Driver(first, client).webhook(price="43000")
    assert first.tick().signals == 0
    assert first.suspended and "lock is gone" in first.suspended
    assert Signal.objects.get().status == SignalStatus.RECEIVED
    Driver(second, client).tick()
    assert Pyramid.objects.count() == 1

    second.stop()
    clock.advance(seconds=RETRY_EVERY.total_seconds() + 1)
    first.tick()  # takes the lock back with a new lease, reconciles, trades again
    assert first.suspended is None
    assert Event.objects.filter(message__startswith="engine resumed trading").exists()
    Driver(first, client).send(price="42000", trade_id="after")
    assert Pyramid.objects.count() == 2
    first.stop()


def test_a_suspended_engine_retries_the_lock_only_every_few_seconds(engine, clock):
    attempts = []
    engine.lock = SimpleNamespace(
        held=lambda: False,
        release=lambda: None,
        acquire=lambda: (
            attempts.append(clock()) or (_ for _ in ()).throw(lock_module.EngineAlreadyRunning("held"))
        ),
    )
    for _ in range(5):
        engine.tick()
        clock.advance(seconds=0.1)
    clock.advance(seconds=RETRY_EVERY.total_seconds())
    engine.tick()
    assert len(attempts) == 2
    assert attempts[1] - attempts[0] >= RETRY_EVERY - timedelta(seconds=0.5)


def test_a_stale_engine_cannot_book_an_order_the_engine_that_took_over_has_booked(
    driver, engine, clock, monkeypatch
):
    """The lease is lost while a request is in flight (the lock's connection drops in a network
    blip that also slows the exchange). The new engine looks the order up by its client id and
    books its fill; when the stale engine's answer finally arrives, booking it again would double
    the position, and the exit would then sell what was never bought."""
    from trading import invariants
    from trading.engine import sending

    newer = Engine(EngineContext(clock=clock), use_lock=False)
    real_send_all = sending.send_all  # the paper venue takes a batch in one call
    taken_over = []

    def answers_after_a_takeover(ctx, batch, account):
        outcomes = real_send_all(ctx, batch, account)  # the exchange took (and filled) the entry
        if ctx is engine.ctx and not taken_over:
            taken_over.append(batch[0].client_order_id)
            newer.take_over()
            newer.reconcile()  # finds it SUBMITTING, looks it up by client id, books the fill
        return outcomes

    monkeypatch.setattr(sending, "send_all", answers_after_a_takeover)
    driver.webhook(price="43000")
    engine.tick()

    assert taken_over, "the entry order was never sent"
    assert engine.suspended and "no longer current" in engine.suspended
    entry = Order.objects.get(client_order_id=taken_over[0])
    assert entry.filled_qty == entry.qty  # booked once, by the engine that holds the lease
    leg = entry.leg
    assert leg.filled_qty == entry.qty
    report = invariants.check(clock(), drained=False)
    assert report.ok, report.problems
