"""The replay itself, inside the child process whose database is a throw-away SQLite file.

It drives the real engine: prices go through the `paper_price` command handler (set the paper
price, sync fills, sweep take-profit), signals through the webhook parser and inbox write, then
`Engine.tick()`. Only the clock is the replay's: it jumps to each price point and signal.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from trading.core.takeprofit import QuietBand

from .candles import Candle, interval_of, load_candles, price_path
from .metrics import summary
from .triggers import market_band, tick_size

REPLAY_SECRET = "replay-webhook-secret-0123456789"
START_BALANCE = Decimal("10000")  # the paper account's seed (exchange.paper_starting_balance_usdt)


@dataclass
class ReplayClock:
    current: datetime

    def __call__(self) -> datetime:
        return self.current


def timeline(candles: dict[str, list[Candle]], signals: list[dict[str, Any]]) -> list[tuple]:
    """Price points and signals in replay order: (time, 0, symbol, price) or (time, 1, n, signal).

    A candle's four points sit at its open time + 0, ¼, ½ and ¾ of the candle length; a signal
    comes after every price point at or before its time.
    """
    events: list[tuple] = []
    for symbol, rows in candles.items():
        step = interval_of(rows) / 4
        for candle in rows:
            for k, price in enumerate(price_path(candle)):
                events.append((candle.at + step * k, 0, symbol, price))
    for n, signal in enumerate(signals):
        events.append((datetime.fromisoformat(signal["at"]), 1, n, signal))
    events.sort(key=lambda e: e[:3])
    return events


class Progress:
    """A one-line progress bar on stderr, redrawn every 1 % (no dependency)."""

    def __init__(self, total: int, stream: TextIO = sys.stderr, label: str = "replay") -> None:
        self.total, self.stream, self.label = max(total, 1), stream, label
        self._shown = -1

    def update(self, done: int) -> None:
        percent = done * 100 // self.total
        if percent != self._shown:
            self._shown = percent
            bar = "#" * (percent // 4)
            self.stream.write(f"\r{self.label} [{bar:<25}] {percent:3d}% {done}/{self.total}")
            if percent == 100:
                self.stream.write("\n")
            self.stream.flush()


class Replay:
    def __init__(self, start: datetime, config: dict | None, *, skip_inside: bool = True) -> None:
        from django.db import connection

        from trading import config_service
        from trading.bootstrap import prepare
        from trading.engine.context import EngineContext
        from trading.engine.loop import Engine

        self.clock = ReplayClock(start)
        if connection.vendor == "sqlite":
            # A throw-away database needs no durability: no waiting for the disk on each commit.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=OFF")
        prepare(migrate=True)
        if config:
            config_service.update(config, source="replay", now=start)
        # The replay's own secret: the alerts' secrets are replaced with it when injected.
        config_service.update({"security": {"webhook_secret": REPLAY_SECRET}}, source="replay", now=start)
        self.engine = Engine(EngineContext(clock=self.clock), use_lock=False)
        self.engine.start()
        self.ctx = self.engine.ctx
        self.active: set[str] = set()
        self.pending: dict[str, Decimal] = {}  # last price of each market with nothing open
        self.points = 0
        self.quiet = 0  # points on a market with nothing open or queued
        self.skipped = 0  # points inside an already evaluated range (see `price`)
        self.span: dict[str, tuple[Decimal, Decimal]] = {}
        self.banded = 0  # points inside the market's quiet band (see `_quiet`)
        self.bands: dict[str, tuple[QuietBand, Decimal] | None] = {}
        # With partial fills a marketable order fills a part on every price, so every point counts.
        self.skip_inside = skip_inside and self.ctx.cfg.exchange.paper_partial_fill_ratio >= 1
        from exchanges.models import ExchangeAccount

        self.paper = ExchangeAccount.objects.get(label="paper")

    def price(self, symbol: str, price: Decimal) -> None:
        """One price point. With nothing open on the market no fill or take-profit can happen, so the
        price is only remembered until a signal needs it (that keeps a long quiet replay fast)."""
        self.points += 1
        if symbol not in self.active:
            self.pending[symbol] = price
            self.quiet += 1
            return
        span = self.span.get(symbol)
        if span is not None and span[0] <= price <= span[1] and self.skip_inside:
            # Every trigger (a resting limit, a take-profit, a stop) is a price level crossed: a
            # price inside the range already evaluated since the last change crosses nothing new.
            self.pending[symbol] = price  # still the market's last price for the next signal
            self.skipped += 1
            return
        if self.skip_inside and self._quiet(symbol, price):
            self.pending[symbol] = price
            self.banded += 1
            return
        self.pending.pop(symbol, None)
        fills = self.ctx.fills_since_risk
        self._set_price(symbol, price)
        self.bands.pop(symbol, None)  # a take-profit may have sent a close: read the triggers again
        if self.ctx.fills_since_risk != fills:
            self._flush_pending(self.active)  # the risk engine judges open markets at their latest price
            self.tick()  # the engine's follow-ups: promote into a freed slot, the risk engine
        else:
            self.span[symbol] = (min(price, span[0]), max(price, span[1])) if span else (price, price)

    def _quiet(self, symbol: str, price: Decimal) -> bool:
        """Whether `price` is inside the band where no order fills and nothing takes profit or stops."""
        if symbol not in self.bands:
            band = market_band(self.paper.pk, symbol)
            tick = tick_size(self.ctx.adapter(self.paper), symbol)
            self.bands[symbol] = (band, tick) if band is not None and tick is not None else None
        known = self.bands[symbol]
        return known is not None and known[0].holds(price, margin=known[1])

    def _flush_pending(self, only: set[str] | None = None) -> None:
        """Set the latest skipped price of each market (of `only` those, if given) at the exchange."""
        for symbol, price in sorted(self.pending.items()):
            if only is None or symbol in only:
                self._set_price(symbol, price)
                del self.pending[symbol]

    def _set_price(self, symbol: str, price: Decimal) -> None:
        from trading.engine import commands

        with self.ctx.write():  # as apply_command runs it
            commands.paper_price(self.ctx, {"symbol": symbol, "price": str(price), "account": "paper"})

    def signal(self, payload: dict[str, Any]) -> str:
        """Inject one alert through the webhook's parser and inbox write, then run the engine."""
        from trading import config_service
        from trading.core.webhook_payload import PayloadError, parse_signal
        from trading.webhooks import accept

        self._flush_pending()
        data = {**payload, "secret": REPLAY_SECRET}
        try:
            parsed = parse_signal(data)
        except PayloadError as exc:  # checked before the replay started; kept for --from-inbox rows
            return f"invalid: {exc}"
        self._rules_current()
        answer = accept(parsed, data, config_service.current(), "127.0.0.1", self.clock())
        self.tick()
        return answer.body.get("status", "")

    def _rules_current(self) -> None:
        """The paper market rules are a bundled file that never changes, loaded once at start; on the
        replay's clock they would turn stale (precision_stale_after_sec) and hold every entry, and
        re-downloading them as the live scheduler does costs a quarter second each time."""
        from exchanges.models import ExchangeAccount

        ExchangeAccount.objects.filter(markets_synced_at__isnull=False).update(markets_synced_at=self.clock())

    def tick(self) -> None:
        from exchanges.paper_models import PaperOrder
        from trading.models import PositionGroup, QueueEntry
        from trading.models.groups import OPEN_STATUSES

        self._rules_current()
        self.engine._last_sync = None  # every replay tick syncs orders and sweeps take-profit
        self.engine.tick()
        self.span.clear()  # orders or positions may have changed: every level counts again
        self.bands.clear()
        self.active = (
            set(PositionGroup.objects.filter(status__in=OPEN_STATUSES).values_list("symbol", flat=True))
            | set(PaperOrder.objects.filter(status="open").values_list("symbol", flat=True))
            | set(QueueEntry.objects.values_list("symbol", flat=True))
        )

    def run(self, events: list[tuple], progress: Progress | None = None) -> None:
        for done, (at, kind, key, item) in enumerate(events, 1):
            self.clock.current = max(self.clock.current, at)
            if kind == 0:
                self.price(key, item)
            else:
                self.signal(item["payload"])
            if progress is not None:
                progress.update(done)


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


