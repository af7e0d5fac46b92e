"""What must hold after any crash, restart or race: checked by `manage.py check_invariants`.

The reliability tests and the soak script (`bench/soak.py`) kill the engine at random and then ask
this module whether anything was lost, doubled or left stuck. An operator can run the same check
on a live install: it only reads.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count

from exchanges.core import paper_matching as pm
from exchanges.models import ExchangeAccount, Venue
from exchanges.paper_models import PaperBalance, PaperOrder

from . import config_service
from .core.types import OrderSide
from .models import GroupStatus, Order, OrderState, PositionGroup, Pyramid, QueueEntry, Signal, SignalStatus
from .models.groups import OPEN_STATUSES

# An order may sit in Submitting for the length of one request; longer means nobody recovered it.
STUCK_AFTER = timedelta(minutes=2)


@dataclass
class Report:
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"ok": self.ok, "checked": self.checked, "problems": self.problems}


def check(now: datetime, *, drained: bool = True) -> Report:
    """Every invariant; `drained` also demands an empty inbox (after the engine caught up)."""
    report = Report()
    _signals(report, drained)
    _pyramids(report)
    _orders(report, now)
    _groups(report)
    for account in ExchangeAccount.objects.filter(venue=Venue.PAPER):
        _paper_matches_engine(report, account)
        _paper_balances(report, account)
    return report


def _signals(report: Report, drained: bool) -> None:
    statuses = Counter(Signal.objects.values_list("status", flat=True))
    report.checked["signals"] = sum(statuses.values())
    if drained and statuses.get(SignalStatus.RECEIVED):
        report.problems.append(f"{statuses[SignalStatus.RECEIVED]} signal(s) still waiting in the inbox")
    queued = set(Signal.objects.filter(status=SignalStatus.QUEUED).values_list("pk", flat=True))
    entries = set(QueueEntry.objects.values_list("signal_id", flat=True))
    if queued - entries:
        report.problems.append(f"signals marked queued with no queue entry: {sorted(queued - entries)[:20]}")
    if entries - queued:
        report.problems.append(f"queue entries whose signal is not queued: {sorted(entries - queued)[:20]}")


def _pyramids(report: Report) -> None:
    doubled = Pyramid.objects.exclude(signal=None).values("signal").annotate(n=Count("id")).filter(n__gt=1)
    report.checked["pyramids"] = Pyramid.objects.count()
    for row in doubled:
        report.problems.append(f"signal #{row['signal']} opened {row['n']} pyramids")


def _orders(report: Report, now: datetime) -> None:
    ids = Counter(Order.objects.values_list("client_order_id", flat=True))
    report.checked["orders"] = sum(ids.values())
    report.problems += [f"client order id {cid} used {n} times" for cid, n in ids.items() if n > 1]
    # One entry order per leg reaches the exchange, whatever the retries.
    sent_per_leg = (
        Order.objects.filter(leg__isnull=False, sends__gt=0)
        .values("leg")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    report.problems += [f"leg #{row['leg']} has {row['n']} entry orders sent" for row in sent_per_leg]
    stuck = Order.objects.filter(state=OrderState.SUBMITTING, updated_at__lt=now - STUCK_AFTER)
    report.problems += [f"order {o.client_order_id} stuck in Submitting since {o.updated_at}" for o in stuck]


def _groups(report: Report) -> None:
    open_groups = PositionGroup.objects.filter(status__in=OPEN_STATUSES)
    report.checked["open_groups"] = open_groups.count()
    markets = open_groups.values("account", "symbol", "timeframe").annotate(n=Count("id")).filter(n__gt=1)
    report.problems += [f"{row['n']} open groups on one market: {row}" for row in markets]
    for group in open_groups.filter(status=GroupStatus.CLOSING):
        live = group.orders.filter(
            state__in=[
                OrderState.QUEUED,
                OrderState.SUBMITTING,
                OrderState.OPEN,
                OrderState.PARTIALLY_FILLED,
                OrderState.CANCELLING,
            ]
        )
        if not live.exists():
            report.problems.append(f"group #{group.pk} stuck in Closing with no order working")


def _paper_matches_engine(report: Report, account: ExchangeAccount) -> None:
    """Every paper order is one of ours, under one id, and we booked exactly what it filled."""
    ours = {o.client_order_id: o for o in Order.objects.filter(account=account)}
    theirs = list(PaperOrder.objects.filter(account=account))
    report.checked[f"{account.label}_exchange_orders"] = len(theirs)
    for paper in theirs:
        order = ours.get(paper.client_order_id)
        if order is None:
            report.problems.append(
                f"{account.label}: exchange order {paper.client_order_id} placed by nobody"
            )
            continue
        if order.filled_qty != paper.filled_qty:
            report.problems.append(
                f"{account.label}: {paper.client_order_id} filled {paper.filled_qty} on the exchange,"
                f" booked {order.filled_qty}"
            )


def _paper_balances(report: Report, account: ExchangeAccount) -> None:
    """Balances are exactly the starting balance plus every fill, fees included."""
    expected: dict[str, Decimal] = defaultdict(Decimal)
    expected["USDT"] = config_service.current().exchange.paper_starting_balance_usdt
    orders = PaperOrder.objects.filter(account=account, filled_qty__gt=0)
    if not orders.exists() and not PaperBalance.objects.filter(account=account).exists():
        return  # never traded: not seeded yet
    for paper in orders:
        base, quote = pm.split_symbol(paper.symbol)
        change = pm.balance_change(
            OrderSide(paper.side), _Filled(paper.filled_qty, paper.filled_quote), paper.fee_quote
        )
        expected[base] += change.base
        expected[quote] += change.quote
    held = {b.asset: b.free + b.locked for b in PaperBalance.objects.filter(account=account)}
    for asset in set(expected) | set(held):
        if expected.get(asset, Decimal(0)) != held.get(asset, Decimal(0)):
            report.problems.append(
                f"{account.label}: {asset} balance {held.get(asset, 0)} but fills add up to {expected.get(asset, 0)}"
            )


@dataclass(frozen=True)
class _Filled:
    """An order's whole fill as `balance_change` reads it (quantity and exact notional)."""

    qty: Decimal
    notional: Decimal
