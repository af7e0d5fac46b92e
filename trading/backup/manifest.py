"""What a backup says about itself, and the checks a restore makes before touching anything (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from . import KEY_NOTE, RestoreRefused

KIND = "tv-engine-backup"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"

# How the database is stored in the archive, and which database vendor can take it back.
SQLITE_FILE = "sqlite"  # database/engine.sqlite3, made with SQLite's online backup API
PG_DUMP = "pg_dump"  # database/pg_dump.custom, pg_dump's custom format
JSON_DUMP = "json"  # database/data.jsonl, Django's serializers: restores into either vendor
DB_MEMBERS = {
    SQLITE_FILE: "database/engine.sqlite3",
    PG_DUMP: "database/pg_dump.custom",
    JSON_DUMP: "database/data.jsonl",
}
VENDOR_FOR_FORMAT = {SQLITE_FILE: "sqlite", PG_DUMP: "postgresql", JSON_DUMP: None}


def build(
    *,
    app_version: str,
    created_at: datetime,
    vendor: str,
    db_format: str,
    migrations: Mapping[str, str],
    engine: Mapping[str, Any] | None,
    counts: Mapping[str, int],
    canary: str | None,
    files: Mapping[str, str],
) -> dict[str, Any]:
    """The manifest document. `files` maps archive member → sha256; `canary` is the stored ciphertext
    of the encryption canary (a known text, so it tells a restore whether its key fits)."""
    return {
        "kind": KIND,
        "format_version": FORMAT_VERSION,
        "app_version": app_version,
        "created_at": created_at.isoformat(),
        "database": {"vendor": vendor, "format": db_format, "member": DB_MEMBERS[db_format]},
        "migrations": dict(sorted(migrations.items())),
        "engine": dict(engine) if engine else None,
        "counts": dict(sorted(counts.items())),
        "encryption": {"key_included": False, "canary": canary, "note": KEY_NOTE},
        "files": dict(sorted(files.items())),
    }


def latest_per_app(applied: list[tuple[str, str]]) -> dict[str, str]:
    """Latest applied migration per app (names sort in order: `0007_…` after `0006_…`)."""
    latest: dict[str, str] = {}
    for app, name in applied:
        if name > latest.get(app, ""):
            latest[app] = name
    return latest


def check(manifest: Any, *, vendor: str, known_migrations: Mapping[str, set[str]], config_only: bool) -> None:
    """Refuse (RestoreRefused) a foreign, newer or mismatched backup. Changes nothing."""
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND:
        raise RestoreRefused("not a tv-engine backup: its manifest.json is missing or of another kind")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise RestoreRefused(f"not a tv-engine backup: format_version {version!r} is not valid")
    if version > FORMAT_VERSION:
        raise RestoreRefused(
            f"this backup uses archive format {version}; this version of tv-engine reads up to "
            f"{FORMAT_VERSION}: upgrade tv-engine first, then restore"
        )
    if config_only:
        return
    database = manifest.get("database") or {}
    db_format = database.get("format")
    if db_format not in DB_MEMBERS:
        raise RestoreRefused(f"not a tv-engine backup: unknown database format {db_format!r}")
    needed = VENDOR_FOR_FORMAT[db_format]
    if needed is not None and needed != vendor:
        raise RestoreRefused(
            f"this backup holds a {needed} database and this install uses {vendor}: restore it on a "
            f"{needed} install (DATABASE_URL), or make the backup with `backup --format json`, which "
            "restores into either"
        )
    newer = newer_migrations(manifest.get("migrations") or {}, known_migrations)
    if newer:
        raise RestoreRefused(
            "this backup was made by a newer version of tv-engine (its database has migrations this "
            f"code does not know: {', '.join(newer)}): upgrade tv-engine to the version that made it "
            f"({manifest.get('app_version', '?')}) or later, then restore"
        )


def newer_migrations(backup: Mapping[str, str], known: Mapping[str, set[str]]) -> list[str]:
    """`app.migration` entries of the backup this code has never heard of."""
    return [f"{app}.{name}" for app, name in sorted(backup.items()) if name not in known.get(app, set())]
