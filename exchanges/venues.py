"""What differs between the six ccxt venues, as one frozen row of data per venue.

The ccxt adapter has one code path; everything venue-specific it needs is read from a
VenueProfile here: ccxt class id, market types, testnet, passphrase, the client-order-id field and
its limits, how an order is found again by client id, whether create/cancel acknowledgements are
thin, websocket availability, default order-rate limits and the options ccxt needs offline.

Pure module: no Django, no ccxt. The facts were checked against ccxt 4.5.90's source (the class
ids, `clientOrderId` → venue parameter mapping, `has['watchOrders']` in ccxt.pro) and the venues'
API documentation; where a venue documents no number, the default below is a deliberately
conservative guess and says so.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

SPOT = "spot"
SWAP = "swap"


class Lookup(enum.StrEnum):
    """How an order is found again by our client id."""

    # `fetch_order("", symbol, {"clientOrderId": id})`: ccxt sends the venue's own parameter
    # (Binance origClientOrderId, OKX clOrdId, KuCoin /order/client-order/<id>, MEXC
    # origClientOrderId, Gate the `t-…` text in the order path).
    PARAM = "param"
    # The open-orders endpoint filtered server-side by the client id, then the order history
    # (Bybit: /v5/order/realtime?orderLinkId=…, then /v5/order/history?orderLinkId=…).
    FILTERED_LISTS = "filtered_lists"


class SandboxKind(enum.StrEnum):
    SANDBOX = "sandbox"  # ccxt set_sandbox_mode(True): the venue's testnet
    DEMO = "demo"  # ccxt enable_demo_trading(True): the venue's demo-trading environment


@dataclass(frozen=True)
class ClientIdRule:
    """The venue's client-order-id field: name, length and allowed characters."""

    param: str  # the venue's own field name (ccxt also accepts the unified `clientOrderId`)
    max_length: int  # including `prefix`
    charset: str  # regex character class of allowed characters, prefix included
    prefix: str = ""  # Gate demands "t-"


@dataclass(frozen=True)
class VenueProfile:
    venue: str  # our name, as in ExchangeAccount.venue
    label: str
    ccxt_id: str  # ccxt class: getattr(ccxt, ccxt_id)
    market_types: frozenset[str]
    # market type → how its testnet is reached; a missing type has no testnet we support
    sandbox: Mapping[str, SandboxKind]
    needs_passphrase: bool  # ccxt `password`
    client_id: ClientIdRule
    lookup: Lookup
    # Gate finds an order by its text only while it is open (and ~60 s after): afterwards the
    # order is searched among open + recent closed orders of the symbol.
    lookup_search_fallback: bool
    thin_create_ack: bool  # create answers ids only: fetch the order after creating it
    thin_cancel_ack: bool  # cancel answers ids only: fetch the order after cancelling it
    market_buy_needs_price: bool  # ccxt turns amount × price into the quote amount to spend
    watch_orders: bool  # ccxt.pro has watch_orders (the adapter still polls; see docs)
    watch_tickers: bool
    orders_per_sec: int  # default order-rate limits when the venue's metadata states none
    orders_per_10s: int
    # ccxt `options['fetchMarkets']['types']` per market type: load only what the account trades
    fetch_markets_types: Mapping[str, Any]
    # more `options['fetchMarkets']` keys (KuCoin: skip the all-tickers call made only for fees)
    fetch_markets_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    ccxt_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    load_markets_params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # Error texts meaning "no such order" that ccxt leaves as a plain ExchangeError
    not_found_markers: tuple[str, ...] = ()
    # Offline (tests, recorded responses): options and `has` flags that stop ccxt from calling
    # endpoints no recording answers. Never applied to a live exchange.
    offline_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    offline_has: Mapping[str, bool] = field(default_factory=lambda: MappingProxyType({}))
    notes: str = ""

    @property
    def has_sandbox(self) -> bool:
        return bool(self.sandbox)


def _frozen(**values: Any) -> Mapping[str, Any]:
    return MappingProxyType(dict(values))


_ALNUM = "A-Za-z0-9"

