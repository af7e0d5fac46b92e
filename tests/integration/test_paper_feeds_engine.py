"""`run --paper-feed walk|replay`: the engine moves traded paper symbols itself, and fills follow."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from exchanges.paper_feeds import BUNDLED_BTC_USDT_1H
from exchanges.paper_models import PaperPrice
from trading.engine.feeds import PaperFeedDriver
from trading.models import LegState, PositionGroup

pytestmark = pytest.mark.django_db


def paper_price(symbol: str = "BTC/USDT") -> Decimal:
    return PaperPrice.objects.get(symbol=symbol).price


def test_replay_feed_sets_the_next_real_candle_close_and_fills_follow(driver, engine):
    driver.send(price="43000")
    first_close = Decimal(str(json.loads(BUNDLED_BTC_USDT_1H.read_text())[0][4]))
    feed = PaperFeedDriver(engine.ctx, "replay")

    assert feed.step() == 1
    assert paper_price() == first_close.quantize(Decimal("0.01"))
    # December 2020 closes sit far below a 43000 ladder: every resting leg fills at once.
    group = PositionGroup.objects.get()
    assert set(group.legs.values_list("state", flat=True)) == {LegState.FILLED}


def test_walk_feed_is_deterministic_for_a_seed_and_moves_only_traded_symbols(driver, engine):
    driver.send(price="43000")
    feed = PaperFeedDriver(engine.ctx, "walk")
    path = []
    for _ in range(5):
        feed.step()
        path.append(paper_price())
    assert len(set(path)) > 1  # it moves
    assert not PaperPrice.objects.filter(symbol="ETH/USDT").exists()  # nothing untraded is invented

    again = PaperFeedDriver(engine.ctx, "walk")
    PaperPrice.objects.filter(symbol="BTC/USDT").update(price=Decimal("43000"))
    replay = []
    for _ in range(5):
        again.step()
        replay.append(paper_price())
    assert replay == path
