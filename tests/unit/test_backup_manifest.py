"""The checks a restore makes on a backup's manifest before it changes anything."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from trading.backup import RestoreRefused
from trading.backup.manifest import (
    FORMAT_VERSION,
    JSON_DUMP,
    PG_DUMP,
    SQLITE_FILE,
    build,
    check,
    latest_per_app,
    newer_migrations,
)

KNOWN = {"trading": {"0001_initial", "0002_signal_dedupe"}, "auth": {"0001_initial"}}


def manifest(db_format: str = SQLITE_FILE, vendor: str = "sqlite", **changes) -> dict:
    document = build(
        app_version="0.1.0",
        created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        vendor=vendor,
        db_format=db_format,
        migrations={"trading": "0002_signal_dedupe", "auth": "0001_initial"},
        engine={"status": "running"},
        counts={"trading_signal": 3},
        canary=None,
        files={"config.json": "0" * 64},
    )
    document.update(changes)
    return document


def test_a_matching_backup_passes() -> None:
    check(manifest(), vendor="sqlite", known_migrations=KNOWN, config_only=False)


def test_the_manifest_says_the_key_is_not_included() -> None:
    encryption = manifest()["encryption"]
    assert encryption["key_included"] is False
    assert "FIELD_ENCRYPTION_KEY" in encryption["note"]


@pytest.mark.parametrize("document", [None, [], {}, {"kind": "something-else", "format_version": 1}])
def test_a_foreign_manifest_is_refused(document) -> None:
    with pytest.raises(RestoreRefused, match="not a tv-engine backup"):
        check(document, vendor="sqlite", known_migrations=KNOWN, config_only=False)


@pytest.mark.parametrize("version", [0, "1", None])
def test_an_invalid_format_version_is_refused(version) -> None:
    with pytest.raises(RestoreRefused, match="format_version"):
        check(manifest(format_version=version), vendor="sqlite", known_migrations=KNOWN, config_only=False)


def test_a_newer_archive_format_is_refused_even_for_config_only() -> None:
    with pytest.raises(RestoreRefused, match="upgrade tv-engine first"):
        check(
            manifest(format_version=FORMAT_VERSION + 1),
            vendor="sqlite",
            known_migrations=KNOWN,
            config_only=True,
        )


@pytest.mark.parametrize(("db_format", "vendor"), [(SQLITE_FILE, "postgresql"), (PG_DUMP, "sqlite")])
def test_a_native_snapshot_of_another_vendor_is_refused(db_format: str, vendor: str) -> None:
    with pytest.raises(RestoreRefused, match="--format json"):
        check(manifest(db_format, vendor="x"), vendor=vendor, known_migrations=KNOWN, config_only=False)


@pytest.mark.parametrize("vendor", ["sqlite", "postgresql"])
def test_a_json_dump_restores_into_either_vendor(vendor: str) -> None:
    check(manifest(JSON_DUMP, vendor="postgresql"), vendor=vendor, known_migrations=KNOWN, config_only=False)


def test_an_unknown_database_format_is_refused() -> None:
    document = manifest()
    document["database"]["format"] = "mysqldump"
    with pytest.raises(RestoreRefused, match="unknown database format"):
        check(document, vendor="sqlite", known_migrations=KNOWN, config_only=False)


def test_a_backup_with_newer_migrations_is_refused_and_says_which() -> None:
    document = manifest(migrations={"trading": "0009_future", "auth": "0001_initial"}, app_version="9.0")
    with pytest.raises(RestoreRefused, match=r"newer version.*trading\.0009_future.*9\.0"):
        check(document, vendor="sqlite", known_migrations=KNOWN, config_only=False)


def test_an_app_this_code_does_not_have_counts_as_newer() -> None:
    assert newer_migrations({"futureapp": "0001_initial"}, KNOWN) == ["futureapp.0001_initial"]


def test_an_older_backup_passes_the_migration_check() -> None:
    document = manifest(migrations={"trading": "0001_initial"})
    check(document, vendor="sqlite", known_migrations=KNOWN, config_only=False)


def test_config_only_ignores_vendor_and_migrations() -> None:
    document = manifest(PG_DUMP, vendor="postgresql", migrations={"trading": "0999_future"})
    check(document, vendor="sqlite", known_migrations=KNOWN, config_only=True)


def test_latest_per_app_takes_the_highest_name() -> None:
    applied = [("trading", "0002_b"), ("trading", "0010_c"), ("trading", "0001_a"), ("auth", "0001_initial")]
    assert latest_per_app(applied) == {"trading": "0010_c", "auth": "0001_initial"}
