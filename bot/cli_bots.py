"""`learnloop bot slack|teams`: run a chat surface over the one chat service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from bot.bootstrap import ChatStack

bots_app = typer.Typer(help="Run LearnLoop in Slack or Microsoft Teams.", no_args_is_help=True)


def _stack() -> ChatStack:
    from bot.bootstrap import build_chat, configure_logging
    from bot.settings import Settings
    from inference.settings import InferenceSettings
    from retrieval.settings import RetrievalSettings

    settings = Settings()
    configure_logging(settings.log_level)
    return build_chat(settings, RetrievalSettings(), InferenceSettings())


@bots_app.command("slack")
def slack(
    http: Annotated[
        bool,
        typer.Option("--http", help="Serve POST /slack/events even if SLACK_APP_TOKEN is set."),
    ] = False,
    port: Annotated[int, typer.Option(help="HTTP mode port.")] = 3000,
) -> None:
    """Slack: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on /slack/events."""
    from bot.slack import serve

    serve(_stack(), http=http, port=port)


@bots_app.command("teams")
def teams(port: Annotated[int, typer.Option(help="Port for POST /api/messages.")] = 3978) -> None:
    """Microsoft Teams: the Bot Framework endpoint POST /api/messages."""
    from bot.teams import serve

    serve(_stack(), port=port)
