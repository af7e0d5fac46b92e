"""Never a 500: TradingView re-sends on a 5xx, so whatever arrives gets a 4xx or a 2xx with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_SECRET, signal_payload
from trading.models import Signal

from .webhook_support import post

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "webhooks"
INDEX = {entry["file"]: entry for entry in json.loads((FIXTURES / "INDEX.json").read_text())}
ANSWERS = {202, 200, 400, 401, 413, 422}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

content_types = st.one_of(
    st.sampled_from(
        [
            "application/json",
            "application/json; charset=latin-1",
            "text/plain",
            "text/plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=xyz",
            "application/octet-stream",
            "",
        ]
    ),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**60), max_value=10**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", "NaN", "na", "{{close}}", "43000.5", "1e400", "-1", "0", "15", "1D", "buy", "exit"]),
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=16), json_values, max_size=6)
# Where a real alert's values live: replacing one of these explores the schema past authentication.
FIELDS = [
    ("tv", "exchange"),
    ("tv", "symbol"),
    ("tv", "timeframe"),
    ("tv", "entry_price"),
    ("tv", "close_price"),
    ("tv", "order_size"),
    ("tv", "prev_market_position"),
    ("execution_intent", "type"),
    ("execution_intent", "side"),
    ("execution_intent", "position_size_type"),
    ("strategy_info", "trade_id"),
    ("strategy_info", "alert_name"),
    ("risk", "max_slippage_percent"),
    ("risk", "stop_loss"),
    ("timestamp",),
    ("source",),
    ("tv",),
    ("execution_intent",),
]


def mutated(changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    payload = signal_payload(trade_id="fuzz", timestamp="2024-05-03T10:15:00Z", risk={})
    for path, value in changes:
        target = payload
        for key in path[:-1]:
            if not isinstance(target.get(key), dict):
                target[key] = {}
            target = target[key]
        target[path[-1]] = value
    return payload


@FUZZ
@given(body=st.binary(max_size=2048), content_type=content_types)
def test_arbitrary_bytes_never_get_a_500(engine, client, body, content_type):
    response = post(client, raw=body, content_type=content_type)
    assert response.status_code in ANSWERS, response.content


@FUZZ
@given(data=json_objects, content_type=content_types, with_secret=st.booleans())
def test_arbitrary_json_objects_never_get_a_500(engine, client, data, content_type, with_secret):
    if with_secret:
        data["secret"] = TEST_SECRET
    body = json.dumps(data).encode()
    response = post(client, raw=body, content_type=content_type)
    assert response.status_code in ANSWERS, response.content
    assert response["Content-Type"] == "application/json"


@FUZZ
@given(
    changes=st.lists(st.tuples(st.sampled_from(FIELDS), json_values), min_size=1, max_size=4),
    content_type=content_types,
)
def test_real_alert_with_arbitrary_field_values_never_gets_a_500(engine, client, changes, content_type):
    response = post(client, mutated(changes), content_type=content_type)
    assert response.status_code in ANSWERS, response.content
    if response.status_code == 202:
        stored = Signal.objects.get(pk=response.json()["signal_id"])
        assert stored.payload["secret"] == "***"


def fixture_files() -> list[Path]:
    return sorted(path for path in FIXTURES.iterdir() if path.name in INDEX)


def declared_content_type(path: Path) -> str:
    return INDEX[path.name]["content_type"].split(" (")[0]


def test_every_real_world_fixture_is_indexed():
    assert len(fixture_files()) == 30


@pytest.mark.parametrize("path", fixture_files(), ids=lambda path: path.name[:2])
def test_real_world_bodies_get_a_4xx_or_2xx_never_a_5xx(engine, client, path):
    response = post(client, raw=path.read_bytes(), content_type=declared_content_type(path))
    assert 200 <= response.status_code < 500, response.content
    assert response.status_code != 202  # none carries our secret
    assert response.json()["status"] == "rejected"


def json_object_fixtures() -> list[Path]:
    """The real-world bodies that are JSON objects (the others are covered by the test above)."""
    found = []
    for path in fixture_files():
        try:
            data = json.loads(path.read_bytes())
        except ValueError:
            continue
        if isinstance(data, dict):
            found.append(path)
    return found


@pytest.mark.parametrize("path", json_object_fixtures(), ids=lambda path: path.name[:2])
def test_real_world_bodies_with_our_secret_get_a_clear_answer(engine, client, path):
    data = json.loads(path.read_bytes())
    data["secret"] = TEST_SECRET
    response = post(client, data, content_type=declared_content_type(path))
    assert response.status_code in (202, 422), response.content
    if response.status_code == 422:
        assert all(error["field"] and error["message"] for error in response.json()["errors"])
