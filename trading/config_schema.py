"""The engine's configuration document: one pydantic model per section, validated as a whole.

The document is plain JSON (`<data dir>/config.json`, mirrored in the database). Money and
percent values are Decimals, written as strings so nothing passes through a float. Every field
has a default, bounds and a description; `field_reference()` turns them into the docs table and
the settings UI. Unknown keys are errors, so a typo never silently falls back to a default;
retired keys (`RETIRED_FIELDS`) are the exception: dropped with a logged note.

No Django here: the API, the `load_config` command and the engine all call these functions.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from trading.core.types import DcaLevel

from .config_sections import (  # noqa: F401 - re-exported: the public face of the config
    CONFIG_VERSION,
    MASK,
    RETIRED_FIELDS,
    SECRET_FIELDS,
    SECTIONS,
    SELECTION_RULES,
    TRADINGVIEW_WEBHOOK_IPS,
    ConfigInvalid,
    EngineConfig,
)

log = logging.getLogger(__name__)


def default_config() -> EngineConfig:
    return EngineConfig()


def _secret_values(data: Any) -> list[str]:
    found: list[str] = []
    if isinstance(data, dict):
        for section, name in SECRET_FIELDS:
            part = data.get(section)
            value = part.get(name) if isinstance(part, dict) else None
            # Very short strings are left alone: scrubbing them would garble every message.
            if isinstance(value, str) and len(value) >= 4:
                found.append(value)
    return found


def _errors_from(exc: ValidationError, data: Any) -> list[dict[str, str]]:
    secrets = _secret_values(data)

    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, MASK)
        return text

    errors: list[dict[str, str]] = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = tuple(err["loc"])
        problems = (err.get("ctx") or {}).get("problems") if err["type"] == "config_rule" else None
        for path, message in problems or [((), err["msg"])]:
            field = ".".join(str(p) for p in loc + tuple(path))
            errors.append({"field": scrub(field), "message": scrub(message)})
    return errors


def without_retired(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the keys `RETIRED_FIELDS` lists (a copy; `data` is left as it was).

    A file or stored document from an older version keeps loading after a key is retired, where
    "unknown key" would otherwise refuse the whole document.
    """
    doc = dict(data)
    dropped: list[str] = []
    for section, field in RETIRED_FIELDS:
        if field is None and section in doc:
            del doc[section]
            dropped.append(section)
        elif field is not None and isinstance(doc.get(section), dict) and field in doc[section]:
            doc[section] = {key: value for key, value in doc[section].items() if key != field}
            dropped.append(f"{section}.{field}")
    if dropped:
        log.info("config: ignoring retired key(s) %s; they have no effect any more", ", ".join(dropped))
    return doc


def validate_document(data: Any) -> EngineConfig:
    """Validate a full document (missing sections/fields take defaults); raise ConfigInvalid with every error."""
    if not isinstance(data, dict):
        raise ConfigInvalid([{"field": "", "message": "the configuration must be a JSON object"}])
    data = without_retired(data)
    try:
        return EngineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigInvalid(_errors_from(exc, data)) from None


def to_json_dict(cfg: EngineConfig) -> dict[str, Any]:
    """The full document for the config file and database: unmasked, Decimals as strings."""
    return cfg.model_dump(mode="json")


def _mask(secret: str) -> str:
    return MASK + secret[-2:] if secret else ""


def masked_document(cfg: EngineConfig) -> dict[str, Any]:
    """The document as the API and UI show it: secrets replaced by MASK plus their last 2 characters."""
    doc = to_json_dict(cfg)
    for section, name in SECRET_FIELDS:
        doc[section][name] = _mask(doc[section][name])
    return doc


def merge_update(current: EngineConfig, incoming: Any) -> EngineConfig:
    """Apply a full or partial document to `current` and return the validated result.

    Fields given replace the current ones; omitted sections and fields keep their current values;
    a list (e.g. dca_levels) is replaced whole. A secret sent back masked (starting with MASK)
    keeps the stored secret, so a form round-trip never needs the real value; "" clears it.
    Raises ConfigInvalid and leaves `current` as it was.
    """
    if not isinstance(incoming, dict):
        raise ConfigInvalid([{"field": "", "message": "the configuration must be a JSON object"}])
    incoming = without_retired(incoming)
    merged = to_json_dict(current)
    for key, value in incoming.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value  # a non-object section or unknown key: let validation report it
    for section, name in SECRET_FIELDS:
        sent = incoming.get(section)
        if isinstance(sent, dict) and isinstance(sent.get(name), str) and sent[name].startswith(MASK):
            merged[section][name] = getattr(getattr(current, section), name)
    try:
        return EngineConfig.model_validate(merged)
    except ValidationError as exc:
        # Scrub against the merged document: it holds whichever secret (sent or stored) applies.
        raise ConfigInvalid(_errors_from(exc, merged)) from None


def dca_levels(cfg: EngineConfig) -> list[DcaLevel]:
    """The configured ladder as core dataclasses."""
    return [
        DcaLevel(gap_percent=lv.gap_percent, weight_percent=lv.weight_percent, tp_percent=lv.tp_percent)
        for lv in cfg.grid_strategy.dca_levels
    ]
