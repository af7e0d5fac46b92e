"""What the analytics endpoints read: trades as core records, equity snapshots as curves, and the
unrealised PnL of open groups at the prices the engine stored. Read only: nothing here writes, builds
an engine context or calls a venue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import CharField, Q, QuerySet, Sum
from django.db.models.functions import Cast

from exchanges.models import ExchangeAccount
from risk.core.pnl import group_pnl
from trading.config_schema import EngineConfig
from trading.core.analytics import TradeRecord
from trading.core.equity import EquityPoint, merge_accounts
from trading.core.types import Side
from trading.models import EquitySnapshot, PositionGroup, Trade
from trading.models.groups import OPEN_STATUSES

from .filters import market_filter
from .prices import last_prices

_ZERO = Decimal(0)


@dataclass(frozen=True)
class Selection:
    """The filters every analytics read shares (already validated); None filters nothing."""

    start: datetime | None = None  # inclusive
    end: datetime | None = None  # exclusive
    account: ExchangeAccount | None = None
    symbol: str | None = None
    timeframe: str | None = None
    side: str | None = None  # long | short

    @property
    def by_market(self) -> bool:
        """A symbol, timeframe or side filter: equity snapshots (per account) cannot answer it."""
        return bool(self.symbol or self.timeframe or self.side)

    def where(self, time_field: str | None) -> Q:
        where = market_filter(self.symbol, self.timeframe)
        if self.account is not None:
            where &= Q(account=self.account)
        if self.side:
            where &= Q(side=self.side)
        if time_field and self.start is not None:
            where &= Q(**{f"{time_field}__gte": self.start})
        if time_field and self.end is not None:
            where &= Q(**{f"{time_field}__lt": self.end})
        return where


_TRADE_FIELDS = (
    "id",
    "closed_text",
    "account__label",
    "symbol",
    "timeframe",
    "side",
    "reason",
    "qty",
    "entry_price",
    "exit_price",
    "realized_pnl",
    "fees",
)


def _as_text(field: str) -> Cast:
    return Cast(field, output_field=CharField())


def utc_from_text(text: str) -> datetime:
    """A timestamp as the database renders it as text (ISO 8601: PostgreSQL's "…+00", SQLite's
    naive UTC), as an aware UTC datetime. Why: the driver's timestamp loader Django installs is
    pure Python (about 10 µs a row), and a summary reads tens of thousands of them; `fromisoformat`
    is C. A test checks both give the same moments on SQLite and PostgreSQL."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def trades(selection: Selection) -> QuerySet[Trade]:
    return Trade.objects.filter(selection.where("closed_at"))


def trade_records(rows: QuerySet[Trade]) -> list[TradeRecord]:
    """The rows as core records, oldest first (one query, no model instances)."""
    rows = rows.annotate(closed_text=_as_text("closed_at")).order_by("closed_at", "id")
    return [
        TradeRecord(trade_id, utc_from_text(closed), *rest)
        for trade_id, closed, *rest in rows.values_list(*_TRADE_FIELDS)
    ]


def selected_accounts(selection: Selection) -> list[int]:
    """The accounts a selection covers: the one asked for, else every account with trades or groups."""
    if selection.account is not None:
        return [selection.account.pk]
    ids = set(Trade.objects.values_list("account_id", flat=True).order_by().distinct())
    ids |= set(PositionGroup.objects.values_list("account_id", flat=True).order_by().distinct())
    return sorted(ids)


def capital_base(cfg: EngineConfig, accounts: int) -> Decimal:
    """The capital the selection's equity starts from: `analytics.capital_base_usdt` (else the paper
    starting balance) per account, at least one account's worth."""
    per_account = cfg.analytics.capital_base_usdt or cfg.exchange.paper_starting_balance_usdt
    return per_account * max(accounts, 1)


def equity_points(selection: Selection, *, realised: bool = True) -> list[EquityPoint]:
    """The selection's equity curve from the snapshots, summed over accounts (core.merge_accounts).
    `realised=False` reads only the totals (realised left at 0): drawdown and returns need no more,
    and a month of points costs a column of conversions less."""
    rows = EquitySnapshot.objects.filter(Q(account=selection.account) if selection.account else Q())
    if selection.start is not None:
        rows = rows.filter(taken_at__gte=selection.start)
    if selection.end is not None:
        rows = rows.filter(taken_at__lt=selection.end)
    per_account: dict[int, list[EquityPoint]] = defaultdict(list)
    columns = ("account_id", "taken_text", "total", *(("realised",) if realised else ()))
    rows = rows.annotate(taken_text=_as_text("taken_at")).order_by("taken_at", "id")
    for account_id, at, total, *realised_pnl in rows.values_list(*columns):
        point = EquityPoint(utc_from_text(at), realised_pnl[0] if realised_pnl else _ZERO, total)
        per_account[account_id].append(point)
    return merge_accounts(per_account[a] for a in sorted(per_account))


def realised_before(selection: Selection) -> Decimal:
    """Realised PnL of the selection's trades closed before its start (0 without a start)."""
    if selection.start is None:
        return _ZERO
    earlier = Trade.objects.filter(selection.where(None), closed_at__lt=selection.start)
    return earlier.aggregate(total=Sum("realized_pnl"))["total"] or _ZERO


def realised_by_account(account_ids: Iterable[int] | None = None) -> dict[int, Decimal]:
    """Σ realised PnL of every trade, per account."""
    rows = Trade.objects.all()
    if account_ids is not None:
        rows = rows.filter(account_id__in=list(account_ids))
    return {
        a: s
        for a, s in rows.order_by()
        .values("account_id")
        .annotate(s=Sum("realized_pnl"))
        .values_list("account_id", "s")
    }


def unrealised_by_account(where: Q | None = None) -> tuple[dict[int, Decimal], int]:
    """Unrealised PnL of open groups (after the entry fees of what is open, as the risk engine
    counts it) at the last stored prices, per account; and how many open groups had no price (they
    count as 0)."""
    from risk.engine.snapshots import open_legs  # a read-only query; imported late (engine modules)

    groups = list(
        PositionGroup.objects.filter(status__in=OPEN_STATUSES)
        .filter(where or Q())
        .values_list("id", "account_id", "symbol", "side")
    )
    legs = open_legs([g[0] for g in groups])
    prices = last_prices((account, symbol) for _, account, symbol, _ in groups)
    found: dict[int, Decimal] = defaultdict(lambda: _ZERO)
    unpriced = 0
    for group_id, account, symbol, side in groups:
        if not legs.get(group_id):
            continue
        pnl = group_pnl(Side(side), legs[group_id], prices.get((account, symbol)))
        if pnl is None:
            unpriced += 1
            continue
        found[account] += pnl.unrealised_usd
    return dict(found), unpriced
