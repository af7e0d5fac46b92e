"""The per-account order scheduler: orders wait in a queue and leave within the account's rate
limit, closes first; 429s pause the account; an auth failure stops new entries, a funds
failure rejects only its order.

The paper venue has no order-rate limit of its own, so these tests install a tight token bucket
(1 order per second, burst 1) on the engine clock, and move that clock by hand between ticks.
"""

from __future__ import annotations

from typing import Any

import pytest

from exchanges.core.adapter import AuthenticationError, InsufficientFunds, RateLimited, TemporaryError
from exchanges.models import ExchangeAccount
from exchanges.paper_models import PaperOrder
from exchanges.ratelimit import OrderRateLimiter
from trading.core.clientid import Purpose, parse_client_order_id
from trading.models import Event, LegState, Order, OrderState, Signal, SignalStatus

from .engine_world import (
    D,
    group_of,
    legs_of,
    paper_account,
    paper_orders_per_client_id,
)
from .risk_world import api, install_scripted_venue, order_is, post

pytestmark = pytest.mark.django_db


def tight_limiter(engine, clock, *, rate: float = 1, burst: float = 1) -> OrderRateLimiter:
    """Replace the paper account's (absent) limit by a token bucket on the engine clock."""
    limiter = OrderRateLimiter(rate_per_sec=rate, burst=burst, clock=clock)
    engine.ctx.limiters[paper_account().pk] = limiter
    return limiter


def sent_ids() -> list[str]:
    """Client ids in the order the paper exchange received them."""
    return list(PaperOrder.objects.order_by("id").values_list("client_order_id", flat=True))


def purposes(client_ids: list[str]) -> list[tuple[str, int | None]]:
    """(purpose, leg) of each engine client id, for readable assertions."""
    found = []
    for cid in client_ids:
        parsed = parse_client_order_id(cid)
        assert parsed is not None, cid
        found.append((parsed.purpose.value, parsed.leg))
    return found


def queued() -> list[Order]:
    return list(Order.objects.filter(state=OrderState.QUEUED).order_by("id"))


def second(driver, clock, seconds: float = 1) -> None:
    clock.advance(seconds=seconds)
    driver.tick()


# ---- draining within the limit ------------------------------------------------------------


def test_an_entry_queues_the_whole_ladder_and_sends_one_order_per_token(driver, engine, clock):
    tight_limiter(engine, clock)
    driver.send(price="43000")

    group = group_of()
    assert Order.objects.filter(group=group).count() == 5  # the whole ladder exists at once
    assert purposes(sent_ids()) == [("entry", 0)]
    assert [o.leg.index for o in queued()] == [1, 2, 3, 4]
    assert legs_of(group)[0].state == LegState.FILLED

    for n in range(1, 5):
        second(driver, clock)
        assert purposes(sent_ids()) == [("entry", 0)] + [("dca", i) for i in range(1, n + 1)]
    assert not queued()
    assert set(paper_orders_per_client_id().values()) == {1}
    assert set(Order.objects.values_list("sends", flat=True)) == {1}


def test_orders_sent_never_exceed_the_bucket(driver, engine, clock):
    tight_limiter(engine, clock)
    driver.send(price="43000")
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")  # five more, no token left
    assert PaperOrder.objects.count() == 1

    for elapsed in range(1, 12):
        clock.advance(seconds=0.5)  # a tick every half second: a token every second tick
        driver.tick()
        sent = PaperOrder.objects.count()
        assert sent == 1 + elapsed // 2, elapsed
        assert sum(Order.objects.values_list("sends", flat=True)) == sent


def test_a_burst_drains_at_the_burst_then_at_the_rate(driver, engine, clock):
    tight_limiter(engine, clock, rate=1, burst=3)
    driver.send(price="43000")
    assert PaperOrder.objects.count() == 3
    driver.tick()  # no time passed: nothing more
    assert PaperOrder.objects.count() == 3
    second(driver, clock)
    assert PaperOrder.objects.count() == 4


# ---- priorities ---------------------------------------------------------------------------


