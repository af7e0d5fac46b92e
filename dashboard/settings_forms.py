"""The settings form, generated from the config schema: fields to render, and the posted form read back
into a (partial) config document for the config service to validate.

Nothing here validates values: the config service does, with the same validator as `PUT /api/v1/config`,
and its per-field errors are mapped back onto the inputs (`errors_by_field`). A new field or section in
the schema appears here without template work; only its kind (bool, choice, number, text, …) matters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.http import QueryDict

from trading.config_reference import form_reference
from trading.config_schema import SECTIONS
from trading.core.types import DcaLevel

LADDER = "grid_strategy.dca_levels"
LEVEL_FIELDS = ("gap_percent", "weight_percent", "tp_percent")
_ROW_KEY = re.compile(rf"^{re.escape(LADDER)}\.(\d+)\.({'|'.join(LEVEL_FIELDS)})$")
MAX_ROWS = 50  # far above any schema bound: a forged form cannot make the server build huge tables

# field_reference() type → how the form shows it.
_KINDS = {
    "bool": "bool",
    "choice": "choice",
    "int": "number",
    "decimal": "number",
    "string": "text",
    "string or null": "optional_text",
    "list of string": "lines",
    "list of choice": "ordered",
    "list of DCA levels": "ladder",
}


@dataclass(frozen=True)
class FieldSpec:
    """One setting as the form shows it."""

    section: str
    field: str
    label: str
    help: str
    bounds: str
    kind: str  # bool | choice | number | text | optional_text | secret | lines | ordered | ladder
    choices: tuple[str, ...] = ()
    default: Any = None

    @property
    def key(self) -> str:
        """The input's name, and the path the config service reports errors under."""
        return f"{self.section}.{self.field}"

    @property
    def dom_id(self) -> str:
        return "setting-" + self.key.replace(".", "-").replace("_", "-")


@dataclass
class BoundField:
    spec: FieldSpec
    value: Any
    errors: list[str] = field(default_factory=list)
    order: list[str] | None = None  # an ordered list's rows while being rearranged, used or not

    @property
    def ordered_rows(self) -> list[tuple[str, bool]]:
        """(choice, in use) in the order shown, for an ordered list."""
        used = list(self.value or [])
        if self.order is None:
            return priority_rows(used, self.spec.choices)
        return [(choice, choice in used) for choice in self.order]


@dataclass
class SectionForm:
    name: str
    title: str
    fields: list[BoundField]

    @property
    def error_count(self) -> int:
        return sum(len(f.errors) for f in self.fields)


@cache
def specs() -> tuple[FieldSpec, ...]:
    """Every section field of the schema, in document order (DCA level columns are part of the ladder)."""
    found = []
    for row in form_reference():
        if "[]" in row["field"]:
            continue
        kind = "secret" if row["secret"] else _KINDS.get(row["type"], "text")
        found.append(
            FieldSpec(
                section=row["section"],
                field=row["field"],
                label=row["label"],
                help=row["description"],
                bounds=row["bounds"],
                kind=kind,
                choices=tuple(row["choices"]),
                default=row["default"],
            )
        )
    return tuple(found)


_TITLES = {"ui": "UI"}


def section_title(name: str) -> str:
    return _TITLES.get(name) or name.replace("_", " ").capitalize()


def sections(values: dict[str, Any], errors: dict[str, list[str]] | None = None) -> list[SectionForm]:
    """The form: one section per config section, filled with `values` (a masked document)."""
    errors = errors or {}
    out = []
    for name in SECTIONS:
        fields = [
            BoundField(spec, values.get(name, {}).get(spec.field), errors.get(spec.key, []))
            for spec in specs()
            if spec.section == name
        ]
        out.append(SectionForm(name, section_title(name), fields))
    return out


# --- reading a posted form back -----------------------------------------------------------------


def ladder_rows(data: QueryDict) -> list[dict[str, str]]:
    rows: dict[int, dict[str, str]] = {}
    for key in data:
        match = _ROW_KEY.match(key)
        if match and int(match.group(1)) < MAX_ROWS:
            rows.setdefault(int(match.group(1)), {})[match.group(2)] = data[key].strip()
    return [rows[i] for i in sorted(rows)]


