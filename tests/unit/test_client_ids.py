from __future__ import annotations

import re

import pytest

from trading.core.clientid import MAX_LENGTH, ParsedClientId, Purpose, client_order_id, parse_client_order_id


def test_client_id_has_the_documented_shape() -> None:
    assert client_order_id("ab12", 12, 0, 3, Purpose.DCA, 0) == "tvab12g12p0l3da0"


def test_client_id_is_deterministic() -> None:
    first = client_order_id("ab12", 12, 1, 3, Purpose.TP_LEG, 2)
    assert first == client_order_id("ab12", 12, 1, 3, Purpose.TP_LEG, 2)


def test_missing_pyramid_and_leg_leave_their_digits_empty() -> None:
    cid = client_order_id("ab12", 12, None, None, Purpose.EXIT, 0)
    assert cid == "tvab12g12plxa0"
    assert parse_client_order_id(cid) == ParsedClientId("ab12", 12, None, None, Purpose.EXIT, 0)


def test_none_and_zero_give_different_ids() -> None:
    assert client_order_id("a", 1, None, 0, Purpose.DCA, 0) != client_order_id(
        "a", 1, 0, None, Purpose.DCA, 0
    )


def test_every_purpose_has_a_distinct_code_and_round_trips() -> None:
    ids = {client_order_id("ns", 1, 2, 3, purpose, 4) for purpose in Purpose}
    assert len(ids) == len(Purpose)
    for purpose in Purpose:
        parsed = parse_client_order_id(client_order_id("ns", 1, 2, 3, purpose, 4))
        assert parsed is not None and parsed.purpose is purpose


def test_attempt_changes_the_id() -> None:
    assert client_order_id("ns", 1, 0, 0, Purpose.ENTRY, 0) != client_order_id(
        "ns", 1, 0, 0, Purpose.ENTRY, 1
    )


def test_namespaces_keep_two_installs_apart() -> None:
    assert client_order_id("one", 1, 0, 0, Purpose.ENTRY, 0) != client_order_id(
        "two", 1, 0, 0, Purpose.ENTRY, 0
    )


def test_namespace_containing_marker_letters_still_parses() -> None:
    cid = client_order_id("g1p2l3a4", 5, 6, 7, Purpose.RISK, 8)
    assert parse_client_order_id(cid) == ParsedClientId("g1p2l3a4", 5, 6, 7, Purpose.RISK, 8)


def test_largest_expected_values_fit_the_exchange_limit() -> None:
    cid = client_order_id("abcdefgh", 9_999_999_999, 99, 99, Purpose.REVERSE, 99)
    assert len(cid) <= MAX_LENGTH
    assert re.fullmatch(r"[A-Za-z0-9]+", cid)


def test_id_longer_than_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than 32"):
        client_order_id("abcdefgh", 10**15, 999, 999, Purpose.REVERSE, 999)


@pytest.mark.parametrize("namespace", ["", "toolongnamespace", "ab-1", "ab_1"])
def test_namespace_must_be_short_and_alphanumeric(namespace: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        client_order_id(namespace, 1, 0, 0, Purpose.ENTRY, 0)


def test_negative_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="group_id"):
        client_order_id("ns", -1, 0, 0, Purpose.ENTRY, 0)


@pytest.mark.parametrize(
    "cid",
    [
        "x-123",  # someone else's order
        "tvnsg1p0l0za0",  # unknown purpose code
        "tvnsg01p0l0ea0",  # leading zero: never produced by client_order_id
        "tvnsg1p0l0ea",  # no attempt
        "",
    ],
)
def test_foreign_or_malformed_ids_do_not_parse(cid: str) -> None:
    assert parse_client_order_id(cid) is None
