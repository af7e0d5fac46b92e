"""A recorded-response transport for ccxt: real ccxt parsing, no network.

`RecordedTransport.install(exchange)` replaces the exchange instance's `fetch(url, method,
headers, body)` — the one method ccxt sends every HTTP request through — with a router that
answers from recorded response bodies (tests/fixtures/exchanges/), records every request, and can
inject faults. Error responses go through ccxt's own `handle_errors` / `handle_http_status_code`,
so a 429 or a venue error code becomes exactly the exception ccxt would raise live.
ccxt's `throttle` (the rate limiter's sleep) is replaced by a recorder, so `enableRateLimit=True`
stays on without slowing the tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import ccxt

from exchanges.venues import profile_for

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "exchanges"
REASONS = {
    200: "OK",
    400: "Bad Request",
    418: "I'm a teapot",
    429: "Too Many Requests",
    503: "Service Unavailable",
}


def fixture_json(*parts: str) -> Any:
    with (FIXTURES.joinpath(*parts)).open(encoding="utf-8") as fh:
        return json.load(fh)


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, Any]
    body: str | None

    @property
    def path(self) -> str:
        return urlparse(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlparse(self.url).query, keep_blank_values=True))

    @property
    def params(self) -> dict[str, Any]:
        """Query and body parameters together (form-encoded or JSON object bodies)."""
        found: dict[str, Any] = dict(self.query)
        if self.body:
            text = self.body.decode() if isinstance(self.body, bytes) else self.body
            try:
                parsed = json.loads(text)
            except ValueError:
                found.update(parse_qsl(text, keep_blank_values=True))
            else:
                if isinstance(parsed, dict):
                    found.update(parsed)
                elif isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
                    found.update(parsed[0])  # OKX batch-orders: one order per request here
        return found


@dataclass(frozen=True)
class Reply:
    """What a responder returns to choose the HTTP status as well as the body."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})


Responder = Callable[[Request], Any]


@dataclass
class Route:
    method: str
    path: str  # matched as a suffix of the URL path
    respond: Responder
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    where: Callable[[Request], bool] | None = None
    times: int | None = None  # None: answers forever

    def matches(self, request: Request) -> bool:
        if self.times == 0 or request.method != self.method or not request.path.endswith(self.path):
            return False
        return self.where is None or self.where(request)


@dataclass
class Fault:
    method: str
    path: str
    kind: str  # "timeout" (request reached the venue, answer lost), "connect", "429", "418", "503"
    retry_after: float | None = None
    body: Any = None


class NoRecordedResponse(AssertionError):
    """A request no route answers: a test bug or a ccxt upgrade that added a call."""


