"""One active engine per database: a PostgreSQL advisory lock, or an exclusive lock file on SQLite.

The lock file uses the `filelock` package (flock on Unix, LockFileEx on Windows), so the engine runs
on every desktop OS; the OS releases it when the process dies, however it dies.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from django.conf import settings
from filelock import FileLock, Timeout

# An arbitrary constant shared by every engine of this product on one database.
ADVISORY_KEY = 0x7476656E67  # "tveng"


class EngineAlreadyRunning(RuntimeError):
    pass


def owner_label() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class EngineLock:
    """Held for the engine's whole life; released on stop or when the process dies."""

    def __init__(self) -> None:
        self._conn: Any = None
        self._file_lock: FileLock | None = None
        self._inode: int | None = None
        self._in_memory = False

    def acquire(self) -> None:
        db = settings.DATABASES["default"]
        if db["ENGINE"].endswith("postgresql"):
            self._acquire_postgres(db)
        else:
            self._acquire_file(Path(str(db["NAME"])))

    def _acquire_postgres(self, db: dict) -> None:
        import psycopg

        # A dedicated connection: Django recycles its own, which would silently drop the lock.
        # Keepalives make a silently dead peer (a cut network) show up as an error within seconds.
        conn = psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            dbname=db["NAME"],
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            autocommit=True,
            connect_timeout=5,
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
            application_name="tv-engine lock",
        )
        try:
            got = conn.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_KEY,)).fetchone()[0]
        except Exception:
            conn.close()
            raise
        if not got:
            conn.close()
            raise EngineAlreadyRunning("another engine holds this database's advisory lock")
        self._conn = conn

    def _acquire_file(self, db_path: Path) -> None:
        name = str(db_path)
        if name == ":memory:" or name.startswith("file:"):
            self._in_memory = True
            return  # an in-memory database (tests) cannot be shared by a second process anyway
        lock_path = Path(f"{name}.engine.lock")
        file_lock = FileLock(lock_path, timeout=0, thread_local=False)
        try:
            file_lock.acquire()
        except Timeout as exc:
            raise EngineAlreadyRunning(f"another engine holds {lock_path} ({_owner_of(lock_path)})") from exc
        self._file_lock, self._inode = file_lock, os.stat(lock_path).st_ino
        _owner_path(lock_path).write_text(owner_label())

    def held(self) -> bool:
        """Prove, now, that this process still holds the lock. Any doubt (an error) is False.

        An advisory lock dies with its connection without telling anyone, and a deleted lock file
        lets a second engine lock a new file of the same name: both are checked for real.
        """
        if self._conn is not None:
            try:
                row = self._conn.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = %s",
                    (ADVISORY_KEY,),
                ).fetchone()
            except Exception:  # noqa: BLE001 - a broken connection means the lock is gone
                return False
            return bool(row and row[0])
        if self._file_lock is not None:
            try:
                return self._file_lock.is_locked and os.stat(self._file_lock.lock_file).st_ino == self._inode
            except OSError:
                return False
        return self._in_memory

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_KEY,))
            except Exception:  # noqa: BLE001 - a dead connection has released it already
                pass
            finally:
                self._conn.close()
                self._conn = None
        if self._file_lock is not None:
            self._file_lock.release()
            self._file_lock = None
        self._in_memory = False

    def __enter__(self) -> EngineLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _owner_path(lock_path: Path) -> Path:
    # Beside the lock file, not in it: on Windows a locked file cannot be read by the next engine.
    return lock_path.with_name(lock_path.name + ".owner")


def _owner_of(lock_path: Path) -> str:
    try:
        return "held by " + _owner_path(lock_path).read_text().strip()
    except OSError:
        return "owner unknown"
