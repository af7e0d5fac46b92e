"""When the daily automatic backup is due, what its file is called, and which old ones to delete.

Pure: no Django, no file system, no clock of its own. The engine job (trading/engine/auto_backup.py)
lists the backup folder, asks these functions, and does what they say. The schedule lives in the
file names alone, so it survives restarts and a restored database without any stored state.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

AUTO_PREFIX = "tv-engine-auto-"
AUTO_SUFFIX = ".tar.gz"
_STAMP = "%Y%m%dT%H%M%SZ"
_AUTO_NAME = re.compile(rf"^{re.escape(AUTO_PREFIX)}(\d{{8}}T\d{{6}}Z){re.escape(AUTO_SUFFIX)}$")


def auto_name(now: datetime) -> str:
    """`tv-engine-auto-20261206T030000Z.tar.gz`: the prefix marks it as ours to rotate."""
    return f"{AUTO_PREFIX}{now.astimezone(UTC):{_STAMP}}{AUTO_SUFFIX}"


def taken_at(name: str) -> datetime | None:
    """When an automatic backup was taken, from its name; None for any other file."""
    match = _AUTO_NAME.match(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)


def latest_slot(now: datetime, hour_utc: int) -> datetime:
    """The most recent moment a daily backup became due: today at `hour_utc`, or yesterday's."""
    today = now.astimezone(UTC).replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    return today if now >= today else today - timedelta(days=1)


def is_due(now: datetime, hour_utc: int, existing: list[str]) -> bool:
    """True when no automatic backup was taken since the latest daily slot."""
    taken = [t for t in (taken_at(name) for name in existing) if t is not None]
    return not taken or max(taken) < latest_slot(now, hour_utc)


def to_delete(existing: list[str], keep_last: int) -> list[str]:
    """The automatic backups beyond the newest `keep_last`, oldest first; other files never."""
    ours = sorted((t, name) for name in existing if (t := taken_at(name)) is not None)
    surplus = len(ours) - keep_last
    return [name for _, name in ours[:surplus]] if surplus > 0 else []
