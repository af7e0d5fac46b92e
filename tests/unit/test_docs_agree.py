"""What the README promises matches the configuration reference and works when tried as written."""

from __future__ import annotations

import re
from pathlib import Path

from django.http.request import validate_host

from trading.config_reference import field_reference

ROOT = Path(__file__).resolve().parents[2]
QUEUE_LIMIT_RULE = "one more evicts the lowest-ranked entry (a newcomer that ranks last is rejected instead)"


def _flat(path: str) -> str:
    return " ".join((ROOT / path).read_text().split())


def test_readme_and_configuration_doc_agree_that_queue_limit_evicts_the_lowest_ranked_entry() -> None:
    description = next(r for r in field_reference() if r["name"] == "queue_limit")["description"]
    assert QUEUE_LIMIT_RULE in description
    assert QUEUE_LIMIT_RULE in _flat("README.md")
    assert QUEUE_LIMIT_RULE in _flat("docs/configuration.md")
    assert "more are rejected" not in _flat("docs/configuration.md")


def test_readme_production_example_allows_requests_from_the_same_machine() -> None:
    # Tried locally as written (daphne on 127.0.0.1:8000, send_test_signal, curl), every request
    # would otherwise get Django's HTML 400 from its host check.
    production = _flat("README.md").split("### Production layout", 1)[1].split("```", 2)[1]
    hosts = re.search(r"ALLOWED_HOSTS=(\S+)", production)
    assert hosts, "the production example sets ALLOWED_HOSTS"
    allowed = hosts.group(1).split(",")
    for host in ("127.0.0.1", "localhost", "engine.example.com"):
        assert validate_host(host, allowed), host
