"""The console's probes, answered without a session: `/healthz` (the process answers) and
`/readyz` (its database answers: sessions, links and pending questions live there), as
JSON like the operations port's (bot/runtime/ops.py), without the reasons it logs."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from bot.runtime.ops import database_check, run_checks

log = logging.getLogger(__name__)
router = APIRouter()


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:
    return "ok\n"  # answering at all: the event loop is not stuck


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    parts = request.app.state.parts
    checks = {"database": database_check(lambda: parts.store[0])}
    results = await asyncio.to_thread(run_checks, checks)
    ready = all(r == "ok" for r in results.values())
    if not ready:
        log.warning("console not ready: %s", results)
    # this port faces the internet: the reason (addresses, driver errors) goes to the log
    shown = {
        name: "ok" if r == "ok" else f"the {name} does not answer" for name, r in results.items()
    }
    return JSONResponse({"ready": ready, "checks": shown}, status_code=200 if ready else 503)
