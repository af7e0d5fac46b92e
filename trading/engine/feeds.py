"""Paper price feeds driven by the engine: a seeded random walk or a replay of real candles."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from exchanges.models import ExchangeAccount, Venue
from exchanges.paper_feeds import BUNDLED_BTC_USDT_1H, CandleReplayFeed, PriceFeed, RandomWalkFeed
from exchanges.paper_models import PaperPrice

from ..models import PositionGroup, QueueEntry
from ..models.groups import OPEN_STATUSES
from . import orders, takeprofit
from .context import EngineContext


class PaperFeedDriver:
    """Moves every traded paper symbol one step per call (replaying, its market from the first step),
    then lets fills and take-profit follow."""

    def __init__(self, ctx: EngineContext, mode: str) -> None:
        self.ctx = ctx
        self.mode = mode
        self._walks: dict[str, PriceFeed] = {}
        self._replay: CandleReplayFeed | None = None

    def _feed_for(self, symbol: str, current: Decimal | None) -> PriceFeed | None:
        if self.mode == "walk":
            if current is None:
                return None  # a walk starts from a known price: it invents no market
            if symbol not in self._walks:
                cfg = self.ctx.cfg.exchange
                self._walks[symbol] = RandomWalkFeed(
                    cfg.paper_walk_seed, cfg.paper_walk_volatility_percent, {symbol: current}
                )
            return self._walks[symbol]
        replay = self._replay_feed()
        return replay if symbol == replay.symbol else None

    def _replay_feed(self) -> CandleReplayFeed:
        if self._replay is None:
            path = self.ctx.cfg.exchange.paper_replay_file or BUNDLED_BTC_USDT_1H
            self._replay = CandleReplayFeed(Path(path))
        return self._replay

    def step(self) -> int:
        moved = 0
        # The replayed market has a price from the first step, before any signal: an entry is then
        # judged against it (max_entry_deviation_percent) instead of seeding the price itself.
        replayed = {self._replay_feed().symbol} if self.mode == "replay" else set()
        for account in ExchangeAccount.objects.filter(venue=Venue.PAPER, enabled=True):
            symbols = (
                set(
                    PositionGroup.objects.filter(account=account, status__in=OPEN_STATUSES).values_list(
                        "symbol", flat=True
                    )
                )
                | set(QueueEntry.objects.filter(account=account).values_list("symbol", flat=True))
                | replayed
            )
            prices = dict(
                PaperPrice.objects.filter(account=account, symbol__in=symbols).values_list("symbol", "price")
            )
            adapter = self.ctx.adapter(account)
            for symbol in sorted(symbols):
                feed = self._feed_for(symbol, prices.get(symbol))
                if feed is None:
                    continue
                price = feed.next_prices([symbol]).get(symbol)
                if price is not None:
                    adapter.set_price(symbol, price)  # type: ignore[attr-defined]
                    orders.sync_live_orders(self.ctx, symbol)
                    takeprofit.sweep(self.ctx, {symbol})
                    moved += 1
        return moved
