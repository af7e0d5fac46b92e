"""The configuration reference (docs table and settings UI), generated from the section models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from trading.core.types import TpMode

from .config_sections import SECRET_FIELDS, SECTIONS, DcaLevelSettings, EngineConfig

# --- reference for docs and the settings UI ---------------------------------------------------

_TYPE_NAMES: dict[Any, str] = {bool: "bool", int: "int", str: "string", Decimal: "decimal"}


def _type_name(info: FieldInfo) -> str:
    ann = info.annotation
    if ann in _TYPE_NAMES:
        return _TYPE_NAMES[ann]
    if ann == str | None:
        return "string or null"
    if get_origin(ann) is Literal or (isinstance(ann, type) and issubclass(ann, TpMode)):
        return "choice"
    if get_origin(ann) is tuple:
        item = get_args(ann)[0]
        if item is DcaLevelSettings:
            return "list of DCA levels"
        return "list of choice" if get_origin(item) is Literal else "list of string"
    return str(ann)


def _bounds(info: FieldInfo) -> str:
    ann = info.annotation
    if isinstance(ann, type) and issubclass(ann, TpMode):
        return "one of: " + ", ".join(m.value for m in TpMode)
    if get_origin(ann) is Literal:
        return "one of: " + ", ".join(str(a) for a in get_args(ann))
    ge = gt = le = lt = min_len = max_len = None
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            ge = m.ge
        elif isinstance(m, annotated_types.Gt):
            gt = m.gt
        elif isinstance(m, annotated_types.Le):
            le = m.le
        elif isinstance(m, annotated_types.Lt):
            lt = m.lt
        elif isinstance(m, annotated_types.MinLen):
            min_len = m.min_length
        elif isinstance(m, annotated_types.MaxLen):
            max_len = m.max_length
    parts: list[str] = []
    if ge is not None and le is not None:
        parts.append(f"{ge} to {le}")
    else:
        limits = [f"{op} {v}" for op, v in ((">=", ge), (">", gt), ("<=", le), ("<", lt)) if v is not None]
        if limits:
            parts.append(" and ".join(limits))
    if ann is str and (min_len or max_len):
        parts.append(
            f"{min_len or 0} to {max_len} characters" if max_len else f"at least {min_len} characters"
        )
    extra = info.json_schema_extra
    if isinstance(extra, dict) and extra.get("rule"):
        parts.append(str(extra["rule"]))
    return "; ".join(parts)


def _default_json(info: FieldInfo) -> Any:
    value = info.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple):
        return [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    if isinstance(value, Decimal | TpMode):
        return str(value)
    return value


def _rows(section: str, prefix: str, fields: dict[str, FieldInfo]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, info in fields.items():
        rows.append(
            {
                "section": section,
                "name": prefix + name,
                "type": _type_name(info),
                "default": _default_json(info),
                "required": info.is_required(),
                "bounds": _bounds(info),
                "description": info.description or "",
            }
        )
        if info.annotation == tuple[DcaLevelSettings, ...]:
            rows.extend(_rows(section, f"{name}[].", DcaLevelSettings.model_fields))
    return rows


def field_reference() -> list[dict[str, Any]]:
    """Every field as {section, name, type, default, required, bounds, description}, in document order.

    Top-level fields (`version`) have section "". DCA level fields follow `dca_levels` as
    `dca_levels[].gap_percent` etc.; a form generator can tell them apart by the "[]".
    """
    top = {name: info for name, info in EngineConfig.model_fields.items() if name not in SECTIONS}
    rows = _rows("", "", top)
    for section, model in SECTIONS.items():
        rows.extend(_rows(section, "", model.model_fields))
    return rows


# --- extras for the settings form ---------------------------------------------------------------


def _choices(info: FieldInfo) -> tuple[str, ...]:
    """The allowed values of a choice or list-of-choice field, else ()."""
    ann = info.annotation
    if get_origin(ann) is tuple:
        ann = get_args(ann)[0]
    if isinstance(ann, type) and issubclass(ann, TpMode):
        return tuple(m.value for m in TpMode)
    if get_origin(ann) is Literal:
        return tuple(str(a) for a in get_args(ann))
    return ()


# Words a trader reads differently from the key's spelling.
_LABEL_WORDS = {
    "sec": "(s)",
    "seconds": "(s)",
    "ms": "(ms)",
    "minutes": "(min)",
    "mb": "(MB)",
    "percent": "%",
    "usdt": "(USDT)",
    "quote": "(quote)",
    "tp": "TP",
    "dca": "DCA",
    "ip": "IP",
    "hmac": "HMAC",
    "x": "X",
}


def _label(name: str) -> str:
    words = [_LABEL_WORDS.get(word, word) for word in name.split("_")]
    text = " ".join(words)
    return text[0].upper() + text[1:]


def form_reference() -> list[dict[str, Any]]:
    """`field_reference()` rows of the sections (not the top level), each with what a form needs too:
    `field` (the name within its section), `label`, `choices` (for selects and ordered lists) and
    `secret` (shown masked, kept when sent back masked)."""
    secret = {f"{section}.{name}" for section, name in SECRET_FIELDS}
    extras = {
        (section, name): info
        for section, model in SECTIONS.items()
        for name, info in model.model_fields.items()
    }
    level_fields = DcaLevelSettings.model_fields
    rows: list[dict[str, Any]] = []
    for row in field_reference():
        if not row["section"]:
            continue
        name = row["name"]
        info = extras.get((row["section"], name)) or level_fields[name.rpartition(".")[2]]
        rows.append(
            {
                **row,
                "field": name,
                "label": _label(name.rpartition(".")[2]),
                "choices": _choices(info),
                "secret": f"{row['section']}.{name}" in secret,
            }
        )
    return rows
