"""Handle each delivery once: Slack retries events, and one message can arrive as two
events (a mention in a thread as `app_mention` and `message`; one upload as
`message/file_share` and `file_shared`)."""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, Protocol


class Once(Protocol):
    async def claim(self, key: str) -> bool:
        """True the first time `key` is seen within the window; False afterwards."""
        ...

    async def aclose(self) -> None: ...


class MemoryOnce:
    """In-process keys with a time to live (embedded mode: one bot process, no Redis)."""

    def __init__(self, seconds: float, max_keys: int = 100_000) -> None:
        self.seconds = seconds
        self.max_keys = max_keys
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def claim(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen and (
            next(iter(self._seen.values())) <= now or len(self._seen) >= self.max_keys
        ):
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now + self.seconds
        return True

    async def aclose(self) -> None:
        self._seen.clear()


class RedisOnce:
    """`SET key 1 NX EX seconds`: shared by every bot replica."""

    def __init__(self, url: str, seconds: int, prefix: str = "learnloop:slack:once:") -> None:
        from redis.asyncio import Redis

        self._redis: Any = Redis.from_url(url)
        self.seconds = seconds
        self.prefix = prefix

    async def claim(self, key: str) -> bool:
        return bool(await self._redis.set(self.prefix + key, b"1", nx=True, ex=self.seconds))

    async def aclose(self) -> None:
        await self._redis.aclose()


def once_for(broker_url: str, seconds: int) -> Once:
    if broker_url.startswith(("redis://", "rediss://")):
        return RedisOnce(broker_url, seconds)
    return MemoryOnce(seconds)
