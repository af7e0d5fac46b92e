"""The configuration sections of trading as pydantic models (defaults, bounds and a description per
field), and the whole document, `EngineConfig`, with the sections of running the engine from
`config_operations`.

No Django here. `config_schema` validates, merges and masks whole documents built from these.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from trading.core.types import TpMode

from .config_base import MASK, ConfigPath, Section, rule_error  # noqa: F401 - MASK: re-exported
from .config_operations import (  # noqa: F401 - TRADINGVIEW_WEBHOOK_IPS: re-exported
    TRADINGVIEW_WEBHOOK_IPS,
    AnalyticsSettings,
    BackupSettings,
    LoggingSettings,
    SecuritySettings,
    UiSettings,
)

CONFIG_VERSION = 1
SECRET_FIELDS: tuple[tuple[str, str], ...] = (("security", "webhook_secret"),)
# Keys an older version documented and this one no longer has, as (section, field); field None
# retires the whole section. A document that still carries one loads: `config_schema` drops the key
# with a logged note instead of failing on it as unknown (sections forbid extra keys).
RETIRED_FIELDS: tuple[tuple[str, str | None], ...] = (
    # `precision`: both of its switches only ever had one safe setting, which is now fixed.
    # - enforce: prices and quantities are always rounded on the exchange's grid and checked
    #   against its minimums. Off, orders would go out off-grid or too small, and the exchange
    #   (the paper one too) would reject them after the group was opened.
    # - merge_small_legs: a DCA leg below the exchange minimum always hands its weight to a
    #   neighbour (core/ladder.py). Dropping it instead would quietly buy less than the pyramid's
    #   configured size.
    ("precision", None),
)

SelectionRule = Literal[
    "pyramid_continuation",
    "highest_loss_percent",
    "highest_replacement_count",
    "highest_expected_profit",
    "fifo",
]
SELECTION_RULES: tuple[str, ...] = get_args(SelectionRule)


class ConfigInvalid(Exception):
    """A document that failed validation; `errors` lists every problem as {"field", "message"}."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        summary = "; ".join(f"{e['field'] or '<document>'}: {e['message']}" for e in errors)
        super().__init__(f"invalid configuration ({len(errors)} error(s)): {summary}")


class AppSettings(Section):
    mode: Literal["paper", "live"] = Field(
        "paper",
        description="paper: new positions open only where no real money is at stake (the paper exchange,"
        " exchange testnets); an entry for a real-money account is rejected, while positions already"
        " open there are still managed (take-profits, exits, risk closes). live: every enabled account"
        " trades.",
    )
    instance_name: str = Field(
        "tv-engine",
        min_length=1,
        max_length=64,
        description="Name of this install, shown in the console's header and page titles and in"
        " GET /api/v1/health.",
    )
    engine_poll_interval_ms: int = Field(
        100, ge=20, le=5000, description="How often the engine loop looks at the inbox, orders and prices."
    )
    heartbeat_interval_sec: int = Field(
        2,
        ge=1,
        le=60,
        description="How often the engine records that it is alive.",
    )


class ExchangeSettings(Section):
    default_account: str = Field(
        "paper",
        min_length=1,
        max_length=64,
        description="Label of the account used when a webhook names no exchange, or one with no account.",
    )
    precision_refresh_sec: int = Field(
        60, ge=5, le=86400, description="How often market rules (tick, step, minimums) are refreshed."
    )
    precision_stale_after_sec: int = Field(
        600,
        ge=10,
        le=604800,
        description="Market rules older than this are stale and signals are held until they refresh.",
        json_schema_extra={"rule": "greater than precision_refresh_sec"},
    )
    order_sync_interval_ms: int = Field(
        500, ge=50, le=60000, description="How often open orders are reconciled with the exchange."
    )
    paper_starting_balance_usdt: Decimal = Field(
        Decimal("10000"),
        gt=0,
        le=Decimal("1000000000"),
        description="Quote balance a fresh paper account starts with.",
    )
    paper_fee_percent: Decimal = Field(
        Decimal("0.1"),
        ge=0,
        le=5,
        description="Fee the paper exchange charges on every fill, in percent of notional.",
    )
    paper_partial_fill_ratio: Decimal = Field(
        Decimal("1"),
        gt=0,
        le=1,
        description="Fraction of a crossing paper limit order filled per price update; below 1 simulates partial fills.",
    )
    paper_feed: Literal["manual", "walk", "replay"] = Field(
        "manual",
        description="Paper price source: manual (set from the UI/tests), walk (seeded random walk), replay (a file).",
    )
    paper_walk_seed: int = Field(
        42, ge=0, description="Seed of the random walk, so a paper run can be repeated."
    )
    paper_walk_volatility_percent: Decimal = Field(
        Decimal("0.2"), ge=0, le=50, description="Standard deviation of one random-walk step, in percent."
    )
    paper_replay_file: str | None = Field(
        None,
        description="Price file the replay feed plays back.",
        json_schema_extra={"rule": "required when paper_feed is replay"},
    )

    @model_validator(mode="after")
    def _consistent(self) -> ExchangeSettings:
        problems: list[tuple[ConfigPath, str]] = []
        if self.precision_stale_after_sec <= self.precision_refresh_sec:
            # Otherwise rules would go stale between two refreshes and every signal would be held.
            problems.append((("precision_stale_after_sec",), "must be greater than precision_refresh_sec"))
        if self.paper_feed == "replay" and not self.paper_replay_file:
            problems.append((("paper_replay_file",), "is required when paper_feed is replay"))
        if problems:
            raise rule_error(problems)
        return self


