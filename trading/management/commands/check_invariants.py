"""`python manage.py check_invariants`: nothing lost, doubled or stuck (read-only; exit 1 if not)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from trading import invariants


class Command(BaseCommand):
    help = "Check the trading state for lost, doubled or stuck work (signals, orders, balances)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", dest="as_json", action="store_true", help="print the report as JSON")
        parser.add_argument(
            "--allow-pending", action="store_true", help="do not count signals still in the inbox"
        )

    def handle(self, *args, as_json: bool = False, allow_pending: bool = False, **options) -> None:
        report = invariants.check(datetime.now(UTC), drained=not allow_pending)
        if as_json:
            self.stdout.write(json.dumps(report.as_dict(), indent=2, default=str))
        else:
            for name, count in report.checked.items():
                self.stdout.write(f"{name}: {count}")
            for problem in report.problems:
                self.stdout.write(f"PROBLEM {problem}")
            self.stdout.write("all invariants hold" if report.ok else f"{len(report.problems)} problem(s)")
        if not report.ok:
            raise CommandError("invariants violated")
