"""What one engine run carries between ticks: clock, adapters, config. State lives in the database."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from exchanges.core.adapter import ExchangeAdapter
from exchanges.models import ExchangeAccount
from exchanges.registry import build_adapter

from .. import config_service
from ..config_schema import EngineConfig
from ..models import EngineState


def utc_now() -> datetime:
    return datetime.now(UTC)


def engine_state() -> EngineState:
    state, _ = EngineState.objects.get_or_create(pk=1)
    if not state.namespace:
        # A short id per database, so two installs never share client order ids on one account.
        state.namespace = secrets.token_hex(3)
        state.save(update_fields=["namespace"])
    return state


@dataclass
class EngineContext:
    clock: Callable[[], datetime] = utc_now
    cfg: EngineConfig = field(default_factory=config_service.current)
    namespace: str = ""
    _adapters: dict[int, ExchangeAdapter] = field(default_factory=dict)
    # Derived, not state: the last price each symbol was evaluated at, to skip unchanged sweeps.
    evaluated_prices: dict[tuple[int, str], Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.namespace:
            self.namespace = engine_state().namespace

    def now(self) -> datetime:
        return self.clock()

    def refresh_config(self) -> bool:
        """Pick up a saved config change (the soft "apply & restart"); True if it changed."""
        cfg = config_service.current()
        if cfg is self.cfg:
            return False
        self.cfg = cfg
        self._adapters.clear()  # fees / partial-fill settings may have changed
        return True

    def adapter(self, account: ExchangeAccount) -> ExchangeAdapter:
        adapter = self._adapters.get(account.pk)
        if adapter is None:
            adapter = build_adapter(account, self.cfg, self.clock)
            self._adapters[account.pk] = adapter
        return adapter
