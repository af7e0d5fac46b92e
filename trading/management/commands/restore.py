"""`python manage.py restore FILE [--config-only] [--yes]`: put a backup back (checked first)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.backup import KEY_NOTE, RestoreRefused
from trading.backup.service import restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup made by `backup`: the database and config.json, or with --config-only just the "
        "configuration. Refused while an engine runs on this database, or if the backup is newer."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="the archive (.tar.gz or .zip)")
        parser.add_argument(
            "--config-only",
            action="store_true",
            help="restore only config.json (validated; trading data stays)",
        )
        parser.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, file: Path, config_only: bool = False, yes: bool = False, **options) -> None:
        def confirm(manifest: dict) -> bool:
            if yes:
                return True
            if not sys.stdin.isatty():
                raise RestoreRefused(
                    "not confirmed: pass --yes to restore without a terminal; nothing was changed"
                )
            what = "the configuration" if config_only else "the database and the configuration"
            self.stdout.write(
                f"This replaces {what} of this install with the backup of {manifest.get('created_at')} "
                f"(tv-engine {manifest.get('app_version')}, {(manifest.get('engine') or {}).get('status') or 'unknown'} engine)."
            )
            return input("Type 'yes' to restore: ").strip().lower() == "yes"

        try:
            done = restore_backup(file, config_only=config_only, confirm=confirm)
        except RestoreRefused as exc:
            raise CommandError(f"restore refused: {exc}") from exc
        if config_only:
            self.stdout.write(f"configuration restored from {file} (trading data unchanged)")
            return
        counts = done.manifest.get("counts") or {}
        self.stdout.write(
            f"restored {file} ({sum(counts.values())} rows, made {done.manifest.get('created_at')}) "
            f"in {done.seconds:.1f} s"
        )
        self.stdout.write(KEY_NOTE)
        self.stdout.write("Start the engine again (`manage.py run`); restart any separate web server.")
