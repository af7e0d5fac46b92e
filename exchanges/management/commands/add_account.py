"""`python manage.py add_account`: add an exchange account (flags, or prompts for what is missing)."""

from __future__ import annotations

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError

from exchanges.accounts import (
    AccountRefused,
    AccountSpec,
    Credentials,
    check_spec,
    check_venue,
    create_account,
)
from exchanges.models import MarketType, RateLimitMode, Venue
from exchanges.secrets import mask
from exchanges.venues import PROFILES


class Command(BaseCommand):
    help = "Add an exchange account. Secrets are stored encrypted and never printed."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--label", help="short name, e.g. binance-main")
        parser.add_argument("--exchange", choices=[v for v in Venue.values if v != Venue.PAPER])
        parser.add_argument("--market-type", choices=MarketType.values, default=MarketType.SPOT)
        parser.add_argument("--api-key")
        parser.add_argument("--secret")
        parser.add_argument("--passphrase", help="OKX and KuCoin only")
        parser.add_argument("--sandbox", action="store_true", help="testnet (Binance and Bybit only)")
        parser.add_argument("--rate-limit-mode", choices=RateLimitMode.values, default=RateLimitMode.EXCHANGE)
        parser.add_argument(
            "--default", action="store_true", help="route webhooks without a known exchange here"
        )

    def _ask(self, value: str | None, prompt: str, secret: bool = False) -> str:
        if value:
            return value
        if not sys.stdin.isatty():
            raise CommandError(f"{prompt} is required (pass it as a flag when not running interactively)")
        answer = getpass.getpass(f"{prompt}: ") if secret else input(f"{prompt}: ")
        if not answer.strip():
            raise CommandError(f"{prompt} is required")
        return answer.strip()

    def handle(self, *args, **opts) -> None:
        venue = self._ask(opts["exchange"], "exchange (" + ", ".join(p for p in PROFILES) + ")")
        if venue not in PROFILES:  # the paper account is built in (`ensure_paper_account`)
            raise CommandError(f"unknown exchange {venue!r}; choose one of {', '.join(PROFILES)}")
        try:
            check_venue(venue, opts["market_type"], opts["sandbox"])  # before anything is asked for
            spec = AccountSpec(
                label=self._ask(opts["label"], "label"),
                venue=venue,
                market_type=opts["market_type"],
                sandbox=opts["sandbox"],
                rate_limit_mode=opts["rate_limit_mode"],
            )
            check_spec(spec)  # a bad or taken label fails before the keys are asked for
            api_key = self._ask(opts["api_key"], "API key")
            secret = self._ask(opts["secret"], "API secret", secret=True)
            passphrase = ""
            if PROFILES[venue].needs_passphrase:
                passphrase = self._ask(opts["passphrase"], "API passphrase", secret=True)
            account = create_account(
                spec,
                Credentials(api_key, secret, passphrase),
                actor="add_account",
                make_default=opts["default"],
            )
        except AccountRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"added {account.label}: {venue} {spec.market_type}{' (testnet)' if account.sandbox else ''},"
            f" key {mask(api_key)}. Check it with: python manage.py check_account {account.label}"
        )
