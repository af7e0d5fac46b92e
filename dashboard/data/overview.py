"""Section A, the live dashboard: pool, queue, PnL, engine and risk status, recent alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, Sum

from exchanges.models import ExchangeAccount, Venue
from exchanges.paper_models import PaperBalance
from risk.models import RiskEngineState
from trading import config_service
from trading.core.routing import QueueReason
from trading.models import Event, PositionGroup, QueueEntry, Signal, Trade
from trading.models.groups import OPEN_STATUSES

from .common import engine_summary
from .metrics import GroupFigures, cents, figures_for
from .state import ViewState

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
RECENT = 8


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return part / whole * _HUNDRED if whole else None


@dataclass(frozen=True)
class RiskStatus:
    label: str  # Active | Idle | Blocked | Off
    detail: str
    last_action_at: datetime | None


def risk_status(engine_alive: bool = True) -> RiskStatus:
    """The risk engine's own status row (Active / Idle / Blocked and why); it runs inside the engine,
    so with the engine down it is not running whatever its row last said."""
    state = RiskEngineState.objects.filter(pk=1).first()
    if not engine_alive:
        return RiskStatus(
            "Stopped", "not running: the engine is down", state.last_action_at if state else None
        )
    if state is None:
        return RiskStatus("Idle", "no evaluation yet", None)
    return RiskStatus(state.get_status_display(), state.reason or "–", state.last_action_at)


def stats(view: ViewState) -> dict:
    cfg = config_service.current()
    open_groups = list(
        PositionGroup.objects.filter(status__in=OPEN_STATUSES).only("id", "side", "account_id", "symbol")
    )
    figs_by_id = figures_for(open_groups, open_only=True)
    figs = figs_by_id.values()
    unrealised = sum((f.unrealised for f in figs if f.unrealised is not None), _ZERO)
    open_cost = sum((f.cost for f in figs), _ZERO)
    closed = Trade.objects.aggregate(
        pnl=Sum("realized_pnl"),
        cost=Sum(
            ExpressionWrapper(
                F("qty") * F("entry_price"), output_field=DecimalField(max_digits=40, decimal_places=12)
            )
        ),
    )
    realised, closed_cost = closed["pnl"] or _ZERO, closed["cost"] or _ZERO
    # Rounded to the cent first, so the total shown is exactly the sum of the two figures shown.
    realised, unrealised = cents(realised) or _ZERO, cents(unrealised) or _ZERO
    pool_max = cfg.execution_pool.max_open_groups
    used = len(open_groups)
    engine = engine_summary(view.now)
    return {
        "active_groups": used,
        "pool_used": used,
        "pool_max": pool_max,
        "pool_pct": min(used * 100 // pool_max, 100) if pool_max else 0,
        "queued": QueueEntry.objects.count(),
        "queued_precision": QueueEntry.objects.filter(reason=QueueReason.PRECISION).count(),
        "realised": realised,
        "realised_pct": _pct(realised, closed_cost),
        "unrealised": unrealised,
        "unrealised_pct": _pct(unrealised, open_cost),
        "total_pnl": realised + unrealised,
        "total_pct": _pct(realised + unrealised, open_cost + closed_cost),
        "unpriced": sum(1 for f in figs if f.unrealised is None and f.open_qty > 0),
        "engine": engine,
        "risk": risk_status(engine.alive),
        "funds": funds(open_groups, figs_by_id),
        "can_act": view.can_act,
    }


def recent(view: ViewState) -> dict:
    notable = Event.objects.filter(
        severity__in=(Event.Severity.WARNING, Event.Severity.ERROR, Event.Severity.CRITICAL)
    )
    return {
        "recent_alerts": list(notable.order_by("-id")[:RECENT]),
        "recent_signals": list(Signal.objects.order_by("-id")[:RECENT]),
    }


@dataclass(frozen=True)
class AccountFunds:
    label: str
    venue: str
    free: Decimal | None  # quote currency free to open entries; None: not known to the web
    deployed: Decimal  # entry cost of the open quantity
    groups: int
    blocked: str  # why new entries are stopped ("" when they are not)


def funds(open_groups: list[PositionGroup], figs: dict[int, GroupFigures]) -> list[AccountFunds]:
    """Free and deployed funds per enabled account. Free funds are known for paper accounts (their
    balances live in the database); a live venue's balance is only ever read by the engine."""
    accounts = list(
        ExchangeAccount.objects.filter(enabled=True)
        .order_by("label")
        .only("pk", "label", "venue", "entries_blocked_reason")
    )
    quote = "USDT"
    free = dict(
        PaperBalance.objects.filter(account__in=accounts, asset=quote).values_list("account_id", "free")
    )
    deployed: dict[int, Decimal] = {}
    count: dict[int, int] = {}
    for group in open_groups:
        deployed[group.account_id] = deployed.get(group.account_id, _ZERO) + figs[group.pk].cost
        count[group.account_id] = count.get(group.account_id, 0) + 1
    return [
        AccountFunds(
            label=a.label,
            venue=a.get_venue_display(),
            free=free.get(a.pk) if a.venue == Venue.PAPER else None,
            deployed=deployed.get(a.pk, _ZERO),
            groups=count.get(a.pk, 0),
            blocked=a.entries_blocked_reason,
        )
        for a in accounts
    ]
