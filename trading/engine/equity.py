"""Equity snapshots: the engine records each account's equity every `analytics.snapshot_interval_sec`
and at every realised close (leg take-profits included), and thins old points (one a minute for 7 days, one an hour after).

`rebuild_realised` recomputes the realised column from the trades (`manage.py rebuild_equity`).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Max, Q

from ..core.analytics import TradeRecord
from ..core.equity import realised_curve, redundant_points
from ..models import EquitySnapshot, Trade
from ..reads.analytics import realised_by_account, unrealised_by_account
from .context import EngineContext

if TYPE_CHECKING:
    from .loop import Engine

FINE_FOR = timedelta(days=7)  # one point a minute this far back; one an hour before
COMPACT_EVERY = timedelta(hours=1)
CHECK_EVERY_SEC = 5  # the scheduler's cadence; the configured interval decides when to record
_DELETE_CHUNK = 500  # under SQLite's limit on query parameters

Source = EquitySnapshot.Source


def record(
    ctx: EngineContext, source: str = Source.INTERVAL, account_ids: Iterable[int] | None = None
) -> int:
    """One snapshot per account with trades or open groups (or per account given); how many."""
    wanted = None if account_ids is None else list(account_ids)
    realised = realised_by_account(wanted)
    unrealised, _ = unrealised_by_account(None if wanted is None else Q(account_id__in=wanted))
    accounts = sorted(set(realised) | set(unrealised) | set(wanted or ()))
    now = ctx.now()
    rows = [
        EquitySnapshot(
            account_id=account,
            taken_at=now,
            realised=realised.get(account, Decimal(0)),
            total=realised.get(account, Decimal(0)) + unrealised.get(account, Decimal(0)),
            source=source,
        )
        for account in accounts
    ]
    if rows:
        with ctx.write():
            EquitySnapshot.objects.bulk_create(rows)
    return len(rows)


def record_close(ctx: EngineContext, account_id: int) -> None:
    """The account's equity right after a realised close (called by fills for every trade: a leg's
    take-profit, a reduce, a risk close, a group's exit)."""
    record(ctx, Source.CLOSE, [account_id])


def last_interval_snapshot() -> datetime | None:
    return EquitySnapshot.objects.filter(source=Source.INTERVAL).aggregate(last=Max("taken_at"))["last"]


def compact(ctx: EngineContext) -> int:
    """Drop the points compaction makes redundant (core.equity.redundant_points); how many."""
    now = ctx.now()
    settled = now - timedelta(minutes=1)  # the current minute is still being written
    doomed: list[int] = []
    for account_id in EquitySnapshot.objects.values_list("account_id", flat=True).order_by().distinct():
        points = list(
            EquitySnapshot.objects.filter(account_id=account_id, taken_at__lt=settled)
            .order_by("taken_at", "id")
            .values_list("id", "taken_at")
        )
        doomed += redundant_points(points, now, FINE_FOR)
    for start in range(0, len(doomed), _DELETE_CHUNK):
        with ctx.write():
            EquitySnapshot.objects.filter(id__in=doomed[start : start + _DELETE_CHUNK]).delete()
    return len(doomed)


class EquityRecorder:
    """The scheduler's equity job: a snapshot when the interval has passed, compaction hourly."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.recorded_at: datetime | None = None  # read from the table on the first step
        self.compacted_at: datetime | None = None

    def step(self) -> None:
        if self.engine.suspended:
            return
        ctx = self.engine.ctx
        now = ctx.now()
        if self.recorded_at is None:
            self.recorded_at = last_interval_snapshot()
        interval = ctx.cfg.analytics.snapshot_interval_sec
        if self.recorded_at is None or (now - self.recorded_at).total_seconds() >= interval:
            record(ctx, Source.INTERVAL)
            self.recorded_at = now
        if self.compacted_at is None or now - self.compacted_at >= COMPACT_EVERY:
            compact(ctx)
            self.compacted_at = now


def _records(account_id: int) -> list[TradeRecord]:
    rows = Trade.objects.filter(account_id=account_id).values_list("id", "closed_at", "realized_pnl")
    return [
        TradeRecord(i, at, "", "", "", "", "", Decimal(0), Decimal(0), Decimal(0), pnl, Decimal(0))
        for i, at, pnl in rows
    ]


def rebuild_realised(account_ids: Iterable[int] | None = None) -> tuple[int, int]:
    """Recompute every snapshot's realised equity from the trades (the unrealised part, total −
    realised, is kept), and add a `rebuilt` point at each trade close before an account's first
    snapshot. Returns (snapshots updated, points added)."""
    accounts = (
        list(account_ids)
        if account_ids is not None
        else sorted(set(Trade.objects.values_list("account_id", flat=True).order_by().distinct()))
    )
    updated = added = 0
    for account_id in accounts:
        curve = realised_curve(_records(account_id))
        times = [p.at for p in curve]

        def realised_at(at: datetime, curve=curve, times=times) -> Decimal:
            index = bisect.bisect_right(times, at)
            return curve[index - 1].realised if index else Decimal(0)

        with transaction.atomic():
            snapshots = list(EquitySnapshot.objects.filter(account_id=account_id).order_by("taken_at", "id"))
            changed = []
            for snap in snapshots:
                fresh = realised_at(snap.taken_at)
                if fresh != snap.realised:
                    snap.total += fresh - snap.realised
                    snap.realised = fresh
                    changed.append(snap)
            EquitySnapshot.objects.bulk_update(changed, ["realised", "total"], batch_size=500)
            first = snapshots[0].taken_at if snapshots else None
            new = [
                EquitySnapshot(
                    account_id=account_id,
                    taken_at=p.at,
                    realised=p.realised,
                    total=p.total,
                    source=Source.REBUILT,
                )
                for p in curve
                if first is None or p.at < first
            ]
            EquitySnapshot.objects.bulk_create(new, batch_size=500)
        updated += len(changed)
        added += len(new)
    return updated, added
