"""Section F, settings: the generated config form, the DCA ladder preview and what the engine applied."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core import signing

from exchanges.markets import plain
from exchanges.models import ExchangeAccount, LastPrice, MarketRule
from exchanges.paper_models import PaperPrice
from trading import config_service
from trading.config_schema import masked_document
from trading.core.ladder import LadderPlan, build_ladder, validate_levels
from trading.core.sizing import PyramidSize
from trading.core.takeprofit import leg_tp_price
from trading.core.types import Side
from trading.models import ConfigDocument, EngineState, Event

from .. import settings_forms as forms
from .common import engine_summary
from .grid import Grid
from .state import ViewState

ORIGINAL_SALT = "console.settings.original"
PREVIEW_SYMBOL = "BTC/USDT"
MARKET_SUGGESTIONS = 40


@dataclass(frozen=True)
class EngineApplied:
    """Which config version the running engine uses, against the stored one."""

    stored: int
    applied: int
    applied_at: datetime | None
    engine_alive: bool

    @property
    def up_to_date(self) -> bool:
        return self.applied == self.stored


def engine_applied(view: ViewState) -> dict:
    state = EngineState.objects.filter(pk=1).values("config_version", "started_at").first() or {}
    applied = state.get("config_version") or 0
    stored, saved_at = ConfigDocument.objects.filter(pk=1).values_list("version", "updated_at").first() or (
        0,
        None,
    )
    when = None
    if applied == stored and saved_at is not None:
        # The engine applies a version after it was saved: the indexed time range keeps this cheap.
        when = (
            Event.objects.filter(created_at__gte=saved_at, message=f"engine applied config v{applied}")
            .order_by("-id")
            .values_list("created_at", flat=True)
            .first()
        )
    return {
        "applied": EngineApplied(
            stored=stored,
            applied=applied,
            applied_at=when or state.get("started_at"),
            engine_alive=engine_summary(view.now).alive,
        )
    }


def sign_original(document: dict[str, Any]) -> str:
    """The masked document the form was built from, signed: a stale form can show what changed since."""
    return signing.dumps(document, salt=ORIGINAL_SALT, compress=True)


def read_original(token: str) -> dict[str, Any] | None:
    try:
        return signing.loads(token, salt=ORIGINAL_SALT)
    except signing.BadSignature:
        return None


def form_state(values: dict[str, Any], errors: dict[str, list[str]] | None = None) -> dict:
    """What the form template needs: the sections and the ladder from `values`."""
    sections = forms.sections(values, errors)
    grid = values.get("grid_strategy", {})
    return {
        "sections": sections,
        "ladder_rows": list(grid.get("dca_levels") or []),
        "ladder_max": _int(grid.get("max_dca_per_pyramid")),
    }


def page(view: ViewState) -> dict:
    """The whole settings page."""
    cfg = config_service.current()
    document = masked_document(cfg)
    sample = sample_market(view)
    return {
        **form_state(document),
        **engine_applied(view),
        "version": config_service.current_version(),
        "original": sign_original(document),
        "can_edit": view.can_act,
        **preview(document["grid_strategy"]["dca_levels"], sample),
        "markets": market_choices(),
        "accounts": list(ExchangeAccount.objects.filter(enabled=True).values_list("label", flat=True)),
    }


# --- the ladder preview ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """The made-up entry the preview prices: where, which way, at what price, how big."""

    account: str
    symbol: str
    side: Side
    price: Decimal | None
    size: Decimal
    unit: str  # "quote" | "base"


@dataclass(frozen=True)
class PreviewLeg:
    index: int
    weight_percent: Decimal
    price: Decimal
    qty: Decimal
    notional: Decimal
    tp_price: Decimal
    merged_into: int | None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() else None


def _last_price(account: ExchangeAccount, symbol: str) -> Decimal | None:
    for model in (PaperPrice, LastPrice):
        price = model.objects.filter(account=account, symbol=symbol).values_list("price", flat=True).first()
        if price is not None:
            return price
    return None


def sample_market(view: ViewState) -> Sample:
    """The preview's inputs from the query (the form's sample row), defaulting to the default account."""
    params = view.params
    cfg = config_service.current()
    label = params.get("preview_account") or cfg.exchange.default_account
    account = ExchangeAccount.objects.filter(label=label).first() or ExchangeAccount.objects.first()
    symbol = (params.get("preview_symbol") or PREVIEW_SYMBOL).strip().upper()
    price = _decimal(params.get("preview_price", ""))
    if price is None and account is not None and "preview_price" not in params:
        price = _last_price(account, symbol)
    price = plain(price) if price is not None else None  # 43000, not 43000.000000000000
    size = _decimal(params.get("preview_size", "")) or cfg.grid_strategy.default_pyramid_size_quote
    return Sample(
        account=account.label if account else "",
        symbol=symbol,
        side=Side.SHORT if params.get("preview_side") == "short" else Side.LONG,
        price=price,
        size=size,
        unit="base" if params.get("preview_unit") == "base" else "quote",
    )


def market_choices() -> list[str]:
    """A few markets to suggest: those with positions first, then the most common quote pairs."""
    symbols = list(
        MarketRule.objects.filter(active=True, symbol__endswith="/USDT")
        .order_by("symbol")
        .values_list("symbol", flat=True)
        .distinct()[:MARKET_SUGGESTIONS]
    )
    return sorted(set(symbols) | {PREVIEW_SYMBOL})


def preview(rows: list[dict[str, str]], sample: Sample) -> dict:
    """The ladder priced and sized on the chosen market's real grid by the engine's own core code."""
    levels, problems = forms.parse_levels(rows)
    context: dict[str, Any] = {
        "sample": sample,
        "weight_total": forms.weight_total(levels),
        "ladder_problems": problems or validate_levels(levels, max_levels=max(len(levels), 1)),
        "plan": None,
        "preview_legs": [],
        "preview_note": "",
    }
    row = MarketRule.objects.filter(account__label=sample.account, symbol=sample.symbol, active=True).first()
    if row is None:
        context["preview_note"] = (
            f"{sample.symbol} is not a market the engine knows on {sample.account or 'any account'}"
        )
        return context
    if sample.price is None or sample.price <= 0:
        context["preview_note"] = "enter a sample entry price above 0"
        return context
    if context["ladder_problems"]:
        return context
    plan = build_ladder(
        sample.side, sample.price, PyramidSize(sample.size, sample.unit), levels, row.to_rules()
    )
    grid = Grid(row.to_rules(), sample.side.exit_order_side)
    context.update(plan=plan, grid=grid, rules=row.to_rules(), preview_legs=_legs(plan, levels))
    return context


def _legs(plan: LadderPlan, levels: list) -> list[PreviewLeg]:
    return [
        PreviewLeg(
            index=leg.index,
            weight_percent=leg.weight_percent,
            price=leg.price,
            qty=leg.qty,
            notional=leg.price * leg.qty,
            tp_price=leg_tp_price(plan.side, leg.price, levels[leg.index].tp_percent),
            merged_into=leg.merged_into,
        )
        for leg in plan.legs
    ]
