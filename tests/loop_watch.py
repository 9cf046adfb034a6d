"""asyncio's debug mode as a test check: any callback that holds the event loop longer than
`limit` seconds (a blocking call on the loop) is logged by asyncio and fails the test."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager


class _Slow(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if text.startswith("Executing") and " took " in text:
            self.found.append(text)


@contextmanager
def no_blocking(loop: asyncio.AbstractEventLoop, limit: float = 2.0) -> Iterator[None]:
    """Fail if a callback on `loop` runs longer than `limit` s while the block runs.
    (2 s, not asyncio's 0.1 s: on two cores shared with the rest of the suite, honest
    steps of a few ms were seen to take a second; a blocking start takes longer still.)"""
    loop.set_debug(True)
    loop.slow_callback_duration = limit
    handler = _Slow()
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        loop.set_debug(False)
    assert not handler.found, f"the event loop was blocked: {handler.found}"


class Lag:
    longest = 0.0  # the longest the event loop was late waking a sleeper, in seconds


@asynccontextmanager
async def lag_watch(every: float = 0.05) -> AsyncIterator[Lag]:
    """How late the running loop wakes a task that sleeps `every` s, at worst: a stalled
    loop (a blocking call, a starved process) shows here where a deadline was missed."""
    lag = Lag()

    async def watch() -> None:
        while True:
            began = time.monotonic()
            await asyncio.sleep(every)
            lag.longest = max(lag.longest, time.monotonic() - began - every)

    task = asyncio.create_task(watch())
    try:
        yield lag
    finally:
        task.cancel()


def thread_stacks() -> str:
    """Every thread's stack now, innermost call last (for a failure message)."""
    names = {t.ident: t.name for t in threading.enumerate()}
    return "\n".join(
        f"-- thread {names.get(ident, ident)}\n" + "".join(traceback.format_stack(frame)[-6:])
        for ident, frame in sys._current_frames().items()
    )


def task_stacks() -> str:
    """Where each of the running loop's tasks waits now (for a failure message)."""
    lines = []
    for task in asyncio.all_tasks():
        frames = task.get_stack()
        where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames[-4:]))
        lines.append(f"-- task {task.get_name()}: {where}")
    return "\n".join(lines)
