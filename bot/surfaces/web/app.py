"""`build_web_app(parts)`: the console's FastAPI app over an `App`'s services, and `serve`.

htmx 2.0.11 (npm `htmx.org`, dist/htmx.min.js, BSD Zero Clause) is vendored in static/;
static/console.js (hand-written, a few lines) opens each answer's event stream."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from bot.domain.errors import LearnLoopError
from bot.surfaces.web import admin, chat, material, probes, signin
from bot.surfaces.web.pages import HERE, error_page

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)


def build_web_app(parts: App) -> FastAPI:
    web = FastAPI(title="LearnLoop", docs_url=None, redoc_url=None, openapi_url=None)
    web.state.parts = parts
    web.add_exception_handler(LearnLoopError, error_page)
    web.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (probes, signin, chat, material, admin):
        web.include_router(module.router)

    @web.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        # no framing (clickjacking), no inline script, no referrer carrying a token
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        )
        return response

    return web


def serve(parts: App, host: str = "127.0.0.1", port: int = 8080) -> None:
    """The console until Ctrl-C or SIGTERM (uvicorn), closing the parts after. The index and
    its model load at once, off the event loop, so the first question does not wait for
    them. The operations port serves /healthz, /readyz (database and broker: the admin
    pages work without the model) and /metrics, as every long-running process does."""
    import asyncio
    import threading

    import uvicorn

    threading.Thread(target=lambda: parts.retriever, name="warm-up", daemon=True).start()
    config = uvicorn.Config(
        build_web_app(parts), host=host, port=port, log_level="warning", access_log=False
    )
    ops = parts.ops_server()
    if ops is not None:
        ops.start()
    try:
        uvicorn.Server(config).run()
    finally:
        if ops is not None:
            ops.stop()
        asyncio.run(parts.aclose())
