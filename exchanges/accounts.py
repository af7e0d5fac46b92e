"""Exchange accounts: the one way to add, change, switch off, test and delete one.

`manage.py add_account` / `check_account` and the console's /settings/accounts/ page all call these
functions, so the venue checks, the encryption of credentials and the audit trail are the same
whichever door an operator comes through. Secrets never leave here unmasked: events and messages
name the key by its last characters only, and the secret and passphrase not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from trading import config_service, events
from trading.config_schema import EngineConfig
from trading.core.numbers import fmt
from trading.models import Order, PositionGroup, QueueEntry
from trading.models.groups import OPEN_STATUSES
from trading.models.orders import LIVE_ORDER_STATES

from .core.adapter import ExchangeAdapter, ExchangeError
from .models import ExchangeAccount, MarketType, RateLimitMode, Venue
from .registry import build_adapter
from .secrets import mask
from .venues import PROFILES

# Paths under /settings/accounts/ that an account's own page would shadow.
RESERVED_LABELS = frozenset({"add"})
AdapterBuilder = Callable[[ExchangeAccount, EngineConfig, Callable[[], datetime]], ExchangeAdapter]


class AccountRefused(Exception):
    """A change that was refused before anything was written; `field` names the input at fault."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Credentials:
    """API credentials as typed. On an edit, an empty value means "keep the stored one"."""

    api_key: str = ""
    api_secret: str = ""
    passphrase: str = ""

    def __repr__(self) -> str:  # a traceback or debug page must not print them
        return f"Credentials(api_key={mask(self.api_key)!r}, api_secret=..., passphrase=...)"


@dataclass(frozen=True)
class AccountSpec:
    """What identifies an account: fixed once it exists (its groups and orders depend on it)."""

    label: str
    venue: str
    market_type: str = MarketType.SPOT
    sandbox: bool = False
    rate_limit_mode: str = RateLimitMode.EXCHANGE


def _audit(message: str, actor: str, *, severity: str = events.Severity.INFO, **context: object) -> None:
    events.record(
        events.Category.ENGINE, f"{message} (by {actor})", severity=severity, context={"by": actor, **context}
    )


# ---- validation ---------------------------------------------------------------------------------


def check_venue(venue: str, market_type: str, sandbox: bool) -> None:
    """Refuse a venue / market type / testnet combination this engine cannot trade."""
    profile = PROFILES.get(venue)
    if venue != Venue.PAPER and profile is None:
        known = ", ".join([Venue.PAPER, *PROFILES])
        raise AccountRefused(f"unknown exchange {venue!r}; choose one of {known}", "venue")
    if market_type not in MarketType.values:
        raise AccountRefused(f"unknown market type {market_type!r}", "market_type")
    if profile is not None and market_type not in profile.market_types:
        supported = ", ".join(sorted(profile.market_types))
        raise AccountRefused(f"{venue} supports {supported} here, not {market_type}", "market_type")
    if sandbox and (profile is None or market_type not in profile.sandbox):
        raise AccountRefused(
            f"{venue} has no testnet/sandbox for {market_type} (only Binance and Bybit do)", "sandbox"
        )


def check_label(label: str) -> None:
    """A new account's label: a slug of at most 40 characters, not taken yet."""
    try:  # create() skips field validation: a label must stay usable in URLs (slug, ≤ 40)
        ExchangeAccount._meta.get_field("label").clean(label, None)
    except ValidationError as exc:
        raise AccountRefused(f"label {label!r}: {' '.join(exc.messages)}", "label") from exc
    if label in RESERVED_LABELS:
        raise AccountRefused(
            f"label {label!r} is reserved (the console's /settings/accounts/{label}/)", "label"
        )
    if ExchangeAccount.objects.filter(label=label).exists():
        raise AccountRefused(f"an account labelled {label!r} already exists", "label")


def check_spec(spec: AccountSpec) -> None:
    check_venue(spec.venue, spec.market_type, spec.sandbox)
    if spec.rate_limit_mode not in RateLimitMode.values:
        raise AccountRefused(f"unknown rate-limit mode {spec.rate_limit_mode!r}", "rate_limit_mode")
    check_label(spec.label)


