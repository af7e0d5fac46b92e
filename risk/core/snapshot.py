"""What the risk engine sees of the book: frozen snapshots of live groups, and its settings.

The engine builds these from the database once per cycle; everything in `risk.core` works on them
alone, so the console's projected plan and the executed plan come from the same call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from trading.core.types import MarketRules, Side


class TimerStart(enum.StrEnum):
    """What starts a group's post-full wait timer (`risk_engine.timer_start_condition`)."""

    AFTER_5_PYRAMIDS = "after_5_pyramids"  # the last allowed pyramid arrived
    AFTER_ALL_DCA_SUBMITTED = "after_all_dca_submitted"  # every DCA order accepted by the exchange
    AFTER_ALL_DCA_FILLED = "after_all_dca_filled"  # every leg filled


@dataclass(frozen=True)
class LegPosition:
    """A leg's filled, still-open quantity; `entry_fees` are the quote fees paid on that quantity."""

    leg_id: int
    open_qty: Decimal
    avg_fill_price: Decimal
    entry_fees: Decimal = Decimal(0)


@dataclass(frozen=True)
class GroupSnapshot:
    """One live position group at the moment of the cycle. `price` is None when no price is known."""

    group_id: int
    symbol: str
    side: Side
    opened_at: datetime
    pyramids_received: int
    timer_started_at: datetime | None
    blocked: bool
    skip_once: bool
    price: Decimal | None
    legs: tuple[LegPosition, ...]
    rules: MarketRules | None


@dataclass(frozen=True)
class RiskSettings:
    """The `risk_engine` settings the pure logic reads, plus the grid strategy's pyramid limit."""

    enabled: bool = True
    require_full_pyramids: bool = True
    enable_post_full_wait: bool = True
    post_full_wait_minutes: int = 60
    timer_start_condition: TimerStart = TimerStart.AFTER_5_PYRAMIDS
    reset_timer_on_replacement: bool = True
    loss_threshold_percent: Decimal = Decimal(-5)
    use_trade_age_filter: bool = False
    age_threshold_minutes: int = 200
    max_winners_to_combine: int = 3
    partial_close_enabled: bool = True
    min_close_notional: Decimal = Decimal(20)
    max_pyramids: int = 5

    @classmethod
    def from_config(cls, cfg_section: Any, max_pyramids: int) -> RiskSettings:
        """Copy the fields by name from a `RiskEngineSettings`-like object (any attribute holder)."""
        return cls(
            enabled=bool(cfg_section.enabled),
            require_full_pyramids=bool(cfg_section.require_full_pyramids),
            enable_post_full_wait=bool(cfg_section.enable_post_full_wait),
            post_full_wait_minutes=int(cfg_section.post_full_wait_minutes),
            timer_start_condition=TimerStart(cfg_section.timer_start_condition),
            reset_timer_on_replacement=bool(cfg_section.reset_timer_on_replacement),
            loss_threshold_percent=_decimal(cfg_section.loss_threshold_percent),
            use_trade_age_filter=bool(cfg_section.use_trade_age_filter),
            age_threshold_minutes=int(cfg_section.age_threshold_minutes),
            max_winners_to_combine=int(cfg_section.max_winners_to_combine),
            partial_close_enabled=bool(cfg_section.partial_close_enabled),
            min_close_notional=_decimal(cfg_section.min_close_notional),
            max_pyramids=int(max_pyramids),
        )


def _decimal(value: Any) -> Decimal:
    # A float would carry its binary noise into the comparisons; go through its shortest repr.
    if isinstance(value, Decimal):
        return value
    return Decimal(value) if isinstance(value, int) else Decimal(str(value))