def test_an_exit_goes_ahead_of_queued_dca_legs_which_are_cancelled_without_reaching_the_exchange(
    driver, engine, clock
):
    tight_limiter(engine, clock)
    driver.send(price="43000")  # DCA0 sent and filled; DCA1-4 wait
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")  # ETH's whole ladder waits
    btc_dca = [o.client_order_id for o in Order.objects.filter(group=group_of(), purpose="dca")]

    driver.send(intent="exit", side=None, price="43000", trade_id="x")
    exit_order = Order.objects.get(purpose=Purpose.EXIT.value)
    assert exit_order.state == OrderState.QUEUED  # no token yet
    assert set(Order.objects.filter(client_order_id__in=btc_dca).values_list("state", flat=True)) == {
        OrderState.CANCELLED
    }

    second(driver, clock)
    assert purposes(sent_ids()) == [("entry", 0), ("exit", None)]  # ahead of ETH's earlier entry
    assert not PaperOrder.objects.filter(client_order_id__in=btc_dca).exists()
    assert [lg.state for lg in legs_of(group_of())] == [LegState.CLOSED] + [LegState.CANCELLED] * 4

    second(driver, clock)
    assert PaperOrder.objects.order_by("-id").first().symbol == "ETH/USDT"
    assert not PaperOrder.objects.filter(client_order_id__in=btc_dca).exists()


def test_a_take_profit_close_goes_ahead_of_queued_entries_of_another_group(driver, engine, clock):
    tight_limiter(engine, clock)
    driver.send(price="43000")  # BTC DCA0 0.00232 filled at 43000; its TP is 1 % up
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")  # ETH's ladder waits
    driver.price("BTCUSDT", "43430")  # BTC DCA0 reaches its TP: the close waits for a token too

    [tp] = Order.objects.filter(purpose=Purpose.TP_LEG.value)
    assert tp.state == OrderState.QUEUED
    eth_entry = Order.objects.get(symbol="ETH/USDT", purpose=Purpose.ENTRY.value)
    assert eth_entry.pk < tp.pk  # queued earlier, yet goes later

    second(driver, clock)
    assert purposes(sent_ids()) == [("entry", 0), ("tp", None)]
    second(driver, clock)
    assert sent_ids()[-1] == eth_entry.client_order_id
    assert Order.objects.filter(purpose=Purpose.TP_LEG.value).count() == 1  # one close, never two


# ---- faults -------------------------------------------------------------------------------


def test_a_429_pauses_the_account_until_retry_after_then_the_order_is_sent_once(driver, engine, clock):
    venue = install_scripted_venue(engine)
    venue.fail(
        order_is("BTC/USDT", Purpose.ENTRY),
        RateLimited("429 Too Many Requests", retry_after_sec=5),
        once=True,
    )
    driver.send(price="43000")

    entry = Order.objects.get(purpose=Purpose.ENTRY.value)
    assert entry.state == OrderState.SUBMITTING
    assert len(venue.requests) == 1  # the 429 stopped the burst: the DCA legs wait
    assert len(queued()) == 4
    assert Event.objects.filter(message__contains=f"order {entry.client_order_id} not confirmed").exists()

    for _ in range(4):
        second(driver, clock)  # 1 .. 4 s: the account is paused
        assert len(venue.requests) == 1
        assert not PaperOrder.objects.exists()

    second(driver, clock)  # 5 s: looked up by client id (unknown), sent again with the same id
    entry.refresh_from_db()
    assert entry.state == OrderState.FILLED
    assert entry.sends == 2
    assert [r.client_order_id for r in venue.requests].count(entry.client_order_id) == 2
    assert paper_orders_per_client_id()[entry.client_order_id] == 1
    assert set(paper_orders_per_client_id().values()) == {1}
    assert len(paper_orders_per_client_id()) == 5


def test_a_lost_order_is_not_re_sent_while_the_account_is_paused(driver, engine, clock):
    venue = install_scripted_venue(engine)
    venue.fail(order_is("BTC/USDT", Purpose.ENTRY), TemporaryError("read timed out"), once=True)
    venue.fail(order_is("BTC/USDT", Purpose.DCA, leg=1), RateLimited("429", retry_after_sec=5), once=True)
    driver.send(price="43000")  # the entry times out, then DCA1's 429 pauses the account

    assert len(venue.requests) == 2
    second(driver, clock)  # 1 s: still paused
    assert len(venue.requests) == 2


def test_a_re_send_takes_a_token_like_any_other_send(driver, engine, clock):
    venue = install_scripted_venue(engine)
    tight_limiter(engine, clock)
    venue.fail(order_is("BTC/USDT", Purpose.ENTRY), TemporaryError("read timed out"), once=True)
    driver.send(price="43000")  # the entry's send took the only token

    assert len(venue.requests) == 1  # the look-up and re-send wait for the next token
    second(driver, clock)
    assert len(venue.requests) == 2  # one token, one request


