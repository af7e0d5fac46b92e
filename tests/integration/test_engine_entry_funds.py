"""Funds are decided before an entry opens: a short needs an account that can short, a long its quote.

A refused entry is rejected with the reason; it never opens a group, sends an order or stops the
account's other entries.
"""

from __future__ import annotations

import pytest

from exchanges.paper_models import PaperBalance
from trading.models import GroupStatus, Order, PositionGroup, Signal, SignalStatus

from .engine_world import D, group_of, paper_account, seed_paper_balance

pytestmark = pytest.mark.django_db

SHORTS_NEED = "shorts need a swap/margin account"


def assert_refused_without_a_trace(signal: Signal, reason_start: str) -> None:
    assert signal.status == SignalStatus.REJECTED
    assert signal.reason.startswith(reason_start), signal.reason
    assert paper_account().entries_blocked_reason == ""


def test_a_short_on_a_spot_account_is_rejected_up_front(driver):
    driver.send(side="sell", price="43000", trade_id="short")

    signal = Signal.objects.get(trade_id="short")
    assert_refused_without_a_trace(signal, f"rejected: {SHORTS_NEED}")
    assert "paper is a spot account holding 0 BTC" in signal.reason
    assert not PositionGroup.objects.exists()
    assert not Order.objects.exists()

    driver.send(symbol="ETHUSDT", price="2000", trade_id="long")  # the account still trades
    assert Signal.objects.get(trade_id="long").status == SignalStatus.APPLIED


def test_a_reverse_to_short_on_a_spot_account_is_rejected_and_keeps_the_long(driver):
    driver.send(price="43000", trade_id="long")
    long_group = group_of()
    driver.send(intent="reverse", side="sell", price="43000", trade_id="rev")

    assert_refused_without_a_trace(Signal.objects.get(trade_id="rev"), f"rejected: {SHORTS_NEED}")
    long_group.refresh_from_db()
    assert long_group.status != GroupStatus.CLOSING and long_group.is_open
    assert not Order.objects.filter(purpose="rev").exists()


def test_a_funds_shortfall_rejects_the_entry_not_the_account(driver):
    PaperBalance.objects.create(account=paper_account(), asset="USDT", free=D("50"))
    driver.send(price="43000", size="500", trade_id="big")

    signal = Signal.objects.get(trade_id="big")
    assert_refused_without_a_trace(signal, "rejected: not enough USDT on paper:")
    assert "50 free" in signal.reason
    assert not PositionGroup.objects.exists()
    assert not Order.objects.exists()

    driver.send(symbol="ETHUSDT", price="2000", size="40", trade_id="small")  # fits in 50 USDT
    assert Signal.objects.get(trade_id="small").status == SignalStatus.APPLIED


def test_orders_not_yet_sent_count_against_the_balance(driver):
    # Enough BTC for one 500 USDT short ladder (0.01159 BTC), not for two.
    seed_paper_balance("BTC", "0.015")
    driver.webhook(side="sell", price="43000", timeframe="15", trade_id="first")
    driver.webhook(side="sell", price="43000", timeframe="60", trade_id="second")
    driver.tick()  # one tick: the first ladder's resting legs are still unsent when the second comes

    assert Signal.objects.get(trade_id="first").status == SignalStatus.APPLIED
    second = Signal.objects.get(trade_id="second")
    assert_refused_without_a_trace(second, f"rejected: {SHORTS_NEED}")
    assert PositionGroup.objects.count() == 1
