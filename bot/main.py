"""The `learnloop` command: the CLI's commands, and the ones that start chat surfaces
(`up`, `bot slack|teams`). The only module that may reach several surfaces: each surface
knows none of the others."""

from __future__ import annotations

import asyncio
import os
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.surfaces.cli.chat import _converse
from bot.surfaces.cli.common import _fail, _retrieval, console, the_app
from bot.surfaces.cli.main import app

if TYPE_CHECKING:
    from bot.bootstrap import App
    from bot.settings import Settings

SAMPLE_DIR = Path(__file__).resolve().parent.parent / "sample"

bots_app = typer.Typer(help="Run LearnLoop in Slack or Microsoft Teams.", no_args_is_help=True)
web_app = typer.Typer(help="The web console: chat, material, jobs and feedback review.")


def _stack() -> App:
    """This process's parts (`the_app`), for a chat surface to serve. The database is
    reached first: unreachable, the process stops in one sentence before loading models."""
    parts = the_app()
    parts.store  # noqa: B018 - opened (and migrated) for its error, if any
    return parts


@bots_app.command("slack")
def slack(
    http: Annotated[
        bool,
        typer.Option("--http", help="Serve POST /slack/events even if SLACK_APP_TOKEN is set."),
    ] = False,
    port: Annotated[int, typer.Option(help="HTTP mode port.")] = 3000,
) -> None:
    """Slack: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on /slack/events."""
    from bot.surfaces.slack import serve

    serve(_stack(), http=http, port=port)


@bots_app.command("teams")
def teams(port: Annotated[int, typer.Option(help="Port for POST /api/messages.")] = 3978) -> None:
    """Microsoft Teams: the Bot Framework endpoint POST /api/messages."""
    from bot.surfaces.teams import serve

    serve(_stack(), port=port)


