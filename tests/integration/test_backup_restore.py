"""`manage.py backup` and `manage.py restore` as a user runs them, on an install of their own.

Each test gets a data dir and, when the suite runs on PostgreSQL, a throwaway database of its own
(tests/reliability/world.py `Install`): the commands run in subprocesses against it, so a restore can
replace a whole database without touching the suite's.
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.reliability.world import ROOT, Install

POPULATE = """
from trading.bootstrap import prepare
prepare()
from tests.factories import DcaLegFactory, EventFactory, OrderFactory, SignalFactory
from exchanges.models import ExchangeAccount
from trading import config_service
ExchangeAccount.objects.create(
    label="binance-main", venue="binance", api_key="KEY-0123456789", api_secret="SECRET-0123456789"
)
for _ in range(3):
    leg = DcaLegFactory()
    OrderFactory(group=leg.group, leg=leg)
SignalFactory.create_batch(4)
EventFactory.create_batch(5)
config_service.update({"execution_pool": {"max_open_groups": 4}}, source="test")
"""

MUTATE = """
from tests.factories import EventFactory
from trading import config_service
from trading.models import PositionGroup, Signal
PositionGroup.objects.all().delete()
Signal.objects.all().delete()
EventFactory()
config_service.update({"execution_pool": {"max_open_groups": 7}}, source="test")
"""

SECRETS = """
from exchanges.models import ExchangeAccount
account = ExchangeAccount.objects.get(label="binance-main")
print(account.api_key, account.api_secret)
"""

TRADING_TABLES = (
    "trading_positiongroup",
    "trading_pyramid",
    "trading_dcaleg",
    "trading_order",
    "trading_signal",
    "trading_event",
)


@pytest.fixture
def install(tmp_path: Path) -> Iterator[Install]:
    world = Install.create(tmp_path)
    done = manage(world, "shell", "-c", POPULATE)
    assert done.returncode == 0, done.stderr
    yield world
    world.destroy()


def manage(install: Install, *args: str, **env: str) -> subprocess.CompletedProcess:
    """`manage.py` against the install, with no terminal on stdin (as under cron or CI)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=install.env(**env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )


def trading_state(install: Install) -> dict:
    state = {table: install.query(f"SELECT * FROM {table} ORDER BY id") for table in TRADING_TABLES}
    document = install.scalar("SELECT document FROM trading_configdocument WHERE id = 1")
    state["config_row"] = json.loads(document) if isinstance(document, str) else document
    state["config_file"] = json.loads((install.data_dir / "config.json").read_text())
    return state


def config_state(install: Install) -> dict:
    state = trading_state(install)
    return {"config_row": state["config_row"], "config_file": state["config_file"]}


def backup(install: Install, *args: str) -> Path:
    output = install.data_dir.parent / "backup.tar.gz"
    done = manage(install, "backup", "--output", str(output), *args)
    assert done.returncode == 0, done.stderr
    assert "FIELD_ENCRYPTION_KEY" in done.stdout  # the key caveat is said every time
    return output


def mutate(install: Install) -> dict:
    done = manage(install, "shell", "-c", MUTATE)
    assert done.returncode == 0, done.stderr
    return trading_state(install)


