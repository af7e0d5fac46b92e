"""`POST /webhooks/tradingview`: validate, persist to the inbox, answer 202 fast. The engine does the rest.

TradingView gives a receiver about 3 seconds and re-sends on most 5xx, so every business rejection
is a 4xx or a 2xx with a reason, never a 5xx, and a re-send never trades twice.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import config_service, events, unavailable
from .config_schema import EngineConfig
from .core.webhook_payload import (
    MAX_BODY_BYTES,
    ParsedSignal,
    PayloadError,
    decode_body,
    is_stale,
    parse_signal,
    redact,
)
from .models import Signal, SignalStatus
from .models.inbox import PayloadClaim

log = logging.getLogger(__name__)

# The config's version is checked at most this often on the webhook path (no query per webhook); a
# change saved in another web process applies within this time, one saved in this process at once.
CONFIG_RECHECK_SEC = 1.0
PATH = "/webhooks/tradingview"


@dataclass(frozen=True)
class Inbound:
    """What the intake needs of a request: from Django's view, or from the lean ASGI route
    (`trading.webhook_route`), which skips Django's request handler on this one path."""

    method: str
    meta: Mapping[str, str]  # WSGI-style keys: REMOTE_ADDR, CONTENT_LENGTH, HTTP_<HEADER>
    content_type: str  # the media type alone, e.g. "application/json"
    read_body: Callable[[], bytes | None]  # None: more than MAX_BODY_BYTES arrived


@dataclass(frozen=True)
class Answer:
    """The intake's reply, before any framework turns it into a response."""

    status: int
    body: dict
    headers: tuple[tuple[str, str], ...] = ()


def client_ip(meta: Mapping[str, str], cfg: EngineConfig) -> str:
    if cfg.security.trust_x_forwarded_for:
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            # The right-most entry is the one our proxy appended (the address it saw); anything to
            # its left came from the client and can be made up, e.g. to pass the allow-list.
            return forwarded.split(",")[-1].strip()
    return meta.get("REMOTE_ADDR", "")