PROFILES: Mapping[str, VenueProfile] = MappingProxyType(
    {
        "binance": VenueProfile(
            venue="binance",
            label="Binance",
            ccxt_id="binance",
            market_types=frozenset({SPOT, SWAP}),
            # Spot: testnet.binance.vision. USD-M futures: ccxt 4.5 refuses the old futures
            # testnet ("not supported for futures anymore") and points to demo trading.
            sandbox=_frozen(spot=SandboxKind.SANDBOX, swap=SandboxKind.DEMO),
            needs_passphrase=False,
            client_id=ClientIdRule("newClientOrderId", 36, r"A-Za-z0-9.:/_\-"),
            lookup=Lookup.PARAM,
            lookup_search_fallback=False,
            thin_create_ack=False,  # newOrderRespType=FULL: status, executedQty, fills
            thin_cancel_ack=False,
            market_buy_needs_price=False,
            watch_orders=True,
            watch_tickers=True,
            orders_per_sec=5,
            orders_per_10s=50,  # exchangeInfo rateLimits say so; used only if it is missing
            fetch_markets_types=_frozen(spot=["spot"], swap=["linear"]),
            # With keys set, load_markets would also call the signed sapi margin endpoints.
            ccxt_options=_frozen(fetchMargins=False, warnOnFetchOpenOrdersWithoutSymbol=False),
            offline_has=_frozen(fetchCurrencies=False),
        ),
        "bybit": VenueProfile(
            venue="bybit",
            label="Bybit",
            ccxt_id="bybit",
            market_types=frozenset({SPOT, SWAP}),
            sandbox=_frozen(spot=SandboxKind.SANDBOX, swap=SandboxKind.SANDBOX),
            needs_passphrase=False,
            client_id=ClientIdRule("orderLinkId", 36, r"A-Za-z0-9_\-"),
            lookup=Lookup.FILTERED_LISTS,
            lookup_search_fallback=False,
            thin_create_ack=True,  # {orderId, orderLinkId}
            thin_cancel_ack=True,
            market_buy_needs_price=False,  # unified (UTA) accounts: ccxt sends marketUnit=baseCoin
            watch_orders=True,
            watch_tickers=True,
            orders_per_sec=5,  # documented 20/s spot, 10/s futures per UID
            orders_per_10s=50,
            fetch_markets_types=_frozen(spot=["spot"], swap=["linear"]),
            offline_options=_frozen(enableUnifiedAccount=True, enableUnifiedMargin=False),
            offline_has=_frozen(fetchCurrencies=False),
            notes="Unified trading account (UTA) required: on a classic account ccxt would read a "
            "market buy's amount as quote currency.",
        ),
        "okx": VenueProfile(
            venue="okx",
            label="OKX",
            ccxt_id="okx",
            market_types=frozenset({SPOT, SWAP}),
            sandbox=_frozen(),  # OKX demo trading needs separate demo keys: not offered
            needs_passphrase=True,
            client_id=ClientIdRule("clOrdId", 32, _ALNUM),
            lookup=Lookup.PARAM,
            lookup_search_fallback=False,
            thin_create_ack=True,  # {ordId, clOrdId, sCode, sMsg}
            thin_cancel_ack=True,
            market_buy_needs_price=False,  # ccxt sends tgtCcy=base_ccy
            watch_orders=True,
            watch_tickers=True,
            orders_per_sec=5,  # documented 60 per 2 s per instrument
            orders_per_10s=50,
            fetch_markets_types=_frozen(spot=["spot"], swap=["swap"]),
            offline_has=_frozen(fetchCurrencies=False),
        ),
        "kucoin": VenueProfile(
            venue="kucoin",
            label="KuCoin",
            ccxt_id="kucoin",
            market_types=frozenset({SPOT, SWAP}),
            sandbox=_frozen(),
            needs_passphrase=True,
            client_id=ClientIdRule("clientOid", 40, r"A-Za-z0-9_\-"),
            lookup=Lookup.PARAM,
            lookup_search_fallback=False,
            thin_create_ack=True,  # {orderId} only
            thin_cancel_ack=True,  # {cancelledOrderId(s), clientOid}
            market_buy_needs_price=False,
            watch_orders=True,
            watch_tickers=True,
            orders_per_sec=5,  # resource-pool weights; no per-order figure: conservative guess
            orders_per_10s=40,
            fetch_markets_types=_frozen(spot=["spot"], swap=["swap"]),
            fetch_markets_options=_frozen(fetchTickersFees=False),
            # The adapter never trades margin: skip the signed margin-symbols call.
            load_markets_params=_frozen(marginables=False),
            # Live, ccxt asks the account whether it is high-frequency (hf) / unified (uta).
            offline_options=_frozen(hf=False, uta=False),
            offline_has=_frozen(fetchCurrencies=False),
        ),
        "mexc": VenueProfile(
            venue="mexc",
            label="MEXC",
            ccxt_id="mexc",
            # Spot only: ccxt 4.5.90 fetches a MEXC contract order by the venue's order id alone,
            # so an order could not be found again by client id after a timeout (no idempotent
            # retry), and MEXC restricts futures order entry over its API.
            market_types=frozenset({SPOT}),
            sandbox=_frozen(),
            needs_passphrase=False,
            client_id=ClientIdRule("newClientOrderId", 32, r"A-Za-z0-9_\-"),
            lookup=Lookup.PARAM,
            lookup_search_fallback=False,
            thin_create_ack=True,  # echoes price/qty/type, but no status or fill
            thin_cancel_ack=False,
            market_buy_needs_price=False,
            watch_orders=True,
            watch_tickers=True,
            # ccxt 4.5.90 maps no MEXC code to OrderNotFound: {"code":-2013,"msg":"Order does not exist."}
            not_found_markers=('"code":-2013', "Order does not exist"),
            orders_per_sec=5,  # no per-order figure documented: conservative guess
            orders_per_10s=40,
            # ccxt 4.5.90's MEXC ignores this and always loads spot and swap lists.
            fetch_markets_types=_frozen(spot={"spot": True, "swap": {"linear": False, "inverse": False}}),
            offline_has=_frozen(fetchCurrencies=False),
            notes="Some majors (BTC/USDT, ETH/USDT in the 2025-09 list) have "
            "isSpotTradingAllowed=false: ccxt marks them inactive and the adapter refuses them.",
        ),
        "gate": VenueProfile(
            venue="gate",
            label="Gate.io",
            ccxt_id="gate",  # ccxt 4.5 removed `gateio`
            market_types=frozenset({SPOT, SWAP}),
            sandbox=_frozen(),  # ccxt knows a Gate testnet host; not offered (untested)
            needs_passphrase=False,
            # Gate allows 28 characters after "t-", but ccxt 4.5.90 refuses a `text` longer than
            # 28 including the prefix, and adds "t-" only when the text does not start with "t"
            # (ours start with "tv"), so the adapter always sends the prefix itself.
            client_id=ClientIdRule("text", 28, r"A-Za-z0-9_.\-", prefix="t-"),
            lookup=Lookup.PARAM,
            lookup_search_fallback=True,
            thin_create_ack=False,  # the full order object
            thin_cancel_ack=False,
            market_buy_needs_price=True,  # spot market buys are sized in quote currency
            watch_orders=True,
            watch_tickers=True,
            orders_per_sec=5,  # documented 10/s per market for spot order entry
            orders_per_10s=50,
            fetch_markets_types=_frozen(spot=["spot"], swap=["swap"]),
            # Live, ccxt asks /account/detail once whether the account is unified.
            offline_options=_frozen(unifiedAccount=False),
            offline_has=_frozen(fetchCurrencies=False),
        ),
    }
)


