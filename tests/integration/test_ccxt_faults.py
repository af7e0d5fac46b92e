"""Faults at the HTTP layer, for all six venues: timeouts never double-place, 429s back off.

Faults are injected by the transport and turned into exceptions by ccxt's own error handling
(`handle_errors` / `handle_http_status_code`), so each venue's real mapping is exercised.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchanges.core.adapter import OrderRequest, OrderStatus, OrderType, RateLimited, TemporaryError
from exchanges.retry import RetryBudgetExceeded, RetryPolicy, place_with_retry
from trading.core.types import OrderSide

from .ccxt_world import (  # noqa: F401 - no_sockets is an autouse fixture
    ENDPOINTS,
    VENUES,
    Spec,
    World,
    count,
    create_response,
    make_world,
    no_sockets,
    on,
    order_body,
    route_lookup,
)

D = Decimal
OUR_ID = "tvt1g3p1l4da0"
POLICY = RetryPolicy(max_attempts=4, base_delay_sec=0.5, jitter=0.5)
REQUEST = OrderRequest(OUR_ID, "LTC/USDT", OrderSide.BUY, OrderType.LIMIT, D("0.1"), D("60"))

# Each venue's own "too many requests" answer: (HTTP status, body). Bybit answers HTTP 200.
TOO_MANY = {
    "binance": (
        "429",
        {"code": -1003, "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE."},
    ),
    "bybit": (
        "200",
        {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": 0},
    ),
    "okx": ("429", {"code": "50011", "msg": "Too Many Requests", "data": []}),
    "kucoin": ("429", {"code": "429000", "msg": "Too Many Requests"}),
    "mexc": ("429", {"code": 429, "msg": "Too Many Requests"}),
    "gate": ("429", {"label": "TOO_MANY_REQUESTS", "message": "Request Rate limit Exceeded"}),
}


@pytest.fixture(params=VENUES)
def world(request: pytest.FixtureRequest) -> World:
    return make_world(request.param)


def _accepting(world: World, *, venue_knows_it: bool) -> dict:
    """Routes for an order the venue accepts; the lookup answers whether it already has it."""
    order = order_body(world, Spec(world.venue_cid(OUR_ID), "LTC/USDT", qty="0.1", price="60", order_id="42"))
    on(world, ENDPOINTS[world.venue].create, create_response(world, order))
    if venue_knows_it:
        route_lookup(world, order)
    else:
        route_lookup(world, order)  # after the re-send the venue has it
        route_lookup(world, None, times=1)
    return order


def test_a_timeout_after_the_venue_took_the_order_is_adopted_not_resent(world: World) -> None:
    create = ENDPOINTS[world.venue].create
    _accepting(world, venue_knows_it=True)
    world.transport.fail_next(*create, "timeout")  # recorded as sent, then the answer is lost
    sleeps: list[float] = []

    report = place_with_retry(world.adapter, REQUEST, sleeps.append, policy=POLICY, rand=lambda: 0.0)

    assert count(world, create) == 1  # exactly one create ever reached the venue
    assert (report.client_order_id, report.exchange_order_id, report.status) == (
        OUR_ID,
        "42",
        OrderStatus.OPEN,
    )
    assert sleeps == [POLICY.base_delay_sec]


def test_a_5xx_with_the_order_unknown_is_sent_again_once(world: World) -> None:
    create = ENDPOINTS[world.venue].create
    _accepting(world, venue_knows_it=False)
    world.transport.fail_next(*create, "503", body="<html>503 Service Temporarily Unavailable</html>")
    sleeps: list[float] = []

    report = place_with_retry(world.adapter, REQUEST, sleeps.append, policy=POLICY, rand=lambda: 0.0)

    assert count(world, create) == 2
    assert report.exchange_order_id == "42"
    assert len(sleeps) == 1


def test_a_429_backs_off_then_the_second_attempt_succeeds(world: World) -> None:
    create = ENDPOINTS[world.venue].create
    _accepting(world, venue_knows_it=True)
    status, body = TOO_MANY[world.venue]
    world.transport.fail_next(*create, status, body=body)
    sleeps: list[float] = []

    report = place_with_retry(world.adapter, REQUEST, sleeps.append, policy=POLICY, rand=lambda: 0.99)

    assert len(sleeps) == 1 and sleeps[0] >= POLICY.base_delay_sec
    assert sleeps[0] <= POLICY.base_delay_sec * (1 + POLICY.jitter)
    assert count(world, create) == 2  # refused by the rate limit, then accepted
    assert report.status is OrderStatus.OPEN and report.exchange_order_id == "42"


def test_each_venues_rate_limit_answer_is_rate_limited(world: World) -> None:
    status, body = TOO_MANY[world.venue]
    world.transport.fail_next(*ENDPOINTS[world.venue].create, status, body=body)
    with pytest.raises(RateLimited):
        world.adapter.create_order(REQUEST)


def test_binance_retry_after_is_honoured() -> None:
    world = make_world("binance")
    _accepting(world, venue_knows_it=True)
    status, body = TOO_MANY["binance"]
    world.transport.fail_next("POST", "/api/v3/order", status, body=body, retry_after=7)
    sleeps: list[float] = []
    place_with_retry(
        world.adapter, REQUEST, sleeps.append, policy=RetryPolicy(max_delay_sec=30), rand=lambda: 0.0
    )
    assert sleeps == [7.0]


def test_a_418_ip_ban_longer_than_the_budget_is_not_slept_through() -> None:
    world = make_world("binance")
    _accepting(world, venue_knows_it=True)
    body = {"code": -1003, "msg": "Way too many requests; IP banned until 1700000000000."}
    world.transport.fail_next("POST", "/api/v3/order", "418", body=body, retry_after=3600)
    sleeps: list[float] = []
    with pytest.raises(RetryBudgetExceeded) as caught:
        place_with_retry(world.adapter, REQUEST, sleeps.append, policy=POLICY, rand=lambda: 0.0)
    assert caught.value.retry_after_sec == 3600 and sleeps == []
    assert isinstance(caught.value, TemporaryError)


def test_timeouts_on_every_attempt_give_up_after_max_attempts() -> None:
    world = make_world("okx")
    _accepting(world, venue_knows_it=False)
    for _ in range(POLICY.max_attempts):
        world.transport.fail_next("POST", "/api/v5/trade/batch-orders", "timeout")
        world.transport.fail_next("GET", "/api/v5/trade/order", "timeout")
    sleeps: list[float] = []
    with pytest.raises(TemporaryError):
        place_with_retry(world.adapter, REQUEST, sleeps.append, policy=POLICY, rand=lambda: 0.0)
    assert count(world, ENDPOINTS["okx"].create) == 1  # never re-sent without a confirmed "unknown"
    assert sleeps == [0.5, 1.0, 2.0]
