"""`python manage.py load_config`: import a hand-edited config.json after validation."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from trading import config_service
from trading.config_schema import ConfigInvalid


class Command(BaseCommand):
    help = "Validate <data dir>/config.json and apply it; an invalid file changes nothing."

    def handle(self, *args, **options) -> None:
        try:
            config_service.load_file()
        except ConfigInvalid as exc:
            lines = "\n".join(f"  {e['field']}: {e['message']}" for e in exc.errors)
            raise CommandError(
                f"config.json not loaded; the last good config stays in force:\n{lines}"
            ) from exc
        self.stdout.write(f"config v{config_service.current_version()} in force")
