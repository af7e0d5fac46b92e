"""`python manage.py rebuild_equity [--account LABEL]`: realised equity recomputed from the trades."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from exchanges.models import ExchangeAccount
from trading.engine.equity import rebuild_realised


class Command(BaseCommand):
    help = (
        "Recompute the realised column of the equity snapshots from the trades (the unrealised part of"
        " each point is kept) and add a point at each trade close before an account's first snapshot."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--account", help="the account's label (default: every account with trades)")

    def handle(self, *args, account: str | None = None, **options) -> None:
        ids = None
        if account is not None:
            found = ExchangeAccount.objects.filter(label=account).values_list("pk", flat=True).first()
            if found is None:
                raise CommandError(f"no account labelled {account!r}")
            ids = [found]
        updated, added = rebuild_realised(ids)
        self.stdout.write(
            f"equity rebuilt from trades: {updated} snapshot(s) updated, {added} point(s) added"
        )
