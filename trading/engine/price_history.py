"""The group chart's prices, recorded by the engine (the one writer; the web never asks a venue):
- every price the engine receives, thinned (core.price_history): at most one bulk insert per
  fetch, and no query at all until a sample is due;
- for live venues, candles of the markets with open groups (`fetch_candles`, ccxt `fetch_ohlcv`),
  refreshed every `CANDLES_EVERY` into a cache table;
both pruned with the events.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Max

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount, Venue

from ..core.price_history import prune_before, samples_due
from ..models import CachedCandle, PositionGroup, PriceSample
from ..models.groups import OPEN_STATUSES
from .context import EngineContext

if TYPE_CHECKING:
    from .loop import Engine

log = logging.getLogger(__name__)

CANDLE_TIMEFRAME = "5m"
CANDLE_LIMIT = 288  # a day of 5-minute candles
CANDLES_EVERY = timedelta(minutes=3)

Market = tuple[int, str]  # (account id, symbol)


def _latest(markets: list[Market]) -> dict[Market, datetime]:
    """The newest sample of each market that has one (one query)."""
    rows = (
        PriceSample.objects.filter(account_id__in={a for a, _ in markets}, symbol__in={s for _, s in markets})
        .values("account_id", "symbol")
        .annotate(at=Max("taken_at"))
        .values_list("account_id", "symbol", "at")
    )
    wanted = set(markets)
    return {(a, s): at for a, s, at in rows if (a, s) in wanted}


def record(ctx: EngineContext, prices: Mapping[Market, Decimal]) -> int:
    """Keep the received prices that are due a sample; how many were written. The engine
    remembers when it sampled each market (`ctx.sampled_at`), so a fetch costs no query unless a
    sample is due (or the market is new to this run).

    Within a batch of signals the prices wait for `record_held` (0 now): the chart can take them
    a few milliseconds late, an entry's first order should not wait for a chart's write."""
    if not prices:
        return 0
    if ctx.batching:
        ctx.unsampled_prices.update(prices)
        return 0
    unknown = [market for market in prices if market not in ctx.sampled_at]
    if unknown:
        ctx.sampled_at.update(_latest(unknown))
    now = ctx.now()
    due = samples_due(prices, ctx.sampled_at, now)
    if due:
        with ctx.write():
            PriceSample.objects.bulk_create(
                PriceSample(account_id=account, symbol=symbol, taken_at=now, price=price)
                for (account, symbol), price in due.items()
            )
        ctx.sampled_at.update(dict.fromkeys(due, now))
    return len(due)


def record_held(ctx: EngineContext) -> int:
    """Write the samples a batch of signals held back (`record`), once its orders have left."""
    held, ctx.unsampled_prices = ctx.unsampled_prices, {}
    return record(ctx, held)


def prune(ctx: EngineContext) -> int:
    """Drop samples and cached candles older than core.price_history.KEEP_FOR; how many."""
    cutoff = prune_before(ctx.now())
    samples, _ = PriceSample.objects.filter(taken_at__lt=cutoff).delete()
    candles, _ = CachedCandle.objects.filter(opened_at__lt=cutoff).delete()
    return samples + candles


def live_markets() -> dict[ExchangeAccount, list[str]]:
    """The symbols with an open group, per enabled live-venue account."""
    rows = (
        PositionGroup.objects.filter(status__in=OPEN_STATUSES, account__enabled=True)
        .exclude(account__venue=Venue.PAPER)
        .values_list("account_id", "symbol")
        .distinct()
    )
    wanted: dict[int, set[str]] = {}
    for account_id, symbol in rows:
        wanted.setdefault(account_id, set()).add(symbol)
    return {a: sorted(wanted[a.pk]) for a in ExchangeAccount.objects.filter(pk__in=wanted).order_by("pk")}


def refresh_candles(ctx: EngineContext) -> int:
    """Fetch and cache the candles of every live market with an open group; how many were
    written. A venue that fails is noted (as any failed call) and tried again next time."""
    written = 0
    for account, symbols in live_markets().items():
        fetch = getattr(ctx.adapter(account), "fetch_candles", None)
        if fetch is None:  # an adapter without candles (a test fake): the chart draws points
            continue
        for symbol in symbols:
            try:
                candles = fetch(symbol, CANDLE_TIMEFRAME, CANDLE_LIMIT)
            except ExchangeError as exc:
                ctx.note_error(account.pk, exc)
                continue
            rows = [
                CachedCandle(
                    account=account, symbol=symbol, timeframe=CANDLE_TIMEFRAME, opened_at=c.opened_at,
                    open=c.open, high=c.high, low=c.low, close=c.close,
                )
                for c in candles
            ]  # fmt: skip
            with ctx.write():  # the last candle is still forming: its prices are updated
                CachedCandle.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["account", "symbol", "timeframe", "opened_at"],
                    update_fields=["open", "high", "low", "close"],
                )
            written += len(rows)
    return written


class CandleRefresher:
    """The scheduler's candle job: a refresh when `CANDLES_EVERY` has passed."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.refreshed_at: datetime | None = None

    def step(self) -> None:
        if self.engine.suspended:
            return
        now = self.engine.ctx.now()
        if self.refreshed_at is None or now - self.refreshed_at >= CANDLES_EVERY:
            refresh_candles(self.engine.ctx)
            self.refreshed_at = now
