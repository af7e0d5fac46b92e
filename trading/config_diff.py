"""What a configuration change changes, field by field, with secrets masked.

No Django here: the settings page shows these lines before saving, the config service writes them
into the audit event, and the Django admin shows them after a save.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .config_sections import MASK, SECRET_FIELDS, EngineConfig

SECRET_PATHS = frozenset(f"{section}.{name}" for section, name in SECRET_FIELDS)


@dataclass(frozen=True)
class Change:
    """One changed value: `path` like "grid_strategy.dca_levels[1].gap_percent"; values as JSON text."""

    path: str
    old: str
    new: str

    @property
    def section(self) -> str:
        return self.path.split(".", 1)[0]

    def as_dict(self) -> dict[str, str]:
        return {"field": self.path, "old": self.old, "new": self.new}


def _masked_secret(value: str) -> str:
    return MASK + value[-2:] if value else "(not set)"


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, list):
        return ", ".join(_text(item) for item in value) or "(empty)"
    if isinstance(value, dict):  # a whole DCA level added or removed
        return ", ".join(f"{key} {_text(item)}" for key, item in value.items())
    return str(value) if value != "" else '""'


def _walk(path: str, old: Any, new: Any, out: list[Change]) -> None:
    if path in SECRET_PATHS:
        if old != new:
            shown_old, shown_new = _masked_secret(old or ""), _masked_secret(new or "")
            # Two secrets ending alike would look unchanged once masked.
            out.append(Change(path, shown_old, shown_new if shown_new != shown_old else MASK + " (changed)"))
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            _walk(f"{path}.{key}" if path else key, old.get(key), new.get(key), out)
        return
    is_rows = isinstance(old, list) and isinstance(new, list)
    if is_rows and any(isinstance(item, dict) for item in [*old, *new]):
        # A list of rows (DCA levels): compare row by row, so one edited gap is one line.
        for i in range(max(len(old), len(new))):
            _walk(f"{path}[{i}]", old[i] if i < len(old) else None, new[i] if i < len(new) else None, out)
        return
    if old != new:
        out.append(Change(path, _text(old), _text(new)))


def diff_documents(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every value that differs between two JSON documents (unmasked in, masked out), in document order."""
    changes: list[Change] = []
    _walk("", old, new, changes)
    return changes


def diff(old: EngineConfig, new: EngineConfig) -> list[Change]:
    """What saving `new` over `old` changes."""
    return diff_documents(old.model_dump(mode="json"), new.model_dump(mode="json"))
