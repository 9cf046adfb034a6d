"""`learnloop doctor`: is this deployment's configuration sound and can it reach what it
needs? Each finding in plain words; the exit code is 1 when something is wrong."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape

from bot.surfaces.cli.common import _print_json, out


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


def _settings_problem(exc: ValidationError) -> str:
    where = ", ".join(
        "LEARNLOOP_" + str(e["loc"][0]).upper() if e["loc"] else str(e["msg"]) for e in exc.errors()
    )
    return f"invalid value for {where}: {exc.errors()[0]['msg']}"


def _run(name: str, check: Callable[[], str]) -> Finding:
    try:
        return Finding(name, True, check())
    except Exception as exc:
        return Finding(name, False, (str(exc) or type(exc).__name__).splitlines()[0])


def findings() -> list[Finding]:
    from bot.adapters.queue import broker_config
    from bot.adapters.slack.settings import SlackSettings
    from bot.adapters.store import database_url, make_engine
    from bot.adapters.store.db import current_revision, head_revision
    from bot.adapters.teams.settings import TeamsSettings
    from bot.runtime.ops import broker_check, database_check, http_check
    from bot.settings import Settings
    from inference.settings import InferenceSettings
    from retrieval.settings import RetrievalSettings

    try:
        s, rs, inf = Settings(), RetrievalSettings(), InferenceSettings()
        slack, teams = SlackSettings(), TeamsSettings()
    except ValidationError as exc:
        return [Finding("settings", False, _settings_problem(exc))]
    found = [Finding("settings", True, f"read (environment: {s.env})")]

    url = database_url(s.database_url, s.data_dir)
    engine = make_engine(url, s.database_timeout_seconds)

    def database() -> str:
        database_check(lambda: engine)()
        current, head = current_revision(engine), head_revision()
        if current != head:
            raise RuntimeError(
                f"the database schema is at {current or 'nothing'}, not {head}: "
                "run `learnloop migrate`"
            )
        return f"answers, schema up to date ({engine.url.render_as_string(hide_password=True)})"

    def broker() -> str:
        if not s.broker_url:
            return "no LEARNLOOP_BROKER_URL: the server-free folder queue (one machine only)"
        broker_check(broker_config(s.broker_url, s.data_dir))()
        return "answers"

    def index() -> str:
        if not rs.chroma_url:
            return "no LEARNLOOP_CHROMA_URL: the embedded index in the data dir (one process)"
        http_check("the Chroma server", f"{rs.chroma_url.rstrip('/')}/api/v2/heartbeat")()
        return f"answers at {rs.chroma_url}"

    def model() -> str:
        if not inf.inference_url:
            return "no LEARNLOOP_INFERENCE_URL: each process starts the embedded server"
        root = inf.inference_url.rstrip("/").removesuffix("/v1")
        http_check("the model server", f"{root}/health")()
        return f"answers at {inf.inference_url}"

    def slack_credentials() -> str:
        if not (slack.bot_token.get_secret_value() or slack.client_id):
            return "not configured (no SLACK_BOT_TOKEN or SLACK_CLIENT_ID)"
        slack.check(s.env, http=not slack.socket_mode)
        return "present" + (" (development: placeholders allowed)" if s.env != "production" else "")

    def teams_credentials() -> str:
        if not teams.app_id:
            return "not configured (no MICROSOFT_APP_ID)"
        teams.check(s.env)
        return "present"

    try:
        for name, check in (
            ("database", database),
            ("broker", broker),
            ("index", index),
            ("model", model),
            ("slack", slack_credentials),
            ("teams", teams_credentials),
        ):
            found.append(_run(name, check))
    finally:
        engine.dispose()
    return found


def doctor(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check this deployment's settings and that the database, broker, index and model
    server answer; says what is wrong, and exits 1 when anything is."""
    results = findings()
    if as_json:
        _print_json({"ok": all(f.ok for f in results), "checks": [asdict(f) for f in results]})
    else:
        for f in results:
            mark = "[green]ok[/]  " if f.ok else "[bold red]FAIL[/]"
            out.print(f"{mark} {f.check}: {escape(f.detail)}", highlight=False)
    if not all(f.ok for f in results):
        raise typer.Exit(1)
