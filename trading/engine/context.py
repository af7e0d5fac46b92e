"""What one engine run carries between ticks: clock, adapters, config. State lives in the database."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from django.db import transaction

from exchanges.core.adapter import ExchangeAdapter
from exchanges.models import ExchangeAccount, MarketRule
from exchanges.ratelimit import OrderRateLimiter
from exchanges.registry import build_adapter

from .. import config_service
from ..config_schema import EngineConfig
from ..models import EngineState
from . import fencing

T = TypeVar("T")

POOL = "pool"  # `cached` key of the open-group count (forgotten when a group opens or closes)
# `cached` key prefix of an account's balances at its venue (admission.py): forgotten whenever the
# engine sends or cancels there (`forget_balances`).
BALANCES = "balances"


def _dispatch_urgent(ctx: EngineContext, account_ids: set[int]) -> None:
    from .dispatch import dispatch  # dispatch → orders → context: import at use

    dispatch(ctx, account_ids, urgent_only=True)


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
    # Derived, not state: per-account order-rate limiters and back-off pauses (rebuilt on restart).
    limiters: dict[int, OrderRateLimiter | None] = field(default_factory=dict)
    # Take-profit bookkeeping: the price each (account, symbol) was last evaluated at, and the
    # markets with fills since (both rebuilt from nothing on restart: the first sweep sees all).
    evaluated_prices: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    tp_dirty: set[tuple[int, str]] = field(default_factory=set)
    # When each market's price was last sampled for the group chart (price_history.py; read from
    # the table once per market after a restart).
    sampled_at: dict[tuple[int, str], datetime] = field(default_factory=dict)
    # Prices a batch of signals received, sampled for the chart when it ends (`price_history.record`).
    unsampled_prices: dict[tuple[int, str], Decimal] = field(default_factory=dict)
    paused_until: dict[int, datetime] = field(default_factory=dict)
    _health_written: dict[int, datetime] = field(default_factory=dict)
    # Fills booked since the risk engine last looked (`evaluate_on_fill`), and when it last ran.
    fills_since_risk: int = 0
    last_risk_at: datetime | None = None
    # The lease this engine writes under (fencing.py); 0 until the engine starts.
    epoch: int = 0
    _write_depth: int = 0
    _dispatch_due: set[int] = field(default_factory=set)
    # Accounts whose committed decisions' orders wait for the end of a batch of signals (`hold_orders`).
    _held: set[int] | None = None
    # Rows one batch of signals reads over and over (accounts, the pool count): None outside a
    # batch, so commands, syncs and tests always read the database (`batch_cache`).
    _batch: dict[Hashable, Any] | None = None
    # MarketRule rows by (account, how, text): they change only when this engine refreshes the
    # account's markets (`forget_markets`); the refresh_markets command needs the engine's lock.
    market_rows: dict[tuple[int, str, str], MarketRule | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.namespace:
            self.namespace = engine_state().namespace

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def write(self, *, lazy: bool = False) -> Iterator[None]:
        """One engine transaction: all of it commits, or none of it; orders leave only after commit.

        `lazy`: on PostgreSQL its commit need not wait for the disk (`fencing.LAZY_COMMIT` says
        which transactions may; a decision whose orders leave after a durable commit of their own).

        The outermost block checks the lease first (a stale engine fails here, before any write).
        Orders queued inside are sent when it has committed (`defer_dispatch`), so a crash at any
        point either loses the whole decision (it is made again) or finds it committed with its
        orders QUEUED under deterministic client ids (they are sent once).
        """
        outer = self._write_depth == 0
        self._write_depth += 1
        try:
            # A write inside another engine write is part of it (no savepoint): it commits or rolls
            # back with it, which is what a decision's transaction must do anyway.
            with transaction.atomic(savepoint=outer):
                if outer:
                    fencing.fence(self.epoch, lazy=lazy)
                yield
        except BaseException:
            if outer:
                self._dispatch_due.clear()
                if self._batch:
                    self._batch.clear()  # it may hold what the rolled-back transaction saw
            raise
        finally:
            self._write_depth -= 1
        if outer and self._dispatch_due:
            due, self._dispatch_due = self._dispatch_due, set()
            if self._held is not None:
                self._held |= due  # the batch's orders leave together when it ends
            else:
                _dispatch_urgent(self, due)  # resting DCA legs leave at the end of the tick

    @contextmanager
    def hold_orders(self) -> Iterator[None]:
        """Within the block, each committed decision's orders wait; when it ends they leave
        together: every waiting entry is decided first, then all their DCA0s go out in one batch
        before any other leg. On an error they stay QUEUED for the tick's own dispatch."""
        if self._held is not None:
            yield
            return
        self._held = set()
        try:
            yield
            self.release_orders()
        finally:
            self._held = None

    def release_orders(self) -> None:
        """Send what `hold_orders` holds so far (after a close: it must not wait for the batch)."""
        if not self._held:
            return
        due, self._held = self._held, None  # what this dispatch's own writes queue leaves at once
        for account_id in due:
            self.forget_balances(account_id)  # the venue's balances move
        try:
            _dispatch_urgent(self, due)
        finally:
            self._held = set()

    @contextmanager
    def batch_cache(self) -> Iterator[None]:
        """Remember what `cached` loads until the block ends (a batch of signals within one tick)."""
        outer = self._batch is None
        if outer:
            self._batch = {}
        try:
            yield
        finally:
            if outer:
                self._batch = None

    @property
    def batching(self) -> bool:
        return self._batch is not None

    def cached(self, key: Hashable, load: Callable[[], T]) -> T:
        """`load()` once per batch (every time outside one); writers `forget` what they change."""
        if self._batch is None:
            return load()
        if key not in self._batch:
            self._batch[key] = load()
        return self._batch[key]

    def recall(self, key: Hashable) -> Any | None:
        """What the batch noted under `key` (`note`), or None (always None outside a batch)."""
        return None if self._batch is None else self._batch.get(key)

    def note(self, key: Hashable, value: Any) -> None:
        """Remember `value` until the batch ends (nothing outside a batch)."""
        if self._batch is not None:
            self._batch[key] = value

    def cached_account(self, account: ExchangeAccount) -> ExchangeAccount:
        """The batch's one instance of this account: what the engine changes on it (a rejection
        stopping entries) is what every later signal of the batch sees."""
        return self.cached(("account", account.pk), lambda: account)

    def account_by_id(self, account_id: int) -> ExchangeAccount:
        known = self.recall(("account", account_id))  # the batch routed a signal to it already
        if known is not None:
            return known
        load = lambda: ExchangeAccount.objects.get(pk=account_id)  # noqa: E731
        return self.cached_account(self.cached(("account-id", account_id), load))

    def forget(self, key: Hashable) -> None:
        if self._batch is not None:
            self._batch.pop(key, None)

    def forget_balances(self, account_id: int) -> None:
        self.forget((BALANCES, account_id))

    def forget_markets(self, account_id: int) -> None:
        for key in [k for k in self.market_rows if k[0] == account_id]:
            del self.market_rows[key]

    @property
    def in_write(self) -> bool:
        return self._write_depth > 0

    def defer_dispatch(self, account_id: int) -> bool:
        """Inside a write, remember to send this account's queue after commit; True if deferred."""
        if not self.in_write:
            return False
        self._dispatch_due.add(account_id)
        return True

    def refresh_config(self) -> bool:
        """Pick up a saved config change (the soft "apply & restart"); True if it changed."""
        cfg = config_service.current()
        if cfg is self.cfg:
            return False
        self.cfg = cfg
        self._adapters.clear()  # fees / partial-fill settings may have changed
        self.limiters.clear()
        config_service.note_applied(self.now())  # the settings page shows "engine applied vN"
        return True

    def limiter(self, account: ExchangeAccount) -> OrderRateLimiter | None:
        """The account's order-rate limiter; None for venues without limits (paper)."""
        if account.pk not in self.limiters:
            limits = getattr(self.adapter(account), "order_rate_limits", None)
            limiter = None
            if limits is not None:
                rate, burst = limits()
                if account.rate_limit_mode == "conservative":
                    rate, burst = rate / 2, max(1.0, burst / 2)
                limiter = OrderRateLimiter(rate, burst, clock=self.clock)
            self.limiters[account.pk] = limiter
        return self.limiters[account.pk]

    def note_ok(self, account_id: int) -> None:
        """Connection health for the status page, written at most every few seconds."""
        now = self.now()
        last = self._health_written.get(account_id)
        if last is None or (now - last).total_seconds() >= 5:
            self._health_written[account_id] = now
            ExchangeAccount.objects.filter(pk=account_id).update(last_ok_at=now, last_error="")

    def note_error(self, account_id: int, error: Exception) -> None:
        self._health_written.pop(account_id, None)
        ExchangeAccount.objects.filter(pk=account_id).update(
            last_error=f"{type(error).__name__}: {error}"[:500]
        )

    def adapter(self, account: ExchangeAccount) -> ExchangeAdapter:
        adapter = self._adapters.get(account.pk)
        if adapter is None:
            adapter = build_adapter(account, self.cfg, self.clock)
            self._adapters[account.pk] = adapter
        return adapter
