"""Answers cut off by a dead process: each message an answer is streamed into is kept on
record while it streams (with the text shown so far) under a lease this process renews;
records whose holder stopped renewing are claimed, at start and every third of a lease,
and the platform's `Marker` edits the message to end with `INTERRUPTED`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bot.adapters.store.db import lease_holder
from bot.adapters.store.streams import StreamRecord, StreamRepository

log = logging.getLogger(__name__)

Marker = Callable[[StreamRecord], Awaitable[None]]  # raises when the platform refused
MAX_ATTEMPTS = 3  # a message that cannot be edited (deleted, bot removed) is then let go


class Mark:
    """One message on record while an answer streams into it."""

    def __init__(self, marks: StreamMarks, record_id: str | None) -> None:
        self.marks = marks
        self.record_id = record_id
        self._written = float("-inf")

    async def progress(self, text: str) -> None:
        """The text shown so far; written at most every `progress_seconds`."""
        now = self.marks.clock()
        if self.record_id is None or now - self._written < self.marks.progress_seconds:
            return
        self._written = now
        await self.marks.call(self.marks.repo.progress, self.record_id, text)

    async def end(self) -> None:
        """The answer is finished (or its error told in the thread): nothing to mark."""
        if self.record_id is not None:
            record_id, self.record_id = self.record_id, None
            await self.marks.forget(record_id)


class StreamMarks:
    def __init__(
        self,
        repo: StreamRepository,
        platform: str,
        lease_seconds: float,
        *,
        progress_seconds: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.repo = repo
        self.platform = platform
        self.lease_seconds = lease_seconds
        self.progress_seconds = progress_seconds
        self.clock = clock
        self.owner = lease_holder()
        self._sweeper: asyncio.Task[None] | None = None
        # finished answers whose record could not be deleted (the store was down): renewed
        # as this process's, they would be marked interrupted after its restart
        self._finished: set[str] = set()

    async def begin(self, channel: str, message_id: str, reference: dict[str, Any]) -> Mark:
        """Keep the message an answer now streams into. The store down costs only the mark:
        the answer goes on."""
        record_id = await self.call(
            self.repo.begin,
            self.platform,
            channel,
            message_id,
            reference,
            self.owner,
            self.lease_seconds,
        )
        return Mark(self, record_id)

    async def forget(self, record_id: str) -> None:
        try:
            await asyncio.to_thread(self.repo.end, record_id)
        except Exception as exc:  # the sweeper tries again
            log.warning("%s stream record not cleared (%s)", self.platform, type(exc).__name__)
            self._finished.add(record_id)

    async def call(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return await asyncio.to_thread(method, *args)
        except Exception as exc:
            log.warning("%s stream record not written (%s)", self.platform, type(exc).__name__)
            return None

    def start(self, marker: Marker) -> None:
        """Mark what dead processes left, now and every third of a lease."""
        self._sweeper = asyncio.create_task(self._sweep(marker), name=f"{self.platform}-marks")

    async def sweep_once(self, marker: Marker) -> int:
        """Renew this process's leases, mark the messages others left; how many marked."""
        for record_id in list(self._finished):
            await asyncio.to_thread(self.repo.end, record_id)
            self._finished.discard(record_id)
        await asyncio.to_thread(self.repo.renew, self.owner, self.lease_seconds)
        claimed = await asyncio.to_thread(
            self.repo.claim, self.platform, self.owner, self.lease_seconds
        )
        marked = 0
        for record in claimed:
            try:
                await marker(record)
            except Exception as exc:  # kept: claimed and tried again after a lease
                if record.attempts < MAX_ATTEMPTS:
                    log.warning(
                        "%s message=%s not marked interrupted (%s): trying again later",
                        self.platform,
                        record.message_id,
                        type(exc).__name__,
                    )
                    continue
                log.warning(
                    "%s message=%s not marked interrupted after %d attempts (%s): giving up",
                    self.platform,
                    record.message_id,
                    record.attempts,
                    type(exc).__name__,
                )
            else:
                marked += 1
                log.info("%s message=%s marked interrupted", self.platform, record.message_id)
            await asyncio.to_thread(self.repo.end, record.id)
        return marked

    async def _sweep(self, marker: Marker) -> None:
        while True:
            try:
                await self.sweep_once(marker)
            except Exception as exc:  # the store is down: try again next round
                log.warning("%s stream marks sweep failed: %s", self.platform, exc)
            await asyncio.sleep(self.lease_seconds / 3)

    async def aclose(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
