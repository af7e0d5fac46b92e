"""Per-group figures for the console: open quantity, average entry, unrealised PnL, legs filled.

One aggregate query per set of groups (not one per group), so a page with 1,000 live groups stays
fast. Unrealised PnL follows the engine's definition: (price − fill) × open qty for a long (mirrored
for a short) minus the entry fees carried by the open quantity; % is of the open cost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Max, Q, QuerySet, Sum

from exchanges.models import ExchangeAccount
from trading.models import DcaLeg, LegState, PositionGroup, Trade
from trading.models.groups import OPEN_STATUSES
from trading.reads.prices import last_prices

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
_DEC = DecimalField(max_digits=40, decimal_places=12)
_CENT = Decimal("0.01")


def cents(value: Decimal | None) -> Decimal | None:
    """USD as the console shows it (2 decimals): sums of shown figures add up to the shown total."""
    return None if value is None else value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


# The account's encrypted columns (API credentials): never needed here, and decrypting them for
# every row of a 1,000-group table would cost more than the rest of the page.
_ACCOUNT_SECRETS = tuple(
    f"account__{f.name}"
    for f in ExchangeAccount._meta.concrete_fields
    if type(f).__module__.startswith("encrypted_model_fields")
)


def groups_with_account() -> QuerySet[PositionGroup]:
    """Groups with their account's label and venue, without loading its secrets."""
    return PositionGroup.objects.select_related("account").defer(*_ACCOUNT_SECRETS)


@dataclass(frozen=True)
class GroupFigures:
    open_qty: Decimal
    cost: Decimal  # Σ fill × open qty
    avg_entry: Decimal | None
    price: Decimal | None
    unrealised: Decimal | None  # None: no price or nothing open
    unrealised_pct: Decimal | None
    legs_filled: int
    legs_total: int

    @property
    def is_loss(self) -> bool:
        return self.unrealised is not None and self.unrealised < 0


EMPTY = GroupFigures(_ZERO, _ZERO, None, None, None, None, 0, 0)


def _aggregates(group_ids: Iterable[int] | None, open_only: bool) -> dict[int, dict]:
    legs = DcaLeg.objects.all()
    if group_ids is not None:
        legs = legs.filter(group_id__in=list(group_ids))
    if open_only:
        legs = legs.filter(group__status__in=OPEN_STATUSES)
    open_qty = ExpressionWrapper(F("filled_qty") - F("closed_qty"), output_field=_DEC)
    is_open = Q(filled_qty__gt=F("closed_qty"), avg_fill_price__isnull=False)
    rows = legs.values("group_id").annotate(
        qty=Sum(open_qty, filter=is_open),
        cost=Sum(ExpressionWrapper(open_qty * F("avg_fill_price"), output_field=_DEC), filter=is_open),
        fees=Sum(
            ExpressionWrapper(F("entry_fees") * open_qty / F("filled_qty"), output_field=_DEC),
            filter=is_open,
        ),
        filled=Count("id", filter=Q(filled_qty__gt=0)),
        total=Count("id", filter=~Q(state=LegState.SKIPPED)),
    )
    return {row["group_id"]: row for row in rows}


def figures_for(groups: Iterable, *, open_only: bool = False) -> dict[int, GroupFigures]:
    """Figures for each group (objects with pk, side, account_id, symbol)."""
    groups = list(groups)
    if not groups:
        return {}
    aggregates = _aggregates(None if open_only else [g.pk for g in groups], open_only)
    prices = last_prices((g.account_id, g.symbol) for g in groups)
    return {g.pk: figures(g.side, aggregates.get(g.pk), prices.get((g.account_id, g.symbol))) for g in groups}


def _dec(value: object) -> Decimal:
    if value is None:
        return _ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def figures(side: str, row: dict | None, price: Decimal | None) -> GroupFigures:
    if row is None:
        return EMPTY if price is None else GroupFigures(_ZERO, _ZERO, None, price, None, None, 0, 0)
    qty, cost, fees = _dec(row["qty"]), _dec(row["cost"]), _dec(row["fees"])
    avg = cost / qty if qty > 0 else None
    unrealised = pct = None
    if price is not None and qty > 0 and cost > 0:
        gross = price * qty - cost if side == "long" else cost - price * qty
        unrealised = gross - fees
        pct = unrealised / cost * _HUNDRED
    return GroupFigures(qty, cost, avg, price, unrealised, pct, row["filled"], row["total"])


@dataclass(frozen=True)
class Exits:
    """What a group's closes (take-profits, exits, risk closes) add up to."""

    qty: Decimal
    exit_price: Decimal | None  # quantity-weighted average exit
    realised_pct: Decimal | None  # realised PnL as % of the closed quantity's entry cost
    last_closed_at: datetime | None


def exits_for(groups: Iterable) -> dict[int, Exits]:
    """Exits of each group (objects with pk and realized_pnl) that has any, in one query."""
    by_id = {g.pk: g for g in groups}
    if not by_id:
        return {}
    rows = (
        Trade.objects.filter(group_id__in=list(by_id))
        .values("group_id")
        .annotate(
            closed_qty=Sum("qty"),
            notional=Sum(ExpressionWrapper(F("qty") * F("exit_price"), output_field=_DEC)),
            cost=Sum(ExpressionWrapper(F("qty") * F("entry_price"), output_field=_DEC)),
            last=Max("closed_at"),
        )
    )
    found = {}
    for row in rows:
        qty, cost = _dec(row["closed_qty"]), _dec(row["cost"])
        realised = _dec(by_id[row["group_id"]].realized_pnl)
        found[row["group_id"]] = Exits(
            qty=qty,
            exit_price=_dec(row["notional"]) / qty if qty > 0 else None,
            realised_pct=realised / cost * _HUNDRED if cost > 0 else None,
            last_closed_at=row["last"],
        )
    return found
