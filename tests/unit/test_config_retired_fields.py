"""A retired key (`RETIRED_FIELDS`) in an older document is dropped with a note, never an error."""

from __future__ import annotations

import logging

import pytest

from trading.config_schema import ConfigInvalid, default_config, merge_update, validate_document
from trading.config_sections import RETIRED_FIELDS

OLD_PRECISION = {"precision": {"enforce": True, "merge_small_legs": False}}


def test_precision_section_is_retired() -> None:
    assert ("precision", None) in RETIRED_FIELDS


def test_a_document_with_a_retired_section_still_loads_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="trading.config_schema")
    document = {**OLD_PRECISION, "app": {"instance_name": "desk-1"}}

    cfg = validate_document(document)

    assert cfg.app.instance_name == "desk-1"
    assert "precision" not in cfg.model_dump()
    assert document["precision"] == OLD_PRECISION["precision"]  # the caller's document is left alone
    notes = [r.getMessage() for r in caplog.records if r.name == "trading.config_schema"]
    assert notes == ["config: ignoring retired key(s) precision; they have no effect any more"]


def test_an_update_carrying_a_retired_section_applies_the_rest() -> None:
    cfg = merge_update(default_config(), {**OLD_PRECISION, "app": {"instance_name": "desk-2"}})
    assert cfg.app.instance_name == "desk-2"


def test_an_unknown_key_is_still_an_error() -> None:
    with pytest.raises(ConfigInvalid) as refused:
        validate_document({**OLD_PRECISION, "precisoin": {}})
    assert [e["field"] for e in refused.value.errors] == ["precisoin"]
