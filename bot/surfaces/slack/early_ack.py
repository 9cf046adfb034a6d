"""Events API deliveries acknowledged before Bolt runs anything.

Slack wants a 200 within three seconds and retries otherwise. Bolt acknowledges an event
only after its whole middleware chain (authorization, which may call `auth.test` or read
the installation store; de-duplication, which may call Redis), and a burst of events makes
each ack wait for every earlier event's middleware. Here a signed `event_callback` is
answered as soon as its signature checks out, and Bolt dispatches it afterwards from a
queue, one delivery at a time, so new requests are read between them.

Everything else (slash commands, interactivity, `url_verification`, unsigned or stale
requests) goes through Bolt as before: those answers carry a body, and a bad signature
must still be refused with a 401.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class EarlyAck:
    """An aiohttp middleware for the events path, and the queue Bolt drains."""

    def __init__(self, app: AsyncApp, signing_secret: str, path: str) -> None:
        self.app = app
        self.path = path
        # none in Socket Mode without a signing secret: there is no HTTP to check
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None
        self.queue: asyncio.Queue[AsyncBoltRequest] = asyncio.Queue()
        self._drainer: asyncio.Task[None] | None = None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or request.path != self.path:
            return await handler(request)
        body = await request.text()  # aiohttp keeps it: Bolt's handler reads it again
        if not self._signed_event(body, request):
            return await handler(request)
        self.queue.put_nowait(
            AsyncBoltRequest(body=body, query=request.query_string, headers=request.headers)  # type: ignore[arg-type]
        )
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="slack-dispatch")
        return web.Response(status=200)

    def _signed_event(self, body: str, request: web.Request) -> bool:
        if not request.content_type.startswith("application/json"):
            return False  # slash commands and interactivity are forms
        if self.verifier is None or not self.verifier.is_valid_request(body, request.headers):
            return False  # Bolt answers 401
        try:
            return bool(json.loads(body).get("type") == "event_callback")
        except (ValueError, AttributeError):
            return False

    async def _drain(self) -> None:
        while not self.queue.empty():
            request = self.queue.get_nowait()
            try:
                # Bolt starts the listener as its own task and returns: the answer
                # itself never holds up the next delivery
                await self.app.async_dispatch(request)
            except Exception:  # one bad delivery must not stop the others
                log.exception("slack event dispatch failed")
            finally:
                self.queue.task_done()

    async def aclose(self, grace_seconds: float = 10.0) -> None:
        """On shutdown: dispatch what was already acknowledged (Slack will not resend it)."""
        if self.queue.empty():
            return
        try:
            await asyncio.wait_for(self.queue.join(), grace_seconds)
        except TimeoutError:
            log.warning("slack: %d acknowledged events not dispatched", self.queue.qsize())
