"""Small shared pieces of the engine integration tests: lookups, a paper balance seed, a flaky venue.

The numbers the tests assert come from the bundled Binance rules (BTC/USDT: tick 0.01, step
0.00001, min notional 5; ETH/USDT: tick 0.01, step 0.0001; SOL/USDT: tick 0.01, step 0.01),
the default ladder (gaps 0/-0.5/-1/-1.5/-2, weights 20 each, TPs 1/0.5/2/1.5/1) and the paper
fee of 0.1 %.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from exchanges.core.adapter import OrderReport, OrderRequest, TemporaryError
from exchanges.models import ExchangeAccount
from exchanges.paper_models import PaperBalance, PaperOrder
from trading.models import DcaLeg, PositionGroup, Pyramid

D = Decimal

# The default 500 USDT pyramid at 43000 on BTC/USDT: 100 USDT per leg, floored to the 0.00001 step.
BTC_LADDER_PRICES = [D("43000"), D("42785"), D("42570"), D("42355"), D("42140")]
BTC_LADDER_QTYS = [D("0.00232"), D("0.00233"), D("0.00234"), D("0.00236"), D("0.00237")]


def paper_account() -> ExchangeAccount:
    return ExchangeAccount.objects.get(label="paper")


def seed_paper_balance(asset: str, amount: str) -> None:
    """Give the paper (spot) account some base asset, so a short can sell what it holds."""
    account = paper_account()
    PaperBalance.objects.get_or_create(account=account, asset="USDT", defaults={"free": D("10000")})
    PaperBalance.objects.update_or_create(account=account, asset=asset, defaults={"free": D(amount)})


def group_of(symbol: str = "BTC/USDT", timeframe: str = "15m") -> PositionGroup:
    return PositionGroup.objects.get(symbol=symbol, timeframe=timeframe)


def legs_of(group: PositionGroup, pyramid: int = 0) -> list[DcaLeg]:
    return list(DcaLeg.objects.filter(group=group, pyramid__index=pyramid).order_by("index"))


def pyramid_of(group: PositionGroup, index: int) -> Pyramid:
    return Pyramid.objects.get(group=group, index=index)


def leg(group: PositionGroup, index: int, pyramid: int = 0) -> DcaLeg:
    return DcaLeg.objects.get(group=group, pyramid__index=pyramid, index=index)


def paper_orders_per_client_id() -> Counter[str]:
    return Counter(PaperOrder.objects.values_list("client_order_id", flat=True))


class FlakyVenue:
    """Wraps the paper adapter and loses exactly one create_order, recording every request.

    `lose="request"`: the request never reaches the exchange (TemporaryError before delegating).
    `lose="response"`: the exchange takes the order, then the answer is lost (TemporaryError after).
    `down=True`: every create/fetch fails until `heal()`, like an exchange outage.
    """

    def __init__(self, inner: Any, *, lose: str | None = None, down: bool = False) -> None:
        self.inner = inner
        self.lose = lose
        self.down = down
        self.sent: list[str] = []  # client ids of every create_order call, failed or not

    def heal(self) -> None:
        self.down = False

    def create_order(self, request: OrderRequest) -> OrderReport:
        self.sent.append(request.client_order_id)
        if self.down:
            raise TemporaryError("exchange unreachable")
        lose, self.lose = self.lose, None
        if lose == "request":
            raise TemporaryError("timed out before the exchange got the request")
        report = self.inner.create_order(request)
        if lose == "response":
            raise TemporaryError("timed out waiting for the exchange's answer")
        return report

    def fetch_order(self, client_order_id: str, symbol: str) -> OrderReport | None:
        if self.down:
            raise TemporaryError("exchange unreachable")
        return self.inner.fetch_order(client_order_id, symbol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install_flaky_venue(engine: Any, **kwargs: Any) -> FlakyVenue:
    """Put a FlakyVenue in front of the engine's paper adapter."""
    account = paper_account()
    venue = FlakyVenue(engine.ctx.adapter(account), **kwargs)
    engine.ctx._adapters[account.pk] = venue
    return venue
