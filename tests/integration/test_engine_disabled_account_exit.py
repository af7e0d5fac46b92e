"""Disabling an account stops new entries there, never the way out: an exit alert for a live group on
a disabled account still closes it, while a new entry is rejected."""

from __future__ import annotations

import pytest

from exchanges.models import ExchangeAccount
from trading.models import GroupStatus, Signal, SignalStatus

from .engine_world import group_of

pytestmark = pytest.mark.django_db


def _disable_paper() -> None:
    ExchangeAccount.objects.filter(label="paper").update(enabled=False)


def test_an_exit_closes_a_live_group_on_a_disabled_account(driver) -> None:
    driver.price("BTCUSDT", "43000")
    driver.send()
    group = group_of()
    assert group.status != GroupStatus.CLOSED
    _disable_paper()

    driver.send(intent="exit", side=None, price=None, size=None)
    driver.tick(2)

    exit_signal = Signal.objects.order_by("-id").first()
    assert exit_signal.status == SignalStatus.APPLIED, exit_signal.reason
    group.refresh_from_db()
    assert group.status in (GroupStatus.CLOSING, GroupStatus.CLOSED)


def test_a_new_entry_on_a_disabled_account_is_still_rejected(driver) -> None:
    driver.price("BTCUSDT", "43000")
    _disable_paper()
    driver.send()
    signal = Signal.objects.get()
    assert signal.status == SignalStatus.REJECTED and "no enabled account" in signal.reason


def test_an_exit_with_no_live_group_anywhere_is_refused_as_before(driver) -> None:
    _disable_paper()
    driver.send(intent="exit", side=None, price=None, size=None)
    signal = Signal.objects.get()
    assert signal.status == SignalStatus.REJECTED and "no enabled account" in signal.reason