def trade_records() -> list:
    from trading.core.analytics import TradeRecord
    from trading.models import Trade

    return [
        TradeRecord(
            id=t.pk,
            closed_at=t.closed_at,
            account="paper",
            symbol=t.symbol,
            timeframe=t.timeframe,
            side=t.side,
            reason=t.reason,
            qty=t.qty,
            entry_price=t.entry_price,
            exit_price=t.exit_price,
            pnl=t.realized_pnl,
            fees=t.fees,
        )
        for t in Trade.objects.order_by("closed_at", "id")
    ]


def write_outputs(out: Path, label: str, trades: list, extra: dict[str, Any]) -> dict[str, Any]:
    """trades.csv, equity.csv and report.json in `out`; returns the report."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "trades.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(
            [
                "closed_at",
                "symbol",
                "timeframe",
                "side",
                "reason",
                "qty",
                "entry_price",
                "exit_price",
                "pnl",
                "fees",
            ]
        )
        for t in trades:
            writer.writerow(
                [t.closed_at.isoformat(), t.symbol, t.timeframe, t.side, t.reason]
                + [_plain(v) for v in (t.qty, t.entry_price, t.exit_price, t.pnl, t.fees)]
            )
    with (out / "equity.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["at", "realised_pnl", "equity"])
        running = Decimal(0)
        for t in trades:
            running += t.pnl
            writer.writerow([t.closed_at.isoformat(), _plain(running), _plain(START_BALANCE + running)])
    report = {
        "label": label,
        "summary": summary(trades, START_BALANCE),
        "start_balance": str(START_BALANCE),
        "trades": [
            {
                "closed_at": t.closed_at.isoformat(),
                "symbol": t.symbol,
                "timeframe": t.timeframe,
                "side": t.side,
                "reason": t.reason,
                "qty": _plain(t.qty),
                "entry_price": _plain(t.entry_price),
                "exit_price": _plain(t.exit_price),
                "pnl": _plain(t.pnl),
                "fees": _plain(t.fees),
            }
            for t in trades
        ],
        **extra,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


def run_spec(spec: dict[str, Any], progress_stream: TextIO | None = sys.stderr) -> dict[str, Any]:
    """Run one replay described by `spec` (written by the parent) and write its outputs."""
    from trading.models import PositionGroup, Signal
    from trading.models.groups import OPEN_STATUSES

    candles = {symbol: load_candles(Path(path)) for symbol, path in spec["candles"].items()}
    start = datetime.fromisoformat(spec["start"]) if spec.get("start") else None
    end = datetime.fromisoformat(spec["end"]) if spec.get("end") else None
    if start or end:
        candles = {
            s: [c for c in rows if (start is None or c.at >= start) and (end is None or c.at <= end)]
            for s, rows in candles.items()
        }
    events = timeline(candles, spec["signals"])
    if not events:
        raise ValueError("nothing to replay in that date range")
    replay = Replay(events[0][0], spec.get("config"))
    progress = Progress(len(events), progress_stream, spec["label"]) if progress_stream else None
    replay.run(events, progress)
    trades = trade_records()
    outcomes: dict[str, int] = {}
    for status in Signal.objects.values_list("status", flat=True):
        outcomes[status] = outcomes.get(status, 0) + 1
    extra = {
        "price_points": replay.points,
        "price_points_quiet": replay.quiet,
        "price_points_inside_seen_range": replay.skipped,
        "price_points_inside_quiet_band": replay.banded,
        "signals": len(spec["signals"]),
        "signal_outcomes": outcomes,
        "open_groups_at_end": PositionGroup.objects.filter(status__in=OPEN_STATUSES).count(),
        "first": events[0][0].isoformat(),
        "last": events[-1][0].isoformat(),
        "candle_path": "open→low→high→close if close ≥ open, else open→high→low→close",
    }
    return write_outputs(Path(spec["out"]), spec["label"], trades, extra)
