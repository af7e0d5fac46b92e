"""Django in the benchmark's own process, on a throw-away database (never the real one)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def throwaway_django(postgres: str | None, prefix: str) -> Iterator[str]:
    """Set Django up on a fresh data dir and a test database: `test_<name>` on the PostgreSQL server
    at `postgres`, else SQLite in the data dir. Yields the database's name; both go afterwards."""
    data_dir = tempfile.mkdtemp(prefix=prefix)
    os.environ["ENGINE_DATA_DIR"] = data_dir
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "engine_site.settings")
    if postgres:
        os.environ["DATABASE_URL"] = postgres
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.test.utils import setup_databases, teardown_databases

    databases = setup_databases(verbosity=0, interactive=False)
    try:
        yield "PostgreSQL" if postgres else "SQLite"
    finally:
        teardown_databases(databases, verbosity=0)
        shutil.rmtree(data_dir, ignore_errors=True)
