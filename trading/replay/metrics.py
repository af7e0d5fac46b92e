"""The replay's summary, from the project's own metric functions (trading/core/analytics.py and
equity.py). Pure: no Django."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from trading.core.analytics import TradeRecord, trade_stats
from trading.core.equity import drawdown, realised_curve

_CENT = Decimal("0.01")


def _q(value: Decimal | None, places: Decimal = _CENT) -> str | None:
    return None if value is None else str(value.quantize(places))


def summary(trades: Sequence[TradeRecord], start_balance: Decimal) -> dict[str, Any]:
    """Trades, win rate, realised PnL, max drawdown (realised equity from `start_balance`), profit
    factor; money to the cent, as strings (JSON keeps them exact)."""
    stats = trade_stats(trades)
    curve = realised_curve(trades, start_balance)
    dd = drawdown([start_balance] + [p.total for p in curve])
    if stats.profit_factor_infinite:
        profit_factor = "inf"
    else:
        profit_factor = _q(stats.profit_factor)
    return {
        "trades": stats.trades,
        "wins": stats.wins,
        "losses": stats.losses,
        "win_rate_percent": _q(stats.win_rate),
        "realised_pnl": _q(stats.net_pnl),
        "fees": _q(stats.fees),
        "max_drawdown": _q(dd.max_usd),
        "max_drawdown_percent": _q(dd.max_percent, Decimal("0.0001")),
        "profit_factor": profit_factor,
    }


SUMMARY_ROWS = [
    ("trades", "trades"),
    ("win rate %", "win_rate_percent"),
    ("realised PnL", "realised_pnl"),
    ("fees", "fees"),
    ("max drawdown", "max_drawdown"),
    ("max drawdown %", "max_drawdown_percent"),
    ("profit factor", "profit_factor"),
]


def format_summaries(columns: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """One column per (label, summary), side by side."""
    width = max([16] + [len(label) + 2 for label, _ in columns])
    lines = ["".ljust(16) + "".join(label.rjust(width) for label, _ in columns)]
    for title, key in SUMMARY_ROWS:
        cells = "".join(str(s.get(key) if s.get(key) is not None else "-").rjust(width) for _, s in columns)
        lines.append(title.ljust(16) + cells)
    return "\n".join(lines)
