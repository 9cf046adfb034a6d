"""The Slack app: Bolt listeners that translate payloads, call the chat service, render."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bootstrap import App

__all__ = ["serve"]


def serve(stack: App, *, http: bool = False, port: int = 3000) -> None:
    """Socket Mode when SLACK_APP_TOKEN is set (unless `http`), else POST /slack/events."""
    import asyncio

    from bot.adapters.slack.settings import SlackSettings
    from bot.settings import Settings
    from bot.surfaces.slack.server import run

    settings, slack = Settings(), SlackSettings()
    try:
        slack.check(settings.env, http=http)
    except ValueError as exc:
        asyncio.run(stack.aclose())
        raise SystemExit(f"learnloop bot slack: {exc}") from None
    asyncio.run(run(stack, settings, slack, http=http, port=port))
