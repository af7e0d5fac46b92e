"""The settings form's pure parts: the diff a review shows (secrets masked), the posted form read back
into a partial document, errors mapped onto inputs, and the list and ladder edits."""

from __future__ import annotations

from django.http import QueryDict

from dashboard.settings_forms import (
    document_from_form,
    errors_by_field,
    ladder_edit,
    ladder_messages,
    move,
    parse_levels,
    priority_rows,
)
from trading.config_diff import diff, diff_documents
from trading.config_schema import MASK, default_config, merge_update


def form(**fields: str | list[str]) -> QueryDict:
    data = QueryDict(mutable=True)
    for key, value in fields.items():
        data.setlist(key.replace("__", "."), value if isinstance(value, list) else [value])
    return data


def test_diff_lists_each_changed_value_in_document_order() -> None:
    old = default_config()
    new = merge_update(old, {"app": {"instance_name": "desk"}, "execution_pool": {"max_open_groups": 3}})
    assert [(c.path, c.old, c.new) for c in diff(old, new)] == [
        ("app.instance_name", "tv-engine", "desk"),
        ("execution_pool.max_open_groups", "10", "3"),
    ]


def test_diff_masks_a_changed_secret_even_when_both_end_alike() -> None:
    old = merge_update(default_config(), {"security": {"webhook_secret": "first-secret-xy"}})
    new = merge_update(old, {"security": {"webhook_secret": "other-secret-xy"}})
    [change] = diff(old, new)
    assert change.path == "security.webhook_secret"
    assert (change.old, change.new) == (MASK + "xy", MASK + " (changed)")
    assert "secret" not in change.old.replace(MASK, "") and "first" not in change.new


def test_diff_compares_dca_levels_cell_by_cell_and_names_added_rows() -> None:
    old = {"grid_strategy": {"dca_levels": [{"gap_percent": "0", "weight_percent": "100"}]}}
    new = {
        "grid_strategy": {
            "dca_levels": [
                {"gap_percent": "0", "weight_percent": "60"},
                {"gap_percent": "-1", "weight_percent": "40"},
            ]
        }
    }
    changes = {c.path: (c.old, c.new) for c in diff_documents(old, new)}
    assert changes == {
        "grid_strategy.dca_levels[0].weight_percent": ("100", "60"),
        "grid_strategy.dca_levels[1]": ("(none)", "gap_percent -1, weight_percent 40"),
    }


def test_the_form_sends_only_the_fields_it_holds() -> None:
    doc = document_from_form(form(app__instance_name=" desk ", execution_pool__max_open_groups="7"))
    assert doc == {"app": {"instance_name": "desk"}, "execution_pool": {"max_open_groups": "7"}}


def test_an_unticked_checkbox_is_false_and_a_ticked_one_true() -> None:
    doc = document_from_form(
        form(risk_engine__enabled="false", risk_engine__evaluate_on_fill=["false", "true"])
    )
    assert doc == {"risk_engine": {"enabled": False, "evaluate_on_fill": True}}


def test_lists_optional_text_and_the_ladder_are_read_in_their_own_shapes() -> None:
    doc = document_from_form(
        form(
            security__ip_allowlist="10.0.0.1\n\n 10.0.0.0/24 ",
            exchange__paper_replay_file="",
            waiting_rule__selection_priority__sent="1",
            waiting_rule__selection_priority=["fifo", "highest_loss_percent"],
            grid_strategy__dca_levels__sent="1",
            grid_strategy__dca_levels__1__gap_percent="-1",
            grid_strategy__dca_levels__1__weight_percent="40",
            grid_strategy__dca_levels__1__tp_percent="1",
            grid_strategy__dca_levels__0__gap_percent="0",
            grid_strategy__dca_levels__0__weight_percent="60",
            grid_strategy__dca_levels__0__tp_percent="2",
        )
    )
    assert doc["security"]["ip_allowlist"] == ["10.0.0.1", "10.0.0.0/24"]
    assert doc["exchange"]["paper_replay_file"] is None
    assert doc["waiting_rule"]["selection_priority"] == ["fifo", "highest_loss_percent"]
    assert doc["grid_strategy"]["dca_levels"] == [
        {"gap_percent": "0", "weight_percent": "60", "tp_percent": "2"},
        {"gap_percent": "-1", "weight_percent": "40", "tp_percent": "1"},
    ]


def test_errors_land_on_their_input_and_list_items_on_their_list() -> None:
    by_field, general = errors_by_field(
        [
            {"field": "app.mode", "message": "bad"},
            {"field": "waiting_rule.selection_priority.2", "message": "fifo is listed twice"},
            {"field": "grid_strategy.dca_levels.1.gap_percent", "message": "too high"},
            {"field": "", "message": "the configuration must be a JSON object"},
        ]
    )
    assert by_field == {
        "app.mode": ["bad"],
        "waiting_rule.selection_priority": ["fifo is listed twice"],
        "grid_strategy.dca_levels.1.gap_percent": ["too high"],
    }
    assert general == ["document: the configuration must be a JSON object"]
    assert ladder_messages(by_field) == ["DCA1 gap %: too high"]


def test_move_swaps_with_the_neighbour_and_stops_at_the_ends() -> None:
    assert move(["a", "b", "c"], "c", "up") == ["a", "c", "b"]
    assert move(["a", "b", "c"], "a", "up") == ["a", "b", "c"]
    assert move(["a", "b", "c"], "c", "down") == ["a", "b", "c"]
    assert move(["a", "b"], "zzz", "up") == ["a", "b"]


def test_priority_rows_rank_the_used_rules_first() -> None:
    assert priority_rows(["c", "a"], ("a", "b", "c")) == [("c", True), ("a", True), ("b", False)]


def test_ladder_edit_adds_an_empty_level_and_never_removes_the_last() -> None:
    one = [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "1"}]
    assert len(ladder_edit(one, "add")) == 2
    assert ladder_edit(one, "remove:0") == one


def test_parse_levels_names_what_is_not_a_number() -> None:
    levels, problems = parse_levels([{"gap_percent": "0", "weight_percent": "abc", "tp_percent": "NaN"}])
    assert levels == []
    assert problems == ["DCA0: weight percent is not a number", "DCA0: tp percent is not a number"]
