"""asyncio's debug mode as a test check: any callback that holds the event loop longer than
`limit` seconds (a blocking call on the loop) is logged by asyncio and fails the test."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager


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
