"""SQLite: a consistent copy with the online backup API, and a restore through the same API."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from django.db import connections


def snapshot(db_path: Path, dest: Path) -> None:
    """Copy the live database into `dest` in one step: one read transaction, so the copy is consistent
    even while the engine and the web write (WAL readers do not block them)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)) as src:
        with closing(sqlite3.connect(dest)) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file in the archive


def check_readable(path: Path) -> None:
    """Raise sqlite3.DatabaseError if `path` is not an intact SQLite database."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        result = conn.execute("PRAGMA integrity_check").fetchone()
        if not result or result[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {result}")


def restore(snapshot_path: Path, db_path: Path) -> None:
    """Replace the live database's content with the snapshot's, in one write transaction.

    The backup API writes into the live file under SQLite's own locking, so other processes with it
    open (a web server) see the restored data and never a half-copied file.
    """
    connections.close_all()
    with closing(sqlite3.connect(f"file:{snapshot_path}?mode=ro", uri=True)) as src:
        with closing(sqlite3.connect(db_path, timeout=60)) as dst:
            src.backup(dst)