class ExecutionPoolSettings(Section):
    max_open_groups: int = Field(
        10, ge=1, le=1000, description="Position groups open at once; further signals wait in the queue."
    )


class DcaLevelSettings(Section):
    # Bounds live in `_ladder_problems`, not on the fields, so a bad ladder is reported in full
    # (a per-field failure would stop pydantic before the cross-level checks ran).
    gap_percent: Decimal = Field(
        description="Distance of this level's entry from the pyramid's entry price (DCA0), in percent; "
        "negative = against the position (below entry for a long, above for a short).",
        json_schema_extra={"rule": "first level 0, then strictly decreasing, > -100"},
    )
    weight_percent: Decimal = Field(
        description="Share of the pyramid size this level buys, in percent.",
        json_schema_extra={"rule": "> 0; all levels sum to exactly 100"},
    )
    tp_percent: Decimal = Field(
        description="Take-profit of this level's leg from its own fill price, in percent (leg/hybrid TP modes).",
        json_schema_extra={"rule": "> 0"},
    )


def _ladder_problems(
    levels: tuple[DcaLevelSettings, ...], max_levels: int | None
) -> list[tuple[ConfigPath, str]]:
    """Every way a DCA ladder breaks the rules, as (path within the list, message)."""
    # Emptiness is checked here rather than with min_length: pydantic adds a misleading
    # "at least 1 item" error whenever any item fails.
    if not levels:
        return [((), "needs at least one level (DCA0)")]
    problems: list[tuple[ConfigPath, str]] = []
    if max_levels is not None and len(levels) > max_levels:
        problems.append(((), f"{len(levels)} levels configured but max_dca_per_pyramid is {max_levels}"))
    for i, level in enumerate(levels):
        if i == 0 and level.gap_percent != 0:
            problems.append(((0, "gap_percent"), "the first level (DCA0) must have gap 0"))
        if i > 0 and level.gap_percent >= levels[i - 1].gap_percent:
            problems.append(
                ((i, "gap_percent"), f"must be below the previous level's gap ({levels[i - 1].gap_percent})")
            )
        if level.gap_percent <= -100:
            problems.append(((i, "gap_percent"), "must be greater than -100"))
        if level.weight_percent <= 0:
            problems.append(((i, "weight_percent"), "must be greater than 0"))
        if level.tp_percent <= 0:
            problems.append(((i, "tp_percent"), "must be greater than 0"))
    total = sum((level.weight_percent for level in levels), Decimal(0))
    if total != 100:
        problems.append(((), f"weights must sum to exactly 100 (got {total})"))
    return problems


_DEFAULT_LADDER = tuple(
    DcaLevelSettings(gap_percent=Decimal(gap), weight_percent=Decimal("20"), tp_percent=Decimal(tp))
    for gap, tp in (("0", "1"), ("-0.5", "0.5"), ("-1", "2"), ("-1.5", "1.5"), ("-2", "1"))
)


class GridStrategySettings(Section):
    max_pyramids_per_group: int = Field(
        5, ge=1, le=20, description="Pyramids (repeat entry signals) a position group may add."
    )
    max_dca_per_pyramid: int = Field(7, ge=1, le=20, description="Upper limit on the number of DCA levels.")
    tp_mode: TpMode = Field(
        TpMode.LEG,
        description="leg: each leg takes profit on its own; aggregate: the group closes at aggregate_tp_percent "
        "from its average entry; hybrid: both, whichever comes first.",
    )
    aggregate_tp_percent: Decimal = Field(
        Decimal("1.0"),
        gt=0,
        le=1000,
        description="Group take-profit from the weighted average entry, in percent.",
    )
    default_pyramid_size_quote: Decimal = Field(
        Decimal("100"), gt=0, description="Quote amount of one pyramid when the signal carries no size."
    )
    # Placed after max_dca_per_pyramid on purpose: the ladder check reads that value from info.data.
    dca_levels: tuple[DcaLevelSettings, ...] = Field(
        _DEFAULT_LADDER,
        description="The DCA ladder every pyramid places (DCA0 first).",
        json_schema_extra={
            "rule": "1 to max_dca_per_pyramid levels; weights sum to 100; gaps 0 then strictly decreasing"
        },
    )
    max_slippage_percent: Decimal = Field(
        Decimal("0.5"),
        ge=0,
        le=50,
        description="DCA0's slippage guard when the signal carries none, in percent.",
    )
    max_entry_deviation_percent: Decimal = Field(
        Decimal("5"),
        ge=0,
        le=100,
        description="An entry whose price is further than this from the exchange's live price is rejected"
        " (a stale or mistyped price would fill the whole ladder at once), in percent; 0 = off."
        " Without a live price the entry is accepted and a warning logged.",
    )

    @field_validator("dca_levels", mode="after")
    @classmethod
    def _ladder(
        cls, levels: tuple[DcaLevelSettings, ...], info: ValidationInfo
    ) -> tuple[DcaLevelSettings, ...]:
        problems = _ladder_problems(levels, info.data.get("max_dca_per_pyramid"))
        if problems:
            raise rule_error(problems)
        return levels