def _value(spec: FieldSpec, data: QueryDict) -> tuple[bool, Any]:
    """(was the field sent, its value as the schema reads it)."""
    key = spec.key
    if spec.kind == "ladder":
        return (f"{key}.sent" in data, ladder_rows(data))
    if spec.kind == "ordered":
        return (f"{key}.sent" in data, [v for v in data.getlist(key) if v])
    if key not in data:
        return False, None
    if spec.kind == "bool":
        return True, data.getlist(key)[-1] == "true"  # a hidden "false" then the checkbox's "true"
    text = data[key].strip()
    if spec.kind == "lines":
        return True, [line.strip() for line in text.splitlines() if line.strip()]
    if spec.kind == "optional_text":
        return True, text or None
    return True, text  # numbers stay text: the schema parses them exactly (Decimal, never float)


def document_from_form(data: QueryDict) -> dict[str, Any]:
    """The partial config document the form sends: only fields present in the POST."""
    doc: dict[str, Any] = {}
    for spec in specs():
        sent, value = _value(spec, data)
        if sent:
            doc.setdefault(spec.section, {})[spec.field] = value
    return doc


def errors_by_field(errors: list[dict[str, str]]) -> tuple[dict[str, list[str]], list[str]]:
    """Config service errors by input name, and those no single input owns (shown above the form)."""
    keys = {spec.key for spec in specs()}
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for error in errors:
        path = error["field"]
        key = path
        # "waiting_rule.selection_priority.2" belongs to the list; a ladder cell keeps its own input.
        while key and key not in keys and not _ROW_KEY.match(key):
            key = key.rpartition(".")[0]
        if key:
            by_field.setdefault(key, []).append(error["message"])
        else:
            general.append(f"{path or 'document'}: {error['message']}")
    return by_field, general


def bound_values(current: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """The masked current document with the posted values over it (a form shown again as typed)."""
    merged = {name: dict(section) for name, section in current.items() if isinstance(section, dict)}
    for name, section in incoming.items():
        merged.setdefault(name, {}).update(section)
    return merged


# --- the ordered list and the ladder ----------------------------------------------------------


def priority_rows(order: list[str], choices: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(rule, in use) in list order: the rules in use first, as ranked, then the unused ones."""
    used = [rule for rule in order if rule in choices]
    return [(rule, True) for rule in used] + [(rule, False) for rule in choices if rule not in used]


def move(order: list[str], item: str, direction: str) -> list[str]:
    """`order` with `item` one place up or down (unchanged at either end or if absent)."""
    if item not in order:
        return list(order)
    i = order.index(item)
    j = i - 1 if direction == "up" else i + 1
    if not 0 <= j < len(order):
        return list(order)
    moved = list(order)
    moved[i], moved[j] = moved[j], moved[i]
    return moved


def ladder_edit(rows: list[dict[str, str]], op: str) -> list[dict[str, str]]:
    """Add a level (below the deepest, one step deeper) or remove one ("remove:<index>")."""
    if op == "add":
        return [*rows, {"gap_percent": "", "weight_percent": "", "tp_percent": ""}]
    if op.startswith("remove:") and op[7:].isdigit():
        index = int(op[7:])
        return [row for i, row in enumerate(rows) if i != index] or rows
    return rows


def parse_levels(rows: list[dict[str, str]]) -> tuple[list[DcaLevel], list[str]]:
    """The rows as core DcaLevels for the preview, or what keeps them from being numbers."""
    levels: list[DcaLevel] = []
    problems: list[str] = []
    for i, row in enumerate(rows):
        values = {}
        for name in LEVEL_FIELDS:
            try:
                values[name] = Decimal(row.get(name, ""))
            except InvalidOperation:
                problems.append(f"DCA{i}: {name.replace('_', ' ')} is not a number")
                continue
            if not values[name].is_finite():
                problems.append(f"DCA{i}: {name.replace('_', ' ')} is not a number")
        if len(values) == len(LEVEL_FIELDS) and not problems:
            levels.append(DcaLevel(**values))
    return levels, problems


def weight_total(levels: list[DcaLevel]) -> Decimal:
    return sum((level.weight_percent for level in levels), Decimal(0))


def ladder_messages(errors: dict[str, list[str]]) -> list[str]:
    """The ladder's errors as lines: "DCA1 gap %: must be below …", or the whole ladder's own."""
    lines = []
    for key, messages in errors.items():
        match = _ROW_KEY.match(key)
        if match:
            name = match.group(2).replace("_percent", " %").replace("_", " ")
            lines.extend(f"DCA{match.group(1)} {name}: {message}" for message in messages)
        elif key == LADDER:
            lines.extend(messages)
    return lines
