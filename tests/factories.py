"""factory-boy factories for the shared test world: a paper account trading BTC/USDT.

Values are realistic and exact (Decimal from strings), times aware UTC around T0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import Any

import factory
from django.contrib.auth import get_user_model

from exchanges.models import ExchangeAccount, MarketRule, MarketType, Venue
from trading import config_service
from trading.api.tokens import hash_token, issue_token
from trading.models import (
    ApiToken,
    Command,
    DcaLeg,
    Event,
    GroupStatus,
    LegState,
    Order,
    OrderState,
    PositionGroup,
    Pyramid,
    QueueEntry,
    Signal,
    SignalStatus,
    Trade,
)

D = Decimal
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
TICK = D("0.01")
STEP = D("0.00001")
# The default ladder of the config (gap %, weight %, tp %), DCA0 first.
DEFAULT_LADDER: tuple[tuple[str, str, str], ...] = (
    ("0", "20", "1"),
    ("-0.5", "20", "0.5"),
    ("-1", "20", "2"),
    ("-1.5", "20", "1.5"),
    ("-2", "20", "1"),
)
_TIMEFRAMES = ("60", "15", "240", "5", "1D", "1")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"operator{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.django.Password(None)  # unusable: API tokens only


class ExchangeAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeAccount
        django_get_or_create = ("label",)

    label = "paper"
    venue = Venue.PAPER
    market_type = MarketType.SPOT


class MarketRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MarketRule
        django_get_or_create = ("account", "symbol")

    account = factory.SubFactory(ExchangeAccountFactory)
    symbol = "BTC/USDT"
    exchange_symbol = "BTCUSDT"
    tick_size = TICK
    step_size = STEP
    min_qty = D("0.00001")
    min_notional = D("5")
    max_qty = D("9000")
    fetched_at = T0


class PositionGroupFactory(factory.django.DjangoModelFactory):
    """An open long. Successive groups differ in timeframe, so the one-open-group rule holds."""

    class Meta:
        model = PositionGroup

    account = factory.SubFactory(ExchangeAccountFactory)
    symbol = "BTC/USDT"
    timeframe = factory.Sequence(lambda n: _TIMEFRAMES[n % len(_TIMEFRAMES)] + ("" if n < 6 else f"m{n}"))
    side = "long"
    status = GroupStatus.LIVE
    tp_mode = "leg"
    aggregate_tp_percent = D("1.0")
    pyramid_count = 1
    opened_at = factory.Sequence(lambda n: T0 + timedelta(minutes=n))


class PyramidFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pyramid

    group = factory.SubFactory(PositionGroupFactory)
    index = 0
    base_price = D("43000")
    size_amount = D("100")
    size_unit = "quote"
    max_slippage_percent = D("0.5")
    created_at = factory.LazyAttribute(lambda o: o.group.opened_at)


def ladder_price(base: Decimal, gap_percent: Decimal) -> Decimal:
    return (base * (1 + gap_percent / 100) / TICK).to_integral_value(ROUND_HALF_EVEN) * TICK


def ladder_qty(size_quote: Decimal, weight_percent: Decimal, price: Decimal) -> Decimal:
    return (size_quote * weight_percent / 100 / price).quantize(STEP, rounding=ROUND_DOWN)


class DcaLegFactory(factory.django.DjangoModelFactory):
    """DCA0 of a 100 USDT pyramid at 43000: 20 % of the size at the pyramid's base price."""

    class Meta:
        model = DcaLeg

    pyramid = factory.SubFactory(PyramidFactory)
    group = factory.SelfAttribute("pyramid.group")
    index = 0
    gap_percent = D("0")
    weight_percent = D("20")
    tp_percent = D("1")
    price = factory.LazyAttribute(lambda o: ladder_price(o.pyramid.base_price, o.gap_percent))
    qty = factory.LazyAttribute(lambda o: ladder_qty(o.pyramid.size_amount, o.weight_percent, o.price))
    state = LegState.OPEN


def build_ladder(pyramid: Pyramid, levels: tuple[tuple[str, str, str], ...] = DEFAULT_LADDER) -> list[DcaLeg]:
    """Every leg of `pyramid`'s ladder, resting (state open, nothing filled)."""
    return [
        DcaLegFactory(
            pyramid=pyramid, index=i, gap_percent=D(gap), weight_percent=D(weight), tp_percent=D(tp)
        )
        for i, (gap, weight, tp) in enumerate(levels)
    ]


PAPER_FEE_PERCENT = D("0.1")


