"""Which account a signal trades on (`exchanges.registry.account_for_signal`): `tv.exchange` picks the
venue's enabled account with the lowest id; otherwise, or when the venue has none, the enabled
account labelled as `exchange.default_account`; else none (the signal is rejected)."""

from __future__ import annotations

import pytest

from exchanges.models import Venue
from exchanges.registry import account_for_signal
from tests.factories import ExchangeAccountFactory

pytestmark = pytest.mark.django_db


def test_the_venues_enabled_account_with_the_lowest_id_wins_over_the_default():
    default = ExchangeAccountFactory(label="main", venue=Venue.PAPER)
    first = ExchangeAccountFactory(label="bn-1", venue=Venue.BINANCE)
    ExchangeAccountFactory(label="bn-2", venue=Venue.BINANCE)
    assert default.pk < first.pk
    assert account_for_signal("BINANCE", "main") == first


def test_a_disabled_venue_account_falls_back_to_the_default():
    default = ExchangeAccountFactory(label="main", venue=Venue.PAPER)
    ExchangeAccountFactory(label="bn-1", venue=Venue.BINANCE, enabled=False)
    assert account_for_signal("BINANCE", "main") == default
    assert account_for_signal(None, "main") == default
    assert account_for_signal("KRAKEN", "main") == default  # a venue with no account at all


def test_no_enabled_candidate_routes_nowhere():
    ExchangeAccountFactory(label="main", venue=Venue.PAPER, enabled=False)
    ExchangeAccountFactory(label="bn-1", venue=Venue.BYBIT)
    assert account_for_signal("BINANCE", "main") is None
    assert account_for_signal(None, "main") is None


def test_routing_a_signal_costs_one_query(django_assert_num_queries):
    ExchangeAccountFactory(label="main", venue=Venue.PAPER)
    with django_assert_num_queries(1):  # the engine asks once per batch, on every tick with signals
        assert account_for_signal("BINANCE", "main").label == "main"
