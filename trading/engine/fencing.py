"""Fencing: an engine that lost its lock must fail its next write instead of trading.

The process lock (PostgreSQL advisory lock, or a lock file next to SQLite) decides which engine
should run. It can vanish under a running engine — a dropped database connection silently releases
an advisory lock — and the engine would not know until it looked. So every engine takes a lease
when it gets the lock: `EngineLease.epoch` goes up by one. Each transaction that inserts, sends or
books an order first checks, inside that transaction, that the epoch is still its own (`fence`). A
newer engine has bumped it, so the stale engine's transaction raises `LeaseLost` and rolls back.

On PostgreSQL the fence is an UPDATE of the lease row: it holds the row lock until commit, so a
takeover (which updates the same row) is ordered strictly before or after the whole transaction.
On SQLite every engine transaction already holds the database's write lock (IMMEDIATE mode).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection, transaction
from django.db.models import F

from ..models import EngineLease


class LeaseLost(RuntimeError):
    """This engine's lease was taken over (or never taken): it must stop trading at once."""


def take_lease(holder: str, now: datetime) -> int:
    """Start a new epoch for `holder`; every write of an older epoch fails from now on."""
    with transaction.atomic():
        EngineLease.objects.get_or_create(pk=1)
        EngineLease.objects.filter(pk=1).update(epoch=F("epoch") + 1, holder=holder[:100], acquired_at=now)
        return EngineLease.objects.values_list("epoch", flat=True).get(pk=1)


def fence(epoch: int, *, lazy: bool = False) -> None:
    """Raise LeaseLost unless `epoch` is still the current lease (call inside the transaction).

    `lazy`: on PostgreSQL the transaction's commit also returns before its WAL is on disk (see
    `LAZY_COMMIT` for which transactions may), set in the fence's own round trip. Every
    engine transaction starts here, so this is plain SQL: the ORM's compilation cost more than the
    statement itself, and one round trip fewer per signal shows in a backlog's drain rate.
    """
    if epoch:
        lazy = lazy and owns_transaction()
        # Server-side binding (an OPTIONS choice) takes one statement per request.
        apart = lazy and connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
        with connection.cursor() as cursor:
            cursor.execute(_fence_sql(lazy=lazy and not apart), [epoch, epoch])
            held = cursor.rowcount == 1
            if held and apart:
                cursor.execute(LAZY_COMMIT)
        if held:
            return
    current = EngineLease.objects.filter(pk=1).values_list("epoch", "holder").first()
    raise LeaseLost(
        f"engine lease {epoch} is no longer current"
        + (f" (epoch {current[0]} held by {current[1] or 'another engine'})" if current else "")
    )


# Lazy commits (`ctx.write(lazy=True)`): on PostgreSQL the transaction's commit returns before its
# WAL is on disk. Only for transactions a database crash may lose without harm: a decision that sent
# nothing is made again from the inbox, a booked report is looked up again by client id. Every
# request follows a durable commit (`sending.mark_submitting`), which flushes everything committed
# before it, so an exchange never sees more than the database durably holds. A killed engine loses
# nothing either way: the server has the commit. Only the outermost block decides: one nested in
# someone else's transaction leaves it as it is (`owns_transaction`).
LAZY_COMMIT = "SET LOCAL synchronous_commit TO OFF"


def owns_transaction() -> bool:
    """PostgreSQL, and the fenced block is the outermost one: a block nested in someone else's
    transaction leaves its durability alone."""
    return connection.vendor == "postgresql" and len(connection.atomic_blocks) == 1


def _fence_sql(*, lazy: bool) -> str:
    quote, meta = connection.ops.quote_name, EngineLease._meta
    epoch = quote(meta.get_field("epoch").column)
    sql = f"UPDATE {quote(meta.db_table)} SET {epoch} = %s WHERE {quote(meta.pk.column)} = 1 AND {epoch} = %s"
    if not lazy:
        return sql
    # Two statements in one request: PostgreSQL's simple query protocol, which psycopg uses for
    # client-side binding (Django's default). The cursor reports the first one's row count.
    return f"{sql}; {LAZY_COMMIT}"


def current_epoch() -> int:
    return EngineLease.objects.filter(pk=1).values_list("epoch", flat=True).first() or 0
