"""A config.json written by an older version, still holding a retired key, loads; the key is dropped
from the stored copy and from the rewritten file."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from trading import config_service
from trading.config_schema import default_config, to_json_dict
from trading.models import ConfigDocument

pytestmark = pytest.mark.django_db


@pytest.fixture
def old_file() -> Iterator[dict]:
    document = to_json_dict(default_config())
    document["app"]["instance_name"] = "old-desk"
    document["precision"] = {"enforce": True, "merge_small_legs": True}
    config_service.config_path().write_text(json.dumps(document))
    yield document
    config_service.config_path().unlink(missing_ok=True)  # the file outlives the rolled-back database


def test_an_old_config_file_with_retired_keys_loads(old_file: dict) -> None:
    cfg = config_service.load_file()

    assert cfg.app.instance_name == "old-desk"
    assert "precision" not in ConfigDocument.objects.get(pk=1).document
    assert "precision" not in json.loads(config_service.config_path().read_text())
