"""`GET /api/v1/risk` (issue 4, "Console and API"): the engine's status (Active / Idle / Blocked and
why), each live group's loss, pyramids, timer, age filter and eligibility, the winning offsets, the
projected plan the next cycle would execute, and the recent risk actions."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from risk.models import RiskAction

from ..conftest import configure
from .risk_world import (
    BTC_COST,
    BTC_LOSS_AT_36000,
    D,
    api,
    book,
    group,
    next_cycle,
    one_level_ladder,
    post,
    risk_report,
    row,
    two_losers,
)

pytestmark = pytest.mark.django_db


def at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def test_the_report_shows_every_group_the_offsets_and_why_nothing_is_done_yet(driver, clock):
    one_level_ladder(post_full_wait_minutes=60)
    t0 = clock.current
    book(driver)
    btc, eth, sol = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT")
    client = api()

    next_cycle(driver, clock)

    report = risk_report(client)
    assert (report["status"], report["reason"]) == ("idle", "no eligible loser")
    assert at(report["last_evaluated_at"]) == at(report["evaluated_at"]) == t0 + timedelta(seconds=10)
    assert report["last_action_at"] is None
    assert [r["group_id"] for r in report["groups"]] == [eth.pk, sol.pk, btc.pk]
    assert row(report, btc) == {
        "group_id": btc.pk,
        "symbol": "BTC/USDT",
        "loss_percent": format((BTC_LOSS_AT_36000 / BTC_COST * 100).normalize(), "f"),  # −12.19 %
        "unrealised_usd": "-121.81922",
        "pyramids_received": 5,
        "max_pyramids": 5,
        "timer_started_at": t0.isoformat(),
        "timer_remaining_sec": 3590,
        "age_ok": True,
        "eligible": False,
        "blocked": False,
        "reasons": ["wait timer has 59 min 50 s of 60 min left"],
    }
    eth_row = row(report, eth)
    assert (eth_row["loss_percent"], eth_row["unrealised_usd"], eth_row["pyramids_received"]) == (
        "19.9",
        "99.5",
        1,
    )
    assert eth_row["reasons"] == [
        "1 of 5 pyramids received",
        "wait timer not started (starts after_5_pyramids)",
        "loss 19.9 % is above the threshold -5 %",
    ]
    assert report["offsets"] == {"count": 2, "total_usd": "149"}  # 99.5 + 49.5
    assert report["plan"] == {
        "action": "none",
        "reason": "no eligible loser",
        "required_usd": "0",
        "covered_usd": "0",
        "net_usd": "0",
        "loser": None,
        "winners": [],
    }
    assert report["recent_actions"] == []

    next_cycle(driver, clock, seconds=3590)  # the wait has run: the action is taken

    report = risk_report(client)
    action = RiskAction.objects.get()
    assert (report["status"], report["reason"]) == ("active", f"risk action #{action.pk}: executed")
    assert at(report["last_action_at"]) == t0 + timedelta(minutes=60)
    [shown] = report["recent_actions"]
    assert {k: shown[k] for k in ("id", "loser_group_id", "action", "outcome", "forced")} == {
        "id": action.pk,
        "loser_group_id": btc.pk,
        "action": "close",
        "outcome": "executed",
        "forced": False,
    }
    assert (shown["required_usd"], shown["covered_usd"], shown["net_usd"]) == (
        "121.81922",
        "121.775",
        "-0.04422",
    )
    assert [(c["group_id"], c["role"], c["qty"]) for c in shown["closes"]] == [
        (btc.pk, "loser", "0.02440"),
        (eth.pk, "winner", "0.25"),
        (sol.pk, "winner", "2.25"),
    ]
    # Realised from the trades: loser −122.69762; winners 98.9 + 22.0275.
    assert shown["realised_usd"] == {"loser": "-122.69762", "winners": "120.9275", "net": "-1.77012"}
    # After the action the report is the book as it now stands: SOL is the only live group.
    assert [r["group_id"] for r in report["groups"]] == [sol.pk]
    assert report["offsets"] == {"count": 1, "total_usd": "27.225"}  # 2.75 SOL × 10 − 0.275
    assert report["plan"]["reason"] == "no eligible loser"

    next_cycle(driver, clock)
    assert (risk_report(client)["status"], len(risk_report(client)["recent_actions"])) == ("idle", 1)


def test_the_projected_plan_is_exactly_what_the_next_cycle_executes(driver, clock):
    one_level_ladder()
    configure(risk_engine={"evaluate_on_fill": False})  # cycles on the interval only, one per step
    two_losers(driver)
    btc, eth, sol = group("BTC/USDT"), group("ETH/USDT"), group("SOL/USDT")
    next_cycle(driver, clock)  # LTC goes first

    plan = risk_report(api())["plan"]
    assert (plan["action"], plan["required_usd"], plan["loser"]["group_id"]) == ("close", "121.81922", btc.pk)
    assert [(w["group_id"], w["full_close"], w["qty"]) for w in plan["winners"]] == [
        (eth.pk, True, "0.25"),
        (sol.pk, False, "0.74"),
    ]
    assert row(risk_report(api()), btc)["eligible"] is True

    next_cycle(driver, clock)

    executed = RiskAction.objects.first()
    assert executed.loser_group_id == plan["loser"]["group_id"]
    assert [(c["group_id"], D(c["qty"])) for c in executed.closes] == [
        (plan["loser"]["group_id"], D(plan["loser"]["qty"])),
        *((w["group_id"], D(w["qty"])) for w in plan["winners"]),
    ]
    assert (executed.required_usd, executed.covered_usd, executed.net_usd) == (
        D(plan["required_usd"]),
        D(plan["covered_usd"]),
        D(plan["net_usd"]),
    )


def test_status_is_blocked_while_the_engine_is_paused_or_the_risk_engine_disabled(driver, clock):
    one_level_ladder()
    book(driver)
    client = api()

    post(client, "/api/v1/engine/pause")
    next_cycle(driver, clock)

    report = risk_report(client)
    assert (report["status"], report["reason"]) == ("blocked", "engine paused")
    assert not RiskAction.objects.exists()

    configure(risk_engine={"enabled": False})
    post(client, "/api/v1/engine/resume")
    next_cycle(driver, clock)

    report = risk_report(client)
    assert (report["status"], report["reason"]) == ("blocked", "disabled in config (risk_engine.enabled)")
    assert not RiskAction.objects.exists()

    configure(risk_engine={"enabled": True})
    next_cycle(driver, clock)
    assert risk_report(client)["status"] == "active"
