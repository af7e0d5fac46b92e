"""PostgreSQL: pg_dump of an exported snapshot, and a restore through psql in one transaction."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.db import connection, connections

from . import BackupError, RestoreRefused


def _env() -> dict[str, str]:
    """libpq's variables for the configured database: no password on a command line."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    env["PGDATABASE"] = str(db["NAME"])
    return env


def tool_major(tool: str) -> int | None:
    """Major version of a PostgreSQL client tool on PATH, or None when it is not there."""
    path = shutil.which(tool)
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"(\d+)(?:\.\d+)?", out)
    return int(match.group(1)) if match else None


def server_major() -> int:
    connection.ensure_connection()
    return int(connection.pg_version) // 10000


def pg_dump_usable() -> bool:
    """pg_dump is on PATH and not older than the server (an older one refuses to dump)."""
    major = tool_major("pg_dump")
    return major is not None and major >= server_major()


def dump(dest: Path, snapshot_id: str) -> None:
    """pg_dump (custom format) of the snapshot exported by the caller's open transaction."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--snapshot={snapshot_id}",
            f"--file={dest}",
        ],
        env=_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")


def check_restorable(archive: Path) -> None:
    """pg_restore can read the archive (its table of contents), or RestoreRefused."""
    if tool_major("pg_restore") is None or tool_major("psql") is None:
        raise RestoreRefused(
            "this backup is a pg_dump archive and restoring it needs pg_restore and psql on PATH "
            "(Debian: apt-get install postgresql-client)"
        )
    done = subprocess.run(["pg_restore", "--list", str(archive)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RestoreRefused(f"the database dump in the backup is unreadable: {done.stderr.strip()}")


def restore(archive: Path, workdir: Path) -> None:
    """Drop the schema and load the dump, all in one psql transaction: it applies whole or not at all."""
    script = workdir / "restore.sql"
    done = subprocess.run(
        ["pg_restore", "--no-owner", "--no-privileges", f"--file={script}", str(archive)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RestoreRefused(f"pg_restore could not read the dump: {done.stderr.strip()}")
    reset = workdir / "reset.sql"
    # The dump recreates every table; tables of a later schema must go too, or `migrate` trips on them.
    reset.write_text("DROP SCHEMA public CASCADE;\nCREATE SCHEMA public;\n")
    connections.close_all()
    done = subprocess.run(
        [
            "psql",
            "--no-psqlrc",
            "--quiet",
            "-v",
            "ON_ERROR_STOP=1",
            "--single-transaction",
            "-f",
            str(reset),
            "-f",
            str(script),
        ],
        env=_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"psql could not restore the dump (nothing was changed): {done.stderr.strip()}")
