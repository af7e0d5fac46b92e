"""`app.mode` paper: no entry opens where real money is at stake (the paper exchange and testnets trade)."""

from __future__ import annotations

import pytest

from exchanges.models import ExchangeAccount, Venue
from trading.core.admission import mode_problem


@pytest.mark.parametrize(
    ("mode", "real_money", "refused"),
    [("paper", True, True), ("paper", False, False), ("live", True, False), ("live", False, False)],
)
def test_paper_mode_refuses_entries_only_on_real_money_accounts(
    mode: str, real_money: bool, refused: bool
) -> None:
    problem = mode_problem(mode, real_money, "binance-main")
    assert (problem is not None) is refused
    if refused:
        assert problem == (
            "app.mode is paper and account binance-main trades real money; set app.mode to live to trade it"
        )


@pytest.mark.parametrize(
    ("venue", "sandbox", "real_money"),
    [
        (Venue.PAPER, False, False),
        (Venue.BINANCE, True, False),
        (Venue.BINANCE, False, True),
        (Venue.OKX, False, True),
    ],
)
def test_only_a_live_venue_outside_its_testnet_is_real_money(
    venue: str, sandbox: bool, real_money: bool
) -> None:
    assert ExchangeAccount(label="a", venue=venue, sandbox=sandbox).real_money is real_money
