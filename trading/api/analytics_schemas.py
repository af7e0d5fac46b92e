"""Shapes of the analytics endpoints and of the trade list's filters. Money and ratios are decimal
strings, like the rest of the API."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import BeforeValidator, ConfigDict, Field

from .schemas import Dec, SymbolParam, TimeframeParam


def _moment(raw: Any, *, end: bool) -> Any:
    """An ISO date or datetime; without an offset it is UTC. A bare date as `to` means the end of
    that day (its next midnight), so `from=2026-12-01&to=2026-12-01` is the whole day."""
    if isinstance(raw, datetime | date) or raw is None:
        return raw
    text = str(raw).strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return moment + timedelta(days=1) if end else moment
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a date or datetime: {text[:40]!r}; use e.g. 2026-12-01 or 2026-12-01T08:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


FromParam = Annotated[
    datetime,
    BeforeValidator(lambda raw: _moment(raw, end=False)),
    Field(description="inclusive: an ISO date (its midnight UTC) or datetime (UTC without an offset)"),
]
ToParam = Annotated[
    datetime,
    BeforeValidator(lambda raw: _moment(raw, end=True)),
    Field(description="exclusive: an ISO datetime, or a date meaning up to the end of that day (UTC)"),
]
SideParam = Literal["long", "short"]
ReasonParam = Literal["tp_leg", "tp_group", "exit", "reduce", "reverse", "risk", "manual"]
OutcomeParam = Literal["win", "loss"]
TradeSort = Literal[
    "closed_at", "-closed_at", "pnl", "-pnl", "symbol", "-symbol", "timeframe", "-timeframe", "side",
    "-side", "reason", "-reason", "qty", "-qty", "fees", "-fees", "entry_price", "-entry_price",
    "exit_price", "-exit_price", "id", "-id",
]  # fmt: skip
MAX_EQUITY_POINTS = 2000


class AnalyticsFilter(Schema):
    """The filters every analytics read shares, as query parameters: the API's endpoints and the
    console's /trades/ page read them through this one definition."""

    model_config = ConfigDict(populate_by_name=True)

    start: FromParam | None = Field(None, alias="from")
    end: ToParam | None = Field(None, alias="to")
    account: str | None = Field(None, max_length=60, description="an exchange account's label")
    symbol: SymbolParam | None = None
    timeframe: TimeframeParam | None = None
    side: SideParam | None = None


class TradeFilter(AnalyticsFilter):
    """The trade list's filters and order (the API's `GET /trades`, the console's /trades/)."""

    reason: ReasonParam | None = None
    outcome: OutcomeParam | None = Field(None, description="win: PnL above 0; loss: below 0")
    sort: TradeSort = Field("-closed_at", description="a field, `-` first for descending")


class StatsOut(Schema):
    trades: int
    wins: int
    losses: int
    net_pnl: Dec
    gross_profit: Dec
    gross_loss: Dec
    fees: Dec
    volume: Dec
    win_rate: Dec | None  # percent of trades that won
    avg_win: Dec | None
    avg_loss: Dec | None
    rr_ratio: Dec | None  # avg win ÷ |avg loss|
    profit_factor: Dec | None  # gross profit ÷ |gross loss|; null without a loss
    profit_factor_infinite: bool  # wins and no loss: the profit factor is ∞


class KeyedStatsOut(StatsOut):
    key: str


class RealisedOut(Schema):
    day: Dec  # the current UTC day
    week: Dec  # since Monday 00:00 UTC
    month: Dec
    all: Dec  # every selected trade


class PeriodPnlOut(Schema):
    start: date
    net_pnl: Dec
    trades: int


class TradeBriefOut(Schema):
    id: int
    closed_at: datetime
    account: str
    symbol: str
    timeframe: str
    side: str
    reason: str
    qty: Dec
    entry_price: Dec
    exit_price: Dec
    realized_pnl: Dec
    fees: Dec
    return_percent: Dec | None


class BinOut(Schema):
    lower: Dec
    upper: Dec
    count: int


class HeatCellOut(Schema):
    symbol: str
    timeframe: str
    net_pnl: Dec
    trades: int


class DayOut(Schema):
    day: date
    trades: int
    volume: Dec
    net_pnl: Dec
    best_symbol: str
    best_symbol_pnl: Dec
    worst_symbol: str
    worst_symbol_pnl: Dec


class DrawdownOut(Schema):
    max_usd: Dec
    max_percent: Dec | None
    current_usd: Dec
    current_percent: Dec | None


class RiskMetricsOut(Schema):
    equity_source: Literal["snapshots", "trades"]
    capital_base: Dec
    drawdown: DrawdownOut
    daily_returns: int  # how many daily returns the ratios are computed from
    sharpe: Dec | None  # annualised √365, risk-free 0
    sortino: Dec | None


class SummaryOut(Schema):
    start: datetime | None
    end: datetime | None
    generated_at: datetime
    realised: RealisedOut
    unrealised: Dec  # open groups at the last stored prices
    unpriced_groups: int  # open groups without a stored price (counted as 0)
    stats: StatsOut
    long: StatsOut
    short: StatsOut
    by_pair: list[KeyedStatsOut]
    by_timeframe: list[KeyedStatsOut]
    by_side: list[KeyedStatsOut]
    pnl_by_day: list[PeriodPnlOut]
    pnl_by_week: list[PeriodPnlOut]
    pnl_by_month: list[PeriodPnlOut]
    best: list[TradeBriefOut]
    worst: list[TradeBriefOut]
    histogram: list[BinOut]
    heatmap: list[HeatCellOut]
    daily: list[DayOut]
    risk: RiskMetricsOut


class EquityPointOut(Schema):
    at: datetime
    realised: Dec
    total: Dec
    drawdown_usd: Dec
    drawdown_percent: Dec | None


class EquityOut(Schema):
    source: Literal["snapshots", "trades"]
    capital_base: Dec
    count: int  # points before downsampling
    points: list[EquityPointOut]
