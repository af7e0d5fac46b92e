"""Activation rule 1 (issue 4): with `require_full_pyramids` a loser must have received all
`max_pyramids_per_group` pyramids; off, it need not."""

from __future__ import annotations

import pytest

from risk.models import RiskAction

from ..conftest import configure
from .risk_world import (
    BTC_PRICES,
    D,
    api,
    btc_pyramids,
    buy,
    next_cycle,
    one_level_ladder,
    risk_report,
    row,
)

pytestmark = pytest.mark.django_db

# Four pyramids (43000..40000, 200 USDT each): 0.01928 BTC for 799.54, entry fees 0.79954.
# At 36000: 694.08 − 799.54 − 0.79954 = −106.25954 USD, −13.29 %.
FOUR_PYRAMIDS_LOSS = D("-106.25954")


def test_four_of_five_pyramids_is_not_eligible_and_the_fifth_makes_it_eligible(driver, clock):
    one_level_ladder()
    buy(driver, "ETHUSDT", "2000")
    btc = btc_pyramids(driver, BTC_PRICES[:4])
    driver.price("BTCUSDT", "36000")
    driver.price("ETHUSDT", "2600")  # +149.5: enough for either loser

    next_cycle(driver, clock)

    assert not RiskAction.objects.exists()
    shown = row(risk_report(api()), btc)
    assert (shown["pyramids_received"], shown["max_pyramids"], shown["eligible"]) == (4, 5, False)
    assert D(shown["unrealised_usd"]) == FOUR_PYRAMIDS_LOSS
    assert shown["reasons"] == [
        "4 of 5 pyramids received",
        "wait timer not started (starts after_5_pyramids)",
    ]

    buy(driver, "BTCUSDT", "39000", size="200", trade_id="btc4")
    driver.price("BTCUSDT", "36000")
    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.required_usd) == (btc.pk, D("121.81922"))


def test_with_require_full_pyramids_off_four_pyramids_are_enough(driver, clock):
    # The post-full wait would never start before the last pyramid, so it is off here too.
    one_level_ladder(require_full_pyramids=False, enable_post_full_wait=False)
    buy(driver, "ETHUSDT", "2000")
    btc = btc_pyramids(driver, BTC_PRICES[:4])
    driver.price("BTCUSDT", "36000")
    driver.price("ETHUSDT", "2600")

    next_cycle(driver, clock)

    action = RiskAction.objects.get()
    assert (action.loser_group_id, action.action, action.required_usd) == (
        btc.pk,
        "close",
        -FOUR_PYRAMIDS_LOSS,
    )
    btc.refresh_from_db()
    assert btc.status == "closed"


def test_max_pyramids_per_group_sets_what_full_means(driver, clock):
    one_level_ladder()
    configure(grid_strategy={"max_pyramids_per_group": 4})
    buy(driver, "ETHUSDT", "2000")
    btc = btc_pyramids(driver, BTC_PRICES[:4])
    driver.price("BTCUSDT", "36000")
    driver.price("ETHUSDT", "2600")

    next_cycle(driver, clock)

    assert RiskAction.objects.get().loser_group_id == btc.pk