def profile_for(venue: str) -> VenueProfile:
    """The profile of a venue by our name ("binance", …, "gate"); KeyError lists the known ones."""
    try:
        return PROFILES[venue.lower()]
    except KeyError:
        raise KeyError(f"unknown venue {venue!r}; known: {', '.join(PROFILES)}") from None


_HASH_CHARS = 10  # base-36 digest characters kept when an id must be shortened


def client_id_for(profile: VenueProfile, our_id: str) -> str:
    """Our client order id in the form the venue accepts.

    Deterministic: the same id always maps to the same venue id, so an order can be looked up
    again after a timeout or a restart by mapping our id forward. An id that fits is sent as is
    (with Gate's `t-` prefix); one that does not is shortened to its head plus a base-36 digest
    of the whole id, so two ids never collide by sharing a prefix (e.g. differing attempts).
    """
    rule = profile.client_id
    allowed = re.compile(f"[{rule.charset}]+")
    if not our_id or not allowed.fullmatch(our_id):
        raise ValueError(f"client order id {our_id!r} has characters {profile.label} does not accept")
    room = rule.max_length - len(rule.prefix)
    if len(our_id) <= room:
        return rule.prefix + our_id
    digest = _base36(int.from_bytes(hashlib.sha256(our_id.encode()).digest()[:8], "big"))
    digest = digest.rjust(_HASH_CHARS, "0")[:_HASH_CHARS]
    return rule.prefix + our_id[: room - _HASH_CHARS] + digest


def our_id_from(profile: VenueProfile, venue_id: str | None) -> str | None:
    """Undo `client_id_for` where it is reversible (the prefix); a shortened id stays shortened."""
    if not venue_id:
        return None
    prefix = profile.client_id.prefix
    if prefix and venue_id.startswith(prefix):
        return venue_id[len(prefix) :]
    return venue_id


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while number:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
    return text or "0"
