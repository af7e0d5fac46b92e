"""Where the capital is: per-pair exposure, the share locked in resting DCA legs, the pool in use,
and deployed vs free (the TVL gauge). Pure: figures in, shares out.

The three parts of the capital are disjoint: `deployed` is the entry cost of what is filled and still
open, `resting` is what the unfilled DCA legs would cost at their limit prices (the exchange holds
it: a paper balance moves it from free to locked), `free` is what is left to open entries with. The
capital is their sum, so the shares add up to 100 %. A live venue's free balance is read by the engine
only; without it there is no capital to divide by and the shares are None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Exposure:
    """One pair's open groups: filled entry cost and unfilled leg cost, in the quote currency."""

    symbol: str
    deployed: Decimal
    resting: Decimal
    groups: int


@dataclass(frozen=True)
class ExposureShare:
    symbol: str
    deployed: Decimal
    resting: Decimal
    groups: int
    share_percent: Decimal | None  # of everything deployed or resting across the pairs


@dataclass(frozen=True)
class Allocation:
    pairs: list[ExposureShare]  # largest commitment first
    deployed: Decimal
    resting: Decimal
    free: Decimal | None
    capital: Decimal | None  # free + deployed + resting; None without a free balance
    deployed_percent: Decimal | None
    resting_percent: Decimal | None
    free_percent: Decimal | None
    pool_used: int
    pool_max: int
    pool_percent: Decimal | None


def _percent(part: Decimal, whole: Decimal | None) -> Decimal | None:
    return part / whole * _HUNDRED if whole else None


def allocation(
    exposures: Iterable[Exposure], free: Decimal | None, pool_used: int, pool_max: int
) -> Allocation:
    """The capital split of the open groups; `free` is the known free balance (None: unknown)."""
    rows = list(exposures)
    deployed = sum((e.deployed for e in rows), _ZERO)
    resting = sum((e.resting for e in rows), _ZERO)
    committed = deployed + resting
    capital = None if free is None else free + committed
    pairs = sorted(
        (
            ExposureShare(
                e.symbol, e.deployed, e.resting, e.groups, _percent(e.deployed + e.resting, committed)
            )
            for e in rows
        ),
        key=lambda s: (-(s.deployed + s.resting), s.symbol),
    )
    return Allocation(
        pairs=pairs,
        deployed=deployed,
        resting=resting,
        free=free,
        capital=capital,
        deployed_percent=_percent(deployed, capital),
        resting_percent=_percent(resting, capital),
        free_percent=None if free is None else _percent(free, capital),
        pool_used=pool_used,
        pool_max=pool_max,
        pool_percent=_percent(Decimal(pool_used), Decimal(pool_max)),
    )
