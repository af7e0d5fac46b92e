"""`python manage.py check_account LABEL`: load markets, check the keys with a balance call, show a market."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from exchanges.core.adapter import ExchangeError
from exchanges.models import ExchangeAccount
from exchanges.registry import build_adapter
from trading import config_service
from trading.core.numbers import fmt


class Command(BaseCommand):
    help = "Connect to an account's exchange: markets, balance (keys), and one market's precision rules."

    def add_arguments(self, parser) -> None:
        parser.add_argument("label")
        parser.add_argument("--symbol", default="BTC/USDT")

    def handle(self, *args, label: str, symbol: str, **opts) -> None:
        account = ExchangeAccount.objects.filter(label=label).first()
        if account is None:
            raise CommandError(f"no account {label!r}; see python manage.py add_account")
        try:
            adapter = build_adapter(account, config_service.current(), lambda: datetime.now(UTC))
            catalog = adapter.load_markets()
            self.stdout.write(
                f"markets: {len(catalog.rules)} active on {account.venue} {account.market_type}"
            )
            resolved = catalog.resolve(symbol)
            rules = catalog.rules.get(resolved) if resolved else None
            if rules is None:
                self.stdout.write(f"{symbol}: not an active market here")
            else:
                self.stdout.write(
                    f"{rules.symbol}: tick {fmt(rules.tick_size)}  step {fmt(rules.step_size)}"
                    f"  min qty {fmt(rules.min_qty)}  min notional {fmt(rules.min_notional)}"
                )
            balances = adapter.fetch_balance()
        except ExchangeError as exc:
            raise CommandError(f"{account.label}: {type(exc).__name__}: {exc}") from exc
        shown = {asset: b for asset, b in balances.items() if b.total > 0}
        self.stdout.write(
            "keys OK; balances: "
            + (", ".join(f"{a} {fmt(b.total)}" for a, b in sorted(shown.items())) or "all zero")
        )
