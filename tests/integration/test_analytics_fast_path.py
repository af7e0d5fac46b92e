"""The analytics reads' fast path (timestamps read as text, totals-only equity, the trades read once,
partial sorts) gives exactly what the pure functions give over records built from the ORM's own
model instances, on a generated book: several accounts, microsecond timestamps, wins, losses and
flat trades, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json
import random
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client

from tests.factories import T0, ApiTokenFactory, ExchangeAccountFactory, PositionGroupFactory, reset_config
from trading import config_service
from trading.api.schemas import decimal_text
from trading.core import analytics as metrics
from trading.core import equity as curves
from trading.core.equity import EquityPoint, merge_accounts
from trading.models import EquitySnapshot, GroupStatus, Trade
from trading.reads import analytics as reads

D = Decimal
pytestmark = pytest.mark.django_db
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
REASONS = ("tp_leg", "tp_group", "exit", "risk")


@pytest.fixture
def generated() -> list[int]:
    """300 trades and 2 × 600 snapshots at random microsecond moments over 20 days."""
    reset_config()
    rng = random.Random(1206)
    accounts = [ExchangeAccountFactory(label="paper"), ExchangeAccountFactory(label="alt", venue="binance")]
    groups = [
        PositionGroupFactory(account=a, symbol=s, timeframe=tf, side=side, status=GroupStatus.CLOSED)
        for a in accounts
        for s in SYMBOLS
        for tf, side in (("15m", "long"), ("1h", "short"))
    ]
    trades = []
    for _ in range(300):
        group = rng.choice(groups)
        entry = D(rng.randint(100, 5_000_000)) / 100
        qty = D(rng.randint(1, 100_000)) / 100_000
        pnl = D(rng.choice((0, rng.randint(-90_000, 90_000)))) / 10_000
        trades.append(
            Trade(
                group=group, account=group.account, symbol=group.symbol, timeframe=group.timeframe,
                side=group.side, reason=rng.choice(REASONS), qty=qty, entry_price=entry,
                exit_price=entry + D(rng.randint(-5000, 5000)) / 100, realized_pnl=pnl,
                fees=D(rng.randint(0, 99_999)) / 10**7,
                closed_at=T0 + timedelta(microseconds=rng.randint(0, 20 * 86_400 * 10**6)),
            )
        )  # fmt: skip
    Trade.objects.bulk_create(trades)
    EquitySnapshot.objects.bulk_create(
        EquitySnapshot(
            account=account,
            taken_at=T0 + timedelta(microseconds=rng.randint(0, 20 * 86_400 * 10**6)),
            realised=D(rng.randint(-(10**9), 10**9)) / 10**6,
            total=D(rng.randint(-(10**9), 10**9)) / 10**6,
        )
        for account in accounts
        for _ in range(600)
    )
    return [a.pk for a in accounts]


def _orm_records() -> list[metrics.TradeRecord]:
    """The reference: model instances, converted field by field, in the same order."""
    rows = Trade.objects.select_related("account").order_by("closed_at", "id")
    return [
        metrics.TradeRecord(
            t.pk, t.closed_at, t.account.label, t.symbol, t.timeframe, t.side, t.reason, t.qty,
            t.entry_price, t.exit_price, t.realized_pnl, t.fees,
        )
        for t in rows
    ]  # fmt: skip


def _orm_curve(accounts: list[int]) -> list[EquityPoint]:
    per_account = {
        a: [
            EquityPoint(s.taken_at, s.realised, s.total)
            for s in EquitySnapshot.objects.filter(account_id=a).order_by("taken_at", "id")
        ]
        for a in accounts
    }
    return merge_accounts(per_account[a] for a in sorted(per_account))


def test_fast_reads_give_the_orm_values_exactly(generated: list[int]) -> None:
    assert reads.trade_records(reads.trades(reads.Selection())) == _orm_records()
    curve = _orm_curve(generated)
    assert reads.equity_points(reads.Selection()) == curve
    totals_only = reads.equity_points(reads.Selection(), realised=False)
    assert [(p.at, p.total) for p in totals_only] == [(p.at, p.total) for p in curve]


def _plain(value: object) -> object:
    """JSON-comparable: Decimals as the API writes them, dates as ISO text."""
    return json.loads(
        json.dumps(value, default=lambda v: decimal_text(v) if isinstance(v, Decimal) else v.isoformat())
    )


def test_fast_summary_equals_the_pure_functions_on_the_orm_records(generated: list[int]) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}")
    body = api.get("/api/v1/analytics/summary?bins=15").json()
    trades = _orm_records()
    points = _orm_curve(generated)
    cfg = config_service.current()
    base = reads.capital_base(cfg, 2)
    # best / worst by a full sort (the core takes a partial one)
    best = sorted(trades, key=lambda t: (-t.pnl, t.id))[:10]
    worst = sorted(trades, key=lambda t: (t.pnl, t.id))[:10]
    expected = {
        "stats": asdict(metrics.trade_stats(trades)),
        "by_pair": [{"key": k, **asdict(s)} for k, s in metrics.breakdown(trades, lambda t: t.symbol)],
        "pnl_by_week": [
            {"start": s, "net_pnl": p, "trades": n} for s, p, n in metrics.pnl_by_period(trades, "week")
        ],
        "best": [t.id for t in best],
        "worst": [t.id for t in worst],
        "histogram": [asdict(b) for b in metrics.return_histogram(trades, 15)],
        "daily": [asdict(d) for d in metrics.daily_summary(trades)],
        "drawdown": asdict(curves.drawdown([base + p.total for p in points])),
        "sharpe": curves.sharpe_ratio(curves.daily_returns(points, base)),
    }
    expected["drawdown"].pop("peak")
    got = {
        "stats": body["stats"],
        "by_pair": body["by_pair"],
        "pnl_by_week": body["pnl_by_week"],
        "best": [t["id"] for t in body["best"]],
        "worst": [t["id"] for t in body["worst"]],
        "histogram": body["histogram"],
        "daily": body["daily"],
        "drawdown": body["risk"]["drawdown"],
        "sharpe": body["risk"]["sharpe"],
    }
    assert got == _plain(expected)
    assert body["stats"]["trades"] == 300 and len(body["best"]) == 10


def test_fast_equity_series_equals_the_pure_functions_on_the_orm_points(generated: list[int]) -> None:
    api = Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=True).plain}")
    body = api.get("/api/v1/analytics/equity?max_points=50").json()
    points = _orm_curve(generated)
    base = reads.capital_base(config_service.current(), 2)
    path = curves.drawdown_path([base + p.total for p in points])
    rows = [(p.at, p.realised, p.total, usd, pct) for p, (usd, pct) in zip(points, path, strict=True)]
    # JSON carries times to the millisecond (Django's encoder)
    expected = [
        (
            at.replace(microsecond=at.microsecond // 1000 * 1000),
            decimal_text(r),
            decimal_text(t),
            decimal_text(usd),
            None if pct is None else decimal_text(pct),
        )
        for at, r, t, usd, pct in curves.downsample(rows, 50)
    ]
    got = [
        (
            datetime.fromisoformat(p["at"].replace("Z", "+00:00")),
            p["realised"],
            p["total"],
            p["drawdown_usd"],
            p["drawdown_percent"],
        )
        for p in body["points"]
    ]
    assert body["count"] == len(points) == len(_orm_curve(generated))
    assert got == expected and len(got) <= 51
