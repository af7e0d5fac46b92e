"""`python manage.py refresh_markets`: reload every account's precision rules now."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from trading.engine.context import EngineContext
from trading.engine.lock import EngineAlreadyRunning, EngineLock
from trading.engine.markets import refresh_all
from trading.models import Command as EngineCommand
from trading.models import CommandStatus


class Command(BaseCommand):
    help = "Refresh market rules: through the running engine if there is one, else directly."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--timeout", type=float, default=60.0)

    def handle(self, *args, timeout: float, **opts) -> None:
        lock = EngineLock()
        try:
            lock.acquire()
        except EngineAlreadyRunning:
            self._through_engine(timeout)
            return
        try:  # no engine runs: we are the only writer for this moment
            count = refresh_all(EngineContext(), force=True)
        finally:
            lock.release()
        self.stdout.write(f"market rules refreshed for {count} account(s)")

    def _through_engine(self, timeout: float) -> None:
        command = EngineCommand.objects.create(kind="refresh_markets", created_at=datetime.now(UTC))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            command.refresh_from_db()
            if command.status not in (CommandStatus.PENDING, CommandStatus.RUNNING):
                if command.status == CommandStatus.FAILED:
                    raise CommandError(command.result)
                self.stdout.write(command.result)
                return
            time.sleep(0.5)
        raise CommandError(f"the engine has not applied command #{command.pk} within {timeout:g} s")