class RecordedTransport:
    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.throttled: list[float] = []
        self.exchange: Any = None

    # ---- set-up ------------------------------------------------------------------------------

    def install(self, exchange: Any) -> Any:
        self.exchange = exchange
        exchange.fetch = self.fetch
        exchange.throttle = self.throttle
        return exchange

    def on(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        where: Callable[[Request], bool] | None = None,
        times: int | None = None,
    ) -> Route:
        """Answer `method path` with `body` (or `body(request)` if callable). Newest route wins."""
        respond: Responder = body if callable(body) else (lambda _request, _body=body: _body)
        route = Route(
            method, path, respond, status, headers or {"Content-Type": "application/json"}, where, times
        )
        self.routes.insert(0, route)
        return route

    def fail_next(
        self, method: str, path: str, kind: str, *, retry_after: float | None = None, body: Any = None
    ) -> None:
        """Make the next matching request fail once."""
        self.faults.append(Fault(method, path, kind, retry_after, body))

    # ---- what was sent -------------------------------------------------------------------------

    def sent(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [
            r
            for r in self.requests
            if (method is None or r.method == method) and (path is None or r.path.endswith(path))
        ]

    def count(self, method: str, path: str) -> int:
        return len(self.sent(method, path))

    # ---- ccxt's hooks ------------------------------------------------------------------------

    def throttle(self, cost: float | None = None) -> None:
        self.throttled.append(1.0 if cost is None else float(cost))

    def fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        request = Request(method, url, dict(headers or {}), body)
        self.requests.append(request)
        fault = self._take_fault(request)
        if fault is not None:
            return self._fail(request, fault)
        for route in self.routes:
            if route.matches(request):
                if route.times is not None:
                    route.times -= 1
                answer = route.respond(request)
                if isinstance(answer, Reply):
                    return self._answer(request, answer.status, answer.headers, answer.body)
                return self._answer(request, route.status, route.headers, answer)
        raise NoRecordedResponse(f"no recorded response for {method} {url}")

    # ---- internals -----------------------------------------------------------------------------

    def _take_fault(self, request: Request) -> Fault | None:
        for fault in self.faults:
            if fault.method == request.method and request.path.endswith(fault.path):
                self.faults.remove(fault)
                return fault
        return None

    def _fail(self, request: Request, fault: Fault) -> Any:
        ex = self.exchange
        details = f"{ex.id} {request.method} {request.url}"
        if fault.kind == "timeout":
            raise ccxt.RequestTimeout(details)  # what ccxt raises on requests' Timeout
        if fault.kind == "connect":
            raise ccxt.NetworkError(details)
        headers = {"Content-Type": "application/json"}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        status = int(fault.kind)
        return self._answer(request, status, headers, fault.body if fault.body is not None else {})

    def _answer(self, request: Request, status: int, headers: dict[str, str], payload: Any) -> Any:
        """Mirror ccxt's Exchange.fetch after the HTTP call: remember, check errors, return JSON."""
        ex = self.exchange
        text = payload if isinstance(payload, str) else json.dumps(payload)
        parsed = None if isinstance(payload, str) else copy.deepcopy(payload)
        if ex.enableLastHttpResponse:
            ex.last_http_response = text
        if ex.enableLastJsonResponse:
            ex.last_json_response = parsed
        if ex.enableLastResponseHeaders:
            ex.last_response_headers = headers
        reason = REASONS.get(status, "")
        if status >= 400:
            skip = ex.handle_errors(
                status,
                reason,
                request.url,
                request.method,
                headers,
                text,
                parsed,
                request.headers,
                request.body,
            )
            if not skip:
                ex.handle_http_status_code(status, reason, request.url, request.method, text)
            raise ccxt.ExchangeError(f"{ex.id} {request.method} {request.url}")
        ex.handle_errors(
            status, reason, request.url, request.method, headers, text, parsed, request.headers, request.body
        )
        return copy.deepcopy(parsed) if parsed is not None else text


# ---- the recorded market lists, wrapped in the envelopes their endpoints return ---------------


def _static_infos(venue: str, **flags: Any) -> list[dict[str, Any]]:
    markets = fixture_json("ccxt_static", f"{venue}.json")
    return [m["info"] for m in markets.values() if all(m.get(k) == v for k, v in flags.items())]


def add_market_routes(transport: RecordedTransport, venue: str, market_type: str = "spot") -> None:
    """Answer the venue's load_markets() calls from the recorded market lists (see SOURCES.md)."""
    m = "markets"
    if venue == "binance":
        if market_type == "spot":
            body = fixture_json(m, "binance_spot_exchangeInfo_2023-09-08.subset.json")
            transport.on("GET", "/api/v3/exchangeInfo", body)
        else:
            body = fixture_json(m, "binance_usdm_exchangeInfo_2025-03-06.subset.json")
            transport.on("GET", "/fapi/v1/exchangeInfo", body)
    elif venue == "bybit":
        if market_type == "spot":
            items = fixture_json(m, "bybit_spot_instruments_2024-08.subset.json")
            category = "spot"
        else:
            items = [
                i for i in _static_infos("bybit", swap=True) if i.get("contractType") == "LinearPerpetual"
            ]
            category = "linear"
        envelope = {
            "retCode": 0,
            "retMsg": "OK",
            "result": {"category": category, "list": items, "nextPageCursor": ""},
            "retExtInfo": {},
            "time": 0,
        }
        transport.on("GET", "/v5/market/instruments-info", envelope)
    elif venue == "okx":
        if market_type == "spot":
            data = {
                "code": "0",
                "msg": "",
                "data": fixture_json(m, "okx_spot_instruments_2024-08.subset.json"),
            }
        else:
            data = fixture_json(m, "okx_swap_instruments_nautilus.json")
        transport.on("GET", "/api/v5/public/instruments", data)
    elif venue == "kucoin":
        transport.on(
            "GET",
            "/api/v2/symbols",
            {"code": "200000", "data": fixture_json(m, "kucoin_symbols_2024-09.subset.json")},
        )
    elif venue == "mexc":
        # ccxt 4.5.90 loads MEXC's contract list too, whatever the account trades: answered empty.
        body = fixture_json(m, "mexc_spot_exchangeInfo_2025-09-21.subset.json")
        transport.on("GET", "/api/v3/exchangeInfo", body)
        transport.on("GET", "/api/v1/contract/detail", {"success": True, "code": 0, "data": []})
    elif venue == "gate":
        if market_type == "spot":
            transport.on(
                "GET", "/spot/currency_pairs", fixture_json(m, "gate_spot_currency_pairs_2024-08.subset.json")
            )
            transport.on("GET", "/margin/currency_pairs", [])
        else:
            transport.on("GET", "/futures/usdt/contracts", _static_infos("gate", swap=True))
            transport.on("GET", "/futures/btc/contracts", [])
    else:
        raise ValueError(venue)


def offline_factory(venue: str, transport: RecordedTransport) -> Callable[[dict[str, Any]], Any]:
    """An exchange_factory for CcxtExchange: the real ccxt class, offline quirks, this transport."""
    profile = profile_for(venue)

    def build(config: dict[str, Any]) -> Any:
        exchange = getattr(ccxt, profile.ccxt_id)(config)
        for key, value in profile.offline_options.items():
            exchange.options[key] = copy.deepcopy(value)
        for key, flag in profile.offline_has.items():
            exchange.has[key] = flag
        return transport.install(exchange)

    return build


def recorded_cases(venue: str, method: str) -> list[dict[str, Any]]:
    """The recorded response cases of one unified method (e.g. "createOrder") for a venue."""
    return fixture_json("orders", f"{venue}.json")["responses"].get(method, [])


def recorded_requests(venue: str, method: str) -> list[dict[str, Any]]:
    return fixture_json("orders", f"{venue}.json")["requests"].get(method, [])


def recorded_body(venue: str, method: str, description: str) -> Any:
    """The raw HTTP body of one recorded case, by its upstream description."""
    for case in recorded_cases(venue, method):
        if case["description"] == description:
            return copy.deepcopy(case["httpResponse"])
    raise KeyError(f"{venue} {method} {description!r}")
