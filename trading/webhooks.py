"""`POST /webhooks/tradingview`: validate, persist to the inbox, answer 202 fast. The engine does the rest.

TradingView gives a receiver about 3 seconds and re-sends on most 5xx, so every business rejection
is a 4xx or a 2xx with a reason, never a 5xx, and a re-send never trades twice.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
from datetime import UTC, datetime, timedelta

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from . import config_service, events
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
from .models import EngineState, Signal, SignalStatus

log = logging.getLogger(__name__)


def client_ip(request: HttpRequest, cfg: EngineConfig) -> str:
    if cfg.security.trust_x_forwarded_for:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR", "")


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


def reject(status: int, error: str, *, ip: str, now: datetime, details: list | None = None) -> JsonResponse:
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
    return JsonResponse(body, status=status)


def _read_body(request: HttpRequest) -> bytes:
    """The raw body, or PayloadError: 413 when over the limit, 400 when its length is unreadable."""
    declared = (request.META.get("CONTENT_LENGTH") or "0").strip()
    if not declared.isdigit():
        # Django's own int() of this header would raise, and that would be a 500.
        raise PayloadError(400, "the Content-Length header is not a number")
    too_big = PayloadError(413, f"body larger than {MAX_BODY_BYTES} bytes")
    if int(declared) > MAX_BODY_BYTES:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    if len(body) > MAX_BODY_BYTES:
        raise too_big
    return body


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _authentic(request: HttpRequest, body: bytes, data: dict, cfg: EngineConfig) -> str | None:
    """None if the sender proved it knows the secret, else why not (never echoing the secret)."""
    expected = config_service.webhook_secret(cfg)
    if not expected:
        return "the webhook secret is not configured on the server"
    sent = data.get("secret")
    # surrogatepass: a lone surrogate from a "\ud800" escape must not make encode() raise (a 500).
    if not isinstance(sent, str) or not hmac.compare_digest(_utf8(sent), _utf8(expected)):
        return "wrong or missing secret"
    header = "HTTP_" + cfg.security.hmac_header.upper().replace("-", "_")
    signature = request.META.get(header)
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
    now = datetime.now(UTC)
    if request.method != "POST":
        response = JsonResponse({"status": "rejected", "error": "method not allowed; use POST"}, status=405)
        response["Allow"] = "POST"
        return response
    cfg = config_service.current()
    ip = client_ip(request, cfg)
    if cfg.security.ip_allowlist_enabled and not ip_allowed(ip, cfg.security.ip_allowlist):
        return reject(403, f"source address {ip} is not on the allow-list", ip=ip, now=now)
    try:
        body = _read_body(request)
        data = decode_body(body, request.content_type)
    except PayloadError as exc:
        return reject(exc.status, str(exc), ip=ip, now=now, details=exc.errors)
    refusal = _authentic(request, body, data, cfg)
    if refusal:
        return reject(401, refusal, ip=ip, now=now)
    try:
        parsed = parse_signal(data)
    except PayloadError as exc:
        return reject(exc.status, "invalid payload", ip=ip, now=now, details=exc.errors)
    return _accept(parsed, data, cfg, ip, now)


def scrub_value(value: object, secret: str) -> object:
    """Mask the secret wherever a sender pasted it into a value (redact() works on key names)."""
    if isinstance(value, str):
        return value.replace(secret, "***") if secret and secret in value else value
    if isinstance(value, dict):
        return {key: scrub_value(item, secret) for key, item in value.items()}
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


def _accept(parsed: ParsedSignal, data: dict, cfg: EngineConfig, ip: str, now: datetime) -> JsonResponse:
    signal = _signal_row(parsed, data, ip, now)
    original = None
    window = timedelta(seconds=cfg.security.duplicate_window_seconds)
    if window:  # 0 turns the identical-payload check off (the trade-id check always runs)
        original = (
            Signal.objects.filter(fingerprint=signal.fingerprint, received_at__gte=now - window)
            .exclude(status=SignalStatus.DUPLICATE)
            .values_list("pk", flat=True)
            .first()
        )
    if original is None and signal.dedupe_key:
        original = Signal.objects.filter(dedupe_key=signal.dedupe_key).values_list("pk", flat=True).first()
    if original is not None:
        return _duplicate(signal, original, now)
    if is_stale(parsed.sent_at, now, cfg.security.max_signal_lag_seconds):
        lag = int((now - parsed.sent_at).total_seconds()) if parsed.sent_at else 0
        signal.status = SignalStatus.REJECTED
        signal.reason = (
            f"rejected: stale signal, sent {lag} s ago (limit {cfg.security.max_signal_lag_seconds} s)"
        )
        signal.processed_at = now
    try:
        with transaction.atomic():
            signal.save()
            EngineState.objects.filter(pk=1).update(last_webhook_at=now)
    except IntegrityError:
        # The same alert won a race on the unique dedupe key a moment ago.
        original = Signal.objects.filter(dedupe_key=signal.dedupe_key).values_list("pk", flat=True).first()
        return _duplicate(signal, original, now)
    events.record(
        events.Category.WEBHOOK,
        f"webhook {parsed.intent.value} {parsed.raw_symbol} {parsed.timeframe}: "
        + (signal.reason or f"accepted as signal #{signal.pk}"),
        severity=events.Severity.WARNING if signal.status == SignalStatus.REJECTED else events.Severity.INFO,
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        signal_id=signal.pk,
        context={"ip": ip},
        now=now,
    )
    if signal.status == SignalStatus.REJECTED:
        return JsonResponse(
            {"status": "rejected", "signal_id": signal.pk, "reason": signal.reason}, status=200
        )
    return JsonResponse({"status": "accepted", "signal_id": signal.pk}, status=202)


def _duplicate(signal: Signal, original: int | None, now: datetime) -> JsonResponse:
    signal.dedupe_key = None
    signal.status = SignalStatus.DUPLICATE
    signal.reason = f"duplicate of signal #{original}; ignored"
    signal.processed_at = now
    signal.save()
    events.record(
        events.Category.WEBHOOK,
        f"webhook {signal.intent} {signal.raw_symbol} {signal.timeframe}: {signal.reason}",
        symbol=signal.symbol,
        timeframe=signal.timeframe,
        signal_id=signal.pk,
        now=now,
    )
    return JsonResponse({"status": "duplicate", "signal_id": original}, status=200)
