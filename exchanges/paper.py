"""The paper exchange: a peer ExchangeAdapter backed by the database, not an `if dry_run`.

Markets come from the bundled Binance spot catalog (ccxt's own parser), filters are enforced
like Binance's PRICE_FILTER / LOT_SIZE / NOTIONAL, and every order, balance and last price is a
row, so a restart loses nothing. The matching rules live in `exchanges/core/paper_matching.py`;
this class only loads rows, applies those rules and saves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import transaction

from trading.core.precision import order_violations
from trading.core.types import MarketRules, OrderSide

from . import paper_rows
from .core import paper_matching as pm
from .core.adapter import (
    Balance,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    MarketCatalog,
    OrderNotFound,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
)
from .markets import load_binance_spot_catalog, plain
from .models import ExchangeAccount
from .paper_models import PaperBalance, PaperOrder, PaperPrice
from .paper_rows import Balances, commit_lazily, match_order, report_of, save_balances

SEED_ASSET = "USDT"
_DB_QUANTUM = Decimal("1E-12")  # the columns' 12 decimal places


class PaperExchange:
    """Simulated spot venue for one ExchangeAccount. Implements ExchangeAdapter."""

    venue = "paper"

    def __init__(
        self,
        account: ExchangeAccount,
        *,
        fee_percent: Decimal,
        partial_fill_ratio: Decimal,
        starting_balance_usdt: Decimal,
        clock: Callable[[], datetime],
        catalog_loader: Callable[[], MarketCatalog] = load_binance_spot_catalog,
    ) -> None:
        if fee_percent < 0:
            raise ValueError(f"fee_percent must be >= 0, got {fee_percent}")
        self.account = account
        self.fee_percent = fee_percent
        self.partial_fill_ratio = pm.check_ratio(partial_fill_ratio)
        self.starting_balance_usdt = starting_balance_usdt
        self._clock = clock
        self._catalog_loader = catalog_loader
        self._catalog: MarketCatalog | None = None
        self._priced: set[str] = set()  # symbols known to have a price row (see hint_price)

    # ---- ExchangeAdapter ------------------------------------------------------------------

    def load_markets(self) -> MarketCatalog:
        if self._catalog is None:
            self._catalog = self._catalog_loader()
        return self._catalog

    def create_order(self, request: OrderRequest) -> OrderReport:
        """Validate, reserve funds, and fill at once if marketable; otherwise rest and lock.

        A duplicate client_order_id returns the existing order's report unchanged. Real venues
        reject duplicates instead; the engine always looks an order up by client id before
        (re)sending, so both behaviours lead to the same outcome.
        `reduce_only` is ignored: it has no meaning on spot.
        """
        outcome = self.create_orders([request])[0]
        if isinstance(outcome, ExchangeError):
            raise outcome
        return outcome

    def create_orders(self, requests: list[OrderRequest]) -> list[OrderReport | ExchangeError]:
        """Place several orders in one transaction, each judged exactly as `create_order` would
        in turn (an earlier order's fill or lock is what a later one sees); one outcome per request.

        The engine's batch of DCA0s (or of a ladder's resting legs) then costs one read of the
        balances, prices and client ids, and one write of each, instead of one per order.
        """
        with transaction.atomic():
            commit_lazily()
            existing, prices = self._lookup(requests)
            outcomes = [self._screen(request, existing, prices) for request in requests]
            assets = {
                a
                for r, o in zip(requests, outcomes, strict=True)
                if o is None
                for a in pm.split_symbol(r.symbol)
            }
            balances = self._balances_for_update(*sorted(assets), seed=True) if assets else Balances({})
            placed: dict[int, PaperOrder] = {}
            for n, request in enumerate(requests):
                if outcomes[n] is None:
                    try:
                        placed[n] = self._place(request, prices.get(request.symbol), balances)
                    except ExchangeError as exc:
                        outcomes[n] = exc
            paper_rows.insert_orders(list(placed.values()))
            save_balances(balances)
        return [report_of(placed[n]) if n in placed else o for n, o in enumerate(outcomes)]  # type: ignore[misc]

    def _screen(
        self, request: OrderRequest, existing: dict[str, PaperOrder], prices: dict[str, Decimal]
    ) -> OrderReport | ExchangeError | None:
        """A duplicate's report, an invalid order's error, or None for an order to place."""
        if request.client_order_id in existing:
            return report_of(existing[request.client_order_id])
        try:
            rules = self._rules(request.symbol)
            violations = order_violations(
                self._check_price(request, prices.get(request.symbol)), request.qty, rules
            )
        except ExchangeError as exc:
            return exc
        if violations:
            return InvalidOrder(f"{request.symbol}: " + "; ".join(v.message for v in violations))
        return None

    def _place(self, request: OrderRequest, current: Decimal | None, balances: Balances) -> PaperOrder:
        """The order's row, matched against the current price, with its funds moved (not saved)."""
        rules = self._rules(request.symbol)
        check_price = self._check_price(request, current)
        base, quote = pm.split_symbol(request.symbol)
        shortfall = pm.funds_shortfall(
            request.side,
            request.qty,
            check_price,
            self.fee_percent,
            free_base=balances[base].free,
            free_quote=balances[quote].free,
        )
        if shortfall > 0:
            asset = quote if request.side is OrderSide.BUY else base
            raise InsufficientFunds(f"{request.symbol}: {plain(shortfall)} {asset} short for this order")
        now = self._clock()
        row = PaperOrder(
            account=self.account,
            client_order_id=request.client_order_id,
            exchange_order_id="",
            symbol=request.symbol,
            side=request.side.value,
            type=request.type.value,
            status=OrderStatus.OPEN.value,
            qty=request.qty,
            price=request.price if request.type is OrderType.LIMIT else None,
            rested=False,
            created_at=now,
            updated_at=now,
        )
        # Matched before the insert, so the row is written once with its outcome.
        if current is not None:
            fill = pm.decide_fill(
                match_order(row),
                current,
                step_size=rules.step_size,
                partial_fill_ratio=self.partial_fill_ratio,
                at_placement=True,
            )
            if fill is not None:
                self._apply_fill(row, fill, balances[base], balances[quote])
        # With no price yet there is no market to take: the order rests until one crosses it.
        row.rested = current is None or pm.rests_after(match_order(row), current)
        self._relock(row, balances[base], balances[quote])
        return row

    def cancel_order(self, client_order_id: str, symbol: str) -> OrderReport:
        """Cancel a resting order and release its funds; a done order's report comes back unchanged."""
        outcome = self.cancel_orders([(client_order_id, symbol)])[0]
        if isinstance(outcome, ExchangeError):
            raise outcome
        return outcome

    def cancel_orders(self, orders: list[tuple[str, str]]) -> list[OrderReport | ExchangeError]:
        """`cancel_order` for several (client id, symbol) pairs in one transaction, one outcome
        each: a closing group cancels all its resting legs with one read of their rows and of the
        balances they hold, and one write of each, instead of six statements per leg."""
        with transaction.atomic():
            rows = self._order_rows([client_id for client_id, _ in orders])
            resting = [row for row in rows.values() if row.status == OrderStatus.OPEN]
            assets = sorted({asset for row in resting for asset in pm.split_symbol(row.symbol)})
            balances = self._balances_for_update(*assets) if assets else Balances({})
            now = self._clock()
            for row in resting:
                base, quote = pm.split_symbol(row.symbol)
                row.status, row.updated_at = OrderStatus.CANCELLED.value, now
                self._relock(row, balances[base], balances[quote])
            if resting:
                PaperOrder.objects.bulk_update(resting, ["status", "updated_at", "locked"])
            save_balances(balances)
        return [
            report_of(rows[client_id])
            if client_id in rows
            else OrderNotFound(f"no paper order {client_id!r}")
            for client_id, _ in orders
        ]

    def fetch_order(self, client_order_id: str, symbol: str) -> OrderReport | None:
        # Client ids are unique per account, so the symbol is not needed to find the order.
        row = self._order_row(client_order_id)
        return report_of(row) if row is not None else None

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        rows = PaperOrder.objects.filter(account=self.account, status=OrderStatus.OPEN.value)
        if symbol is not None:
            rows = rows.filter(symbol=symbol)
        return [report_of(row) for row in rows.order_by("created_at", "id")]

    def fetch_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        rows = PaperPrice.objects.filter(account=self.account, symbol__in=symbols)
        return {row.symbol: plain(row.price) for row in rows}

    def fetch_balance(self) -> dict[str, Balance]:
        """Every asset's balance; the first call seeds `starting_balance_usdt` USDT."""
        rows = paper_rows.balance_rows(self.account)
        if not rows:  # first use (an emptied USDT row stays, so this happens once)
            with transaction.atomic():
                self._ensure_seeded()
            rows = paper_rows.balance_rows(self.account)
        return {asset: Balance(asset, plain(free), plain(locked)) for asset, free, locked in rows}

    def hint_price(self, symbol: str, price: Decimal) -> None:
        """Seed a symbol's price from a signal if it has none yet. Never matches orders."""
        if price <= 0 or symbol in self._priced:
            return
        # One INSERT that leaves an existing row alone (no read first, no savepoint).
        PaperPrice.objects.bulk_create(
            [
                PaperPrice(
                    account=self.account,
                    symbol=symbol,
                    price=self._on_grid(symbol, price),
                    updated_at=self._clock(),
                )
            ],
            ignore_conflicts=True,
        )
        # Price rows are never deleted: once committed, later hints have nothing to do.
        transaction.on_commit(lambda: self._priced.add(symbol))

    # ---- paper-only: the price feed drives matching ---------------------------------------

    def set_price(self, symbol: str, price: Decimal) -> list[OrderReport]:
        """Record the last price and match every resting order of the symbol against it.

        The price is put on the market's tick grid first (a venue's trades always are).
        Returns the reports of the orders that filled (partly or fully), oldest first.
        """
        if price <= 0:
            raise InvalidOrder(f"{symbol}: price must be positive, got {price}")
        price = self._on_grid(symbol, price)
        now = self._clock()
        with transaction.atomic():
            PaperPrice.objects.update_or_create(
                account=self.account, symbol=symbol, defaults={"price": price, "updated_at": now}
            )
            rows = list(
                PaperOrder.objects.select_for_update()
                .filter(account=self.account, symbol=symbol, status=OrderStatus.OPEN.value)
                .order_by("created_at", "id")
            )
            if not rows:
                return []
            # A market that went inactive after the order was placed still matches its orders.
            rules = self.load_markets().rules.get(symbol)
            step_size = rules.step_size if rules is not None else Decimal(0)
            base, quote = pm.split_symbol(symbol)
            balances = self._balances_for_update(base, quote)
            changed: list[OrderReport] = []
            now_resting: list[int] = []
            for row in rows:
                order = match_order(row)
                fill = pm.decide_fill(
                    order,
                    price,
                    step_size=step_size,
                    partial_fill_ratio=self.partial_fill_ratio,
                    at_placement=False,
                )
                if fill is None:
                    if pm.rests_after(order, price) and not row.rested:
                        now_resting.append(row.pk)  # a taker's rest the market moved away from
                    continue
                row.updated_at = now
                self._apply_fill(row, fill, balances[base], balances[quote])
                self._relock(row, balances[base], balances[quote])
                row.save()
                changed.append(report_of(row))
            if now_resting:
                PaperOrder.objects.filter(pk__in=now_resting).update(rested=True)
            save_balances(balances)
            return changed

    # ---- internals ------------------------------------------------------------------------

    def _rules(self, symbol: str) -> MarketRules:
        return self.load_markets().require(symbol, "the paper exchange")

    def _check_price(self, request: OrderRequest, current: Decimal | None) -> Decimal:
        """The price the filters judge: the limit, or the current price for a market order."""
        if request.type is OrderType.LIMIT:
            if request.price is None or request.price <= 0:
                raise InvalidOrder(f"{request.symbol}: a limit order needs a positive price")
            return request.price
        if current is None:
            raise InvalidOrder(f"no price for {request.symbol} yet")
        return current

    def _on_grid(self, symbol: str, price: Decimal) -> Decimal:
        rules = self.load_markets().rules.get(symbol)
        if rules is None or rules.tick_size <= 0:
            return plain(price.quantize(_DB_QUANTUM))
        ticks = (price / rules.tick_size).to_integral_value(rounding=ROUND_HALF_EVEN)
        return plain(max(ticks, Decimal(1)) * rules.tick_size)

    def _lookup(self, requests: list[OrderRequest]) -> tuple[dict[str, PaperOrder], dict[str, Decimal]]:
        """The rows of client ids already taken, and the price of each symbol that has one."""
        taken = PaperOrder.objects.filter(
            account=self.account, client_order_id__in=[r.client_order_id for r in requests]
        )
        rows = PaperPrice.objects.filter(account=self.account, symbol__in={r.symbol for r in requests})
        return {row.client_order_id: row for row in taken}, {row.symbol: plain(row.price) for row in rows}

    def _order_row(self, client_order_id: str) -> PaperOrder | None:
        return PaperOrder.objects.filter(account=self.account, client_order_id=client_order_id).first()

    def _order_rows(self, client_order_ids: list[str]) -> dict[str, PaperOrder]:
        """The rows of these client ids, locked for update."""
        rows = PaperOrder.objects.select_for_update().filter(
            account=self.account, client_order_id__in=client_order_ids
        )
        return {row.client_order_id: row for row in rows}

    def _ensure_seeded(self) -> None:
        # "First use" means the account has no balance rows at all; an emptied USDT row stays.
        if not PaperBalance.objects.filter(account=self.account).exists():
            PaperBalance.objects.create(
                account=self.account, asset=SEED_ASSET, free=self.starting_balance_usdt
            )

    def _balances_for_update(self, *assets: str, seed: bool = False) -> Balances:
        """The assets' balance rows, locked; missing ones are created (`seed`: first use seeds USDT)."""
        rows = paper_rows.locked_balances(self.account, assets)
        if seed and SEED_ASSET not in rows:  # a USDT row means the account was seeded already
            self._ensure_seeded()
            rows.update(
                paper_rows.locked_balances(self.account, [SEED_ASSET] if SEED_ASSET in assets else [])
            )
        for asset in assets:
            if asset not in rows:
                rows[asset] = PaperBalance.objects.create(account=self.account, asset=asset)
        return Balances(rows)

    def _apply_fill(self, row: PaperOrder, fill: pm.Fill, base: PaperBalance, quote: PaperBalance) -> None:
        fee = pm.fee_for(fill.notional, self.fee_percent)
        change = pm.balance_change(OrderSide(row.side), fill, fee)
        base.free += change.base
        quote.free += change.quote
        row.filled_qty += fill.qty
        row.filled_quote += fill.notional
        row.fee_quote += fee
        row.avg_fill_price = (row.filled_quote / row.filled_qty).quantize(
            _DB_QUANTUM, rounding=ROUND_HALF_EVEN
        )
        if row.filled_qty >= row.qty:
            row.status = OrderStatus.FILLED.value

    def _relock(self, row: PaperOrder, base: PaperBalance, quote: PaperBalance) -> None:
        """Move free ↔ locked so the order holds exactly what its unfilled part needs."""
        wanted = Decimal(0)
        if row.status == OrderStatus.OPEN:
            wanted = pm.lock_for_remaining(match_order(row), self.fee_percent)
        delta = wanted - row.locked
        if delta == 0:
            return
        balance = quote if row.side == OrderSide.BUY else base
        balance.free -= delta
        balance.locked += delta
        row.locked = wanted
