"""`python manage.py backup [--output FILE]`: config, a consistent database snapshot, logs, a manifest."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.backup import KEY_NOTE, BackupError
from trading.backup.service import create_backup


class Command(BaseCommand):
    help = (
        "Write one archive (.tar.gz or .zip) with config.json, a consistent snapshot of the database, "
        "the logs and a manifest. Safe while the engine runs."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            help="archive path (default <data dir>/backups/tv-engine-backup-<UTC>.tar.gz)",
        )
        parser.add_argument(
            "--format",
            dest="db_format",
            choices=("auto", "json"),
            default="auto",
            help="database part: auto (SQLite file; pg_dump on PostgreSQL when usable, else JSON) or "
            "json (Django's serializers: restores into SQLite or PostgreSQL)",
        )

    def handle(self, *args, output: Path | None = None, db_format: str = "auto", **options) -> None:
        try:
            done = create_backup(output, db_format=db_format)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = done.manifest
        database = manifest["database"]
        engine = (manifest.get("engine") or {}).get("status", "unknown")
        rows = sum(manifest["counts"].values())
        self.stdout.write(f"backup written: {done.path} ({done.size / 1024:.1f} KiB in {done.seconds:.1f} s)")
        self.stdout.write(
            f"database: {database['vendor']} as {database['format']}, {rows} rows; engine was {engine}"
        )
        self.stdout.write(KEY_NOTE)
        self.stdout.write(
            "The archive holds config.json with the webhook secret: keep it private (it is 0600)."
        )
