"""With REDIS_URL a separate engine process reaches the console's sockets through channels_redis."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import channel_layers, get_channel_layer

from trading import live

REDIS = ("127.0.0.1", 6379)


def redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_layer(settings):
    if not redis_up():
        if os.environ.get("CI"):
            pytest.fail("Redis is expected at 127.0.0.1:6379 in CI")
        pytest.skip("no Redis at 127.0.0.1:6379")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:6379/15"], "prefix": f"tvtest{os.getpid()}"},
        }
    }
    channel_layers.backends.clear()
    yield get_channel_layer()
    channel_layers.backends.clear()


def test_an_engine_push_reaches_a_console_subscriber_through_redis(redis_layer):
    async def scenario() -> dict:
        channel = await redis_layer.new_channel()
        await redis_layer.group_add(live.GROUP, channel)
        await sync_to_async(live.publish, thread_sensitive=False)(["groups", "queue"], [7])
        return await asyncio.wait_for(redis_layer.receive(channel), timeout=5)

    message = async_to_sync(scenario)()
    assert message["type"] == "console.changed"
    assert message["topics"] == ["groups", "queue"]
    assert message["group_ids"] == [7]


def test_bursts_coalesce_into_one_message(redis_layer):
    live.take()  # start from nothing
    for _ in range(50):
        live.mark("order", group_id=3)
    topics, groups = live.take()
    assert groups == [3]
    assert set(topics) == {"groups", "dashboard", "events"}
    assert live.take() == ([], [])
