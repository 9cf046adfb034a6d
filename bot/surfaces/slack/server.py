"""Running the Bolt app: HTTP on /slack/events, or Socket Mode."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from aiohttp import web
from slack_bolt.async_app import AsyncApp

from bot.adapters.slack.tokens import slack_tokens
from bot.adapters.store.inbox import InboxRepository
from bot.adapters.store.streams import StreamRepository
from bot.surfaces.interrupted import StreamMarks
from bot.surfaces.readiness import ModelReadiness
from bot.surfaces.slack.app import build_slack_app
from bot.surfaces.slack.early_ack import EarlyAck
from bot.surfaces.slack.inbox import DurableAck, InboxOnce
from bot.surfaces.slack.interrupted import slack_marker
from bot.surfaces.slack.once import once_for
from bot.surfaces.slack.ops import count_event, timed_ack

if TYPE_CHECKING:
    from bot.adapters.slack.settings import SlackSettings
    from bot.bootstrap import App
    from bot.settings import Settings

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"  # Bolt's default; the redirect is /slack/oauth_redirect


async def start_http(
    app: AsyncApp,
    host: str,
    port: int,
    *,
    signing_secret: str,
    inbox: InboxRepository | None = None,
    lease_seconds: float = 60.0,
) -> tuple[web.AppRunner, int]:
    """Serve the app on POST /slack/events; returns the runner and the bound port.

    Signed Events API deliveries are acknowledged before Bolt runs (`EarlyAck`)."""
    web_app = app.web_app(path=EVENTS_PATH)
    early = (
        EarlyAck(app, signing_secret, EVENTS_PATH)
        if inbox is None
        else DurableAck(app, signing_secret, EVENTS_PATH, inbox, lease_seconds)
    )
    web_app.middlewares.extend([timed_ack(EVENTS_PATH), early.middleware])

    async def dispatch_acknowledged(_: web.Application) -> None:
        await early.aclose()

    web_app.on_shutdown.append(dispatch_acknowledged)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    if isinstance(early, DurableAck):
        early.start()  # events a dead process acknowledged are answered now
    return runner, int(runner.addresses[0][1])


async def run(
    stack: App, settings: Settings, slack: SlackSettings, *, http: bool, port: int
) -> None:
    once = InboxOnce(once_for(settings.broker_url, slack.dedupe_seconds))
    engine = None
    oauth = None
    if slack.multi_workspace:
        from bot.adapters.store import database_url, make_engine
        from bot.surfaces.slack.oauth import oauth_settings

        engine = make_engine(
            database_url(settings.database_url, settings.data_dir),
            settings.database_timeout_seconds,
        )
        oauth = oauth_settings(slack, engine)  # creates its tables in LearnLoop's database
        log.info("slack: multi-workspace install on %s", INSTALL_PATH)
    marks = StreamMarks(StreamRepository(stack.sessions), "slack", settings.stream_lease_seconds)
    app = build_slack_app(
        stack.chat,
        slack,
        once,
        learning=stack.learning,
        reports=stack.reports,
        oauth=oauth,
        web=stack.web_signin,
        marks=marks,
    )
    app.use(count_event)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):  # a container stop: finish cleanly, and
        loop.add_signal_handler(sig, stop.set)  # stop the embedded model server with us
    readiness = ModelReadiness(stack)
    readiness.start()  # events are acknowledged while the model server starts
    ops = stack.ops_server(model=readiness.check)  # its /readyz: the one probe
    if ops is not None:
        ops.start()
    # answers a dead process left half-written are marked, now and as their leases run out
    tokens = slack_tokens(slack, lambda: engine) if engine is not None else None
    marks.start(slack_marker(app.client, tokens, InboxRepository(stack.sessions)))
    try:
        if slack.socket_mode and not http:
            from bot.surfaces.slack.socket_mode import DurableSocketMode

            log.info("slack: socket mode")
            durable = DurableAck(
                app,
                slack.signing_secret.get_secret_value(),
                EVENTS_PATH,
                InboxRepository(stack.sessions),
                slack.inbox_lease_seconds,
            )
            handler = DurableSocketMode(app, slack.app_token.get_secret_value(), durable)
            durable.start()  # events a dead process acknowledged are answered now
            await handler.connect_async()
            try:
                await stop.wait()
            finally:
                await handler.close_async()
                await durable.aclose()
        else:
            runner, bound = await start_http(
                app,
                slack.host,
                port,
                signing_secret=slack.signing_secret.get_secret_value(),
                inbox=InboxRepository(stack.sessions),
                lease_seconds=slack.inbox_lease_seconds,
            )
            log.info("slack: listening on %s:%d%s", slack.host, bound, EVENTS_PATH)
            try:
                await stop.wait()
            finally:
                await runner.cleanup()
    finally:
        await marks.aclose()
        if ops is not None:
            ops.stop()
        await readiness.aclose()
        await once.aclose()
        await stack.aclose()
        if engine is not None:
            engine.dispose()
