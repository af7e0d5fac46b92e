"""What the analytics endpoints read: trades as core records, equity snapshots as curves, and the
unrealised PnL of open groups at the prices the engine stored. Read only: nothing here writes, builds
an engine context or calls a venue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum

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
    "closed_at",
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


def trades(selection: Selection) -> QuerySet[Trade]:
    return Trade.objects.filter(selection.where("closed_at"))


def trade_records(rows: QuerySet[Trade]) -> list[TradeRecord]:
    """The rows as core records, oldest first (one query, no model instances)."""
    return [TradeRecord(*values) for values in rows.order_by("closed_at", "id").values_list(*_TRADE_FIELDS)]


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


def equity_points(selection: Selection) -> list[EquityPoint]:
    """The selection's equity curve from the snapshots, summed over accounts (core.merge_accounts)."""
    rows = EquitySnapshot.objects.filter(Q(account=selection.account) if selection.account else Q())
    if selection.start is not None:
        rows = rows.filter(taken_at__gte=selection.start)
    if selection.end is not None:
        rows = rows.filter(taken_at__lt=selection.end)
    per_account: dict[int, list[EquityPoint]] = defaultdict(list)
    for account_id, at, realised, total in rows.order_by("taken_at", "id").values_list(
        "account_id", "taken_at", "realised", "total"
    ):
        per_account[account_id].append(EquityPoint(at, realised, total))
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
