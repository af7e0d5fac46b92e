"""`python manage.py check_account LABEL`: load markets, check the keys with a balance call, show a market."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exchanges.accounts import run_check
from exchanges.models import ExchangeAccount


class Command(BaseCommand):
    help = "Connect to an account's exchange: markets, balance (keys), and one market's precision rules."

    def add_arguments(self, parser) -> None:
        parser.add_argument("label")
        parser.add_argument("--symbol", default="BTC/USDT")

    def handle(self, *args, label: str, symbol: str, **opts) -> None:
        account = ExchangeAccount.objects.filter(label=label).first()
        if account is None:
            raise CommandError(f"no account {label!r}; see python manage.py add_account")
        report = run_check(account, symbol)
        for line in report.lines:
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(report.error)
        self.stdout.write(report.withdrawal)
