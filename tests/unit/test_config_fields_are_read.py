"""Every configuration field is read by some code: a documented, validated key that nothing reads
misleads the operator who sets it.

Static and deliberately simple: a field counts as read when a source file outside the schema
itself names both together (`section.field`), or names the field as an attribute or a key
(`.field`, `"field"`) and also its section (`.section`, `"section"`, or its model's class name, for
code that copies a section by name, like the risk engine's settings). A new field fails this test
until code uses it; a retired one belongs in `RETIRED_FIELDS`, not in the schema.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from trading.config_sections import RETIRED_FIELDS, SECTIONS, EngineConfig

ROOT = Path(__file__).resolve().parents[2]
SOURCE_DIRS = ("trading", "risk", "exchanges", "dashboard", "engine_site", "templates")
# The schema and its generated reference name every field without reading it.
SCHEMA_FILES = {
    ROOT / "trading" / name
    for name in ("config_base.py", "config_sections.py", "config_operations.py", "config_reference.py")
}
# Read by the schema's own cross-field checks: a bound on another field.
READ_BY_VALIDATION = {("grid_strategy", "max_dca_per_pyramid"): 'info.data.get("max_dca_per_pyramid")'}


@cache
def _sources() -> tuple[str, ...]:
    texts = []
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if (
                path.suffix in (".py", ".html", ".js")
                and path not in SCHEMA_FILES
                and "migrations" not in path.parts
            ):
                texts.append(path.read_text(encoding="utf-8"))
    return tuple(texts)


def _names(name: str) -> re.Pattern[str]:
    return re.compile(rf"\.{name}\b|[\"']{name}[\"']")


def _is_read(section: str, field: str) -> bool:
    together = re.compile(rf"\b{section}\.{field}\b")
    names_field = _names(field)
    names_section = re.compile(rf"{_names(section).pattern}|\b{SECTIONS[section].__name__}\b")
    return any(
        together.search(text) or (names_section.search(text) and names_field.search(text))
        for text in _sources()
    )


def _fields() -> list[tuple[str, str]]:
    return [(section, field) for section, model in SECTIONS.items() for field in model.model_fields]


def test_every_config_field_is_read_by_some_code() -> None:
    unread = [
        f"{section}.{field}"
        for section, field in _fields()
        if (section, field) not in READ_BY_VALIDATION and not _is_read(section, field)
    ]
    assert unread == [], f"config fields nothing reads (wire them or retire them): {unread}"


def test_fields_read_only_by_validation_really_are() -> None:
    schema = "".join(path.read_text(encoding="utf-8") for path in SCHEMA_FILES)
    for (section, field), use in READ_BY_VALIDATION.items():
        assert field in SECTIONS[section].model_fields and use in schema


def test_retired_fields_are_gone_from_the_schema() -> None:
    for section, field in RETIRED_FIELDS:
        if field is None:
            assert section not in EngineConfig.model_fields
        else:
            assert section in SECTIONS and field not in SECTIONS[section].model_fields
