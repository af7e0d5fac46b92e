"""Backup and restore of one install: config.json, a consistent database snapshot, the logs, a manifest.

`service.create_backup` / `service.restore_backup` are what the `backup` and `restore` commands call;
the modules beside them each handle one thing (the archive file, SQLite, PostgreSQL, the JSON dump,
the manifest checks).
"""

from __future__ import annotations


class BackupError(Exception):
    """A backup could not be written (nothing is left behind at the output path)."""


class RestoreRefused(Exception):
    """A restore was refused before anything was changed; the message says why and what to do."""


KEY_NOTE = (
    "API keys in this backup stay encrypted; the encryption key is NOT included: restoring on another "
    "machine needs the same FIELD_ENCRYPTION_KEY (or a copy of <data dir>/field_encryption_key)."
)
