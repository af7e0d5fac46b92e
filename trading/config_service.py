"""The one place configuration changes: validate, save to the database, rewrite config.json atomically.

An invalid document never half-applies: the database and file keep the last good config and the
reason is logged.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction

from . import config_diff, events, logfile
from .config_schema import (
    ConfigInvalid,
    EngineConfig,
    default_config,
    merge_update,
    to_json_dict,
    validate_document,
)
from .models import ConfigDocument, EngineState


class ConfigConflict(Exception):
    """The stored config is no longer the version the caller based its change on."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(f"config is at version {current}, not {expected}")
        self.expected = expected
        self.current = current


# Keyed by (version, saved at): a rolled-back transaction can reuse a version number.
_cache: tuple[tuple, EngineConfig] | None = None  # (stored version, updated_at) and the config
_checked_at = float("-inf")  # time.monotonic() of the last version check


def config_path() -> Path:
    return Path(settings.ENGINE_CONFIG_FILE)


def _write_file_atomically(document: dict) -> None:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle, indent=2, sort_keys=False)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # it holds the webhook secret
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _store(cfg: EngineConfig, now: datetime, expected_version: int | None = None) -> ConfigDocument:
    document = to_json_dict(cfg)
    with transaction.atomic():
        # get_or_create: on a fresh database the first requests may all try to create row 1 at once
        # (it re-reads the winner's row instead of failing with a unique-key error).
        row, created = ConfigDocument.objects.get_or_create(
            pk=1, defaults={"document": document, "version": 1, "updated_at": now}
        )
        if not created:
            row = ConfigDocument.objects.select_for_update().get(pk=1)
            # Checked under the row lock: two writers based on one version cannot both pass.
            if expected_version is not None and row.version != expected_version:
                raise ConfigConflict(expected_version, row.version)
            row.document = document
            row.version += 1
            row.updated_at = now
            row.save()
    _write_file_atomically(document)
    forget_checked()  # this process applies its own change at once, webhooks included
    return row


def forget_checked() -> None:
    """Make the next `current(max_age=...)` look at the stored version again."""
    global _checked_at
    _checked_at = float("-inf")


def current(max_age: float = 0.0) -> EngineConfig:
    """The config in force, cached per stored version (one cheap query per call).

    `max_age` > 0 skips even that query while this process checked the version less than `max_age`
    seconds ago: the webhook path's choice (a change saved by another process applies within that
    time; one saved by this process applies at once, `_store` forgets the check).
    """
    global _cache, _checked_at
    if max_age > 0 and _cache is not None and time.monotonic() - _checked_at < max_age:
        return _cache[1]
    key = _stored_key()
    _checked_at = time.monotonic()
    if key is None:
        ensure_initialised()
        return current()
    if _cache is not None and _cache[0] == key:
        return _cache[1]
    row = ConfigDocument.objects.get(pk=1)
    cfg = validate_document(row.document)
    # The key read above: if the row changed since, the next call sees a newer key and reloads.
    _cache = (key, cfg)
    logfile.apply(cfg.logging)  # a new version: the web and the engine both log as it says
    return cfg


def _stored_key() -> tuple | None:
    """(version, updated_at) of the stored config, or None. Plain SQL: the engine asks every tick,
    and the ORM's query compilation cost ten times the query itself (~8 % of the engine's CPU)."""
    table = connection.ops.quote_name(ConfigDocument._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT version, updated_at FROM {table} WHERE id = 1")
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def cached() -> EngineConfig:
    """The config this process last read, without a query (the defaults before the first read): for
    background threads that follow the config as the requests of this process refresh it."""
    return _cache[1] if _cache is not None else default_config()


def cached_webhook_secret() -> str:
    """The secret of the config this process last read, without a query ("" before the first read)."""
    return _cache[1].security.webhook_secret if _cache is not None else ""


def current_version() -> int:
    return ConfigDocument.objects.filter(pk=1).values_list("version", flat=True).first() or 0


def update(
    incoming: dict, *, source: str, now: datetime | None = None, expected_version: int | None = None
) -> EngineConfig:
    """Validate a full or partial document against the current one and apply it, or raise ConfigInvalid.

    With `expected_version`, apply it only if the stored config is still that version, else raise
    ConfigConflict and change nothing (optimistic concurrency for read-modify-write clients).
    `source` says who ("console by alice"); the audit event lists every changed field, secrets masked.
    """
    when = now or datetime.now(UTC)
    before = current()
    try:
        cfg = merge_update(before, incoming)
    except ConfigInvalid as exc:
        events.record(
            events.Category.ENGINE,
            f"config change from {source} refused: {len(exc.errors)} error(s)",
            severity=events.Severity.WARNING,
            context={"errors": exc.errors, "source": source},
            now=when,
        )
        raise
    row = _store(cfg, when, expected_version)
    changes = [change.as_dict() for change in config_diff.diff(before, cfg)]
    events.record(
        events.Category.ENGINE,
        f"config v{row.version} saved from {source}",
        context={"source": source, "changes": changes},
        now=when,
    )
    return cfg


def cached_version() -> int:
    """The stored version of the config this process last read (0 before the first read)."""
    return _cache[0][0] if _cache is not None else 0


def note_applied(now: datetime) -> None:
    """The engine runs the config it last read: record its version for the console ("applied vN")."""
    version = cached_version()
    EngineState.objects.filter(pk=1).update(config_version=version)
    events.record(events.Category.ENGINE, f"engine applied config v{version}", now=now)


def load_file(now: datetime | None = None) -> EngineConfig:
    """Import a hand-edited config.json (after the same validation); raise ConfigInvalid if bad."""
    when = now or datetime.now(UTC)
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        error = ConfigInvalid([{"field": "(file)", "message": f"{path}: {exc}"}])
        events.record(
            events.Category.ENGINE,
            f"config file not loaded: {exc}",
            severity=events.Severity.ERROR,
            now=when,
        )
        raise error from exc
    try:
        cfg = validate_document(data)
    except ConfigInvalid as exc:
        events.record(
            events.Category.ENGINE,
            "config file not loaded: the last good config stays in force",
            severity=events.Severity.ERROR,
            context={"errors": exc.errors},
            now=when,
        )
        raise
    stored = ConfigDocument.objects.filter(pk=1).first()
    if stored is None or stored.document != to_json_dict(cfg):
        row = _store(cfg, when)
        events.record(events.Category.ENGINE, f"config v{row.version} loaded from {path}", now=when)
    return cfg


def ensure_initialised(now: datetime | None = None) -> EngineConfig:
    """On start: import config.json if present and valid, else keep the stored config, else defaults."""
    when = now or datetime.now(UTC)
    if config_path().exists():
        try:
            return load_file(when)
        except ConfigInvalid:
            pass  # logged by load_file; fall back to what is stored
    stored = ConfigDocument.objects.filter(pk=1).first()
    if stored is not None:
        cfg = validate_document(stored.document)
        if not config_path().exists():
            _write_file_atomically(to_json_dict(cfg))
        return cfg
    cfg = default_config()
    _store(cfg, when)
    return cfg


def webhook_secret(cfg: EngineConfig) -> str:
    """`ENGINE_WEBHOOK_SECRET` wins over the config file."""
    return settings.ENGINE_WEBHOOK_SECRET or cfg.security.webhook_secret
