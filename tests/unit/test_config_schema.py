"""Rules of the configuration document (trading/config_schema.py). Pure: no database, no Django."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from trading.config_reference import field_reference
from trading.config_schema import (
    MASK,
    SECRET_FIELDS,
    ConfigInvalid,
    EngineConfig,
    dca_levels,
    default_config,
    masked_document,
    merge_update,
    to_json_dict,
    validate_document,
)
from trading.core.types import DcaLevel, TpMode

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-Value-xyz"


def _errors(data: Any) -> list[dict[str, str]]:
    with pytest.raises(ConfigInvalid) as caught:
        validate_document(data)
    return caught.value.errors


def _fields(data: Any) -> set[str]:
    return {e["field"] for e in _errors(data)}


def _ladder(*levels: tuple[str, str, str], **grid: Any) -> dict[str, Any]:
    rows = [{"gap_percent": g, "weight_percent": w, "tp_percent": t} for g, w, t in levels]
    return {"grid_strategy": {"dca_levels": rows, **grid}}


def _with_secret() -> EngineConfig:
    return validate_document({"security": {"webhook_secret": SECRET}})


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_config_reference", ROOT / "scripts" / "gen_config_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- defaults ---------------------------------------------------------------------------------


def test_defaults_match_spec() -> None:
    cfg = default_config()
    assert cfg.version == 1
    assert (cfg.app.mode, cfg.app.instance_name, cfg.app.engine_poll_interval_ms) == (
        "paper",
        "tv-engine",
        100,
    )
    assert cfg.app.heartbeat_interval_sec == 2
    ex = cfg.exchange
    assert ex.default_account == "paper"
    assert (ex.precision_refresh_sec, ex.precision_stale_after_sec, ex.order_sync_interval_ms) == (
        60,
        600,
        500,
    )
    assert ex.paper_starting_balance_usdt == Decimal("10000")
    assert ex.paper_fee_percent == Decimal("0.1")
    assert ex.paper_partial_fill_ratio == Decimal("1")
    assert (ex.paper_feed, ex.paper_walk_seed, ex.paper_replay_file) == ("manual", 42, None)
    assert ex.paper_walk_volatility_percent == Decimal("0.2")
    assert cfg.execution_pool.max_open_groups == 10
    grid = cfg.grid_strategy
    assert (grid.max_pyramids_per_group, grid.max_dca_per_pyramid, grid.tp_mode) == (5, 7, TpMode.LEG)
    assert grid.aggregate_tp_percent == Decimal("1.0")
    assert grid.default_pyramid_size_quote == Decimal("100")
    assert grid.max_slippage_percent == Decimal("0.5")
    assert dca_levels(cfg) == [
        DcaLevel(Decimal(g), Decimal("20"), Decimal(t))
        for g, t in (("0", "1"), ("-0.5", "0.5"), ("-1", "2"), ("-1.5", "1.5"), ("-2", "1"))
    ]
    wait = cfg.waiting_rule
    assert wait.queue_replace_same_symbol is True
    assert list(wait.selection_priority) == [
        "pyramid_continuation",
        "highest_loss_percent",
        "highest_replacement_count",
        "highest_expected_profit",
        "fifo",
    ]
    assert (wait.queue_limit, wait.max_queue_age_minutes) == (50, 240)
    risk = cfg.risk_engine
    assert (risk.enabled, risk.require_full_pyramids, risk.enable_post_full_wait) == (True, True, True)
    assert (risk.post_full_wait_minutes, risk.timer_start_condition) == (60, "after_5_pyramids")
    assert risk.reset_timer_on_replacement is True
    assert risk.loss_threshold_percent == Decimal("-5")
    assert (risk.use_trade_age_filter, risk.age_threshold_minutes, risk.max_winners_to_combine) == (
        False,
        200,
        3,
    )
    assert risk.partial_close_enabled is True
    assert risk.min_close_notional == Decimal("20")
    assert (risk.evaluate_interval_sec, risk.evaluate_on_fill) == (10, True)
    log = cfg.logging
    assert (log.level, log.file_max_mb, log.file_backups, log.event_retention_days) == ("INFO", 10, 5, 30)
    sec = cfg.security
    assert sec.webhook_secret == ""
    assert (sec.max_signal_lag_seconds, sec.duplicate_window_seconds, sec.hmac_header) == (
        60,
        30,
        "X-Signature",
    )
    assert (sec.require_hmac, sec.ip_allowlist_enabled, sec.trust_x_forwarded_for) == (False, False, False)
    assert list(sec.ip_allowlist) == ["52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7"]
    assert sec.allow_webhook_replay is False
    assert (cfg.ui.theme, cfg.ui.realtime_update_ms) == ("dark", 500)


def test_defaults_pass_their_own_validation() -> None:
    # Pydantic does not validate defaults; this catches a default that breaks a bound or rule.
    assert validate_document(to_json_dict(default_config())) == default_config()


def test_empty_document_means_all_defaults() -> None:
    assert validate_document({}) == default_config()


def test_config_is_immutable() -> None:
    cfg = default_config()
    with pytest.raises(ValidationError):
        cfg.app.mode = "live"  # type: ignore[misc]


# --- document shape ---------------------------------------------------------------------------


def test_unknown_key_is_an_error() -> None:
    assert _fields({"app": {"poll_interval": 5}}) == {"app.poll_interval"}
    assert _fields({"strategy": {}}) == {"strategy"}
    level = {"gap_percent": "0", "weight_percent": "100", "tp_percent": "1", "tp": "2"}
    assert _fields({"grid_strategy": {"dca_levels": [level]}}) == {"grid_strategy.dca_levels.0.tp"}


def test_non_object_document_is_rejected() -> None:
    for data in ([], "{}", None, 3):
        assert _errors(data) == [{"field": "", "message": "the configuration must be a JSON object"}]
    assert _fields({"app": "paper"}) == {"app"}


def test_every_error_is_reported_with_dotted_path() -> None:
    data = {
        "app": {"mode": "demo", "engine_poll_interval_ms": 5},
        "exchange": {"paper_fee_percent": "7"},
        "waiting_rule": {"selection_priority": ["fifo", "newest"]},
        "security": {"ip_allowlist": ["1.2.3.4", "not-an-ip"]},
        **_ladder(("0", "50", "1"), ("-1", "0", "1")),
    }
    assert _fields(data) == {
        "app.mode",
        "app.engine_poll_interval_ms",
        "exchange.paper_fee_percent",
        "waiting_rule.selection_priority.1",
        "security.ip_allowlist.1",
        "grid_strategy.dca_levels.1.weight_percent",
        "grid_strategy.dca_levels",
    }
    assert all(e["message"] for e in _errors(data))


def test_decimals_are_read_exactly_and_written_as_strings() -> None:
    # A JSON float is read through its decimal text, never its binary value.
    cfg = validate_document({"exchange": {"paper_fee_percent": 0.1}})
    assert cfg.exchange.paper_fee_percent == Decimal("0.1")
    doc = to_json_dict(cfg)
    assert doc["exchange"]["paper_fee_percent"] == "0.1"
    assert doc["grid_strategy"]["aggregate_tp_percent"] == "1.0"
    assert doc["grid_strategy"]["dca_levels"][1] == {
        "gap_percent": "-0.5",
        "weight_percent": "20",
        "tp_percent": "0.5",
    }


def test_non_finite_decimal_is_rejected() -> None:
    assert _fields({"exchange": {"paper_fee_percent": "NaN"}}) == {"exchange.paper_fee_percent"}
    assert _fields({"grid_strategy": {"aggregate_tp_percent": "Infinity"}}) == {
        "grid_strategy.aggregate_tp_percent"
    }


def test_round_trip_json_file_format() -> None:
    cfg = merge_update(_with_secret(), {"grid_strategy": {"tp_mode": "hybrid"}, "app": {"mode": "live"}})
    text = json.dumps(to_json_dict(cfg), indent=2)
    assert validate_document(json.loads(text)) == cfg
    # The file is unmasked: it is the source of the secret.
    assert json.loads(text)["security"]["webhook_secret"] == SECRET
    assert json.loads(text)["grid_strategy"]["tp_mode"] == "hybrid"


def test_newer_version_is_rejected() -> None:
    assert _fields({"version": 2}) == {"version"}


# --- bounds and cross-field rules -------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("app", "engine_poll_interval_ms", 19),
        ("app", "engine_poll_interval_ms", 5001),
        ("exchange", "precision_refresh_sec", 4),
        ("exchange", "paper_fee_percent", "-0.1"),
        ("exchange", "paper_partial_fill_ratio", "0"),
        ("exchange", "paper_partial_fill_ratio", "1.01"),
        ("execution_pool", "max_open_groups", 0),
        ("grid_strategy", "max_pyramids_per_group", 21),
        ("grid_strategy", "aggregate_tp_percent", "0"),
        ("grid_strategy", "default_pyramid_size_quote", "0"),
        ("grid_strategy", "max_slippage_percent", "50.1"),
        ("grid_strategy", "tp_mode", "trailing"),
        ("waiting_rule", "queue_limit", 0),
        ("risk_engine", "loss_threshold_percent", "0"),
        ("risk_engine", "loss_threshold_percent", "5"),
        ("risk_engine", "max_winners_to_combine", 11),
        ("risk_engine", "timer_start_condition", "after_3_pyramids"),
        ("logging", "level", "TRACE"),
        ("security", "hmac_header", "X Signature"),
        ("ui", "theme", "blue"),
        ("ui", "realtime_update_ms", 99),
    ],
)
def test_out_of_range_value_is_rejected(section: str, field: str, value: Any) -> None:
    assert _fields({section: {field: value}}) == {f"{section}.{field}"}


def test_zero_means_off_where_documented() -> None:
    cfg = validate_document(
        {"waiting_rule": {"max_queue_age_minutes": 0}, "security": {"max_signal_lag_seconds": 0}}
    )
    assert cfg.waiting_rule.max_queue_age_minutes == 0
    assert cfg.security.max_signal_lag_seconds == 0


def test_selection_priority_names_are_known_and_unique() -> None:
    assert _fields({"waiting_rule": {"selection_priority": ["fifo", "random"]}}) == {
        "waiting_rule.selection_priority.1"
    }
    errors = _errors({"waiting_rule": {"selection_priority": ["fifo", "highest_loss_percent", "fifo"]}})
    assert errors == [{"field": "waiting_rule.selection_priority.2", "message": "fifo is listed twice"}]
    assert _fields({"waiting_rule": {"selection_priority": []}}) == {"waiting_rule.selection_priority"}
    reordered = validate_document({"waiting_rule": {"selection_priority": ["fifo", "pyramid_continuation"]}})
    assert reordered.waiting_rule.selection_priority == ("fifo", "pyramid_continuation")


def test_ip_allowlist_entries_must_be_ip_or_cidr() -> None:
    ok = validate_document({"security": {"ip_allowlist": ["10.0.0.0/8", "2001:db8::1", " 1.2.3.4 "]}})
    assert ok.security.ip_allowlist == ("10.0.0.0/8", "2001:db8::1", "1.2.3.4")
    assert _fields({"security": {"ip_allowlist": ["10.0.0.0/33", "", "example.com"]}}) == {
        "security.ip_allowlist.0",
        "security.ip_allowlist.1",
        "security.ip_allowlist.2",
    }


def test_enabled_allowlist_needs_an_address() -> None:
    data = {"security": {"ip_allowlist_enabled": True, "ip_allowlist": []}}
    assert _fields(data) == {"security.ip_allowlist"}


def test_require_hmac_needs_a_secret() -> None:
    assert _fields({"security": {"require_hmac": True}}) == {"security.require_hmac"}
    assert validate_document(
        {"security": {"require_hmac": True, "webhook_secret": SECRET}}
    ).security.require_hmac


def test_webhook_secret_is_empty_or_at_least_8_characters() -> None:
    assert _fields({"security": {"webhook_secret": "short"}}) == {"security.webhook_secret"}
    assert (
        validate_document({"security": {"webhook_secret": "12345678"}}).security.webhook_secret == "12345678"
    )
    assert validate_document({"security": {"webhook_secret": ""}}).security.webhook_secret == ""


def test_replay_feed_needs_a_file() -> None:
    assert _fields({"exchange": {"paper_feed": "replay"}}) == {"exchange.paper_replay_file"}
    cfg = validate_document({"exchange": {"paper_feed": "replay", "paper_replay_file": "prices.csv"}})
    assert cfg.exchange.paper_replay_file == "prices.csv"


def test_stale_after_must_exceed_refresh_interval() -> None:
    data = {"exchange": {"precision_refresh_sec": 600, "precision_stale_after_sec": 600}}
    assert _fields(data) == {"exchange.precision_stale_after_sec"}


# --- DCA ladder -------------------------------------------------------------------------------


def test_dca_weights_must_sum_to_100() -> None:
    errors = _errors(_ladder(("0", "50", "1"), ("-1", "40", "1")))
    assert errors == [
        {"field": "grid_strategy.dca_levels", "message": "weights must sum to exactly 100 (got 90)"}
    ]
    assert _fields(_ladder(("0", "50", "1"), ("-1", "50.01", "1"))) == {"grid_strategy.dca_levels"}
    assert validate_document(_ladder(("0", "33.4", "1"), ("-1", "33.3", "1"), ("-2", "33.3", "1")))


def test_dca_weight_must_be_positive() -> None:
    errors = _errors(_ladder(("0", "100", "1"), ("-1", "0", "1")))
    assert {
        "field": "grid_strategy.dca_levels.1.weight_percent",
        "message": "must be greater than 0",
    } in errors


def test_first_dca_gap_must_be_zero() -> None:
    assert _fields(_ladder(("-0.5", "100", "1"))) == {"grid_strategy.dca_levels.0.gap_percent"}


def test_dca_gaps_must_strictly_decrease() -> None:
    assert _fields(_ladder(("0", "50", "1"), ("0", "50", "1"))) == {"grid_strategy.dca_levels.1.gap_percent"}
    assert _fields(_ladder(("0", "30", "1"), ("-2", "30", "1"), ("-1", "40", "1"))) == {
        "grid_strategy.dca_levels.2.gap_percent"
    }
    assert _fields(_ladder(("0", "50", "1"), ("0.5", "50", "1"))) == {
        "grid_strategy.dca_levels.1.gap_percent"
    }


def test_dca_tp_must_be_positive() -> None:
    assert _fields(_ladder(("0", "100", "0"))) == {"grid_strategy.dca_levels.0.tp_percent"}


def test_dca_ladder_may_not_exceed_max_dca_per_pyramid() -> None:
    three = (("0", "40", "1"), ("-1", "30", "1"), ("-2", "30", "1"))
    errors = _errors(_ladder(*three, max_dca_per_pyramid=2))
    assert errors == [
        {"field": "grid_strategy.dca_levels", "message": "3 levels configured but max_dca_per_pyramid is 2"}
    ]
    assert validate_document(_ladder(*three, max_dca_per_pyramid=3))


def test_dca_ladder_needs_a_level() -> None:
    assert _fields({"grid_strategy": {"dca_levels": []}}) == {"grid_strategy.dca_levels"}


def test_all_ladder_problems_are_reported_together() -> None:
    errors = _errors(_ladder(("1", "60", "1"), ("1", "0", "0"), ("-1", "30", "1"), max_dca_per_pyramid=2))
    assert [e["field"] for e in errors] == [
        "grid_strategy.dca_levels",
        "grid_strategy.dca_levels.0.gap_percent",
        "grid_strategy.dca_levels.1.gap_percent",
        "grid_strategy.dca_levels.1.weight_percent",
        "grid_strategy.dca_levels.1.tp_percent",
        "grid_strategy.dca_levels",
    ]


def test_dca_levels_convert_to_core_dataclasses() -> None:
    cfg = validate_document(_ladder(("0", "25", "1.5"), ("-0.75", "75", "2")))
    assert dca_levels(cfg) == [
        DcaLevel(gap_percent=Decimal("0"), weight_percent=Decimal("25"), tp_percent=Decimal("1.5")),
        DcaLevel(gap_percent=Decimal("-0.75"), weight_percent=Decimal("75"), tp_percent=Decimal("2")),
    ]


# --- secrets ----------------------------------------------------------------------------------


def test_secret_fields_are_declared() -> None:
    assert SECRET_FIELDS == (("security", "webhook_secret"),)
    assert MASK == "********"


def test_masked_document_hides_secret_but_last_two_characters() -> None:
    assert masked_document(_with_secret())["security"]["webhook_secret"] == MASK + "yz"
    assert masked_document(default_config())["security"]["webhook_secret"] == ""
    assert SECRET not in json.dumps(masked_document(_with_secret()))


def test_masked_secret_sent_back_keeps_stored_secret() -> None:
    current = _with_secret()
    sent = masked_document(current)
    sent["app"]["mode"] = "live"
    updated = merge_update(current, sent)
    assert updated.security.webhook_secret == SECRET
    assert updated.app.mode == "live"
    # Any value starting with the mask counts, e.g. one a form mangled after the mask.
    assert merge_update(current, {"security": {"webhook_secret": MASK}}).security.webhook_secret == SECRET


def test_new_secret_replaces_and_empty_secret_clears() -> None:
    current = _with_secret()
    assert merge_update(
        current, {"security": {"webhook_secret": "another-secret"}}
    ).security.webhook_secret == ("another-secret")
    assert merge_update(current, {"security": {"webhook_secret": ""}}).security.webhook_secret == ""


def test_masked_value_in_full_document_is_rejected() -> None:
    # A file pasted from the masked API view must not store the mask as the secret.
    assert _fields({"security": {"webhook_secret": MASK + "yz"}}) == {"security.webhook_secret"}


def test_secret_never_in_error_messages() -> None:
    bad = {"security": {"webhook_secret": SECRET, "hmac_header": SECRET + " bad", "nope": SECRET}}
    with pytest.raises(ConfigInvalid) as caught:
        validate_document(bad)
    assert caught.value.errors
    assert SECRET not in json.dumps(caught.value.errors) and SECRET not in str(caught.value)
    # The stored secret stays hidden when an update fails around it.
    with pytest.raises(ConfigInvalid) as caught:
        merge_update(_with_secret(), {"security": {"webhook_secret": MASK, "require_hmac": "maybe"}})
    assert SECRET not in json.dumps(caught.value.errors) and SECRET not in str(caught.value)


# --- updates ----------------------------------------------------------------------------------


def test_partial_update_keeps_other_sections() -> None:
    current = validate_document({"ui": {"theme": "light"}, "app": {"instance_name": "desk-1"}})
    updated = merge_update(current, {"app": {"mode": "live"}})
    assert updated.app.mode == "live"
    assert updated.app.instance_name == "desk-1"  # other fields of a given section are kept too
    assert updated.ui.theme == "light"
    assert updated.grid_strategy == current.grid_strategy


def test_update_replaces_lists_whole() -> None:
    updated = merge_update(default_config(), _ladder(("0", "100", "1")))
    assert len(updated.grid_strategy.dca_levels) == 1


def test_invalid_update_changes_nothing() -> None:
    current = _with_secret()
    before = to_json_dict(current)
    with pytest.raises(ConfigInvalid) as caught:
        merge_update(current, {"app": {"mode": "live"}, "ui": {"theme": "neon"}})
    assert [e["field"] for e in caught.value.errors] == ["ui.theme"]
    assert to_json_dict(current) == before
    with pytest.raises(ConfigInvalid):
        merge_update(current, ["not", "a", "document"])  # type: ignore[arg-type]


def test_update_with_unknown_section_is_an_error() -> None:
    with pytest.raises(ConfigInvalid) as caught:
        merge_update(default_config(), {"risk": {"enabled": False}})
    assert caught.value.errors == [{"field": "risk", "message": "Extra inputs are not permitted"}]


# --- reference and docs -----------------------------------------------------------------------


def test_field_reference_lists_every_field_with_a_description() -> None:
    rows = field_reference()
    names = {(r["section"], r["name"]) for r in rows}
    for section, value in to_json_dict(default_config()).items():
        if isinstance(value, dict):
            assert {(section, name) for name in value} <= names
        else:
            assert ("", section) in names
    assert ("grid_strategy", "dca_levels[].weight_percent") in names
    assert all(r["description"] for r in rows)
    assert all(
        set(r) == {"section", "name", "type", "default", "required", "bounds", "description"} for r in rows
    )
    poll = next(r for r in rows if r["name"] == "engine_poll_interval_ms")
    assert (poll["default"], poll["bounds"], poll["type"]) == (100, "20 to 5000", "int")
    fee = next(r for r in rows if r["name"] == "paper_fee_percent")
    assert (fee["default"], fee["type"]) == ("0.1", "decimal")
    json.dumps(rows)  # JSON-able, for the settings UI


def test_docs_list_every_field() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    missing = [r["name"] for r in field_reference() if f"`{r['name']}`" not in doc]
    assert not missing


def test_docs_reference_matches_schema() -> None:
    generator = _load_generator()
    doc = (ROOT / "docs" / "configuration.md").read_text()
    assert generator.replace_generated(doc, generator.render_markdown()) == doc, (
        "run: .venv/bin/python scripts/gen_config_reference.py --write docs/configuration.md"
    )


def test_schema_module_imports_no_django() -> None:
    code = (
        "import sys, trading.config_schema; "
        "sys.exit(any(m == 'django' or m.startswith('django.') for m in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
