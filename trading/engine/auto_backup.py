"""The daily automatic backup (`backup.auto_daily`): one archive a day, the oldest beyond
`backup.keep_last` deleted. When is decided by `trading.backup.schedule` from the file names."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings

from .. import events
from ..backup import BackupError
from ..backup.schedule import auto_name, is_due, to_delete
from ..backup.service import Done, create_backup
from ..config_operations import BackupSettings
from .loop import Engine

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(
    hours=1
)  # a failing backup (disk full, folder gone) alerts once an hour, not every minute


def backup_folder(section: BackupSettings) -> Path:
    """`backup.directory`: empty = <data dir>/backups; relative = inside the data dir."""
    data_dir = Path(settings.DATA_DIR)
    return data_dir / (section.directory or "backups")


def backup_files(folder: Path) -> list[str]:
    """The file names in the folder, sorted; none if it is missing or unreadable."""
    try:
        return sorted(p.name for p in folder.iterdir() if p.is_file())
    except OSError:  # not created yet, or not ours to read: the backup itself will say why
        return []


@dataclass
class AutoBackup:
    engine: Engine
    # What writes the archive (the `backup` command's own function; tests pass a recording fake).
    make: Callable[..., Done] = create_backup
    failed_at: datetime | None = None

    def step(self) -> Path | None:
        """Write today's backup if it is due; returns its path (None if nothing was due or it failed)."""
        section = self.engine.ctx.cfg.backup
        if self.engine.suspended or not section.auto_daily:
            return None
        now = self.engine.ctx.now()
        if self.failed_at is not None and now - self.failed_at < RETRY_AFTER:
            return None
        folder = backup_folder(section)
        if not is_due(now, section.hour_utc, backup_files(folder)):
            return None
        try:
            done = self.make(folder / auto_name(now), now=now)
        except (BackupError, OSError) as exc:
            self.failed_at = now
            events.record(
                events.Category.ERROR,
                f"daily backup failed: {exc}; next try in an hour",
                severity=events.Severity.ERROR,
                now=now,
            )
            return None
        self.failed_at = None
        deleted = self.prune(folder, section.keep_last)
        events.record(
            events.Category.ENGINE,
            f"daily backup written: {done.path.name} ({done.size / 1024:.0f} KiB)"
            + (f"; deleted {len(deleted)} older automatic backup(s)" if deleted else ""),
            context={"path": str(done.path), "deleted": deleted},
            now=now,
        )
        return done.path

    @staticmethod
    def prune(folder: Path, keep_last: int) -> list[str]:
        deleted = []
        for name in to_delete(backup_files(folder), keep_last):
            try:
                (folder / name).unlink()
                deleted.append(name)
            except OSError as exc:  # kept for the next round; the new backup is what matters
                log.warning("could not delete old backup %s: %s", name, exc)
        return deleted