def test_an_auth_failure_rejects_the_order_and_stops_entries_until_cleared(driver, engine):
    error = AuthenticationError("API key expired")
    venue = install_scripted_venue(engine)
    venue.fail(order_is("BTC/USDT", Purpose.ENTRY), error, once=True)
    driver.send(price="43000", trade_id="first")

    entry = Order.objects.get(purpose=Purpose.ENTRY.value)
    assert (entry.state, entry.error) == (OrderState.REJECTED, str(error))
    account = paper_account()
    assert account.entries_blocked_reason == f"AuthenticationError: {error}"
    assert Event.objects.filter(
        severity=Event.Severity.ERROR, message__startswith=f"order {entry.client_order_id} rejected by paper"
    ).exists()

    driver.send(symbol="ETHUSDT", price="2000", trade_id="second")
    blocked = Signal.objects.get(trade_id="second")
    assert blocked.status == SignalStatus.REJECTED
    assert "entries stopped on paper" in blocked.reason
    assert not Order.objects.filter(symbol="ETH/USDT").exists()

    post(api(), "/api/v1/accounts/paper/clear-block")
    driver.tick()
    assert paper_account().entries_blocked_reason == ""
    driver.send(symbol="ETHUSDT", price="2000", trade_id="third")
    assert Signal.objects.get(trade_id="third").status == SignalStatus.APPLIED
    assert Order.objects.filter(
        symbol="ETH/USDT", purpose=Purpose.ENTRY.value, state=OrderState.FILLED
    ).exists()


def test_insufficient_funds_rejects_that_entry_with_an_alert_not_the_account(driver, engine):
    # The venue refuses for funds even though the engine's own balance check passed (the balance
    # moved in between): that order is rejected and alerted; the account's other entries go on.
    error = InsufficientFunds("BTC/USDT: 60 USDT short")
    venue = install_scripted_venue(engine)
    venue.fail(order_is("BTC/USDT", Purpose.ENTRY), error, once=True)
    driver.send(price="43000", trade_id="first")

    entry = Order.objects.get(purpose=Purpose.ENTRY.value)
    assert (entry.state, entry.error) == (OrderState.REJECTED, str(error))
    assert paper_account().entries_blocked_reason == ""
    assert Event.objects.filter(
        severity=Event.Severity.ERROR, message__startswith=f"order {entry.client_order_id} rejected by paper"
    ).exists()

    driver.send(symbol="ETHUSDT", price="2000", trade_id="second")
    assert Signal.objects.get(trade_id="second").status == SignalStatus.APPLIED
    assert Order.objects.filter(
        symbol="ETH/USDT", purpose=Purpose.ENTRY.value, state=OrderState.FILLED
    ).exists()


# ---- connection status --------------------------------------------------------------------


def test_dispatch_records_the_rate_limit_headroom(driver, engine, clock):
    tight_limiter(engine, clock, rate=1, burst=3)
    driver.send(price="43000")  # three sent at once, two wait
    assert paper_account().rate_limit_headroom == D("0")
    second(driver, clock)  # one token, one sent
    assert paper_account().rate_limit_headroom == D("0")
    second(driver, clock, seconds=3)  # the last one leaves two of three tokens
    assert not queued()
    assert paper_account().rate_limit_headroom == D("2")


class OutageVenue:
    """The paper venue behind a network outage: every call fails until `heal()`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.down = True

    def heal(self) -> None:
        self.down = False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise TemporaryError("exchange unreachable")
            return attr(*args, **kwargs)

        return call


def test_last_ok_at_follows_successful_calls_and_last_error_the_failures(driver, engine, clock):
    ExchangeAccount.objects.filter(pk=paper_account().pk).update(last_ok_at=None)
    driver.send(price="43000")
    started = clock()
    account = paper_account()
    assert (account.last_ok_at, account.last_error) == (started, "")

    venue = OutageVenue(engine.ctx.adapter(account))
    engine.ctx._adapters[account.pk] = venue
    clock.advance(seconds=10)
    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth")  # every request fails
    account = paper_account()
    assert account.last_ok_at == started
    assert account.last_error == "TemporaryError: exchange unreachable"

    venue.heal()
    second(driver, clock, seconds=10)  # the lookups succeed, the lost orders are sent
    account = paper_account()
    assert (account.last_ok_at, account.last_error) == (clock(), "")
    assert PaperOrder.objects.filter(symbol="ETH/USDT").count() == 5
