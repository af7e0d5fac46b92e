"""Webhook replay (off unless `security.allow_webhook_replay`): the stored payload goes through the
inbox again as a NEW signal, `replay_of` the original. The engine treats it like any arrival."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from trading import events
from trading.models import Signal, SignalStatus

COPIED = (
    "payload",
    "fingerprint",
    "exchange",
    "raw_symbol",
    "symbol",
    "timeframe",
    "intent",
    "side",
    "entry_price",
    "order_size",
    "size_type",
    "max_slippage_percent",
    "sent_at",
    "prev_market_position",
    "trade_id",
)


def replay_signal(original: Signal, user: Any, now: datetime | None = None) -> Signal:
    """Insert a copy of `original` into the inbox (status received); never touches trading state."""
    now = now or datetime.now(UTC)
    copy = Signal.objects.create(
        received_at=now,
        status=SignalStatus.RECEIVED,
        replay_of=original,
        dedupe_key=None,  # unique: the original holds it
        **{name: getattr(original, name) for name in COPIED},
    )
    events.record(
        events.Category.WEBHOOK,
        f"signal #{original.pk} replayed as signal #{copy.pk} by {user.get_username()}",
        symbol=copy.symbol,
        timeframe=copy.timeframe,
        signal_id=copy.pk,
        context={"replay_of": original.pk},
        now=now,
    )
    return copy
