"""The DB-backed paper exchange: filters, fills, fees, locking, durability, and the rule cache."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from exchanges.core.adapter import (
    ExchangeAdapter,
    InsufficientFunds,
    InvalidOrder,
    MarketCatalog,
    OrderNotFound,
    OrderRequest,
    OrderStatus,
    OrderType,
)
from exchanges.markets import load_binance_spot_catalog, rules_for, sync_market_rules
from exchanges.models import ExchangeAccount, MarketRule
from exchanges.paper import PaperExchange
from exchanges.paper_models import PaperOrder
from trading.core.types import MarketRules, OrderSide

D = Decimal
BUY, SELL = OrderSide.BUY, OrderSide.SELL
T0 = datetime(2024, 1, 1, tzinfo=UTC)

SMALL_CATALOG = MarketCatalog(
    rules={
        "BTC/USDT": MarketRules("BTC/USDT", D("0.01"), D("0.00001"), D("0.00001"), D("5"), D("9000")),
        "ETH/USDT": MarketRules("ETH/USDT", D("0.01"), D("0.0001"), D("0.0001"), D("5")),
    },
    by_exchange_symbol={"BTCUSDT": "BTC/USDT", "ETHUSDT": "ETH/USDT", "LUNAUSDT": "LUNA/USDT"},
)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> None:
        self.now += timedelta(seconds=1)


@pytest.fixture(scope="session")
def binance_catalog() -> MarketCatalog:
    """The real bundled catalog, parsed once per test session (~0.7 s)."""
    return load_binance_spot_catalog()


@pytest.fixture
def account(db: None) -> ExchangeAccount:
    return ExchangeAccount.objects.create(label="paper-test")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


MakeExchange = Callable[..., PaperExchange]


@pytest.fixture
def make_exchange(account: ExchangeAccount, clock: FakeClock) -> MakeExchange:
    def make(ratio: str = "1", catalog: MarketCatalog = SMALL_CATALOG) -> PaperExchange:
        return PaperExchange(
            account,
            fee_percent=D("0.1"),
            partial_fill_ratio=D(ratio),
            starting_balance_usdt=D("10000"),
            clock=clock,
            catalog_loader=lambda: catalog,
        )

    return make


@pytest.fixture
def paper(make_exchange: MakeExchange) -> PaperExchange:
    return make_exchange()


def limit(cid: str, side: OrderSide, qty: str, price: str, symbol: str = "BTC/USDT") -> OrderRequest:
    return OrderRequest(cid, symbol, side, OrderType.LIMIT, D(qty), D(price))


def market(cid: str, side: OrderSide, qty: str, symbol: str = "BTC/USDT") -> OrderRequest:
    return OrderRequest(cid, symbol, side, OrderType.MARKET, D(qty))


def usdt(paper: PaperExchange) -> tuple[Decimal, Decimal]:
    balance = paper.fetch_balance()["USDT"]
    return balance.free, balance.locked


def test_paper_exchange_implements_the_adapter_protocol(paper: PaperExchange) -> None:
    assert isinstance(paper, ExchangeAdapter)
    assert paper.venue == "paper"


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (limit("c1", BUY, "0.001", "30000.005"), "tick"),
        (limit("c1", BUY, "0.000015", "30000"), "step"),
        (limit("c1", BUY, "0.0001", "30000"), "notional 3 is below the minimum 5"),
        (limit("c1", BUY, "1", "1", symbol="FOO/USDT"), "unknown symbol"),
        (limit("c1", BUY, "1", "1", symbol="LUNA/USDT"), "inactive"),
        (market("c1", BUY, "0.001"), "no price for BTC/USDT yet"),
        (limit("c1", BUY, "0.001", "0"), "positive price"),
    ],
)
def test_invalid_orders_are_refused_and_leave_no_trace(
    paper: PaperExchange, request_: OrderRequest, match: str
) -> None:
    with pytest.raises(InvalidOrder, match=match):
        paper.create_order(request_)
    assert paper.fetch_order("c1", request_.symbol) is None


def test_market_order_is_judged_by_the_filters_at_the_current_price(paper: PaperExchange) -> None:
    paper.set_price("BTC/USDT", D("30000"))
    with pytest.raises(InvalidOrder, match="min_notional|notional"):
        paper.create_order(market("c1", BUY, "0.0001"))


def test_insufficient_balance_is_refused(paper: PaperExchange) -> None:
    with pytest.raises(InsufficientFunds, match="USDT"):
        paper.create_order(limit("c1", BUY, "0.5", "30000"))  # 15,000 + fee > 10,000
    with pytest.raises(InsufficientFunds, match="BTC"):
        paper.create_order(limit("c2", SELL, "0.001", "30000"))
    assert paper.fetch_open_orders() == []


def test_market_orders_fill_at_the_current_price_and_pay_the_fee(paper: PaperExchange) -> None:
    paper.set_price("BTC/USDT", D("30000"))
    bought = paper.create_order(market("b1", BUY, "0.01"))
    assert (bought.status, bought.filled_qty, bought.avg_fill_price, bought.fee_quote) == (
        OrderStatus.FILLED,
        D("0.01"),
        D("30000"),
        D("0.3"),
    )
    assert bought.exchange_order_id.startswith("P") and bought.price is None
    assert usdt(paper) == (D("9699.7"), D("0"))
    assert paper.fetch_balance()["BTC"].free == D("0.01")

    paper.set_price("BTC/USDT", D("31000"))
    sold = paper.create_order(market("s1", SELL, "0.01"))
    assert (sold.status, sold.avg_fill_price, sold.fee_quote) == (OrderStatus.FILLED, D("31000"), D("0.31"))
    assert usdt(paper) == (D("9699.7") + D("310") - D("0.31"), D("0"))
    assert paper.fetch_balance()["BTC"].total == 0


def test_limit_rests_locks_funds_and_fills_at_its_limit_when_crossed(
    paper: PaperExchange, clock: FakeClock
) -> None:
    paper.set_price("BTC/USDT", D("30000"))
    placed = paper.create_order(limit("b1", BUY, "0.01", "29000"))
    assert placed.status is OrderStatus.OPEN and placed.filled_qty == 0
    assert usdt(paper) == (D("10000") - D("290.29"), D("290.29"))  # 290 + 0.1 % fee

    assert paper.set_price("BTC/USDT", D("29500")) == []
    clock.tick()
    [filled] = paper.set_price("BTC/USDT", D("28900"))
    assert (filled.client_order_id, filled.status, filled.avg_fill_price, filled.fee_quote) == (
        "b1",
        OrderStatus.FILLED,
        D("29000"),  # maker: its own limit, not the crossing price
        D("0.29"),
    )
    assert filled.updated_at == clock.now
    assert usdt(paper) == (D("9709.71"), D("0"))
    assert paper.fetch_balance()["BTC"].free == D("0.01")
    assert paper.fetch_open_orders() == []


def test_marketable_limit_fills_at_once_at_the_better_current_price(paper: PaperExchange) -> None:
    paper.set_price("BTC/USDT", D("30000"))
    report = paper.create_order(limit("b1", BUY, "0.01", "31000"))
    assert (report.status, report.avg_fill_price, report.price) == (
        OrderStatus.FILLED,
        D("30000"),
        D("31000"),
    )
    assert usdt(paper) == (D("9699.7"), D("0"))


def test_partial_fill_ratio_half_fills_half_then_the_rest(make_exchange: MakeExchange) -> None:
    paper = make_exchange(ratio="0.5")
    paper.set_price("BTC/USDT", D("30000"))
    paper.create_order(limit("b1", BUY, "0.01", "29000"))

    [first] = paper.set_price("BTC/USDT", D("28900"))
    assert (first.status, first.filled_qty, first.remaining_qty) == (OrderStatus.OPEN, D("0.005"), D("0.005"))
    assert usdt(paper)[1] == D("145.145")  # the unfilled half stays locked

    [second] = paper.set_price("BTC/USDT", D("28800"))
    assert (second.status, second.filled_qty, second.avg_fill_price, second.fee_quote) == (
        OrderStatus.FILLED,
        D("0.01"),
        D("29000"),
        D("0.29"),
    )
    assert usdt(paper) == (D("9709.71"), D("0"))


def test_rest_of_a_marketable_limit_fills_at_the_market_price_clamped_by_its_limit(
    make_exchange: MakeExchange,
) -> None:
    paper = make_exchange(ratio="0.5")
    paper.set_price("BTC/USDT", D("30000"))
    placed = paper.create_order(limit("b1", BUY, "0.01", "30150"))  # a guard 0.5 % above the market
    assert (placed.filled_qty, placed.avg_fill_price) == (D("0.005"), D("30000"))

    [rest] = paper.set_price("BTC/USDT", D("29800"))  # the market fell: the rest takes 29800, not 30150
    assert (rest.status, rest.filled_qty, rest.avg_fill_price) == (OrderStatus.FILLED, D("0.01"), D("29900"))
    assert rest.fee_quote == D("0.299")  # 0.1 % of 150 + 149
    assert usdt(paper) == (D("10000") - D("299") - D("0.299"), D("0"))  # nothing left locked at 30150


def test_a_marketable_rest_the_market_moved_away_from_rests_and_fills_at_its_limit(
    make_exchange: MakeExchange,
) -> None:
    paper = make_exchange(ratio="0.5")
    paper.set_price("BTC/USDT", D("30000"))
    paper.create_order(limit("s1", BUY, "0.01", "30100"))  # half at 30000
    assert paper.set_price("BTC/USDT", D("30200")) == []  # above the limit: now it rests at 30100
    assert PaperOrder.objects.get(client_order_id="s1").rested is True

    [rest] = paper.set_price("BTC/USDT", D("29000"))  # crossed on the way down: maker at its limit
    assert (rest.status, rest.avg_fill_price) == (OrderStatus.FILLED, D("30050"))


def test_duplicate_client_order_id_returns_the_same_order(paper: PaperExchange) -> None:
    first = paper.create_order(limit("b1", BUY, "0.01", "29000"))
    again = paper.create_order(limit("b1", BUY, "0.02", "28000"))
    assert again == first
    assert PaperOrder.objects.filter(client_order_id="b1").count() == 1


def test_cancel_releases_locked_funds_and_done_orders_come_back_unchanged(paper: PaperExchange) -> None:
    paper.set_price("BTC/USDT", D("30000"))
    paper.create_order(market("b1", BUY, "0.01"))
    paper.create_order(limit("s1", SELL, "0.004", "35000"))
    btc = paper.fetch_balance()["BTC"]
    assert (btc.free, btc.locked) == (D("0.006"), D("0.004"))

    cancelled = paper.cancel_order("s1", "BTC/USDT")
    assert cancelled.status is OrderStatus.CANCELLED
    btc = paper.fetch_balance()["BTC"]
    assert (btc.free, btc.locked) == (D("0.01"), D("0"))
    assert paper.cancel_order("s1", "BTC/USDT") == cancelled
    filled = paper.fetch_order("b1", "BTC/USDT")
    assert paper.cancel_order("b1", "BTC/USDT") == filled
    with pytest.raises(OrderNotFound):
        paper.cancel_order("nope", "BTC/USDT")
    assert paper.set_price("BTC/USDT", D("36000")) == []  # a cancelled order never fills


def test_state_survives_a_new_exchange_instance(
    make_exchange: MakeExchange, account: ExchangeAccount
) -> None:
    first = make_exchange()
    first.set_price("BTC/USDT", D("30000"))
    placed = first.create_order(limit("b1", BUY, "0.01", "29000"))

    account.refresh_from_db()
    second = make_exchange()  # as after a restart: nothing kept in memory
    assert second.fetch_open_orders("BTC/USDT") == [placed]
    assert second.fetch_prices(["BTC/USDT", "ETH/USDT"]) == {"BTC/USDT": D("30000")}
    assert second.fetch_balance()["USDT"].locked == D("290.29")
    [filled] = second.set_price("BTC/USDT", D("29000"))
    assert filled.status is OrderStatus.FILLED


def test_balance_is_seeded_once(paper: PaperExchange) -> None:
    assert usdt(paper) == (D("10000"), D("0"))
    paper.set_price("BTC/USDT", D("30000"))
    paper.create_order(market("b1", BUY, "0.01"))
    assert usdt(paper) == (D("9699.7"), D("0"))


def test_hint_price_seeds_an_unknown_price_only_and_never_matches(paper: PaperExchange) -> None:
    paper.create_order(limit("b1", BUY, "0.01", "29000"))
    paper.hint_price("BTC/USDT", D("28000.004"))
    assert paper.fetch_prices(["BTC/USDT"]) == {"BTC/USDT": D("28000")}  # put on the tick grid
    paper.hint_price("BTC/USDT", D("27000"))
    assert paper.fetch_prices(["BTC/USDT"]) == {"BTC/USDT": D("28000")}
    assert paper.fetch_order("b1", "BTC/USDT").status is OrderStatus.OPEN  # type: ignore[union-attr]


def test_set_price_only_matches_its_own_symbol(paper: PaperExchange) -> None:
    paper.create_order(limit("b1", BUY, "0.01", "29000"))
    paper.create_order(limit("e1", BUY, "0.01", "2000", symbol="ETH/USDT"))
    assert paper.set_price("ETH/USDT", D("1")) != []
    assert [o.client_order_id for o in paper.fetch_open_orders()] == ["b1"]


def test_set_price_refuses_a_non_positive_price(paper: PaperExchange) -> None:
    with pytest.raises(InvalidOrder, match="positive"):
        paper.set_price("BTC/USDT", D("0"))
    assert paper.fetch_prices(["BTC/USDT"]) == {}


# ---- the real bundled catalog ---------------------------------------------------------------


def test_real_catalog_enforces_pepe_step_and_min_notional(
    make_exchange: MakeExchange, binance_catalog: MarketCatalog
) -> None:
    paper = make_exchange(catalog=binance_catalog)
    paper.set_price("PEPE/USDT", D("0.00000079"))
    with pytest.raises(InvalidOrder, match="step"):
        paper.create_order(market("p1", BUY, "12345678.5", "PEPE/USDT"))
    with pytest.raises(InvalidOrder, match="notional"):
        paper.create_order(market("p1", BUY, "1000000", "PEPE/USDT"))  # 0.79 USDT < 5
    report = paper.create_order(market("p1", BUY, "10000000", "PEPE/USDT"))
    assert (report.status, report.avg_fill_price, report.fee_quote) == (
        OrderStatus.FILLED,
        D("0.00000079"),
        D("0.0079"),
    )


# ---- the MarketRule cache -------------------------------------------------------------------


def test_sync_market_rules_is_idempotent_and_marks_vanished_symbols_inactive(
    account: ExchangeAccount,
) -> None:
    assert sync_market_rules(account, SMALL_CATALOG, T0) == 2
    assert sync_market_rules(account, SMALL_CATALOG, T0 + timedelta(minutes=1)) == 0
    account.refresh_from_db()
    assert account.markets_synced_at == T0 + timedelta(minutes=1)
    assert rules_for(account, "BTC/USDT") == SMALL_CATALOG.rules["BTC/USDT"]
    assert MarketRule.objects.get(account=account, symbol="BTC/USDT").exchange_symbol == "BTCUSDT"

    changed_btc = MarketRules("BTC/USDT", D("0.1"), D("0.00001"), D("0.00001"), D("5"), D("9000"))
    shrunk = MarketCatalog(
        rules={"BTC/USDT": changed_btc}, by_exchange_symbol=SMALL_CATALOG.by_exchange_symbol
    )
    assert sync_market_rules(account, shrunk, T0 + timedelta(minutes=2)) == 2  # BTC updated, ETH gone
    assert rules_for(account, "BTC/USDT") == changed_btc
    assert rules_for(account, "ETH/USDT") is None
    assert not MarketRule.objects.get(account=account, symbol="ETH/USDT").active

    assert sync_market_rules(account, SMALL_CATALOG, T0 + timedelta(minutes=3)) == 2  # ETH is back
    assert rules_for(account, "ETH/USDT") == SMALL_CATALOG.rules["ETH/USDT"]


def test_sync_of_the_real_catalog_writes_once(
    account: ExchangeAccount, binance_catalog: MarketCatalog
) -> None:
    assert sync_market_rules(account, binance_catalog, T0) == len(binance_catalog.rules)
    assert sync_market_rules(account, binance_catalog, T0 + timedelta(minutes=1)) == 0
    assert rules_for(account, "PEPE/USDT") == binance_catalog.rules["PEPE/USDT"]
