"""Builds the Bolt app over the chat service: middleware, listeners, one error handler."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.settings import SlackSettings
from bot.services.chat import ChatService
from bot.services.learning import LearningService
from bot.services.reports import ReportService
from bot.services.web import WebSignIn
from bot.surfaces.interrupted import StreamMarks
from bot.surfaces.slack import handlers_ask, handlers_feedback, handlers_quiz, handlers_upload
from bot.surfaces.slack.admins import WorkspaceAdmins
from bot.surfaces.slack.context import SlackDeps, place_of
from bot.surfaces.slack.errors import message_for, safely_tell
from bot.surfaces.slack.once import Once
from bot.surfaces.slack.streaming import Pace

log = logging.getLogger(__name__)


def make_client(settings: SlackSettings) -> AsyncWebClient:
    # multi-workspace: no token of its own; Bolt sets each request's from its installation
    token = None if settings.multi_workspace else settings.bot_token.get_secret_value() or None
    client = AsyncWebClient(token=token, base_url=settings.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def build_slack_app(
    chat: ChatService,
    settings: SlackSettings,
    once: Once,
    *,
    client: AsyncWebClient | None = None,
    learning: LearningService | None = None,
    reports: ReportService | None = None,
    oauth: AsyncOAuthSettings | None = None,
    web: WebSignIn | None = None,
    marks: StreamMarks | None = None,
) -> AsyncApp:
    """`oauth` (multi-workspace): installs on /slack/install and /slack/oauth_redirect,
    and each request answered with its workspace's stored bot token. `marks`: answers kept
    on record while they stream (so a process that dies mid-answer has them marked)."""
    client = client or make_client(settings)
    app = AsyncApp(
        client=client,
        oauth_settings=oauth,
        signing_secret=settings.signing_secret.get_secret_value(),
        # Socket Mode delivers over an authenticated websocket: nothing to sign
        request_verification_enabled=not settings.socket_mode
        or bool(settings.signing_secret.get_secret_value()),
    )
    deps = SlackDeps(
        chat=chat,
        client=client,
        once=once,
        pace=Pace(settings.stream_buffer_chars, settings.stream_interval, settings.update_interval),
        learning=learning,
        reports=reports,
        workspace_admins=WorkspaceAdmins(settings.admin_cache_seconds),
        web=web,
        marks=marks,
    )
    app.middleware(drop_redeliveries(once))
    if oauth is not None:  # an uninstalled workspace's tokens leave the database
        app.enable_token_revocation_listeners()
    handlers_upload.register(app, deps)  # before the plain-message listeners
    handlers_ask.register(app, deps)
    handlers_feedback.register(app, deps)
    handlers_quiz.register(app, deps)

    @app.event("message")
    async def on_other_message() -> None:
        """Edits, deletions, joins: acknowledged (a 404 would make Slack retry)."""

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Failures outside a listener's own guard: log, and tell the asker if we can."""
        log.error("slack request failed: %s", type(error).__name__, exc_info=error)
        event = body.get("event") or {}
        if event.get("channel") and not event.get("bot_id"):
            place = place_of(event)

            async def tell(text: str) -> None:
                await client.chat_postMessage(
                    channel=place.channel, thread_ts=place.thread or None, text=text
                )

            await safely_tell(tell, message_for(error))

    return app


def drop_redeliveries(once: Once) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Slack retries an event it thinks went unanswered: handle each event id once."""

    async def middleware(
        body: dict[str, Any], next: Callable[[], Awaitable[BoltResponse | None]]
    ) -> BoltResponse | None:
        event_id = body.get("event_id")
        if event_id:
            try:
                first = await once.claim(f"event:{event_id}")
            except Exception:  # Redis down: better answered twice than never
                log.warning("de-duplication unavailable; handling event=%s", event_id)
                first = True
            if not first:
                log.info("redelivery dropped event=%s", event_id)
                return BoltResponse(status=200, body="")
        return await next()

    return middleware