def fill_leg(leg: DcaLeg, price: Decimal | None = None, fee_percent: Decimal = PAPER_FEE_PERCENT) -> DcaLeg:
    """Mark a leg fully filled at `price` (its limit by default) with its TP price set."""
    fill = price if price is not None else leg.price
    leg.filled_qty = leg.qty
    leg.avg_fill_price = fill
    leg.entry_fees = (leg.qty * fill * fee_percent / 100).quantize(D("1E-8"))
    side = 1 if leg.group.side == "long" else -1
    leg.tp_price = ladder_price(fill, side * leg.tp_percent)
    leg.state = LegState.FILLED
    leg.save()
    return leg


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    client_order_id = factory.Sequence(lambda n: f"tv1a2b3c-{n}-0-0-entry-0")
    group = factory.SubFactory(PositionGroupFactory)
    account = factory.SelfAttribute("group.account")
    leg = None
    purpose = "entry"
    symbol = factory.SelfAttribute("group.symbol")
    side = "buy"
    type = "limit"
    price = D("43000")
    qty = D("0.00046")
    state = OrderState.OPEN
    exchange_order_id = factory.Sequence(lambda n: f"P{n:06d}")
    created_at = factory.LazyAttribute(lambda o: o.group.opened_at)
    updated_at = factory.LazyAttribute(lambda o: o.created_at)


class TradeFactory(factory.django.DjangoModelFactory):
    """A DCA0 take-profit: 0.00046 BTC bought at 43000, sold 1 % higher, 0.1 % fee each way."""

    class Meta:
        model = Trade

    group = factory.SubFactory(PositionGroupFactory)
    account = factory.SelfAttribute("group.account")
    symbol = factory.SelfAttribute("group.symbol")
    timeframe = factory.SelfAttribute("group.timeframe")
    side = factory.SelfAttribute("group.side")
    reason = "tp_leg"
    qty = D("0.00046")
    entry_price = D("43000")
    exit_price = D("43430")
    fees = D("0.0397578")  # 0.1 % of 19.78 + 0.1 % of 19.9778
    realized_pnl = D("0.1580422")  # 0.1978 gross - fees
    closed_at = factory.Sequence(lambda n: T0 + timedelta(hours=1, minutes=n))


class SignalFactory(factory.django.DjangoModelFactory):
    """An applied long entry on BTCUSDT 60 at 43000 for 100 USDT."""

    class Meta:
        model = Signal

    received_at = factory.Sequence(lambda n: T0 + timedelta(seconds=n))
    source_ip = "52.89.214.238"
    payload = factory.LazyAttribute(
        lambda o: {
            "secret": "[redacted]",
            "tv": {"exchange": "BINANCE", "symbol": o.raw_symbol, "timeframe": o.timeframe},
            "execution_intent": {"type": o.intent, "side": o.side},
            "strategy_info": {"entry_price": str(o.entry_price)},
        }
    )
    fingerprint = factory.Sequence(lambda n: f"{n:064x}")
    exchange = "binance"
    raw_symbol = "BTCUSDT"
    symbol = "BTC/USDT"
    timeframe = "60"
    intent = "signal"
    side = "long"
    entry_price = D("43000")
    order_size = D("100")
    size_type = "quote"
    status = SignalStatus.APPLIED
    processed_at = factory.LazyAttribute(lambda o: o.received_at + timedelta(milliseconds=150))


class QueueEntryFactory(factory.django.DjangoModelFactory):
    """A long waiting because the pool is full."""

    class Meta:
        model = QueueEntry

    signal = factory.SubFactory(SignalFactory, status=SignalStatus.QUEUED, processed_at=None)
    account = factory.SubFactory(ExchangeAccountFactory)
    symbol = factory.SelfAttribute("signal.symbol")
    timeframe = factory.SelfAttribute("signal.timeframe")
    side = factory.SelfAttribute("signal.side")
    entry_price = factory.SelfAttribute("signal.entry_price")
    size_amount = D("100")
    size_unit = "quote"
    expected_profit = D("1.2")  # the default ladder at 100 USDT: sum(weight × tp)
    reason = "pool_full"
    queued_at = factory.SelfAttribute("signal.received_at")
    updated_at = factory.SelfAttribute("queued_at")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    created_at = factory.Sequence(lambda n: T0 + timedelta(seconds=n))
    category = Event.Category.SIGNAL
    severity = Event.Severity.INFO
    symbol = "BTC/USDT"
    timeframe = "60"
    message = factory.Sequence(lambda n: f"signal #{n} applied: opened group")
    context = factory.LazyFunction(dict)


class CommandFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Command

    kind = "pause"
    args = factory.LazyFunction(dict)
    created_by = factory.SubFactory(UserFactory)
    created_at = T0


class ApiTokenFactory(factory.django.DjangoModelFactory):
    """Issued through `issue_token`; the plain token is on `.plain` (it is stored only hashed)."""

    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    readonly = False

    @classmethod
    def _create(cls, model_class: type[ApiToken], *args: Any, **kwargs: Any) -> ApiToken:
        plain = issue_token(kwargs["user"], readonly=kwargs.get("readonly", False))
        token = model_class.objects.get(token_hash=hash_token(plain))
        token.plain = plain  # type: ignore[attr-defined]
        return token


def reset_config() -> None:
    """Forget config.json and the cached config, so each test starts from the defaults.

    The cache is keyed by version alone, and test transactions roll versions back.
    """
    config_service.config_path().unlink(missing_ok=True)
    config_service._cache = None
