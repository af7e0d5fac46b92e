"""How the console asks the engine for something: one pending `Command` row, like the API does.

The console never changes trading state itself; rows stay *pending* until the engine applies them,
and the console shows them as such (per target, and in the signed-in user's command list).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Q

from trading.models import Command, CommandStatus

# Command kind → (what the target id is called in args, short label shown while pending).
TARGETS: dict[str, tuple[str, str]] = {
    "close_group": ("group_id", "closing"),
    "risk_skip": ("group_id", "skip once"),
    "risk_block": ("group_id", "block"),
    "risk_unblock": ("group_id", "unblock"),
    "queue_promote": ("entry_id", "promote"),
    "queue_remove": ("entry_id", "remove"),
    "queue_force": ("entry_id", "force add"),
}


def enqueue(user: Any, kind: str, args: dict[str, Any] | None = None) -> Command:
    """Insert one pending command for the engine (the console's only trading write)."""
    return Command.objects.create(kind=kind, args=args or {}, created_by=user, created_at=datetime.now(UTC))


def pending_labels() -> dict[tuple[str, int], list[str]]:
    """Pending commands by target, e.g. {("group_id", 12): ["closing"]}, for row badges."""
    found: dict[tuple[str, int], list[str]] = {}
    for kind, args in Command.objects.filter(status=CommandStatus.PENDING, kind__in=TARGETS).values_list(
        "kind", "args"
    ):
        key, label = TARGETS[kind]
        target = (args or {}).get(key)
        if isinstance(target, int):
            found.setdefault((key, target), []).append(label)
    return found


def pending_kinds() -> set[str]:
    """Kinds with a pending command and no target (pause, resume, risk_run, refresh_markets)."""
    return set(
        Command.objects.filter(status=CommandStatus.PENDING)
        .exclude(kind__in=TARGETS)
        .values_list("kind", flat=True)
    )


def recent_for(user: Any, limit: int = 3, window: timedelta = timedelta(seconds=30)) -> list[Command]:
    """The user's commands still pending or finished in the last seconds, newest first."""
    if not getattr(user, "is_authenticated", False):
        return []
    since = datetime.now(UTC) - window
    # paper_price is the paper feed's tool (API, tests), never a console action: not listed.
    mine = (
        Command.objects.filter(created_by=user)
        .exclude(kind="paper_price")
        .filter(Q(status=CommandStatus.PENDING) | Q(applied_at__gte=since))
    )
    return list(mine.order_by("-id")[:limit])
