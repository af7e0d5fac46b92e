"""`python manage.py add_account`: add an exchange account (flags, or prompts for what is missing)."""

from __future__ import annotations

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from exchanges.models import ExchangeAccount, MarketType, RateLimitMode, Venue
from exchanges.secrets import mask
from exchanges.venues import PROFILES
from trading import config_service


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
        profile = PROFILES.get(venue)
        if profile is None:
            raise CommandError(f"unknown exchange {venue!r}; choose one of {', '.join(PROFILES)}")
        market_type = opts["market_type"]
        if market_type not in profile.market_types:
            raise CommandError(f"{venue} supports {', '.join(profile.market_types)} here, not {market_type}")
        if opts["sandbox"] and market_type not in profile.sandbox:
            raise CommandError(
                f"{venue} has no testnet/sandbox for {market_type} (only Binance and Bybit do)"
            )
        label = self._ask(opts["label"], "label")
        try:  # create() skips field validation: a label must stay usable in URLs (slug, ≤ 40)
            ExchangeAccount._meta.get_field("label").clean(label, None)
        except ValidationError as exc:
            raise CommandError(f"label {label!r}: {' '.join(exc.messages)}") from exc
        if ExchangeAccount.objects.filter(label=label).exists():
            raise CommandError(f"an account labelled {label!r} already exists")
        api_key = self._ask(opts["api_key"], "API key")
        secret = self._ask(opts["secret"], "API secret", secret=True)
        passphrase = ""
        if profile.needs_passphrase:
            passphrase = self._ask(opts["passphrase"], "API passphrase", secret=True)
        account = ExchangeAccount.objects.create(
            label=label,
            venue=venue,
            market_type=market_type,
            api_key=api_key,
            api_secret=secret,
            passphrase=passphrase,
            sandbox=opts["sandbox"],
            rate_limit_mode=opts["rate_limit_mode"],
        )
        if opts["default"]:
            config_service.update({"exchange": {"default_account": label}}, source="add_account")
        self.stdout.write(
            f"added {account.label}: {venue} {market_type}{' (testnet)' if account.sandbox else ''},"
            f" key {mask(api_key)}. Check it with: python manage.py check_account {label}"
        )
