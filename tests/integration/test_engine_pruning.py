"""Housekeeping: old events and payload claims go, recent ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trading import events
from trading.models import Event
from trading.models.inbox import PayloadClaim

pytestmark = pytest.mark.django_db


def test_events_older_than_the_retention_are_pruned_and_recent_ones_kept(engine, clock):
    days = engine.ctx.cfg.logging.event_retention_days
    events.record(events.Category.ENGINE, "old", now=clock() - timedelta(days=days, seconds=1))
    events.record(events.Category.ENGINE, "recent", now=clock() - timedelta(days=days - 1))

    engine.prune_events()

    assert not Event.objects.filter(message="old").exists()
    assert Event.objects.filter(message="recent").exists()


def test_payload_claims_are_pruned_once_no_duplicate_window_can_reach_them(engine, clock):
    PayloadClaim.objects.create(fingerprint="a" * 64, claimed_at=clock() - timedelta(hours=1, seconds=1))
    PayloadClaim.objects.create(fingerprint="b" * 64, claimed_at=clock() - timedelta(minutes=59))

    engine.prune_events()

    assert list(PayloadClaim.objects.values_list("fingerprint", flat=True)) == ["b" * 64]
