"""The daily backup's schedule and retention: pure functions of the clock and the file names."""

from __future__ import annotations

from datetime import UTC, datetime

from trading.backup.schedule import auto_name, is_due, latest_slot, taken_at, to_delete

NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def names(*stamps: str) -> list[str]:
    return [f"tv-engine-auto-{stamp}.tar.gz" for stamp in stamps]


def test_auto_name_round_trips_through_taken_at() -> None:
    when = datetime(2026, 12, 6, 3, 0, 7, tzinfo=UTC)
    assert auto_name(when) == "tv-engine-auto-20261206T030007Z.tar.gz"
    assert taken_at(auto_name(when)) == when


def test_hand_made_backups_and_other_files_are_not_automatic_backups() -> None:
    for name in ("tv-engine-backup-20261206T030000Z.tar.gz", "notes.txt", "tv-engine-auto-garbage.tar.gz"):
        assert taken_at(name) is None


def test_the_latest_slot_is_today_after_the_hour_and_yesterday_before_it() -> None:
    assert latest_slot(NOON, 3) == datetime(2026, 12, 6, 3, tzinfo=UTC)
    assert latest_slot(NOON, 13) == datetime(2026, 12, 5, 13, tzinfo=UTC)
    assert latest_slot(datetime(2026, 12, 6, 3, tzinfo=UTC), 3) == datetime(2026, 12, 6, 3, tzinfo=UTC)


def test_a_backup_is_due_when_none_exists_yet() -> None:
    assert is_due(NOON, 3, []) is True
    assert is_due(NOON, 3, ["tv-engine-backup-20261206T040000Z.tar.gz"]) is True  # by hand: not counted


def test_a_backup_is_not_due_twice_in_one_day() -> None:
    assert is_due(NOON, 3, names("20261206T030005Z")) is False
    assert is_due(datetime(2026, 12, 6, 23, 59, tzinfo=UTC), 3, names("20261206T030005Z")) is False


def test_the_next_backup_is_due_at_the_next_days_hour() -> None:
    existing = names("20261206T030005Z")
    assert is_due(datetime(2026, 12, 7, 2, 59, tzinfo=UTC), 3, existing) is False
    assert is_due(datetime(2026, 12, 7, 3, 0, tzinfo=UTC), 3, existing) is True


def test_a_day_missed_while_stopped_is_made_up_at_once() -> None:
    assert is_due(NOON, 3, names("20261201T030000Z")) is True


def test_retention_deletes_only_the_oldest_automatic_backups_beyond_keep_last() -> None:
    existing = [
        *names("20261203T030000Z", "20261201T030000Z", "20261204T030000Z", "20261202T030000Z"),
        "tv-engine-backup-20261101T000000Z.tar.gz",  # by hand: kept whatever its age
    ]
    assert to_delete(existing, 2) == names("20261201T030000Z", "20261202T030000Z")
    assert to_delete(existing, 4) == []
    assert to_delete(existing, 10) == []