@contextmanager
def engine_lock_held(install: Install) -> Iterator[None]:
    """Hold the database's engine lock exactly as a running engine does (trading/engine/lock.py)."""
    from trading.engine.lock import ADVISORY_KEY

    if install.database_url:
        import psycopg

        with psycopg.connect(install.database_url, autocommit=True) as conn:
            assert conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()[0]
            yield
        return
    fd = os.open(install.data_dir / "engine.sqlite3.engine.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        yield
    finally:
        os.close(fd)


@pytest.mark.parametrize("db_format", ["auto", "json"])
def test_round_trip_restores_identical_groups_orders_signals_events_and_config(
    install: Install, db_format: str
) -> None:
    before = trading_state(install)
    assert all(before[t] for t in TRADING_TABLES)
    archive = backup(install, "--format", db_format)
    with tarfile.open(archive) as tf:
        names = set(tf.getnames())
        manifest = json.load(tf.extractfile("manifest.json"))
        assert "field_encryption_key" not in names
        for name in names:
            assert b"SECRET-0123456789" not in tf.extractfile(name).read()  # keys stay encrypted
    assert {"manifest.json", "config.json", manifest["database"]["member"]} <= names
    assert manifest["counts"]["trading_signal"] == 4
    assert manifest["encryption"]["key_included"] is False

    assert mutate(install) != before
    done = manage(install, "restore", str(archive), "--yes")
    assert done.returncode == 0, done.stderr

    assert trading_state(install) == before
    secrets = manage(install, "shell", "-c", SECRETS)
    assert secrets.stdout.strip().splitlines()[-1].split() == ["KEY-0123456789", "SECRET-0123456789"]


def test_restore_is_refused_while_an_engine_holds_the_database(install: Install) -> None:
    archive = backup(install)
    mutated = mutate(install)
    with engine_lock_held(install):
        done = manage(install, "restore", str(archive), "--yes")
    assert done.returncode == 1
    assert "an engine is running on this database" in done.stderr
    assert trading_state(install) == mutated


def test_config_only_restores_the_config_and_leaves_trading_data_alone(install: Install) -> None:
    before = config_state(install)
    archive = backup(install)
    mutated = mutate(install)
    done = manage(install, "restore", str(archive), "--config-only", "--yes")
    assert done.returncode == 0, done.stderr
    after = trading_state(install)
    assert {"config_row": after["config_row"], "config_file": after["config_file"]} == before
    assert {t: after[t] for t in TRADING_TABLES if t != "trading_event"} == {
        t: mutated[t] for t in TRADING_TABLES if t != "trading_event"
    }
    assert after["trading_event"][: len(mutated["trading_event"])] == mutated["trading_event"]


def _tar(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}


def test_a_corrupt_or_foreign_archive_is_refused_and_changes_nothing(install: Install) -> None:
    archive = backup(install)
    good = _members(archive)
    tmp = install.data_dir.parent
    truncated = tmp / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    altered = dict(good, **{"config.json": good["config.json"].replace(b"{", b"{ ", 1)})
    garbage = tmp / "garbage.tar.gz"
    garbage.write_bytes(os.urandom(4096))
    cases = {
        garbage: "neither a .tar.gz nor a .zip",
        truncated: "damaged",
        _tar(tmp / "foreign.tar.gz", {"README": b"hello"}): "no readable manifest.json",
        _tar(tmp / "other.tar.gz", {"manifest.json": b'{"kind": "x"}'}): "not a tv-engine backup",
        _tar(tmp / "altered.tar.gz", altered): "config.json is missing or altered",
        tmp / "missing.tar.gz": "no such file",
    }
    mutated = mutate(install)
    for path, message in cases.items():
        done = manage(install, "restore", str(path), "--yes")
        assert done.returncode == 1, path
        assert message in done.stderr, (path, done.stderr)
    assert trading_state(install) == mutated


def test_a_backup_from_newer_code_is_refused(install: Install) -> None:
    files = _members(backup(install))
    manifest = json.loads(files["manifest.json"])
    manifest["migrations"]["trading"] = "9999_from_the_future"
    manifest["app_version"] = "9.9.9"
    files["manifest.json"] = json.dumps(manifest).encode()
    newer = _tar(install.data_dir.parent / "newer.tar.gz", files)
    mutated = mutate(install)
    done = manage(install, "restore", str(newer), "--yes")
    assert done.returncode == 1
    assert "newer version" in done.stderr and "trading.9999_from_the_future" in done.stderr
    assert trading_state(install) == mutated


def test_restore_with_another_encryption_key_is_refused(install: Install) -> None:
    from cryptography.fernet import Fernet

    archive = backup(install)
    mutated = mutate(install)
    done = manage(
        install, "restore", str(archive), "--yes", FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode()
    )
    assert done.returncode == 1
    assert "encrypted with another key" in done.stderr
    assert trading_state(install) == mutated


def test_restore_without_yes_and_without_a_terminal_is_refused(install: Install) -> None:
    archive = backup(install)
    mutated = mutate(install)
    done = manage(install, "restore", str(archive))
    assert done.returncode == 1
    assert "pass --yes" in done.stderr
    assert trading_state(install) == mutated


def test_backup_writes_the_default_path_and_a_zip_on_request(install: Install) -> None:
    done = manage(install, "backup")
    assert done.returncode == 0, done.stderr
    written = list((install.data_dir / "backups").glob("tv-engine-backup-*.tar.gz"))
    assert len(written) == 1 and oct(written[0].stat().st_mode & 0o777) == "0o600"
    zipped = install.data_dir.parent / "b.zip"
    assert manage(install, "backup", "-o", str(zipped)).returncode == 0
    before = trading_state(install)
    mutate(install)
    done = manage(install, "restore", str(zipped), "--yes")
    assert done.returncode == 0, done.stderr
    assert trading_state(install) == before


def test_on_postgresql_without_pg_dump_the_backup_falls_back_to_the_json_dump(install: Install) -> None:
    if not install.database_url:
        pytest.skip("PostgreSQL only (run the suite with a postgres DATABASE_URL)")
    no_client_tools = str(Path(sys.executable).parent)  # python, but no pg_dump / pg_restore / psql
    output = install.data_dir.parent / "fallback.tar.gz"
    done = manage(install, "backup", "--output", str(output), PATH=no_client_tools)
    assert done.returncode == 0, done.stderr
    assert "postgresql as json" in done.stdout
    before = trading_state(install)
    mutate(install)
    done = manage(install, "restore", str(output), "--yes", PATH=no_client_tools)
    assert done.returncode == 0, done.stderr
    assert trading_state(install) == before

    native = backup(install)  # pg_dump is back on PATH
    done = manage(install, "restore", str(native), "--yes", PATH=no_client_tools)
    assert done.returncode == 1
    assert "needs pg_restore and psql on PATH" in done.stderr
