"""What the operations port sees of Teams: activities by type, the time to answer each
POST /api/messages, and the activity id that follows it into the log and the worker."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from aiohttp.typedefs import Handler, Middleware

from bot.runtime.logs import event_id
from bot.runtime.metrics import ACK_SECONDS, EVENTS


def measured(path: str) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path != path or request.method != "POST":
            return await handler(request)
        started = time.perf_counter()
        try:
            activity = json.loads(await request.read())  # aiohttp keeps the body for botbuilder
        except ValueError:
            activity = {}
        if not isinstance(activity, dict):
            activity = {}
        EVENTS.labels("teams", str(activity.get("type") or "unknown")).inc()
        event_id.set(str(activity.get("id") or ""))
        try:
            return await handler(request)
        finally:
            ACK_SECONDS.labels("teams").observe(time.perf_counter() - started)

    return middleware
