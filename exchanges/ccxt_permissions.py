"""Whether an API key may withdraw funds, on the venues that report it. ccxt has no unified call
for this, so each venue's own endpoint is named here (called through the adapter's ccxt instance
and `translated()`, like every other ccxt call). Trading needs no withdrawal right: a key that has
one is a risk the console warns about.

- Binance: `GET /sapi/v1/account/apiRestrictions` → `enableWithdrawals`.
- OKX: `GET /api/v5/account/config` → `data[0].perm`, e.g. "read_only,trade,withdraw".
- Bybit, KuCoin, MEXC, Gate: not asked here (None: "not reported").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .ccxt_adapter import CcxtExchange
from .ccxt_errors import translated


def _binance(exchange: Any) -> bool | None:
    answer = exchange.sapi_get_account_apirestrictions()
    value = answer.get("enableWithdrawals") if isinstance(answer, dict) else None
    return value if isinstance(value, bool) else None


def _okx(exchange: Any) -> bool | None:
    answer = exchange.private_get_account_config()
    rows = answer.get("data") if isinstance(answer, dict) else None
    perm = rows[0].get("perm") if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
    if not isinstance(perm, str):
        return None
    return "withdraw" in {part.strip() for part in perm.split(",")}


PROBES: dict[str, Callable[[Any], bool | None]] = {"binance": _binance, "okx": _okx}


def withdrawal_permission(adapter: CcxtExchange) -> bool | None:
    """True/False where the venue reports it, None where it does not; may raise an ExchangeError."""
    probe = PROBES.get(adapter.venue)
    if probe is None:
        return None
    exchange = adapter._exchange  # this package's own adapter: the ccxt instance stays inside it
    with translated(exchange):
        return probe(exchange)
