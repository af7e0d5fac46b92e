"""The dashboard's balance cards: balance, free vs deployed capital, and realised PnL today.

Built from the same per-account funds as the dashboard's funds table (`overview.funds`). A live
venue's balance is read by the engine only, so its free funds are "not reported": the cards then
add up the accounts that do report and say how many do not (never a 0 that looks like a fact).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import Decimal

from exchanges.paper_models import PaperBalance
from trading.models import PositionGroup, Trade
from trading.models.groups import OPEN_STATUSES

from .metrics import figures_for
from .overview import funds
from .state import ViewState

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
QUOTE = "USDT"  # the funds table's quote currency (overview.funds)


@dataclass(frozen=True)
class BalanceCards:
    accounts: int
    unreported: int  # accounts whose free funds only the engine knows (live venues)
    free: Decimal | None  # Σ free quote of the reporting accounts; None when none reports
    resting: Decimal  # quote held by resting entry orders (paper accounts)
    deployed: Decimal  # Σ entry cost of the open quantity, every account
    balance: Decimal | None  # free + resting + deployed of the reporting accounts
    deployed_pct: Decimal | None  # deployed ÷ balance × 100 (reporting accounts only)
    realised_today: Decimal  # Σ realised PnL of trades closed since 00:00 UTC
    trades_today: int


def realised_since(start: datetime) -> tuple[Decimal, int]:
    """Σ realised PnL and count of the trades closed since `start` (summed in Python: exact on
    SQLite too, and a day's trades are few)."""
    pnls = list(Trade.objects.filter(closed_at__gte=start).values_list("realized_pnl", flat=True))
    return sum(pnls, _ZERO), len(pnls)


def cards(view: ViewState) -> dict:
    open_groups = list(
        PositionGroup.objects.filter(status__in=OPEN_STATUSES).only("id", "side", "account_id", "symbol")
    )
    rows = funds(open_groups, figures_for(open_groups, open_only=True))
    reporting = [row for row in rows if row.free is not None]
    resting = dict(
        PaperBalance.objects.filter(account__label__in=[r.label for r in reporting], asset=QUOTE).values_list(
            "account__label", "locked"
        )
    )
    free = sum((row.free for row in reporting if row.free is not None), _ZERO) if reporting else None
    held = sum(resting.values(), _ZERO)
    reported_deployed = sum((row.deployed for row in reporting), _ZERO)
    balance = free + held + reported_deployed if free is not None else None
    today = datetime.combine(view.now.astimezone(UTC).date(), time(0), tzinfo=UTC)
    realised, count = realised_since(today)
    return {
        "balance": BalanceCards(
            accounts=len(rows),
            unreported=len(rows) - len(reporting),
            free=free,
            resting=held,
            deployed=sum((row.deployed for row in rows), _ZERO),
            balance=balance,
            deployed_pct=reported_deployed / balance * _HUNDRED if balance else None,
            realised_today=realised,
            trades_today=count,
        )
    }