def missing_credentials(venue: str, creds: Credentials) -> list[tuple[str, str]]:
    """(field, prompt) of each credential a live venue needs and `creds` lacks (paper needs none)."""
    profile = PROFILES.get(venue)
    if profile is None:
        return []
    needed = [("api_key", "API key"), ("api_secret", "API secret")]
    if profile.needs_passphrase:
        needed.append(("passphrase", "API passphrase"))
    return [(name, prompt) for name, prompt in needed if not getattr(creds, name).strip()]


def _credential_fields(creds: Credentials) -> dict[str, str]:
    return {name: getattr(creds, name).strip() for name in ("api_key", "api_secret", "passphrase")}


# ---- changes ------------------------------------------------------------------------------------


def create_account(
    spec: AccountSpec, creds: Credentials, *, actor: str, make_default: bool = False
) -> ExchangeAccount:
    """Add an account (credentials encrypted at rest); AccountRefused changes nothing."""
    check_spec(spec)
    missing = missing_credentials(spec.venue, creds)
    if missing:
        name, prompt = missing[0]
        raise AccountRefused(f"{prompt} is required for {spec.venue}", name)
    try:
        with transaction.atomic():
            account = ExchangeAccount.objects.create(
                label=spec.label,
                venue=spec.venue,
                market_type=spec.market_type,
                sandbox=spec.sandbox,
                rate_limit_mode=spec.rate_limit_mode,
                **_credential_fields(creds),
            )
    except IntegrityError as exc:  # the same label added by someone else a moment ago
        raise AccountRefused(f"an account labelled {spec.label!r} already exists", "label") from exc
    if make_default:
        config_service.update({"exchange": {"default_account": spec.label}}, source=f"add account ({actor})")
    testnet = " (testnet)" if spec.sandbox else ""
    _audit(
        f"exchange account {spec.label} added: {spec.venue} {spec.market_type}{testnet},"
        f" key {mask(account.api_key) or 'none'}",
        actor,
        account=spec.label,
    )
    return account


def update_account(
    account: ExchangeAccount, creds: Credentials, *, rate_limit_mode: str, actor: str
) -> list[str]:
    """Replace the credentials typed (blank ones keep the stored value) and the rate-limit mode.

    Returns what changed, for the audit line and the page ("" secrets are never listed by value).
    """
    if rate_limit_mode not in RateLimitMode.values:
        raise AccountRefused(f"unknown rate-limit mode {rate_limit_mode!r}", "rate_limit_mode")
    changed: list[str] = []
    for name, value in _credential_fields(creds).items():
        if value and value != getattr(account, name):
            setattr(account, name, value)
            changed.append(name)
    if rate_limit_mode != account.rate_limit_mode:
        changed.append(f"rate_limit_mode {account.rate_limit_mode} → {rate_limit_mode}")
        account.rate_limit_mode = rate_limit_mode
    if not changed:
        return []
    account.save(update_fields=["api_key", "api_secret", "passphrase", "rate_limit_mode"])
    key_note = f"; key now {mask(account.api_key)}" if "api_key" in changed else ""
    _audit(
        f"exchange account {account.label} changed: {', '.join(changed)}{key_note}",
        actor,
        account=account.label,
    )
    return changed


def set_enabled(account: ExchangeAccount, enabled: bool, *, actor: str) -> str:
    """Switch routing to the account on or off. Returns a note for the operator ("" if none).

    A disabled account gets no new entries (`registry.account_for_signal` skips it), so no new group
    opens there; exits and reduces for its live groups still reach them (`signal_market.exit_account`), and
    the engine still syncs its live orders, takes profit and lets the risk engine close there.
    """
    if account.enabled == enabled:
        return ""
    account.enabled = enabled
    account.save(update_fields=["enabled"])
    live = PositionGroup.objects.filter(account=account, status__in=OPEN_STATUSES).count()
    note = ""
    if not enabled and live:
        note = (
            f"{live} live group(s) stay managed (take-profit, order sync, risk closes and webhook"
            " exits); only new entries are refused until the account is enabled again"
        )
    state = "enabled" if enabled else "disabled"
    _audit(f"exchange account {account.label} {state}", actor, account=account.label, live_groups=live)
    return note


