"""Which groups may be the risk engine's loser (issue 4, rules 1-5), each reason recorded."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from risk.core import GroupSnapshot, LegPosition, RiskSettings, TimerStart, evaluate_group, snapshot_pnl
from trading.config_sections import RiskEngineSettings
from trading.core.types import Side

NOW = datetime(2025, 1, 6, 17, 0, tzinfo=UTC)
SETTINGS = RiskSettings()  # issue defaults: 5 pyramids, 60 min wait, -5 %, age filter off

# Full, timer run out (started 61 min ago), 1 @ 100 at 90: -10 %. Eligible under the defaults.
LOSER = GroupSnapshot(
    group_id=7,
    symbol="ETH/USDT",
    side=Side.LONG,
    opened_at=NOW - timedelta(hours=5),
    pyramids_received=5,
    timer_started_at=NOW - timedelta(minutes=61),
    blocked=False,
    skip_once=False,
    price=D(90),
    legs=(LegPosition(leg_id=1, open_qty=D(1), avg_fill_price=D(100), entry_fees=D(0)),),
    rules=None,
)


def evaluate(group: GroupSnapshot = LOSER, settings: RiskSettings = SETTINGS, force: bool = False):
    return evaluate_group(group, snapshot_pnl(group), settings, NOW, force)


def test_a_group_meeting_every_rule_is_eligible_with_no_reasons() -> None:
    evaluation = evaluate()
    assert evaluation.eligible
    assert evaluation.reasons == ()
    assert (evaluation.loss_percent, evaluation.unrealised_usd) == (D(-10), D(-10))
    assert (evaluation.pyramids_received, evaluation.max_pyramids) == (5, 5)
    assert evaluation.timer_remaining == timedelta(0)
    assert evaluation.age_ok


def test_rule_1_require_full_pyramids() -> None:
    four = replace(LOSER, pyramids_received=4)
    assert evaluate(four).reasons == ("4 of 5 pyramids received",)
    assert evaluate(four, replace(SETTINGS, require_full_pyramids=False)).eligible


def test_rule_2_the_timer_must_have_run_post_full_wait_minutes() -> None:
    running = replace(LOSER, timer_started_at=NOW - timedelta(minutes=30))
    evaluation = evaluate(running)
    assert not evaluation.eligible
    assert evaluation.timer_remaining == timedelta(minutes=30)
    assert evaluation.reasons == ("wait timer has 30 min of 60 min left",)
    # Exactly 60 minutes is enough.
    assert evaluate(replace(LOSER, timer_started_at=NOW - timedelta(minutes=60))).eligible


def test_rule_2_a_timer_that_has_not_started_blocks_and_names_its_condition() -> None:
    settings = replace(SETTINGS, timer_start_condition=TimerStart.AFTER_ALL_DCA_FILLED)
    evaluation = evaluate(replace(LOSER, timer_started_at=None), settings)
    assert evaluation.timer_remaining is None
    assert evaluation.reasons == ("wait timer not started (starts after_all_dca_filled)",)


def test_rule_2_off_needs_no_timer() -> None:
    evaluation = evaluate(
        replace(LOSER, timer_started_at=None), replace(SETTINGS, enable_post_full_wait=False)
    )
    assert evaluation.eligible
    assert evaluation.timer_remaining is None


def test_rule_3_loss_threshold_is_inclusive() -> None:
    # 1 @ 100 at 95: exactly -5 % -> eligible; at 95.01: -4.99 % -> not.
    assert evaluate(replace(LOSER, price=D(95))).eligible
    evaluation = evaluate(replace(LOSER, price=D("95.01")))
    assert evaluation.loss_percent == D("-4.99")
    assert evaluation.reasons == ("loss -4.99 % is above the threshold -5 %",)


def test_rule_3_a_winner_is_never_eligible() -> None:
    evaluation = evaluate(replace(LOSER, price=D(110)))
    assert evaluation.reasons == ("loss 10 % is above the threshold -5 %",)


def test_rule_4_trade_age_filter() -> None:
    settings = replace(SETTINGS, use_trade_age_filter=True, age_threshold_minutes=200)
    young = replace(LOSER, opened_at=NOW - timedelta(minutes=199, seconds=30))
    evaluation = evaluate(young, settings)
    assert not evaluation.age_ok
    assert evaluation.reasons == ("age 199 min 30 s is under 200 min",)
    assert evaluate(replace(LOSER, opened_at=NOW - timedelta(minutes=200)), settings).eligible
    # Off: not required, and reported as passed.
    off = evaluate(young)
    assert off.eligible and off.age_ok


def test_rule_5_blocked_and_skip_once() -> None:
    assert evaluate(replace(LOSER, blocked=True)).reasons == ("blocked by the operator",)
    assert evaluate(replace(LOSER, skip_once=True)).reasons == ("skip once for this cycle",)


def test_every_failing_rule_is_recorded_in_rule_order() -> None:
    settings = replace(SETTINGS, use_trade_age_filter=True)
    hopeless = replace(
        LOSER,
        opened_at=NOW - timedelta(minutes=20),
        pyramids_received=2,
        timer_started_at=None,
        price=D(99),
        blocked=True,
        skip_once=True,
    )
    assert evaluate(hopeless, settings).reasons == (
        "2 of 5 pyramids received",
        "wait timer not started (starts after_5_pyramids)",
        "loss -1 % is above the threshold -5 %",
        "age 20 min is under 200 min",
        "blocked by the operator",
        "skip once for this cycle",
    )


def test_force_ignores_the_timer_only() -> None:
    not_started = replace(LOSER, timer_started_at=None)
    assert evaluate(not_started, force=True).eligible
    running = evaluate(replace(LOSER, timer_started_at=NOW - timedelta(minutes=5)), force=True)
    assert running.eligible
    assert running.timer_remaining == timedelta(minutes=55)  # still reported
    # Everything else still applies.
    assert evaluate(replace(not_started, pyramids_received=4), force=True).reasons == (
        "4 of 5 pyramids received",
    )
    assert evaluate(replace(not_started, price=D(99)), force=True).reasons == (
        "loss -1 % is above the threshold -5 %",
    )
    assert evaluate(replace(not_started, blocked=True), force=True).reasons == ("blocked by the operator",)
    assert evaluate(replace(not_started, skip_once=True), force=True).reasons == ("skip once for this cycle",)


def test_a_group_without_price_or_open_quantity_is_not_evaluable() -> None:
    no_price = evaluate(replace(LOSER, price=None))
    assert (no_price.loss_percent, no_price.unrealised_usd, no_price.reasons) == (
        None,
        None,
        ("no current price",),
    )
    empty = evaluate(replace(LOSER, legs=()))
    assert empty.reasons == ("no open filled quantity",)


def test_settings_come_from_the_config_section_by_name() -> None:
    section = RiskEngineSettings(
        timer_start_condition="after_all_dca_submitted",
        loss_threshold_percent=D("-7.5"),
        use_trade_age_filter=True,
        max_winners_to_combine=2,
        partial_close_enabled=False,
        min_close_notional=D(25),
    )
    settings = RiskSettings.from_config(section, max_pyramids=4)
    assert settings == RiskSettings(
        timer_start_condition=TimerStart.AFTER_ALL_DCA_SUBMITTED,
        loss_threshold_percent=D("-7.5"),
        use_trade_age_filter=True,
        max_winners_to_combine=2,
        partial_close_enabled=False,
        min_close_notional=D(25),
        max_pyramids=4,
    )
    assert RiskSettings.from_config(RiskEngineSettings(), max_pyramids=5) == RiskSettings()
