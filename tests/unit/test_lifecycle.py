"""Group status is derived from its legs: waiting → live → partially filled → active → closing → closed."""

from decimal import Decimal

from trading.core.lifecycle import LegProgress, derive_group_status

D = Decimal


def leg(qty="1", filled="0", closed="0", accepted=True, done=False, skipped=False) -> LegProgress:
    return LegProgress(D(qty), D(filled), D(closed), accepted, done, skipped)


def test_nothing_accepted_is_waiting():
    assert derive_group_status([leg(accepted=False)], closing=False, close_orders_live=False) == "waiting"


def test_accepted_but_unfilled_is_live():
    assert derive_group_status([leg(), leg()], closing=False, close_orders_live=False) == "live"


def test_some_filled_is_partially_filled_and_all_filled_is_active():
    legs = [leg(filled="1", done=True), leg()]
    assert derive_group_status(legs, closing=False, close_orders_live=False) == "partially_filled"
    legs = [leg(filled="1", done=True), leg(filled="1", done=True)]
    assert derive_group_status(legs, closing=False, close_orders_live=False) == "active"


def test_filled_legs_all_took_profit_with_orders_still_resting_is_live_again():
    legs = [leg(filled="1", closed="1", done=True), leg()]
    assert derive_group_status(legs, closing=False, close_orders_live=False) == "live"


def test_every_leg_done_and_nothing_open_is_closed():
    legs = [leg(filled="1", closed="1", done=True), leg(done=True)]
    assert derive_group_status(legs, closing=False, close_orders_live=False) == "closed"


def test_closing_stays_closing_until_the_close_order_is_done():
    legs = [leg(filled="1", closed="0", done=True)]
    assert derive_group_status(legs, closing=True, close_orders_live=True) == "closing"
    legs = [leg(filled="1", closed="1", done=True)]
    assert derive_group_status(legs, closing=True, close_orders_live=False) == "closed"


def test_skipped_legs_do_not_count():
    legs = [leg(filled="1", done=True), leg(qty="0", accepted=False, skipped=True)]
    assert derive_group_status(legs, closing=False, close_orders_live=False) == "active"
