"""The `logging` config section at work: the process log's level and the event log file's rotation.

`config_service.current` calls `apply` whenever a process reads a new config version, so a saved
change takes effect in the web and in the engine alike, without a restart.
"""

from __future__ import annotations

import logging
import logging.handlers
import os

from .config_operations import LoggingSettings

MB = 1024 * 1024
# Set in the environment, LOG_LEVEL wins over the config (as ENGINE_WEBHOOK_SECRET does): whoever
# runs the container can turn on DEBUG without editing the document.
LEVEL_ENV = "LOG_LEVEL"


def apply(settings: LoggingSettings) -> None:
    """Make this process log as `settings` say."""
    apply_level(settings.level)
    apply_rotation(settings.file_max_mb, settings.file_backups)


def apply_level(level: str) -> None:
    """The process log (the root logger): events are not filtered, they are the decision record."""
    logging.getLogger().setLevel(os.environ.get(LEVEL_ENV) or level)


def apply_rotation(max_mb: int, backups: int) -> None:
    for handler in _event_file_handlers():
        handler.maxBytes = max_mb * MB
        handler.backupCount = backups
        # Without backups Python's rollover reopens the full file for appending, then rolls over
        # again on every line: reopen it for writing instead, so the file starts over.
        handler.mode = "a" if backups else "w"


def _event_file_handlers() -> list[logging.handlers.RotatingFileHandler]:
    from . import events  # late: events records through the config service, which calls this

    # Built on first use; built now, so settings applied before the first event are not lost.
    logger = events._log_file()
    return [h for h in logger.handlers if isinstance(h, logging.handlers.RotatingFileHandler)]
