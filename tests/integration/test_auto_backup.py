"""The daily automatic backup: one a day once due, the oldest automatic ones deleted beyond keep_last,
hand-made backups left alone, a failure alerted once an hour, and the job wired into the engine."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import configure
from tests.factories import reset_config
from trading.backup.service import Done
from trading.engine.auto_backup import AutoBackup, backup_folder
from trading.engine.runner import build_scheduler
from trading.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def config_file_left_as_found():
    """config.json outlives the rolled-back database: leave no edit behind for the next module."""
    yield
    reset_config()


MORNING = datetime(2026, 12, 6, 4, 0, tzinfo=UTC)  # after the 03:00 slot


class RecordingBackup:
    """Stands in for `create_backup`: writes a small file where asked, and remembers each call."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.paths: list[Path] = []
        self.fail = fail

    def __call__(self, output: Path, *, now: datetime) -> Done:
        self.paths.append(output)
        if self.fail is not None:
            raise self.fail
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(b"archive")
        return Done(output, {}, 0.0, output.stat().st_size)


@pytest.fixture
def job(engine, clock, tmp_path: Path):
    clock.current = MORNING
    configure(backup={"auto_daily": True, "hour_utc": 3, "keep_last": 2, "directory": str(tmp_path)})
    engine.tick()  # the engine picks the config up
    fake = RecordingBackup()
    return AutoBackup(engine, make=fake), fake


def test_no_backup_is_written_while_auto_daily_is_off(engine, clock) -> None:
    fake = RecordingBackup()
    assert AutoBackup(engine, make=fake).step() is None
    assert fake.paths == []


def test_the_first_due_backup_is_written_once_a_day(job, clock, tmp_path: Path) -> None:
    auto, fake = job
    first = auto.step()
    assert first == tmp_path / "tv-engine-auto-20261206T040000Z.tar.gz" and first.exists()
    clock.advance(hours=10)
    assert auto.step() is None  # same day
    clock.advance(hours=13)  # 03:00 the next day
    assert auto.step() == tmp_path / "tv-engine-auto-20261207T030000Z.tar.gz"
    assert len(fake.paths) == 2
    assert Event.objects.filter(message__startswith="daily backup written: tv-engine-auto-").count() == 2


def test_retention_keeps_the_newest_automatic_backups_and_every_hand_made_one(
    job, clock, tmp_path: Path
) -> None:
    auto, _ = job
    by_hand = tmp_path / "tv-engine-backup-20250101T000000Z.tar.gz"
    by_hand.write_bytes(b"mine")
    for _ in range(4):
        auto.step()
        clock.advance(days=1)

    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [
        "tv-engine-auto-20261208T040000Z.tar.gz",
        "tv-engine-auto-20261209T040000Z.tar.gz",
        by_hand.name,
    ]
    assert Event.objects.filter(message__contains="deleted 1 older automatic backup(s)").count() == 2


def test_a_failing_backup_alerts_once_and_retries_an_hour_later(engine, clock, tmp_path: Path) -> None:
    clock.current = MORNING
    configure(backup={"auto_daily": True, "hour_utc": 3, "directory": str(tmp_path)})
    engine.tick()
    fake = RecordingBackup(fail=OSError("No space left on device"))
    auto = AutoBackup(engine, make=fake)

    auto.step()
    clock.advance(minutes=30)
    auto.step()
    assert len(fake.paths) == 1
    failed = Event.objects.get(message__startswith="daily backup failed")
    assert failed.severity == Event.Severity.ERROR and "No space left" in failed.message

    clock.advance(minutes=31)
    fake.fail = None
    assert auto.step() is not None


def test_the_folder_defaults_to_backups_in_the_data_dir(settings) -> None:
    configure(backup={"directory": ""})
    from trading import config_service

    assert backup_folder(config_service.current().backup) == Path(settings.DATA_DIR) / "backups"
    configure(backup={"directory": "elsewhere"})
    assert backup_folder(config_service.current().backup) == Path(settings.DATA_DIR) / "elsewhere"


def test_the_engine_schedules_the_config_watch_and_the_daily_backup(engine) -> None:
    scheduler = build_scheduler(engine)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert {"config-watch", "auto-backup"} <= set(jobs)
    assert jobs["auto-backup"].executor == "live"  # never holds up a trading tick
