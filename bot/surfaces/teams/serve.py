"""`learnloop bot teams`: the settings checked, the app served, the stack closed."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from aiohttp import web

from bot.adapters.store.streams import StreamRepository
from bot.adapters.teams.conversations import conversation_store
from bot.adapters.teams.settings import TeamsConfigError, TeamsSettings
from bot.settings import Settings
from bot.surfaces.interrupted import StreamMarks
from bot.surfaces.readiness import ModelReadiness
from bot.surfaces.teams.app import BOT, build_adapter, build_teams_app
from bot.surfaces.teams.interrupted import teams_marker
from bot.surfaces.teams.ops import measured

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)


def run(stack: App, port: int) -> None:
    settings, teams = Settings(), TeamsSettings()
    try:
        teams.check(settings.env)
    except TeamsConfigError as exc:
        asyncio.run(stack.aclose())
        raise SystemExit(f"learnloop bot teams: {exc}") from None
    store = conversation_store(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):  # a container stop: finish cleanly
            loop.add_signal_handler(sig, stop.set)
        marks = StreamMarks(
            StreamRepository(stack.sessions), "teams", settings.stream_lease_seconds
        )
        app = build_teams_app(
            stack.chat, teams, store, stack.learning, stack.reports, stack.web_signin, marks
        )
        app.middlewares.append(measured("/api/messages"))
        readiness = ModelReadiness(stack)
        readiness.start()  # requests are served while the model server starts
        # answers a dead process left half-written are marked, now and as leases run out
        # and their questions answered again
        proactive = build_adapter(teams, reply_errors=False)
        bot = app[BOT]
        marks.start(teams_marker(proactive, teams.app_id, lambda r: bot.answer_again(proactive, r)))
        runner = web.AppRunner(app, access_log=None)
        ops = stack.ops_server(model=readiness.check)  # its /readyz: the one probe
        if ops is not None:
            ops.start()
        try:
            await runner.setup()
            await web.TCPSite(runner, teams.host, port).start()
            log.info(
                "teams: listening on %s:%d/api/messages (auth %s)",
                teams.host,
                port,
                "on" if teams.auth else "off: emulator mode",
            )
            await stop.wait()
        finally:
            await marks.aclose()
            if ops is not None:
                ops.stop()
            await runner.cleanup()  # lets answers still being written finish
            await readiness.aclose()
            await stack.aclose()

    asyncio.run(main())
