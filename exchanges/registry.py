"""Build the adapter for an account. The engine never asks which venue it is talking to."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.db.models import Q

from trading.config_schema import EngineConfig

from .core.adapter import ExchangeAdapter, ExchangeError
from .models import ExchangeAccount, Venue

PAPER_LABEL = "paper"


class VenueNotSupported(ExchangeError):
    """The account cannot be traded as configured (the engine alerts and skips it)."""


def build_adapter(
    account: ExchangeAccount, cfg: EngineConfig, clock: Callable[[], datetime]
) -> ExchangeAdapter:
    if account.venue == Venue.PAPER:
        from .paper import PaperExchange

        return PaperExchange(
            account,
            fee_percent=cfg.exchange.paper_fee_percent,
            partial_fill_ratio=cfg.exchange.paper_partial_fill_ratio,
            starting_balance_usdt=cfg.exchange.paper_starting_balance_usdt,
            clock=clock,
        )
    from .ccxt_adapter import CcxtExchange  # ccxt costs ~0.4 s and 64 MB: only engines that trade live pay it

    try:
        return CcxtExchange(
            account.venue,
            api_key=account.api_key,
            secret=account.api_secret,
            passphrase=account.passphrase,
            sandbox=account.sandbox,
            market_type=account.market_type,
            clock=clock,
        )
    except ValueError as exc:  # sandbox where the venue has none, a missing passphrase, ...
        raise VenueNotSupported(f"account {account.label}: {exc}") from exc


def ensure_paper_account() -> ExchangeAccount:
    account, _ = ExchangeAccount.objects.get_or_create(label=PAPER_LABEL, defaults={"venue": Venue.PAPER})
    return account


def account_for_signal(exchange: str | None, default_label: str) -> ExchangeAccount | None:
    """`tv.exchange` BINANCE → the enabled Binance account; otherwise the configured default.

    One query for both candidates (the engine asks once per batch of signals): the venue's
    lowest-id enabled account wins, else the enabled account labelled `default_label`."""
    venue = exchange.lower() if exchange else None
    wanted = Q(label=default_label) | Q(venue=venue) if venue else Q(label=default_label)
    candidates = list(ExchangeAccount.objects.filter(wanted, enabled=True).order_by("id"))
    by_venue = [account for account in candidates if venue and account.venue == venue]
    by_label = [account for account in candidates if account.label == default_label]
    return (by_venue or by_label or [None])[0]


def disabled_accounts_for_signal(exchange: str | None, default_label: str) -> list[ExchangeAccount]:
    """The disabled accounts a signal would route to if they were enabled: the venue's, then the
    default. An exit still follows its group there (disabling stops new entries, not the way out)."""
    found = list(ExchangeAccount.objects.filter(venue=(exchange or "").lower(), enabled=False).order_by("id"))
    default = ExchangeAccount.objects.filter(label=default_label, enabled=False).first()
    return found + ([default] if default is not None and default not in found else [])
