"""Within one batch of signals a market's price and an account's balances are asked of the venue
once; the next batch (or an order reaching the venue) asks again."""

from __future__ import annotations

from decimal import Decimal

import pytest

from exchanges.paper import PaperExchange
from exchanges.paper_models import PaperBalance
from trading.models import Signal, SignalStatus

from ..conftest import configure
from .engine_world import D, paper_account

pytestmark = pytest.mark.django_db


class CountingPaper(PaperExchange):
    asked: list[list[str]]
    balances_read: int = 0

    def fetch_balance(self):
        self.balances_read += 1
        return super().fetch_balance()

    def fetch_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        self.asked.append(list(symbols))
        return super().fetch_prices(symbols)


@pytest.fixture
def venue(driver) -> CountingPaper:
    """A pool of one, entries checked against the market; the engine's venue then counts its asks
    (installed after the config is applied: a config change builds the adapters anew)."""
    configure(execution_pool={"max_open_groups": 1}, grid_strategy={"max_entry_deviation_percent": "5"})
    driver.tick()
    paper = driver.engine.ctx.adapter(paper_account())
    paper.__class__ = CountingPaper  # the engine's own instance, now counting
    paper.asked = []
    return paper


def _queue_three_entries(driver) -> None:
    """A full pool: each entry's price is checked against the market, then it waits in the queue."""
    driver.send(symbol="BTCUSDT", price="43000", trade_id="takes-the-slot")
    for n in range(3):
        driver.webhook(symbol="ETHUSDT", price="2000", trade_id=f"eth-{n}", timeframe=str(15 + n))


def test_a_markets_price_is_fetched_once_per_batch_of_signals(driver, venue):
    _queue_three_entries(driver)
    venue.asked.clear()

    driver.engine.tick()

    statuses = set(Signal.objects.filter(trade_id__startswith="eth-").values_list("status", flat=True))
    assert statuses == {SignalStatus.QUEUED}
    assert sum("ETH/USDT" in symbols for symbols in venue.asked) == 1


def test_the_next_batch_reads_the_price_afresh(driver, venue):
    _queue_three_entries(driver)
    driver.engine.tick()
    driver.price("ETHUSDT", "2500")  # the market moved 25 %: too far for a 2,000 entry now
    venue.asked.clear()

    driver.send(symbol="ETHUSDT", price="2000", trade_id="eth-late", timeframe="60")

    assert sum("ETH/USDT" in symbols for symbols in venue.asked) >= 1
    late = Signal.objects.get(trade_id="eth-late")
    assert late.status == SignalStatus.REJECTED


def test_balances_are_read_once_per_batch_and_the_batchs_own_entries_count_against_them(driver, venue):
    """Three entries in one tick: one read of the balances; the third does not fit beside the two
    before it (their orders are queued, not yet at the venue) and is rejected."""
    PaperBalance.objects.update_or_create(account=paper_account(), asset="USDT", defaults={"free": D("1100")})
    configure(execution_pool={"max_open_groups": 5})
    driver.tick()
    paper = driver.engine.ctx.adapter(paper_account())  # rebuilt by the config change
    paper.__class__ = CountingPaper
    paper.asked, paper.balances_read = [], 0
    for n, symbol in enumerate(["ETHUSDT", "SOLUSDT", "BNBUSDT"]):
        driver.webhook(symbol=symbol, price=["2000", "100", "300"][n], trade_id=f"fund-{n}")

    driver.engine.tick()

    assert paper.balances_read == 1
    outcomes = [Signal.objects.get(trade_id=f"fund-{n}") for n in range(3)]
    assert [s.status for s in outcomes] == [SignalStatus.APPLIED, SignalStatus.APPLIED, SignalStatus.REJECTED]
    assert outcomes[2].reason.startswith("rejected: not enough USDT on paper:")


def test_a_batch_of_entries_on_several_markets_asks_the_venue_for_prices_once(driver, venue):
    """One request per account for the whole batch (a live venue's `fetch_tickers`), not one per
    market as each entry is decided: a burst of entries on ten markets must not wait for ten."""
    markets = {"ETHUSDT": "2000", "SOLUSDT": "100", "BNBUSDT": "300"}
    for symbol, price in markets.items():
        driver.price(symbol, price)
    driver.send(symbol="BTCUSDT", price="43000", trade_id="takes-the-slot")
    for n, (symbol, price) in enumerate(markets.items()):
        driver.webhook(symbol=symbol, price=price, trade_id=f"burst-{n}")
    venue.asked.clear()

    driver.engine.tick()

    statuses = set(Signal.objects.filter(trade_id__startswith="burst-").values_list("status", flat=True))
    assert statuses == {SignalStatus.QUEUED}  # each was judged against its market's price
    assert len(venue.asked) == 1
    assert set(venue.asked[0]) == {"ETH/USDT", "SOL/USDT", "BNB/USDT"}


class BatchPricesBroken(CountingPaper):
    def fetch_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        if len(symbols) > 1:
            raise RuntimeError("a venue's batch ticker path broke")  # not an ExchangeError: a bug
        return super().fetch_prices(symbols)


def test_a_batch_price_request_that_breaks_only_costs_the_head_start(driver, venue):
    """The batch's request is a head start: if it fails in a way no venue error covers, each entry
    asks for its own price as before. The batch is decided; it must not stop the engine's ticks."""
    markets = {"ETHUSDT": "2000", "SOLUSDT": "100"}
    for symbol, price in markets.items():
        driver.price(symbol, price)
    driver.send(symbol="BTCUSDT", price="43000", trade_id="takes-the-slot")
    venue.__class__ = BatchPricesBroken
    for n, (symbol, price) in enumerate(markets.items()):
        driver.webhook(symbol=symbol, price=price, trade_id=f"broken-{n}")

    driver.engine.tick()

    statuses = set(Signal.objects.filter(trade_id__startswith="broken-").values_list("status", flat=True))
    assert statuses == {SignalStatus.QUEUED}  # each judged against its own price, asked alone
    assert ["ETH/USDT"] in venue.asked and ["SOL/USDT"] in venue.asked
