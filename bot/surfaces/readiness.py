"""A chat process's model, reached (or its embedded server started) at start-up off the
event loop: acknowledgements and refusals go on meanwhile. Its state is the `model` check of
the process's operations server (`/readyz` on LEARNLOOP_OPS_PORT), the one readiness probe."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from bot.domain.errors import LearnLoopError
from bot.runtime.inference import healthy

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)


class ModelReadiness:
    def __init__(self, app: App, poll_seconds: float = 1.0) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self.url = ""
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
        self.url = url  # before `ready`: the check reads both from the operations thread
        self.ready, self.problem = True, ""
        log.info("model ready at %s", url)

    def check(self) -> None:
        """The operations server's model check (on its thread): while connecting, how far
        it got (neither probing nor starting the server a second time); then whether the
        server it reached still answers."""
        if not self.ready:
            raise RuntimeError(self.problem)
        if not healthy(self.url):
            raise RuntimeError(f"the model server does not answer at {self.url}")

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()  # the thread finishes on its own; the App stops the server
            await asyncio.gather(self._task, return_exceptions=True)
