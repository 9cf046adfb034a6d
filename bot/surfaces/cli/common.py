"""Helpers shared by the CLI's command modules."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from bot.adapters.search import Retrieval
    from bot.bootstrap import App

console = Console(stderr=True)
out = Console(soft_wrap=True)


@cache
def the_app() -> App:
    """This command's parts, each built on first use (one per process)."""
    from bot.bootstrap import build_app, configure_logging
    from bot.settings import Settings

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return build_app(settings)


def _retrieval() -> Retrieval:
    """The retrieval stack, or exit with the reason it cannot be built."""
    from retrieval.errors import RetrievalError

    try:
        return the_app().retrieval
    except RetrievalError as exc:
        _fail(exc.message)


def lit(value: object) -> str:
    """Text from material or people, printed as it is: `[/etc/hosts]` is not markup."""
    return escape(str(value))


def _fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[bold red]error:[/] {lit(message)}", soft_wrap=True)
    raise typer.Exit(code)


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
