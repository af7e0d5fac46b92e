"""The open-loop load generator the webhook benchmarks share.

Requests leave on a fixed schedule whatever the answers do (open loop), and each latency is
measured from the request's *scheduled* send time, so a stalled server shows up as latency instead
of silently slowing the generator. Several base URLs are used round-robin, like a reverse proxy in
front of several web processes.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
import httpx
from _harness import CpuMeter


@dataclass
class Phase:
    endpoint: str
    rate: float
    requests: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful answers only
    statuses: Counter = field(default_factory=Counter)
    signal_ids: list[int] = field(default_factory=list)
    max_send_lag: float = 0.0
    wall: float = 0.0  # first scheduled send to last answer
    cpu: CpuMeter | None = None
    before: CpuMeter | None = None  # 2 s just before the phase: idle server and other processes
    load: str = ""  # load averages when the phase began

    @property
    def answered(self) -> int:
        return len(self.latencies)

    @property
    def saturated(self) -> bool:
        """The server did not keep up: answers below 95 % of the target rate, or requests left unanswered."""
        return self.throughput < 0.95 * self.rate or self.answered < self.requests

    @property
    def throughput(self) -> float:
        return self.answered / self.wall if self.wall > 0 else 0.0


class _HttpxSender:
    def __init__(self, connections: int, timeout: float) -> None:
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.client = httpx.AsyncClient(limits=limits, timeout=timeout)
        self.errors: tuple[type[BaseException], ...] = (httpx.HTTPError, OSError)

    async def send(self, url: str, body: bytes | None) -> tuple[int, bytes]:
        if body is None:
            response = await self.client.get(url)
        else:
            response = await self.client.post(url, content=body, headers=JSON)
        return response.status_code, response.content

    async def close(self) -> None:
        await self.client.aclose()


class _AiohttpSender:
    def __init__(self, connections: int, timeout: float) -> None:
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=connections),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self.errors = (aiohttp.ClientError, asyncio.TimeoutError, OSError)

    async def send(self, url: str, body: bytes | None) -> tuple[int, bytes]:
        if body is None:
            async with self.session.get(url) as response:
                return response.status, await response.read()
        async with self.session.post(url, data=body, headers=JSON) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self.session.close()


SENDERS = {"aiohttp": _AiohttpSender, "httpx": _HttpxSender}
JSON = {"Content-Type": "application/json"}


async def open_loop(
    urls: str | list[str],
    rate: float,
    seconds: float,
    bodies: list[bytes] | None,
    *,
    endpoint: str,
    connections: int,
    timeout: float,
    client: str = "aiohttp",
) -> Phase:
    """Send `rate * seconds` requests at fixed intervals; never wait for an answer before the next.

    With several `urls` request i goes to urls[i % len(urls)] (a round-robin proxy's split).
    """
    urls = [urls] if isinstance(urls, str) else urls
    count = int(rate * seconds)
    phase = Phase(endpoint=endpoint, rate=rate, requests=count)
    loop = asyncio.get_running_loop()
    sender = SENDERS[client](connections, timeout)
    last_answer = 0.0

    async def one(i: int, scheduled: float) -> None:
        nonlocal last_answer
        try:
            status, content = await sender.send(urls[i % len(urls)], None if bodies is None else bodies[i])
        except sender.errors as exc:
            phase.statuses[f"error {type(exc).__name__}"] += 1
            return
        done = loop.time()
        last_answer = max(last_answer, done)
        phase.latencies.append(done - scheduled)
        phase.statuses[str(status)] += 1
        if status == 202:
            phase.signal_ids.append(json.loads(content)["signal_id"])

    try:
        start = loop.time() + 0.05
        tasks = []
        for i in range(count):
            scheduled = start + i / rate
            delay = scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            phase.max_send_lag = max(phase.max_send_lag, loop.time() - scheduled)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        # Bounded: every request has its own timeout; anything still pending after that is cancelled.
        _, pending = await asyncio.wait(tasks, timeout=timeout + 5)
        for task in pending:
            task.cancel()
        if pending:
            phase.statuses["unanswered"] += len(pending)
        phase.wall = max(last_answer - start, 1e-9)
    finally:
        await sender.close()
    return phase