@web_app.callback(invoke_without_command=True)
def web(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Port to serve the console on.")] = 8080,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the web console (sign in with a link from `learnloop web link USER`)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.surfaces.web import serve

    parts = _stack()
    console.print(f"LearnLoop's web console on http://{host}:{port} (Ctrl-C to stop)")
    with suppress(KeyboardInterrupt):
        serve(parts, host=host, port=port)


@web_app.command("link")
def web_link(
    user: Annotated[
        str, typer.Argument(help="slack:U123, teams:<AAD object id>, or cli:NAME (an operator).")
    ],
) -> None:
    """Print a one-time sign-in link (10 minutes) for USER, on LEARNLOOP_WEB_URL."""
    from bot.domain.errors import LearnLoopError
    from bot.domain.web import parse_user

    try:
        actor = parse_user(user)
    except ValueError as exc:
        _fail(str(exc))
    try:
        print(asyncio.run(_stack().web_signin.link(actor)))
    except LearnLoopError as exc:
        _fail(exc.message)


def local_user() -> str:
    """The terminal's operator, whom `up` signs in to the console."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "local"
    return f"cli:{name or 'local'}"


def up(
    slack_port: Annotated[int, typer.Option(help="Slack HTTP mode port.")] = 3000,
    teams_port: Annotated[int, typer.Option(help="Teams /api/messages port.")] = 3978,
    web_port: Annotated[
        int, typer.Option(help="Web console port (0: no console); match LEARNLOOP_WEB_URL.")
    ] = 8080,
) -> None:
    """Start LearnLoop on its embedded defaults: the inference server, a local index server
    and worker, the sample material on first run, then the chat surfaces whose credentials
    are set (Slack, Teams), or a terminal chat when none are."""
    from bot.domain.errors import LearnLoopError
    from bot.runtime.local import LocalServices
    from bot.settings import Settings
    from retrieval.settings import RetrievalSettings

    settings = Settings()
    # a local Chroma server and a worker on the server-free queue (README: Worker and store)
    local = LocalServices(settings, RetrievalSettings().chroma_url)
    try:
        _migrate_first(settings)
        with console.status("Starting the local index server and worker"):
            local.start()
        _up(slack_port, teams_port, web_port)
    except LearnLoopError as exc:
        _fail(exc.message)
    finally:
        local.stop()


def _migrate_first(settings: Settings) -> None:
    """Bring the store up to date before any child starts: the worker, the web console and
    the Teams bot each open it too, and processes migrating one new SQLite file at once
    race (one waits on the other's locks and, on a busy machine, gives up)."""
    from bot.bootstrap import open_settings_store

    if not settings.migrate_on_start:
        return  # a deployment's `learnloop migrate` job does it; each process checks
    engine, _ = open_settings_store(settings)  # as every part of the App opens it
    engine.dispose()


def surfaces() -> list[str]:
    """The chat platforms whose credentials are configured."""
    from bot.adapters.slack.settings import SlackSettings
    from bot.adapters.teams.settings import TeamsSettings

    found = []
    slack = SlackSettings()
    if slack.bot_token.get_secret_value() or slack.client_id:
        found.append("slack")
    if TeamsSettings().app_id:
        found.append("teams")
    return found


def _serve_surfaces(found: list[str], slack_port: int, teams_port: int) -> None:
    """Slack and/or Teams until Ctrl-C; with both, Teams runs in a child process."""
    import subprocess
    import sys

    from bot.runtime.children import bound_to_this_process

    child = None
    if found == ["slack", "teams"]:
        teams = [
            sys.executable,
            "-m",
            "bot",
            "bot",
            "teams",
            "--port",
            str(teams_port),
        ]
        child = subprocess.Popen(bound_to_this_process(teams))  # noqa: S603 - our own CLI
    try:
        if "slack" in found:
            from bot.surfaces.slack import serve as serve_slack

            serve_slack(_stack(), port=slack_port)
        else:
            from bot.surfaces.teams import serve as serve_teams

            serve_teams(_stack(), port=teams_port)
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=30)


def _start_web(port: int) -> subprocess.Popen[bytes] | None:
    """The web console in a child process of its own (its own event loop and parts), and
    its address and a sign-in link for the terminal's operator printed."""
    import sys

    from bot.domain.web import parse_user
    from bot.runtime.children import bound_to_this_process

    if not port:
        return None
    argv = [sys.executable, "-m", "bot", "web", "--port", str(port)]
    # the operations port is this process's (its bots'); the console child serves none
    env = {**os.environ, "LEARNLOOP_OPS_PORT": "0"}
    child = subprocess.Popen(bound_to_this_process(argv), env=env)  # noqa: S603 - our own CLI
    link = asyncio.run(the_app().web_signin.link(parse_user(local_user())))
    console.print(f"Web console: http://127.0.0.1:{port} ; sign in (once, 10 minutes): {link}")
    return child


def _up(slack_port: int = 3000, teams_port: int = 3978, web_port: int = 0) -> None:
    from bot.domain.errors import LearnLoopError

    parts = the_app()
    rt = _retrieval()
    web_child: subprocess.Popen[bytes] | None = None
    if rt.store.count() == 0 and SAMPLE_DIR.is_dir():
        console.print(f"First run: indexing the sample material in {SAMPLE_DIR} ...")
        reports = rt.ingestor.ingest_paths([SAMPLE_DIR])
        chunks = sum(r.chunks for r in reports if r.ok)
        console.print(f"Indexed {sum(r.ok for r in reports)} documents ({chunks} chunks).")
    try:
        if parts.model_server is not None:
            with console.status("Starting the embedded inference server"):
                try:
                    parts.model_base_url()
                except LearnLoopError as exc:
                    _fail(exc.message)
        docs = rt.store.documents()
        web_child = _start_web(web_port)
        found = surfaces()
        if found:
            console.print(
                f"[bold]LearnLoop[/] is ready: {len(docs)} documents indexed, serving "
                f"{' and '.join(found)} (Ctrl-C to stop)."
            )
            with suppress(KeyboardInterrupt):
                _serve_surfaces(found, slack_port, teams_port)
            return
        console.print(
            f"[bold]LearnLoop[/] is ready: {len(docs)} documents indexed. No Slack or Teams "
            "credentials are set, so this terminal is the chat (Ctrl-D to quit)."
        )
        asyncio.run(_converse(parts.answers, ["everyone"]))
    finally:
        if web_child is not None:
            web_child.terminate()
            web_child.wait(timeout=30)
        parts.close()


app.add_typer(bots_app, name="bot")
app.add_typer(web_app, name="web")
app.command()(up)


def main() -> None:
    """Every command's error boundary: LearnLoop's own errors (the database, the index or
    the model unreachable, a schema not migrated) end in one plain sentence, not a traceback."""
    from rich.markup import escape

    from bot.domain.errors import LearnLoopError
    from inference.errors import InferenceError
    from retrieval.errors import RetrievalError

    try:
        app()
    except (LearnLoopError, RetrievalError, InferenceError) as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
