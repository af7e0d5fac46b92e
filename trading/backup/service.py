"""Make a backup of this install, and restore one (what the `backup` and `restore` commands call)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from trading import config_service
from trading.config_schema import ConfigInvalid, validate_document
from trading.engine.lock import EngineAlreadyRunning, EngineLock

from . import BackupError, RestoreRefused, archive, jsondump, manifest, postgres, sqlite

CONFIG_MEMBER = "config.json"
LOGS_MEMBER = "logs"


@dataclass(frozen=True)
class Done:
    path: Path
    manifest: dict[str, Any]
    seconds: float
    size: int = 0


def default_output(now: datetime) -> Path:
    return Path(settings.DATA_DIR) / "backups" / f"tv-engine-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz"


def app_version() -> str:
    try:
        return metadata.version("tv-engine")
    except metadata.PackageNotFoundError:
        import tomllib

        pyproject = Path(settings.BASE_DIR) / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])


# ---- backup ------------------------------------------------------------------------------------


def create_backup(
    output: Path | None = None, *, db_format: str = "auto", now: datetime | None = None
) -> Done:
    """Write the archive; works while the engine runs (the database part is one consistent snapshot).

    `db_format`: "auto" (SQLite file, or pg_dump when usable, else the JSON dump) or "json".
    """
    when = now or datetime.now(UTC)
    output = (output or default_output(when)).resolve()
    if not output.name.endswith(archive.SUFFIXES):
        raise BackupError(f"{output}: the output must end in .tar.gz, .tgz or .zip")
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-staging-") as tmp:
        staging = Path(tmp)
        fmt, facts = _snapshot_database(staging, db_format)
        _copy_config(staging)
        _copy_logs(staging)
        document = manifest.build(
            app_version=app_version(),
            created_at=when,
            vendor=connection.vendor,
            db_format=fmt,
            files=archive.members(staging),
            **facts,
        )
        (staging / manifest.MANIFEST_NAME).write_text(json.dumps(document, indent=2, default=str) + "\n")
        archive.pack(staging, output)
    return Done(output, document, time.monotonic() - started, output.stat().st_size)


def _snapshot_database(staging: Path, db_format: str) -> tuple[str, dict[str, Any]]:
    member = manifest.DB_MEMBERS
    if db_format == "json":
        return manifest.JSON_DUMP, _json_snapshot(staging / member[manifest.JSON_DUMP])
    if connection.vendor == "sqlite":
        dest = staging / member[manifest.SQLITE_FILE]
        sqlite.snapshot(Path(str(settings.DATABASES["default"]["NAME"])), dest)
        with closing(sqlite3.connect(dest)) as snap:
            cursor = snap.cursor()
            existing = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            return manifest.SQLITE_FILE, _facts(cursor, existing)
    if connection.vendor == "postgresql" and postgres.pg_dump_usable():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot_id = cursor.fetchone()[0]
            facts = _facts(cursor, set(connection.introspection.table_names(cursor)))
            postgres.dump(staging / member[manifest.PG_DUMP], snapshot_id)  # the very same snapshot
        return manifest.PG_DUMP, facts
    return manifest.JSON_DUMP, _json_snapshot(staging / member[manifest.JSON_DUMP])


def _json_snapshot(dest: Path) -> dict[str, Any]:
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        facts = _facts(cursor, set(connection.introspection.table_names(cursor)))
        facts["counts"] = jsondump.dump(dest)
    return facts


def _facts(cursor: Any, existing: set[str]) -> dict[str, Any]:
    """Migrations, engine status, row counts and the encryption canary, read in the snapshot's view."""
    cursor.execute("SELECT app, name FROM django_migrations")
    migrations = manifest.latest_per_app([(str(a), str(n)) for a, n in cursor.fetchall()])
    engine = None
    if "trading_enginestate" in existing:
        cursor.execute(
            "SELECT status, paused, heartbeat_at, owner, config_version FROM trading_enginestate WHERE id = 1"
        )
        row = cursor.fetchone()
        if row:
            keys = ("status", "paused", "heartbeat_at", "owner", "config_version")
            engine = {
                k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in zip(keys, row, strict=True)
            }
            engine["paused"] = bool(engine["paused"])
    canary = None
    if "exchanges_encryptioncanary" in existing:
        cursor.execute("SELECT value FROM exchanges_encryptioncanary WHERE id = 1")
        row = cursor.fetchone()
        canary = row[0] if row else None
    counts = {}
    for table in jsondump.tables():
        if table in existing:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = int(cursor.fetchone()[0])
    return {"migrations": migrations, "engine": engine, "counts": counts, "canary": canary}


def _copy_config(staging: Path) -> None:
    source = config_service.config_path()
    if source.exists():
        shutil.copy2(source, staging / CONFIG_MEMBER)


