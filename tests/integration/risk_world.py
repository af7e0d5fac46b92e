"""The shared world of the risk engine's integration tests (no tests of its own live here).

A book built through webhooks and paper prices: rising winners (ETH, SOL, LTC), and BTC taking five
pyramids on a falling market. Every number below comes from the bundled Binance rules (BTC step
0.00001, ETH step 0.0001, SOL step 0.01, LTC step 0.001), the 0.1 % paper fee, and a one-level
ladder (DCA0 takes the whole pyramid; its 50 % TP stays far away), so each pyramid is one leg
filled at the price the test set:

- BTC, 5 pyramids of 200 USDT at 43000, 42000, 41000, 40000, 39000: legs 0.00465, 0.00476,
  0.00487, 0.005, 0.00512 = 0.0244 BTC for 999.22 USDT, entry fees 0.99922.
  At 36000: 878.4 − 999.22 − 0.99922 = −121.81922 USD, −12.19 %.
- ETH, 500 USDT at 2000: 0.25 ETH, fee 0.5. At 2400: +99.5 USD.
- SOL, 500 USDT at 100: 5 SOL, fee 0.5. At 110: +49.5 USD.
- LTC, 500 USDT at 100: 5 LTC, fee 0.5.

(The shared helpers would sit beside `engine_world.py`; this session may only add `test_risk_*`.)
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.test import Client

from exchanges.core.adapter import OrderReport, OrderRequest
from risk.models import RiskEngineState
from tests.factories import ApiTokenFactory
from trading.core.clientid import Purpose, parse_client_order_id
from trading.models import Command, Event, PositionGroup

from ..conftest import configure
from .engine_world import paper_account

D = Decimal

ONE_LEVEL = [{"gap_percent": "0", "weight_percent": "100", "tp_percent": "50"}]
# DCA0 half the pyramid at its price, DCA1 half resting 1 % below it; both TPs far away.
TWO_LEVELS = [
    {"gap_percent": "0", "weight_percent": "50", "tp_percent": "50"},
    {"gap_percent": "-1", "weight_percent": "50", "tp_percent": "50"},
]
BTC_PRICES = ["43000", "42000", "41000", "40000", "39000"]
BTC_LEGS = [D("0.00465"), D("0.00476"), D("0.00487"), D("0.005"), D("0.00512")]
BTC_QTY = D("0.0244")
BTC_COST = D("999.22")
BTC_ENTRY_FEES = D("0.99922")
BTC_LOSS_AT_36000 = D("-121.81922")


def one_level_ladder(**risk: Any) -> None:
    """One leg per pyramid, TP far away; the post-full wait 0 minutes unless a test sets it."""
    configure(grid_strategy={"dca_levels": ONE_LEVEL}, risk_engine={"post_full_wait_minutes": 0, **risk})


def buy(driver, symbol: str, price: str, size: str = "500", trade_id: str | None = None) -> None:
    """Move the paper price to `price`, then send a long entry there: its DCA0 fills at that price."""
    driver.price(symbol, price)
    driver.send(symbol=symbol, price=price, size=size, trade_id=trade_id or f"{symbol}@{price}")


def btc_pyramids(driver, prices: list[str] = BTC_PRICES, size: str = "200") -> PositionGroup:
    for n, price in enumerate(prices):
        buy(driver, "BTCUSDT", price, size, trade_id=f"btc{n}")
    return group("BTC/USDT")


def book(driver, *, btc: str = "36000", eth: str | None = "2400", sol: str | None = "110") -> None:
    """ETH and SOL bought first, then BTC's five falling pyramids; then the final prices.

    Nothing in it acts by itself: the clock does not move, so after the first tick no risk cycle is
    due until a test advances it (or a fill is noticed on a sync).
    """
    if eth is not None:
        buy(driver, "ETHUSDT", "2000")
    if sol is not None:
        buy(driver, "SOLUSDT", "100")
    btc_pyramids(driver)
    driver.price("BTCUSDT", btc)
    if eth is not None:
        driver.price("ETHUSDT", eth)
    if sol is not None:
        driver.price("SOLUSDT", sol)


def two_losers(driver) -> None:
    """BTC at −12.19 % (−121.82 USD) and LTC at −15.1 % (−75.5 USD), against ETH +99.5 and SOL +149.5.

    LTC: five pyramids of 100 USDT at 100 = 5 LTC for 500, fees 0.5; at 85: 425 − 500.5 = −75.5.
    """
    book(driver, sol="130")
    for n in range(5):
        buy(driver, "LTCUSDT", "100", size="100", trade_id=f"ltc{n}")
    driver.price("LTCUSDT", "85")


def next_cycle(driver, clock, seconds: float = 10):
    """Let `evaluate_interval_sec` (10 s by default) pass and tick once: one scheduled risk cycle."""
    clock.advance(seconds=seconds)
    return driver.tick()


def group(symbol: str, timeframe: str = "15m") -> PositionGroup:
    return PositionGroup.objects.filter(symbol=symbol, timeframe=timeframe).order_by("-id").first()


def open_qtys(grp: PositionGroup) -> list[Decimal]:
    return [leg.open_qty for leg in grp.legs.order_by("pyramid__index", "index")]


def floor_to(value: Decimal, step: str) -> Decimal:
    return (value / D(step)).to_integral_value(rounding=ROUND_FLOOR) * D(step)


def state() -> RiskEngineState:
    return RiskEngineState.objects.get(pk=1)


def risk_events() -> list[str]:
    return list(
        Event.objects.filter(category=Event.Category.RISK).order_by("id").values_list("message", flat=True)
    )


def api(*, readonly: bool = False) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {ApiTokenFactory(readonly=readonly).plain}")


def risk_report(client: Client) -> dict[str, Any]:
    response = client.get("/api/v1/risk")
    assert response.status_code == 200, response.content
    return response.json()


def row(report: dict[str, Any], grp: PositionGroup) -> dict[str, Any]:
    [found] = [r for r in report["groups"] if r["group_id"] == grp.pk]
    return found


def post(client: Client, path: str, body: dict[str, Any] | None = None) -> Command:
    """POST a risk control; it must answer 202 with exactly one pending command."""
    before = set(Command.objects.values_list("pk", flat=True))
    if body is None:
        response = client.generic("POST", path)  # a bare POST: no body, no content type
    else:
        response = client.post(path, body, content_type="application/json")
    assert response.status_code == 202, response.content
    [command] = Command.objects.exclude(pk__in=before)
    assert response.json() == {"command_id": command.pk, "status": "pending"}
    return command


def order_is(
    symbol: str, purpose: Purpose, *, pyramid: int | None = None, leg: int | None = None
) -> Callable[[OrderRequest], bool]:
    """Matches the requests for `symbol` with that purpose (and pyramid and leg, when given)."""

    def match(request: OrderRequest) -> bool:
        parsed = parse_client_order_id(request.client_order_id)
        return (
            request.symbol == symbol
            and parsed is not None
            and parsed.purpose is purpose
            and (pyramid is None or parsed.pyramid == pyramid)
            and (leg is None or parsed.leg == leg)
        )

    return match


class ScriptedVenue:
    """The paper adapter behind a venue that raises a chosen error for the orders a test names,
    recording every request it was asked to place."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.requests: list[OrderRequest] = []
        self._failures: list[tuple[Callable[[OrderRequest], bool], Exception, bool]] = []

    def fail(self, when: Callable[[OrderRequest], bool], error: Exception, *, once: bool = False) -> None:
        self._failures.append((when, error, once))

    def heal(self) -> None:
        self._failures.clear()

    def create_order(self, request: OrderRequest) -> OrderReport:
        self.requests.append(request)
        for n, (when, error, once) in enumerate(self._failures):
            if when(request):
                if once:
                    del self._failures[n]
                raise error
        return self.inner.create_order(request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install_scripted_venue(engine) -> ScriptedVenue:
    """Put a ScriptedVenue in front of the paper adapter (after any config change: a changed config
    makes the engine rebuild its adapters)."""
    engine.ctx.refresh_config()
    account = paper_account()
    venue = ScriptedVenue(engine.ctx.adapter(account))
    engine.ctx._adapters[account.pk] = venue
    return venue
