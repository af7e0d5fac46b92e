"""The /analytics/ page: the filters, the API's own summary and equity answers, the capital split,
and the small stamp a live push re-renders so the page knows when there is something new to read.

The numbers are the API's (`trading.api.routes_analytics`, computed by the pure cores): the page shows
them as tables and cards and hands the chart island the same API's URLs, so a figure in a table and
the bar in a chart can never disagree.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import Max
from django.http import HttpRequest, QueryDict
from ninja.errors import HttpError

from exchanges.models import ExchangeAccount, Venue
from exchanges.paper_models import PaperBalance
from trading import config_service
from trading.api import routes_analytics
from trading.api.analytics_schemas import MAX_EQUITY_POINTS, TradeFilter
from trading.core.capital import Allocation, Exposure, allocation
from trading.models import DcaLeg, EquitySnapshot, LegState, PositionGroup, Trade
from trading.models.groups import OPEN_STATUSES
from trading.reads.analytics import Selection
from trading.reads.trades import BadSelection, selection_of

from . import trades as trade_data
from .metrics import figures_for
from .state import ViewState

FILTERS = ("from", "to", "account", "symbol", "timeframe", "side")
HISTOGRAM_BINS = 20
_ZERO = Decimal(0)
_RESTING = (LegState.OPEN, LegState.PARTIALLY_FILLED)


@dataclass(frozen=True)
class AnalyticsQuery:
    """The page's filters after validation: the API filter, what the form shows, what was ignored."""

    filter: TradeFilter  # the trade list's filter schema; the analytics fields are the ones used
    values: dict[str, str]
    problems: tuple[str, ...]

    @property
    def api_query(self) -> str:
        """The valid filters as the API's query string ("" for none): the island's data-src."""
        return urlencode({k: self.values[k] for k in FILTERS if self.values.get(k)})

    @property
    def filtering(self) -> bool:
        return bool(self.api_query)


def read_query(params: QueryDict) -> AnalyticsQuery:
    """The query string read as the trade history reads it (one lenient reading of the API's filter
    schema): a bad value is dropped with a line saying why, the others still apply."""
    found = trade_data.read_query(params)
    values = {k: v for k, v in found.values.items() if k in FILTERS}
    return AnalyticsQuery(found.filter, values, found.problems)


def _selection(query: AnalyticsQuery) -> Selection:
    f = query.filter
    return selection_of(f.start, f.end, f.account, f.symbol, f.timeframe, f.side)


# The API's analytics routes read nothing from their request (the filters arrive as arguments); the
# page calls them with a blank one, so a live push (no request at all) renders the same figures.
_NO_REQUEST = HttpRequest()


def summary(query: AnalyticsQuery) -> tuple[dict | None, str]:
    """The API's summary for these filters, or why the filters select nothing (an empty range, an
    unknown account): the page says so instead of failing."""
    try:
        return routes_analytics.summary(_NO_REQUEST, query.filter, bins=HISTOGRAM_BINS), ""
    except HttpError as exc:
        return None, str(exc)


def equity(query: AnalyticsQuery) -> list[dict[str, Any]]:
    """The equity series the chart draws (thinned to the API's maximum), for the CSV export."""
    try:
        return routes_analytics.equity(_NO_REQUEST, query.filter, max_points=MAX_EQUITY_POINTS)["points"]
    except HttpError:
        return []


def _free_balance(selection: Selection) -> Decimal | None:
    """Free quote balance of the accounts in scope; known only when every one of them is a paper
    account (a live venue's balance is read by the engine alone)."""
    accounts = ExchangeAccount.objects.filter(enabled=True)
    if selection.account is not None:
        accounts = accounts.filter(pk=selection.account.pk)
    venues = list(accounts.values_list("pk", "venue"))
    if not venues or any(venue != Venue.PAPER for _, venue in venues):
        return None
    free = PaperBalance.objects.filter(account__in=[pk for pk, _ in venues], asset="USDT")
    return sum(free.values_list("free", flat=True), _ZERO)


def capital(query: AnalyticsQuery) -> Allocation | None:
    """The open groups the filters select, split into deployed, resting and free capital (the dates
    do not apply: this is now). None when the filters select nothing sensible."""
    try:
        selection = _selection(query)
    except BadSelection:
        return None
    groups = list(
        PositionGroup.objects.filter(status__in=OPEN_STATUSES)
        .filter(selection.where(None))
        .only("id", "side", "account_id", "symbol")
    )
    figures = figures_for(groups, open_only=True)
    resting: dict[int, Decimal] = defaultdict(lambda: _ZERO)
    legs = DcaLeg.objects.filter(group__in=[g.pk for g in groups], state__in=_RESTING)
    for group_id, price, qty, filled in legs.values_list("group_id", "price", "qty", "filled_qty"):
        resting[group_id] += price * (qty - filled)
    by_symbol: dict[str, list[PositionGroup]] = defaultdict(list)
    for group in groups:
        by_symbol[group.symbol].append(group)
    exposures = [
        Exposure(
            symbol,
            sum((figures[g.pk].cost for g in members), _ZERO),
            sum((resting[g.pk] for g in members), _ZERO),
            len(members),
        )
        for symbol, members in by_symbol.items()
    ]
    pool_used = PositionGroup.objects.filter(status__in=OPEN_STATUSES).count()  # the pool is shared
    pool_max = config_service.current().execution_pool.max_open_groups
    return allocation(exposures, _free_balance(selection), pool_used, pool_max)


def page(view: ViewState) -> dict[str, Any]:
    """Everything the page's server-rendered part shows (dashboard.panels' full-page builder)."""
    query = read_query(view.params)
    found, problem = summary(query)
    return {
        "query": query,
        "filters": query.values,
        "filter_problems": list(query.problems),
        "selection_problem": problem,
        "summary": found,
        "capital": capital(query) if found is not None else None,
        "accounts": list(ExchangeAccount.objects.order_by("label").values_list("label", flat=True)),
        # Without the socket (its beats stop), the charts re-read on the snapshot cadence.
        "poll_sec": config_service.current().analytics.snapshot_interval_sec,
        **stamp_values(),
    }


def stamp_values() -> dict[str, str]:
    """What changes when there is something new to chart: a close, or an equity snapshot."""
    trade = Trade.objects.aggregate(last=Max("id"))["last"] or 0
    snapshot = EquitySnapshot.objects.aggregate(last=Max("id"))["last"] or 0
    return {"analytics_version": f"{trade}.{snapshot}"}


def stamp(view: ViewState) -> dict[str, str]:
    """The live fragment's builder (dashboard.panels): two index lookups, whatever the filters."""
    return stamp_values()