def in_use_reason(account: ExchangeAccount) -> str | None:
    """Why the account cannot be deleted now, or None."""
    live = PositionGroup.objects.filter(account=account, status__in=OPEN_STATUSES).count()
    if live:
        return f"{account.label} has {live} live group(s): close them first"
    orders = Order.objects.filter(account=account, state__in=LIVE_ORDER_STATES).count()
    if orders:
        return f"{account.label} has {orders} open order(s): wait until they are filled or cancelled"
    waiting = QueueEntry.objects.filter(account=account).count()
    if waiting:
        return f"{account.label} has {waiting} entry(ies) waiting in the queue: remove them first"
    if config_service.current().exchange.default_account == account.label:
        return f"{account.label} is exchange.default_account: choose another default first"
    return None


def delete_account(account: ExchangeAccount, *, actor: str) -> None:
    """Delete an unused account; AccountRefused (nothing changed) if it trades or has history."""
    reason = in_use_reason(account)
    if reason:
        raise AccountRefused(reason)
    label = account.label
    try:
        with transaction.atomic():
            account.delete()
    except (ProtectedError, IntegrityError) as exc:
        # Closed groups, orders and trades keep their account: the history would lose its venue.
        raise AccountRefused(f"{label} has trading history: disable it instead of deleting it") from exc
    _audit(f"exchange account {label} deleted", actor, account=label)


# ---- the check ----------------------------------------------------------------------------------


@dataclass
class CheckReport:
    """What `check_account` found: one line per step, and whether the keys worked."""

    ok: bool = False
    lines: list[str] = field(default_factory=list)
    withdrawal: str = ""  # "enabled" warning, "disabled", or "not reported by <venue>"
    error: str = ""


def withdrawal_note(account: ExchangeAccount, permission: bool | None) -> str:
    if account.venue == Venue.PAPER:
        return "paper account: nothing can be withdrawn"
    if permission is None:
        return f"withdrawal permission: not reported by {account.venue}"
    if permission:
        return "WARNING: this key may withdraw funds; trading needs no withdrawal permission — remove it"
    return "withdrawal permission: off (good)"


def _withdrawal_permission(account: ExchangeAccount, adapter: ExchangeAdapter) -> bool | None:
    if account.venue == Venue.PAPER:
        return None
    from .ccxt_adapter import CcxtExchange  # ccxt loads only when a live venue is checked
    from .ccxt_permissions import withdrawal_permission

    return withdrawal_permission(adapter) if isinstance(adapter, CcxtExchange) else None


def _withdrawal_line(account: ExchangeAccount, adapter: ExchangeAdapter) -> str:
    try:
        return withdrawal_note(account, _withdrawal_permission(account, adapter))
    except ExchangeError as exc:  # the keys work (the balance answered); only this call failed
        return f"withdrawal permission: could not be read ({type(exc).__name__}: {exc})"


def run_check(
    account: ExchangeAccount,
    symbol: str = "BTC/USDT",
    *,
    build: AdapterBuilder = build_adapter,
    clock: Callable[[], datetime] | None = None,
) -> CheckReport:
    """Load the markets, show one market's precision rules, call the balance (proves the keys),
    and ask whether the key may withdraw where the venue says. `build` is swapped in tests only."""
    report = CheckReport()
    try:
        adapter = build(account, config_service.current(), clock or (lambda: datetime.now(UTC)))
        catalog = adapter.load_markets()
        report.lines.append(f"markets: {len(catalog.rules)} active on {account.venue} {account.market_type}")
        resolved = catalog.resolve(symbol)
        rules = catalog.rules.get(resolved) if resolved else None
        if rules is None:
            report.lines.append(f"{symbol}: not an active market here")
        else:
            report.lines.append(
                f"{rules.symbol}: tick {fmt(rules.tick_size)}  step {fmt(rules.step_size)}"
                f"  min qty {fmt(rules.min_qty)}  min notional {fmt(rules.min_notional)}"
            )
        balances = adapter.fetch_balance()
        shown = {asset: b for asset, b in balances.items() if b.total > 0}
        report.lines.append(
            "keys OK; balances: "
            + (", ".join(f"{a} {fmt(b.total)}" for a, b in sorted(shown.items())) or "all zero")
        )
        report.withdrawal = _withdrawal_line(account, adapter)
    except ExchangeError as exc:
        report.error = f"{account.label}: {type(exc).__name__}: {exc}"
        return report
    report.ok = True
    return report
