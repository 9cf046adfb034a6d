"""What the operations port sees of Slack: events by kind, the time to acknowledge each
(HTTP mode), and the event id that follows each event into the log and the worker."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler, Middleware

from bot.runtime.logs import event_id
from bot.runtime.metrics import ACK_SECONDS, EVENTS


async def count_event(
    body: dict[str, Any],
    next: Callable[[], Awaitable[None]],  # Bolt passes both by name
) -> None:
    """A Bolt global middleware: count the event and make its id the current event id."""
    kind = body.get("event", {}).get("type") or body.get("type") or "unknown"
    EVENTS.labels("slack", str(kind)).inc()
    event_id.set(str(body.get("event_id") or body.get("trigger_id") or ""))
    await next()


def timed_ack(path: str) -> Middleware:
    """An aiohttp middleware timing the response Slack waits for on `path`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != path:
            return await handler(request)
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            ACK_SECONDS.labels("slack").observe(time.perf_counter() - started)

    return middleware
