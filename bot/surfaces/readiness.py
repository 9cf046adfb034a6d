"""A chat process's model, reached (or its embedded server started) at start-up off the
event loop: acknowledgements and refusals go on meanwhile, and the process reports ready
(`GET /readyz` 200) only once the model server answers; `GET /healthz` is liveness."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web

from bot.domain.errors import LearnLoopError
from bot.runtime.inference import healthy

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

LIVE_PATH, READY_PATH = "/healthz", "/readyz"  # the Kubernetes probes' paths (deploy/k8s)


class ModelReadiness:
    def __init__(self, app: App, poll_seconds: float = 1.0) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self.ready = False
        self.problem = "starting"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Begin connecting in the background; returns at once."""
        self._task = asyncio.create_task(self._connect(), name="model-readiness")

    async def _connect(self) -> None:
        try:
            # may start the embedded server: minutes of blocking, so on a worker thread
            url = await asyncio.to_thread(self.app.model_base_url)
            while not await asyncio.to_thread(healthy, url):  # an external server not up yet
                self.problem = f"waiting for the model server at {url}"
                await asyncio.sleep(self.poll_seconds)
        except LearnLoopError as exc:  # questions will say so; the process stays up
            self.problem = exc.message
            log.warning("model not ready: %s", exc.message)
            return
        self.ready, self.problem = True, ""
        log.info("model ready at %s", url)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_get(LIVE_PATH, self.alive)
        router.add_get(READY_PATH, self.handler)

    async def alive(self, _: web.Request) -> web.Response:
        return web.Response(text="alive")  # answering at all: the loop is not stuck

    async def handler(self, _: web.Request) -> web.Response:
        if self.ready:
            return web.Response(text="ready")
        return web.Response(status=503, text=self.problem)

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()  # the thread finishes on its own; the App stops the server
            await asyncio.gather(self._task, return_exceptions=True)
