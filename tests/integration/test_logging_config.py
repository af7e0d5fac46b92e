"""The `logging` section at work: the process log's level, and how the event log file rotates.

A saved change applies in the process that next reads the config, without a restart.
"""

from __future__ import annotations

import logging
import logging.handlers
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from trading import config_service, logfile
from trading.config_operations import LoggingSettings

from ..conftest import configure

pytestmark = pytest.mark.django_db

LINE = "x" * 1023  # 1 KiB with its newline


@pytest.fixture(autouse=True)
def restored_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Logging is process-wide: put the level and the rotation back for the tests that follow."""
    monkeypatch.delenv(logfile.LEVEL_ENV, raising=False)
    root = logging.getLogger()
    level = root.level
    yield
    logfile.apply_rotation(LoggingSettings().file_max_mb, LoggingSettings().file_backups)
    root.setLevel(level)


def apply(**fields: object) -> None:
    configure(logging=fields)
    config_service.current()  # the next read of the config applies it


def event_file_handler() -> logging.handlers.RotatingFileHandler:
    handlers = logging.getLogger("engine.events").handlers
    return next(h for h in handlers if isinstance(h, logging.handlers.RotatingFileHandler))


def write_kib(count: int) -> None:
    logger = logging.getLogger("engine.events")
    for _ in range(count):
        logger.info(LINE)


def test_logging_level_sets_the_level_of_the_process_log() -> None:
    apply(level="WARNING")
    assert logging.getLogger().level == logging.WARNING
    apply(level="DEBUG")
    assert logging.getLogger().level == logging.DEBUG


def test_log_level_in_the_environment_wins_over_the_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(logfile.LEVEL_ENV, "ERROR")
    apply(level="DEBUG")
    assert logging.getLogger().level == logging.ERROR


def test_event_log_file_rotates_at_file_max_mb_and_keeps_file_backups() -> None:
    apply(file_max_mb=3, file_backups=2)
    handler = event_file_handler()
    assert (handler.maxBytes, handler.backupCount) == (3 * 1024 * 1024, 2)

    path = Path(settings.ENGINE_LOG_FILE)
    for old in (Path(f"{path}.1"), Path(f"{path}.2")):
        old.unlink(missing_ok=True)  # left by an earlier run in the same data dir
    apply(file_max_mb=1, file_backups=1)
    write_kib(1024 + 512)

    assert path.stat().st_size < 1024 * 1024
    assert Path(f"{path}.1").exists() and not Path(f"{path}.2").exists()


def test_no_file_backups_start_the_event_log_file_over() -> None:
    apply(file_max_mb=1, file_backups=0)
    write_kib(1024 + 512)

    # In append mode Python would keep the full file and roll over again on every line.
    assert Path(settings.ENGINE_LOG_FILE).stat().st_size < 1024 * 1024