def _copy_logs(staging: Path) -> None:
    logs = Path(settings.ENGINE_LOG_FILE).parent
    if not logs.is_dir():
        return
    for path in sorted(logs.rglob("*")):
        if path.is_file():
            dest = staging / LOGS_MEMBER / path.relative_to(logs)
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copy2(path, dest)
            except FileNotFoundError:
                pass  # rotated away while we copied


# ---- restore -----------------------------------------------------------------------------------


def restore_backup(path: Path, *, config_only: bool = False, confirm: Callable[[dict], bool]) -> Done:
    """Check the archive, then restore it (or only its config). RestoreRefused changes nothing."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=settings.DATA_DIR, prefix=".restore-") as tmp:
        work = Path(tmp)
        content = work / "archive"
        document = archive.unpack(path, content)
        manifest.check(
            document, vendor=connection.vendor, known_migrations=known_migrations(), config_only=config_only
        )
        config = _read_config(content)
        if config_only:
            if config is None:
                raise RestoreRefused("this backup holds no config.json: nothing to restore")
            if not confirm(document):
                raise RestoreRefused("cancelled: nothing was changed")
            try:
                config_service.update(config, source=f"restore of {path.name}")
            except ConfigInvalid as exc:  # validated above; a race with another writer lands here
                raise RestoreRefused(f"the backup's config.json is not valid: {exc.errors}") from exc
            return Done(path, document, time.monotonic() - started)
        fmt = document["database"]["format"]
        db_file = content / manifest.DB_MEMBERS[fmt]
        _check_database_file(fmt, db_file)
        _check_key(document)
        lock = EngineLock()
        try:
            lock.acquire()
        except EngineAlreadyRunning as exc:
            raise RestoreRefused(
                f"an engine is running on this database ({exc}): stop it (Ctrl-C the `run` or "
                "`runengine` process), then restore; nothing was changed"
            ) from exc
        try:
            if not confirm(document):
                raise RestoreRefused("cancelled: nothing was changed")
            _restore_database(fmt, db_file, work)
            call_command("migrate", interactive=False, verbosity=0)  # a backup of an older version
            if config is not None:
                _restore_config_file(content / CONFIG_MEMBER)
        finally:
            lock.release()
    return Done(path, document, time.monotonic() - started)


def known_migrations() -> dict[str, set[str]]:
    from django.db.migrations.loader import MigrationLoader

    known: dict[str, set[str]] = {}
    for app, name in MigrationLoader(None, ignore_no_migrations=True).disk_migrations:
        known.setdefault(app, set()).add(name)
    return known


def _read_config(content: Path) -> dict | None:
    path = content / CONFIG_MEMBER
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        validate_document(data)
    except ValueError as exc:
        raise RestoreRefused(f"the backup's config.json is not valid JSON: {exc}") from exc
    except ConfigInvalid as exc:
        errors = "; ".join(f"{e['field']}: {e['message']}" for e in exc.errors)
        raise RestoreRefused(f"the backup's config.json does not validate: {errors}") from exc
    return data


def _check_database_file(fmt: str, db_file: Path) -> None:
    if not db_file.is_file():
        raise RestoreRefused(f"the archive is damaged: {db_file.name} is missing")
    if fmt == manifest.SQLITE_FILE:
        try:
            sqlite.check_readable(db_file)
        except sqlite3.DatabaseError as exc:
            raise RestoreRefused(f"the database in the backup is damaged: {exc}") from exc
    elif fmt == manifest.PG_DUMP:
        postgres.check_restorable(db_file)


def _check_key(document: dict) -> None:
    """The backup's secrets must decrypt with this install's key, or they would be unreadable after."""
    from cryptography.fernet import InvalidToken
    from encrypted_model_fields.fields import decrypt_str

    from exchanges.secrets import CANARY_TEXT

    canary = (document.get("encryption") or {}).get("canary")
    if not canary:
        return
    try:
        ok = decrypt_str(canary) == CANARY_TEXT
    except (InvalidToken, ValueError):
        ok = False
    if not ok:
        raise RestoreRefused(
            "this backup's API keys were encrypted with another key than this install's "
            f"(from {settings.FIELD_ENCRYPTION_KEY_SOURCE}): set FIELD_ENCRYPTION_KEY to the original "
            "key, or copy the original <data dir>/field_encryption_key here, then restore"
        )


def _restore_database(fmt: str, db_file: Path, work: Path) -> None:
    if fmt == manifest.SQLITE_FILE:
        sqlite.restore(db_file, Path(str(settings.DATABASES["default"]["NAME"])))
    elif fmt == manifest.PG_DUMP:
        postgres.restore(db_file, work)
    else:
        call_command("migrate", interactive=False, verbosity=0)  # the tables the dump is loaded into
        jsondump.load(db_file)


def _restore_config_file(source: Path) -> None:
    """Put config.json back and make the stored document agree with it (validated on the way)."""
    config_service._write_file_atomically(json.loads(source.read_text()))
    config_service.forget_checked()
    try:
        config_service.load_file()
    except ConfigInvalid:
        pass  # checked before anything changed; load_file logged it and the restored row stays
