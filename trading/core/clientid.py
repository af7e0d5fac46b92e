"""Deterministic client order ids, so a retried send can be matched to what the exchange already has.

Shape: ``tv`` + namespace + ``g<group>p<pyramid>l<leg>`` + purpose code + ``a<attempt>``, e.g.
``tvab12g12p0l3da0``. A missing pyramid or leg leaves its digits empty (``g12plxa0``).
Only [A-Za-z0-9] and at most 32 characters (OKX's limit, the strictest common one).

Parsing is unambiguous because nothing after the namespace contains a ``g`` except the group
marker, and purpose codes avoid ``a`` and digits; integers are written without leading zeros, so
parse and format are exact inverses.
"""

from __future__ import annotations

import enum
import re
from typing import NamedTuple

MAX_LENGTH = 32
_PREFIX = "tv"
_NAMESPACE = re.compile(r"[A-Za-z0-9]{1,8}")
_PATTERN = re.compile(r"tv([A-Za-z0-9]{1,8})g(\d+)p(\d*)l(\d*)([a-z]{1,2})a(\d+)")


class Purpose(enum.StrEnum):
    ENTRY = "entry"  # DCA0
    DCA = "dca"
    TP_LEG = "tp"
    TP_GROUP = "tpg"
    EXIT = "exit"
    REDUCE = "red"
    REVERSE = "rev"
    RISK = "risk"
    MANUAL = "man"

    @property
    def code(self) -> str:
        return _CODES[self]


# Codes must be unique, lowercase, and free of "a" and "g" (see the module docstring).
_CODES: dict[Purpose, str] = {
    Purpose.ENTRY: "e",
    Purpose.DCA: "d",
    Purpose.TP_LEG: "t",
    Purpose.TP_GROUP: "tt",
    Purpose.EXIT: "x",
    Purpose.REDUCE: "r",
    Purpose.REVERSE: "rv",
    Purpose.RISK: "k",
    Purpose.MANUAL: "m",
}
_BY_CODE = {code: purpose for purpose, code in _CODES.items()}


class ParsedClientId(NamedTuple):
    namespace: str
    group_id: int
    pyramid: int | None
    leg: int | None
    purpose: Purpose
    attempt: int


def client_order_id(
    namespace: str, group_id: int, pyramid: int | None, leg: int | None, purpose: Purpose, attempt: int
) -> str:
    """The client order id for one send attempt of one order."""
    if not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"namespace must be 1-8 letters or digits, got {namespace!r}")
    for name, value in (("group_id", group_id), ("pyramid", pyramid), ("leg", leg), ("attempt", attempt)):
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    cid = f"{_PREFIX}{namespace}g{group_id}p{_opt(pyramid)}l{_opt(leg)}{Purpose(purpose).code}a{attempt}"
    if len(cid) > MAX_LENGTH:
        raise ValueError(f"client order id {cid!r} is longer than {MAX_LENGTH} characters")
    return cid


def parse_client_order_id(cid: str) -> ParsedClientId | None:
    """The inverse of client_order_id; None for ids this engine did not make."""
    match = _PATTERN.fullmatch(cid)
    if match is None or len(cid) > MAX_LENGTH:
        return None
    namespace, group, pyramid, leg, code, attempt = match.groups()
    purpose = _BY_CODE.get(code)
    if purpose is None or not all(_canonical(n) for n in (group, pyramid, leg, attempt)):
        return None
    return ParsedClientId(
        namespace=namespace,
        group_id=int(group),
        pyramid=int(pyramid) if pyramid else None,
        leg=int(leg) if leg else None,
        purpose=purpose,
        attempt=int(attempt),
    )


def _opt(value: int | None) -> str:
    return "" if value is None else str(value)


def _canonical(digits: str) -> bool:
    # "07" would parse to 7 but never be produced; rejecting it keeps one id per order.
    return len(digits) <= 1 or digits[0] != "0"
