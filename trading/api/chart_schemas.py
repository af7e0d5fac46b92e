"""The group chart's shape (`GET /groups/{id}/chart`): times in epoch seconds, prices as decimal
strings. The console's chart island is built against exactly this."""

from __future__ import annotations

from typing import Literal

from ninja import Schema

from .schemas import Dec


class PointOut(Schema):
    time: int
    price: Dec


class CandleOut(Schema):
    time: int  # the candle's open
    open: Dec
    high: Dec
    low: Dec
    close: Dec


class LineOut(Schema):
    label: str
    price: Dec
    kind: Literal["leg", "tp", "avg", "stop"]


class MarkerOut(Schema):
    time: int
    price: Dec
    kind: Literal["entry", "fill", "tp", "exit"]
    text: str


class ChartOut(Schema):
    symbol: str
    tick: Dec
    kind: Literal["points", "candles"]
    points: list[PointOut]
    candles: list[CandleOut]
    lines: list[LineOut]
    markers: list[MarkerOut]
