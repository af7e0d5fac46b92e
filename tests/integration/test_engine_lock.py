"""One engine per database: a PostgreSQL advisory lock, or an exclusive lock file next to SQLite."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.conf import settings

from trading.engine import lock as lock_module
from trading.engine.context import EngineContext
from trading.engine.lock import EngineAlreadyRunning, EngineLock
from trading.engine.loop import Engine
from trading.models import EngineState

pytestmark = pytest.mark.django_db

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


@pytest.fixture(autouse=True)
def file_database(tmp_path, monkeypatch):
    """The SQLite test database lives in memory; give the lock the file a real install would use."""
    if not ON_POSTGRES:
        db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(tmp_path / "engine.sqlite3")}
        monkeypatch.setattr(lock_module, "settings", SimpleNamespace(DATABASES={"default": db}))


def test_a_second_lock_on_the_same_database_is_refused():
    first = EngineLock()
    first.acquire()
    try:
        with pytest.raises(EngineAlreadyRunning):
            EngineLock().acquire()
    finally:
        first.release()

    with EngineLock():  # released: the next engine may take over
        pass


def test_a_second_engine_cannot_start_while_the_first_runs(engine, clock):
    first = Engine(EngineContext(clock=clock))
    first.start()
    try:
        second = Engine(EngineContext(clock=clock))
        with pytest.raises(EngineAlreadyRunning):
            second.start()
    finally:
        first.stop()
    assert EngineState.objects.get(pk=1).status == EngineState.Status.STOPPED

    second.start()
    second.stop()
