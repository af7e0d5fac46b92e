"""Which engine transactions may commit without waiting for the disk (PostgreSQL).

A signal's decision commits lazily: a database crash may lose it, and it is then made again from
the inbox. The commit that marks orders SUBMITTING must be durable, because a request follows it.
The lazy setting rides on the lease fence's own round trip (`fencing.fence(lazy=True)`), so these
tests read the setting inside real transactions (transaction=True: no test transaction around).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection, transaction

from trading.engine import intake, sending
from trading.engine.fencing import LeaseLost
from trading.models import EngineLease, Order, OrderState, Signal, SignalStatus

pytestmark = pytest.mark.django_db(transaction=True)

on_postgres = pytest.mark.skipif(
    not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
    reason="synchronous_commit is PostgreSQL's",
)


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


@on_postgres
def test_a_lazy_engine_write_commits_without_waiting_for_the_disk(engine):
    with engine.ctx.write(lazy=True):
        assert synchronous_commit() == "off"
    with engine.ctx.write():
        assert synchronous_commit() == "on"  # SET LOCAL ended with the lazy transaction


@on_postgres
def test_a_lazy_write_inside_someone_elses_transaction_leaves_its_durability_alone(engine):
    with transaction.atomic(), engine.ctx.write(lazy=True):
        assert synchronous_commit() == "on"


@on_postgres
def test_a_signal_commits_lazily_and_the_mark_before_its_request_durably(driver, engine, monkeypatch):
    seen: dict[str, str] = {}
    apply, mark = intake._apply, sending.order_states.move_all

    def apply_and_look(ctx, signal):
        seen["signal"] = synchronous_commit()
        return apply(ctx, signal)

    def mark_and_look(ctx, batch, state, **fields):
        if state == OrderState.SUBMITTING:
            seen["submitting"] = synchronous_commit()
        return mark(ctx, batch, state, **fields)

    monkeypatch.setattr(intake, "_apply", apply_and_look)
    monkeypatch.setattr(sending.order_states, "move_all", mark_and_look)

    driver.send(price="43000")

    assert Signal.objects.get().status == SignalStatus.APPLIED
    assert Order.objects.exclude(state=OrderState.QUEUED).exists()  # its first order went out
    assert seen == {"signal": "off", "submitting": "on"}


def test_a_lazy_write_under_an_old_lease_fails_and_writes_nothing(engine):
    EngineLease.objects.filter(pk=1).update(epoch=engine.ctx.epoch + 1)  # another engine took over

    with pytest.raises(LeaseLost, match="no longer current"), engine.ctx.write(lazy=True):
        pytest.fail("the stale engine's write must not begin")

    assert EngineLease.objects.get(pk=1).epoch == engine.ctx.epoch + 1  # the newer lease stands
