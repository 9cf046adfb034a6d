"""The aiohttp app serving POST /api/messages over botbuilder's CloudAdapter."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity

from bot.adapters.teams.auth import cloud_adapter
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.services.chat import ChatService
from bot.services.learning import LearningService
from bot.services.reports import ReportService
from bot.services.web import WebSignIn
from bot.surfaces.interrupted import StreamMarks
from bot.surfaces.teams.bot import LearnLoopBot, on_turn_error

log = logging.getLogger(__name__)
BOT = web.AppKey("bot", LearnLoopBot)


def build_adapter(settings: TeamsSettings, *, reply_errors: bool = True) -> CloudAdapter:
    """JWT validation of every request when an app id is set; none without one.
    `reply_errors=False` lets errors reach the caller (a worker task retries them)."""
    adapter = cloud_adapter(settings)
    if reply_errors:
        adapter.on_turn_error = on_turn_error
    return adapter


def build_teams_app(
    chat: ChatService,
    settings: TeamsSettings,
    conversations: ConversationStore,
    learning: LearningService | None = None,
    reports: ReportService | None = None,
    signin: WebSignIn | None = None,
    marks: StreamMarks | None = None,
) -> web.Application:
    adapter = build_adapter(settings)
    bot = LearnLoopBot(chat, settings, conversations, learning, reports, signin, marks)

    async def messages(request: web.Request) -> web.StreamResponse:
        if "application/json" not in request.headers.get("Content-Type", ""):
            raise web.HTTPUnsupportedMediaType()
        try:
            activity = Activity().deserialize(await request.json())
        except (json.JSONDecodeError, ValueError) as exc:
            raise web.HTTPBadRequest(text="not an activity") from exc
        if not activity.type:
            raise web.HTTPBadRequest(text="not an activity")
        auth_header = request.headers.get("Authorization", "")
        try:
            authenticated = await adapter.bot_framework_authentication.authenticate_request(
                activity, auth_header
            )
        except PermissionError:
            raise web.HTTPUnauthorized() from None
        except Exception as exc:  # e.g. Microsoft's signing keys unreachable: refuse
            log.warning("request not authenticated: %s", type(exc).__name__)
            raise web.HTTPUnauthorized() from None
        # not CloudAdapter.process: 4.17.1 serialises an invoke body twice there (HTTP 500
        # on every Action.Execute), so the invoke response is written here
        invoke = await adapter.process_activity(authenticated, activity, bot.on_turn)
        if invoke is not None:
            return web.json_response(invoke.body, status=invoke.status)
        return web.Response(status=201)

    async def lifespan(app: web.Application) -> AsyncIterator[None]:
        bot.http = aiohttp.ClientSession()
        yield
        await bot.drain()
        await bot.http.close()

    app = web.Application()
    app[BOT] = bot
    app.router.add_post("/api/messages", messages)
    app.cleanup_ctx.append(lifespan)
    return app
