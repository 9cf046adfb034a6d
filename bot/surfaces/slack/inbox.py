"""Durable acknowledgement: a signed event is written to the inbox (the SQL store) before
Slack gets its 200 (a failed write answers 503, so Slack retries), dispatched to Bolt, and
marked done when its listeners finish. Events a dead process held are claimed, once their
lease runs out, by a live one (at its start and every third of a lease) and answered then.
Socket Mode acknowledges the same way (`bot.surfaces.slack.socket_mode`).
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_bolt.listener.async_listener_completion_handler import (
    AsyncListenerCompletionHandler,
)
from slack_bolt.listener.async_listener_start_handler import AsyncListenerStartHandler
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.adapters.store.db import lease_holder
from bot.adapters.store.inbox import InboxRepository
from bot.surfaces.slack.early_ack import EarlyAck, Handler
from bot.surfaces.slack.once import Once

log = logging.getLogger(__name__)

ENTRY = "learnloop_inbox"  # the Bolt request context key of a dispatched event's entry
# set while a reclaimed event is dispatched (copied into its listeners' tasks): its
# de-duplication keys were taken by the process that died holding it
_reclaimed: contextvars.ContextVar[bool] = contextvars.ContextVar("reclaimed", default=False)
# the inbox event being dispatched (copied into its listeners' tasks, like `_reclaimed`)
_event: contextvars.ContextVar[str] = contextvars.ContextVar("inbox_event", default="")


def current_event() -> str:
    """The id of the inbox event whose listeners run here ("" outside one)."""
    return _event.get()


@dataclass
class Entry:
    event_id: str
    listeners: int = 0
    finished: bool = False


class InboxOnce:
    """The app's de-duplication, except for reclaimed events: the inbox answers those once."""

    def __init__(self, inner: Once) -> None:
        self.inner = inner

    async def claim(self, key: str) -> bool:
        first = await self.inner.claim(key)
        return first or _reclaimed.get()

    async def aclose(self) -> None:
        await self.inner.aclose()


class DurableAck(EarlyAck):
    def __init__(
        self,
        app: AsyncApp,
        signing_secret: str,
        path: str,
        inbox: InboxRepository,
        lease_seconds: float,
    ) -> None:
        super().__init__(app, signing_secret, path)
        self.inbox = inbox
        self.lease_seconds = lease_seconds
        self.owner = lease_holder()
        self.secret = signing_secret
        self.held: dict[str, Entry] = {}
        self._sweeper: asyncio.Task[None] | None = None
        runner = app.listener_runner
        runner.listener_start_handler = _Started()
        runner.listener_completion_handler = _Finished(self)

    def start(self) -> None:
        """Answer what dead processes left, now and every third of a lease."""
        self._sweeper = asyncio.create_task(self._sweep(), name="slack-inbox")

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or request.path != self.path:
            return await handler(request)
        body = await request.text()
        if not self._signed_event(body, request):
            return await handler(request)
        event_id = str(json.loads(body).get("event_id") or "")
        try:
            await self.keep(event_id, body)
        except Exception as exc:  # not kept: no 200, so Slack sends it again
            log.warning("slack: event=%s not kept (%s); answering 503", event_id, exc)
            return web.Response(status=503)
        return web.Response(status=200)

    async def keep(self, event_id: str, body: str) -> None:
        """Write the event to the inbox, then queue it for Bolt (a redelivery of one
        already kept is not queued again). Raises when it could not be kept: the caller
        must not acknowledge it then."""
        if await asyncio.to_thread(self.inbox.add, event_id, body, self.owner, self.lease_seconds):
            self._enqueue(event_id, body, reclaimed=False)

    def _enqueue(self, event_id: str, body: str, *, reclaimed: bool) -> None:
        entry = self.held[event_id] = Entry(event_id)
        headers: dict[str, str | Sequence[str]] = {"content-type": "application/json"}
        if self.secret:  # signed again: a reclaimed event's signature is stale (Socket
            # Mode without a secret: Bolt checks none)
            ts = str(int(time.time()))
            signature = SignatureVerifier(self.secret).generate_signature(timestamp=ts, body=body)
            headers |= {"x-slack-request-timestamp": ts, "x-slack-signature": signature or ""}
        request = AsyncBoltRequest(body=body, headers=headers, context={ENTRY: entry})
        if reclaimed:
            request.context["learnloop_reclaimed"] = True
        self.queue.put_nowait(request)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name="slack-dispatch")

    async def _drain(self) -> None:
        while not self.queue.empty():
            request = self.queue.get_nowait()
            entry: Entry = request.context[ENTRY]
            token = _reclaimed.set(bool(request.context.get("learnloop_reclaimed")))
            event_token = _event.set(entry.event_id)
            try:
                await self.app.async_dispatch(request)
                await asyncio.sleep(0)  # the listeners it started have now begun
            except Exception:  # one bad delivery must not stop the others
                log.exception("slack event dispatch failed")
            finally:
                _event.reset(event_token)
                _reclaimed.reset(token)
                self.queue.task_done()
            if entry.listeners == 0:  # nothing listens to it (or a redelivery dropped)
                await self.finish(entry)

    async def finish(self, entry: Entry) -> None:
        if entry.finished:
            return
        entry.finished = True
        self.held.pop(entry.event_id, None)
        try:
            await asyncio.to_thread(self.inbox.done, entry.event_id)
        except Exception as exc:  # answered; kept as pending, it may be answered again
            log.warning("slack: event=%s not marked done (%s)", entry.event_id, exc)

    async def _sweep(self) -> None:
        while True:
            try:
                await asyncio.to_thread(
                    self.inbox.renew, self.owner, list(self.held), self.lease_seconds
                )
                for event_id, body in await asyncio.to_thread(
                    self.inbox.claim, self.owner, self.lease_seconds, list(self.held)
                ):
                    log.info("slack: answering event=%s left by another process", event_id)
                    self._enqueue(event_id, body, reclaimed=True)
                for event_id in await asyncio.to_thread(self.inbox.give_up):
                    log.warning(
                        "slack: event=%s given up: its answer died with its process "
                        "each time it was taken up",
                        event_id,
                    )
            except Exception as exc:  # the store is down: try again next round
                log.warning("slack inbox sweep failed: %s", exc)
            await asyncio.sleep(self.lease_seconds / 3)

    async def aclose(self, grace_seconds: float = 10.0) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await super().aclose(grace_seconds)


def _entry(request: AsyncBoltRequest) -> Entry | None:
    found: Any = request.context.get(ENTRY)
    return found if isinstance(found, Entry) else None


class _Started(AsyncListenerStartHandler):
    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        if (entry := _entry(request)) is not None:
            entry.listeners += 1


class _Finished(AsyncListenerCompletionHandler):
    def __init__(self, durable: DurableAck) -> None:
        self.durable = durable

    async def handle(self, request: AsyncBoltRequest, response: BoltResponse | None) -> None:
        if (entry := _entry(request)) is not None:
            entry.listeners -= 1
            if entry.listeners <= 0:
                await self.durable.finish(entry)
