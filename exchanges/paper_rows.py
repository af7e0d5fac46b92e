"""The paper exchange's rows: balances locked, changed and written back, and orders reported.

Kept apart from `paper.py` (the venue's behaviour) so the adapter reads as what it decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection

from trading.compiled import CompiledUpdate
from trading.core.types import OrderSide

from .core import paper_matching as pm
from .core.adapter import OrderReport, OrderStatus, OrderType
from .markets import plain
from .models import ExchangeAccount
from .paper_models import PaperBalance, PaperOrder

_BALANCE = CompiledUpdate(PaperBalance, ("free", "locked"))
_VENUE_ID = CompiledUpdate(PaperOrder, ("exchange_order_id",))


def commit_lazily() -> None:
    """On PostgreSQL, do not wait for this transaction's WAL to reach the disk (when it is ours).

    A simulated venue losing its last orders in a database crash looks like requests that never
    arrived: the engine looks them up by client id and sends them again. (The engine commits its
    SUBMITTING rows durably before a request, so they are never among the lost.)
    """
    if connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def insert_orders(rows: list[PaperOrder]) -> None:
    """Insert the placed rows, then give each the venue's id, known only now (from its pk)."""
    if not rows:
        return
    PaperOrder.objects.bulk_create(rows)
    for row in rows:
        row.exchange_order_id = f"P{row.pk:06d}"
    if len(rows) == 1:  # an entry's DCA0 on its own: the compiled statement, not a CASE built for it
        _VENUE_ID.run(rows[0].pk, exchange_order_id=rows[0].exchange_order_id)
    else:
        PaperOrder.objects.bulk_update(rows, ["exchange_order_id"])


def balance_rows(account: ExchangeAccount) -> list[tuple[str, Decimal, Decimal]]:
    """(asset, free, locked) of every asset, as plain tuples: an account that traded many coins has
    a row per coin, and the engine reads them for every entry's funds check."""
    rows = PaperBalance.objects.filter(account=account).order_by("asset")
    return list(rows.values_list("asset", "free", "locked"))


def locked_balances(account: ExchangeAccount, assets: Iterable[str]) -> dict[str, PaperBalance]:
    rows = PaperBalance.objects.select_for_update().filter(account=account, asset__in=list(assets))
    return {row.asset: row for row in rows}


def match_order(row: PaperOrder) -> pm.MatchOrder:
    return pm.MatchOrder(
        side=OrderSide(row.side),
        type=OrderType(row.type),
        qty=row.qty,
        filled_qty=row.filled_qty,
        limit_price=row.price,
        rested=row.rested,
    )


class Balances(dict[str, PaperBalance]):
    """Locked balance rows by asset, and the amounts they were read with."""

    def __init__(self, rows: dict[str, PaperBalance]) -> None:
        super().__init__(rows)
        self.read = {asset: (row.free, row.locked) for asset, row in rows.items()}


def save_balances(balances: Balances) -> None:
    """Write the balances that changed (a resting order moves only one of its two assets)."""
    for asset, row in balances.items():
        if (row.free, row.locked) != balances.read[asset]:
            _BALANCE.run(row.pk, free=row.free, locked=row.locked)


def report_of(row: PaperOrder) -> OrderReport:
    return OrderReport(
        client_order_id=row.client_order_id,
        exchange_order_id=row.exchange_order_id,
        symbol=row.symbol,
        side=OrderSide(row.side),
        type=OrderType(row.type),
        status=OrderStatus(row.status),
        qty=plain(row.qty),
        price=plain(row.price) if row.price is not None else None,
        filled_qty=plain(row.filled_qty),
        avg_fill_price=plain(row.avg_fill_price) if row.avg_fill_price is not None else None,
        fee_quote=plain(row.fee_quote),
        updated_at=row.updated_at,
    )