def storable_ip(ip: str) -> str | None:
    """The address as the inbox's IP column takes it, or None (a proxy may forward anything)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        address = ipaddress.IPv6Address(address.packed)  # PostgreSQL's inet has no "%eth0" zone
    return str(address)


def ip_allowed(ip: str, allowlist: tuple[str, ...] | list[str]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(item, strict=False) for item in allowlist)


def reject(status: int, error: str, *, ip: str, now: datetime, details: list | None = None) -> Answer:
    """Answer a refused webhook; the only thing written is a rejected-webhook event."""
    events.record(
        events.Category.WEBHOOK,
        f"webhook rejected ({status}): {error}",
        severity=events.Severity.WARNING,
        context={"ip": ip, "errors": details or []},
        now=now,
    )
    body: dict = {"status": "rejected", "error": error}
    if details:
        body["errors"] = details
    return Answer(status, body)


def _read_body(inbound: Inbound) -> bytes:
    """The raw body, or PayloadError: 413 when over the limit, 400 when its length is unreadable."""
    declared = (inbound.meta.get("CONTENT_LENGTH") or "0").strip()
    if not declared.isdigit():
        # Django's own int() of this header would raise, and that would be a 500.
        raise PayloadError(400, "the Content-Length header is not a number")
    too_big = PayloadError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    if int(declared) > MAX_BODY_BYTES:
        raise too_big
    body = inbound.read_body()
    if body is None or len(body) > MAX_BODY_BYTES:
        raise too_big
    return body


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _authentic(meta: Mapping[str, str], body: bytes, data: dict, cfg: EngineConfig) -> str | None:
    """None if the sender proved it knows the secret, else why not (never echoing the secret)."""
    expected = config_service.webhook_secret(cfg)
    if not expected:
        return "the webhook secret is not configured on the server"
    sent = data.get("secret")
    # surrogatepass: a lone surrogate from a "\ud800" escape must not make encode() raise (a 500).
    if not isinstance(sent, str) or not hmac.compare_digest(_utf8(sent), _utf8(expected)):
        return "wrong or missing secret"
    header = "HTTP_" + cfg.security.hmac_header.upper().replace("-", "_")
    signature = meta.get(header)
    if signature is None:
        return "missing HMAC signature header" if cfg.security.require_hmac else None
    digest = hmac.new(expected.encode(), body, hashlib.sha256).hexdigest()
    provided = signature.strip().lower().removeprefix("sha256=")
    # Compare bytes: compare_digest raises TypeError on a str with non-ASCII characters.
    if not hmac.compare_digest(_utf8(provided), digest.encode()):
        return "bad HMAC signature"
    return None


@csrf_exempt
def tradingview(request: HttpRequest) -> JsonResponse:
    """The Django view: WSGI servers and the test client (ASGI servers use `webhook_route`)."""

    def read_body() -> bytes | None:
        try:
            return request.body
        except RequestDataTooBig:
            return None

    inbound = Inbound(request.method or "", request.META, request.content_type or "", read_body)
    return as_json_response(receive(inbound))


def as_json_response(answer: Answer) -> JsonResponse:
    response = JsonResponse(answer.body, status=answer.status)
    for name, value in answer.headers:
        response[name] = value
    return response


def receive(inbound: Inbound) -> Answer:
    """Validate, persist to the inbox, answer. The same for every server the webhook arrives through."""
    try:
        return _receive(inbound)
    except unavailable.DATABASE_UNAVAILABLE as exc:
        # The inbox write is one transaction, so nothing was stored (unless the connection died
        # during the commit itself; then the re-send this 503 asks for is answered as a duplicate).
        unavailable.log_unavailable(inbound.method, PATH, exc)
        retry = (("Retry-After", str(unavailable.RETRY_AFTER_SECONDS)),)
        return Answer(503, {"status": "unavailable", "error": unavailable.REASON}, retry)


def _receive(inbound: Inbound) -> Answer:
    now = datetime.now(UTC)
    if inbound.method != "POST":
        error = {"status": "rejected", "error": "method not allowed; use POST"}
        return Answer(405, error, (("Allow", "POST"),))
    cfg = config_service.current(max_age=CONFIG_RECHECK_SEC)
    ip = client_ip(inbound.meta, cfg)
    if cfg.security.ip_allowlist_enabled and not ip_allowed(ip, cfg.security.ip_allowlist):
        return reject(403, f"source address {ip} is not on the allow-list", ip=ip, now=now)
    try:
        body = _read_body(inbound)
        data = decode_body(body, inbound.content_type)
    except PayloadError as exc:
        return reject(exc.status, str(exc), ip=ip, now=now, details=exc.errors)
    refusal = _authentic(inbound.meta, body, data, cfg)
    if refusal:
        return reject(401, refusal, ip=ip, now=now)
    try:
        parsed = parse_signal(data)
    except PayloadError as exc:
        return reject(exc.status, "invalid payload", ip=ip, now=now, details=exc.errors)
    return accept(parsed, data, cfg, ip, now)


def scrub_value(value: object, secret: str) -> object:
    """Mask the secret wherever a sender pasted it, in a value or a key name (redact() does too)."""
    if isinstance(value, str):
        return value.replace(secret, "***") if secret and secret in value else value
    if isinstance(value, dict):
        # Keys as well: a secret used as a JSON key name was stored verbatim.
        return {scrub_value(key, secret): scrub_value(item, secret) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub_value(item, secret) for item in value]
    return value


def _signal_row(parsed: ParsedSignal, data: dict, ip: str, now: datetime) -> Signal:
    return Signal(
        received_at=now,
        source_ip=storable_ip(ip),
        payload=scrub_value(redact(data), parsed.secret),
        dedupe_key=parsed.dedupe_key(),
        fingerprint=parsed.payload_fingerprint,
        exchange=parsed.exchange or "",
        raw_symbol=parsed.raw_symbol,
        symbol=parsed.symbol or "",
        timeframe=parsed.timeframe,
        intent=parsed.intent.value,
        side=parsed.side.value if parsed.side else "",
        entry_price=parsed.entry_price,
        order_size=parsed.order_size,
        size_type=parsed.size_type.value,
        max_slippage_percent=parsed.max_slippage_percent,
        sent_at=parsed.sent_at,
        prev_market_position=parsed.prev_market_position or "",
        trade_id=(parsed.trade_id or "")[:100],
    )


def accept(parsed: ParsedSignal, data: dict, cfg: EngineConfig, ip: str, now: datetime) -> Answer:
    """Store a parsed, authenticated signal in the inbox (or answer it as a duplicate)."""
    signal = _signal_row(parsed, data, ip, now)
    if is_stale(parsed.sent_at, now, cfg.security.max_signal_lag_seconds):
        lag = int((now - parsed.sent_at).total_seconds()) if parsed.sent_at else 0
        signal.status = SignalStatus.REJECTED
        signal.reason = (
            f"rejected: stale signal, sent {lag} s ago (limit {cfg.security.max_signal_lag_seconds} s)"
        )
        signal.processed_at = now
    window = timedelta(seconds=cfg.security.duplicate_window_seconds)
    try:
        # One transaction: the claim, the signal and its event commit together or not at all.
        with transaction.atomic():
            claimed = _claim(signal.fingerprint, now, window)
            if claimed:
                signal.save()
                _record(signal, f"accepted as signal #{signal.pk}", ip, now)
    except IntegrityError:
        if signal.dedupe_key is None:
            raise
        # Its trade id + timestamp + intent is taken (the unique dedupe key, however concurrent the
        # copies): everything above, the claim included, was rolled back.
        original = Signal.objects.filter(dedupe_key=signal.dedupe_key).values_list("pk", flat=True).first()
        return _duplicate(signal, original, now)
    if not claimed:
        # Recorded after that transaction: a refused upsert still locks the claim row until commit,
        # and a burst of copies should queue on it for one statement each, not for four.
        return _duplicate(signal, _latest_original(signal.fingerprint), now)
    if signal.status == SignalStatus.REJECTED:
        return Answer(200, {"status": "rejected", "signal_id": signal.pk, "reason": signal.reason})
    return Answer(202, {"status": "accepted", "signal_id": signal.pk})


def _claim(fingerprint: str, now: datetime, window: timedelta) -> bool:
    """Claim the payload for this request, unless an identical one was accepted within `window`.

    The identical-payload rule ("the same payload within N s is a duplicate") is decided by one
    statement against the claim row, never by a read followed by an insert:

        INSERT … ON CONFLICT (fingerprint) DO UPDATE SET claimed_at = now WHERE claimed_at < now - window

    It changes a row exactly when it inserts or moves the claim. On PostgreSQL the upsert locks the
    row and re-checks the WHERE against the latest committed version, so of any number of concurrent
    copies one moves the claim and the others wait for its commit, then see the fresh claim. SQLite
    runs every transaction under its one write lock (`transaction_mode` IMMEDIATE in settings), so
    the statement sees every earlier commit. Exact both ways: a copy is a duplicate if and only if
    the previous accepted copy is at most `window` old (no time buckets to straddle), and the
    window's current value applies at once. A window of 0 (check off) still records the claim, so
    turning the check on later knows what was accepted meanwhile. Times are the web process's
    clock (the `received_at` of the signal), so several web processes need synchronised clocks.
    """
    table = connection.ops.quote_name(PayloadClaim._meta.db_table)
    sql = (
        f"INSERT INTO {table} (fingerprint, claimed_at) VALUES (%s, %s)"
        " ON CONFLICT (fingerprint) DO UPDATE SET claimed_at = excluded.claimed_at"
    )
    params = [fingerprint, connection.ops.adapt_datetimefield_value(now)]
    if window:
        sql += f" WHERE {table}.claimed_at < %s"
        params.append(connection.ops.adapt_datetimefield_value(now - window))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        # Rows inserted or updated: 0 when the WHERE kept the claim (no RETURNING: SQLite < 3.35).
        return cursor.rowcount == 1


def _latest_original(fingerprint: str) -> int | None:
    """The signal that holds the payload's claim: the newest of its copies that was not a duplicate."""
    originals = Signal.objects.filter(fingerprint=fingerprint).exclude(status=SignalStatus.DUPLICATE)
    return originals.order_by("-pk").values_list("pk", flat=True).first()


def _record(signal: Signal, outcome: str, ip: str | None, now: datetime) -> None:
    rejected = signal.status == SignalStatus.REJECTED
    events.record(
        events.Category.WEBHOOK,
        f"webhook {signal.intent} {signal.raw_symbol} {signal.timeframe}: {signal.reason or outcome}",
        severity=events.Severity.WARNING if rejected else events.Severity.INFO,
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        signal_id=signal.pk,
        context={"ip": ip} if ip is not None else None,
        now=now,
    )


def _duplicate(signal: Signal, original: int | None, now: datetime) -> Answer:
    signal.dedupe_key = None
    signal.status = SignalStatus.DUPLICATE
    signal.reason = f"duplicate of signal #{original}; ignored"
    signal.processed_at = now
    with transaction.atomic():
        signal.save()
        _record(signal, "", None, now)
    return Answer(200, {"status": "duplicate", "signal_id": original})
