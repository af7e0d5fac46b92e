"""Price feeds for the paper exchange: a seeded random walk and a replay of real candles.

Plain classes with no Django and no clock: the engine asks for the next prices each step and
passes them to `PaperExchange.set_price`. Both are deterministic, so a run can be repeated.
"""

from __future__ import annotations

import json
import random
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Protocol

BUNDLED_BTC_USDT_1H = Path(__file__).resolve().parent / "data" / "candles" / "BTC_USDT-1h.json"

_PLACES = Decimal("0.00000001")
_CLOSE = 4  # freqtrade candle: [open_time_ms, open, high, low, close, volume]


class PriceFeed(Protocol):
    def next_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        """The next price of each symbol the feed knows; unknown symbols are left out."""
        ...


class RandomWalkFeed:
    """Each step moves a price by a normal draw of `volatility_percent` % (one standard deviation).

    Every symbol has its own generator seeded from (seed, symbol), so a symbol's path does not
    depend on which other symbols are asked for, or in which order.
    """

    def __init__(self, seed: int, volatility_percent: Decimal, start_prices: dict[str, Decimal]) -> None:
        if volatility_percent < 0:
            raise ValueError(f"volatility_percent must be >= 0, got {volatility_percent}")
        self._seed = seed
        self._volatility = volatility_percent / 100
        self._prices = {symbol: _round(price) for symbol, price in start_prices.items()}
        self._rngs: dict[str, random.Random] = {}

    def next_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        out: dict[str, Decimal] = {}
        for symbol in symbols:
            price = self._prices.get(symbol)
            if price is None:
                continue
            rng = self._rngs.setdefault(symbol, random.Random(f"{self._seed}:{symbol}"))
            # The draw is a float; it becomes Decimal once, through its text form.
            move = Decimal(repr(rng.gauss(0.0, 1.0))) * self._volatility
            # A move of -100 % or worse would end the walk at zero; halve the price instead.
            factor = max(Decimal(1) + move, Decimal("0.5"))
            price = max(_round(price * factor), _PLACES)
            self._prices[symbol] = price
            out[symbol] = price
        return out


class CandleReplayFeed:
    """Replays the closes of a freqtrade JSON candle file, one candle per step, looping at the end."""

    def __init__(self, path: Path | str = BUNDLED_BTC_USDT_1H, symbol: str | None = None) -> None:
        with Path(path).open("rb") as fh:
            # parse_float=Decimal keeps the file's exact digits (no float round trip).
            candles = json.load(fh, parse_float=Decimal)
        self.closes = [_round(Decimal(candle[_CLOSE])) for candle in candles]
        if not self.closes:
            raise ValueError(f"{path}: no candles")
        self.symbol = symbol or _symbol_from_name(Path(path).name)
        self._index = 0

    def __len__(self) -> int:
        return len(self.closes)

    def next_close(self) -> Decimal:
        price = self.closes[self._index]
        self._index = (self._index + 1) % len(self.closes)
        return price

    def next_prices(self, symbols: list[str]) -> dict[str, Decimal]:
        return {self.symbol: self.next_close()} if self.symbol in symbols else {}


def _round(price: Decimal) -> Decimal:
    return price.quantize(_PLACES, rounding=ROUND_HALF_EVEN)


def _symbol_from_name(name: str) -> str:
    """Map "BTC_USDT-1h.json" to "BTC/USDT" (freqtrade's file naming)."""
    pair = name.split("-", 1)[0]
    base, _, quote = pair.partition("_")
    if not base or not quote:
        raise ValueError(f"cannot tell the symbol from file name {name!r}; pass symbol=")
    return f"{base}/{quote}"