class WaitingRuleSettings(Section):
    queue_replace_same_symbol: bool = Field(
        True, description="A new queued signal for a symbol already waiting replaces the older one."
    )
    selection_priority: tuple[SelectionRule, ...] = Field(
        SELECTION_RULES,
        description="Order of tie-breakers used to pick the next queued signal when a slot frees up.",
        json_schema_extra={"rule": "one or more of: " + ", ".join(SELECTION_RULES) + "; no duplicates"},
    )
    queue_limit: int = Field(
        50,
        ge=1,
        le=10000,
        description=(
            "Entries the waiting queue holds; one more evicts the lowest-ranked entry "
            "(a newcomer that ranks last is rejected instead)."
        ),
    )
    max_queue_age_minutes: int = Field(
        240, ge=0, le=43200, description="Queued signals older than this expire; 0 = never."
    )

    @field_validator("selection_priority", mode="after")
    @classmethod
    def _no_duplicates(cls, rules: tuple[str, ...]) -> tuple[str, ...]:
        if not rules:
            raise PydanticCustomError("empty", "needs at least one rule")
        seen: set[str] = set()
        problems: list[tuple[ConfigPath, str]] = []
        for i, rule in enumerate(rules):
            if rule in seen:
                problems.append(((i,), f"{rule} is listed twice"))
            seen.add(rule)
        if problems:
            raise rule_error(problems)
        return rules


class RiskEngineSettings(Section):
    enabled: bool = Field(True, description="Let the risk engine close losing groups against winners.")
    require_full_pyramids: bool = Field(
        True, description="Only groups that used all their pyramids are eligible for a risk close."
    )
    enable_post_full_wait: bool = Field(
        True, description="Wait post_full_wait_minutes after the timer starts before acting."
    )
    post_full_wait_minutes: int = Field(60, ge=0, le=10080, description="Length of the post-full wait.")
    timer_start_condition: Literal["after_5_pyramids", "after_all_dca_submitted", "after_all_dca_filled"] = (
        Field("after_5_pyramids", description="What starts a group's wait timer.")
    )
    reset_timer_on_replacement: bool = Field(
        True, description="Restart the wait timer when a queued signal replaces the group's pending one."
    )
    loss_threshold_percent: Decimal = Field(
        Decimal("-5"),
        lt=0,
        ge=-100,
        description="A group becomes a risk candidate once its unrealised loss reaches this percent.",
    )
    use_trade_age_filter: bool = Field(
        False, description="Also require the group to be older than age_threshold_minutes."
    )
    age_threshold_minutes: int = Field(
        200, ge=0, le=525600, description="Minimum group age for the age filter."
    )
    max_winners_to_combine: int = Field(
        3, ge=1, le=10, description="Winning groups whose profit may be combined to offset one loser."
    )
    partial_close_enabled: bool = Field(
        True, description="Allow closing only part of a winner when that covers the loss."
    )
    min_close_notional: Decimal = Field(
        Decimal("20"), ge=0, description="Smallest quote notional the risk engine will close in one order."
    )
    evaluate_interval_sec: int = Field(10, ge=1, le=3600, description="How often the risk engine runs.")
    evaluate_on_fill: bool = Field(True, description="Also run the risk engine right after any fill.")


class EngineConfig(Section):
    version: int = Field(
        CONFIG_VERSION, ge=1, le=CONFIG_VERSION, description="Format version of this document."
    )
    app: AppSettings = Field(default_factory=AppSettings)
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    execution_pool: ExecutionPoolSettings = Field(default_factory=ExecutionPoolSettings)
    grid_strategy: GridStrategySettings = Field(default_factory=GridStrategySettings)
    waiting_rule: WaitingRuleSettings = Field(default_factory=WaitingRuleSettings)
    risk_engine: RiskEngineSettings = Field(default_factory=RiskEngineSettings)
    logging: LoggingSettings = Field(default_factory=LoggingSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    ui: UiSettings = Field(default_factory=UiSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    backup: BackupSettings = Field(default_factory=BackupSettings)


def _sections() -> dict[str, type[Section]]:
    found: dict[str, type[Section]] = {}
    for name, info in EngineConfig.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, Section):
            found[name] = info.annotation
    return found


SECTIONS = _sections()
