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
    """Moves every traded paper symbol one step per call, then lets fills and take-profit follow."""

    def __init__(self, ctx: EngineContext, mode: str) -> None:
        self.ctx = ctx
        self.mode = mode
        self._walks: dict[str, PriceFeed] = {}
        self._replay: CandleReplayFeed | None = None

    def _feed_for(self, symbol: str, current: Decimal) -> PriceFeed | None:
        if self.mode == "walk":
            if symbol not in self._walks:
                cfg = self.ctx.cfg.exchange
                self._walks[symbol] = RandomWalkFeed(
                    cfg.paper_walk_seed, cfg.paper_walk_volatility_percent, {symbol: current}
                )
            return self._walks[symbol]
        if self._replay is None:
            path = self.ctx.cfg.exchange.paper_replay_file or BUNDLED_BTC_USDT_1H
            self._replay = CandleReplayFeed(Path(path))
        return self._replay if symbol == self._replay.symbol else None

    def step(self) -> int:
        moved = 0
        for account in ExchangeAccount.objects.filter(venue=Venue.PAPER, enabled=True):
            symbols = set(
                PositionGroup.objects.filter(account=account, status__in=OPEN_STATUSES).values_list(
                    "symbol", flat=True
                )
            ) | set(QueueEntry.objects.filter(account=account).values_list("symbol", flat=True))
            prices = dict(
                PaperPrice.objects.filter(account=account, symbol__in=symbols).values_list("symbol", "price")
            )
            adapter = self.ctx.adapter(account)
            for symbol in sorted(symbols):
                current = prices.get(symbol)
                feed = self._feed_for(symbol, current) if current is not None else None
                if feed is None:
                    continue
                price = feed.next_prices([symbol]).get(symbol)
                if price is not None:
                    adapter.set_price(symbol, price)  # type: ignore[attr-defined]
                    orders.sync_live_orders(self.ctx, symbol)
                    takeprofit.sweep(self.ctx, {symbol})
                    moved += 1
        return moved
