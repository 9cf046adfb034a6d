"""Helpers shared by the CLI's command modules."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from bot.bootstrap import Retrieval

console = Console(stderr=True)
out = Console(soft_wrap=True)


def _retrieval() -> Retrieval:
    """Build the retrieval stack, or exit with the reason it cannot be built."""
    from bot.bootstrap import build_retrieval, configure_logging
    from bot.settings import Settings
    from retrieval.errors import RetrievalError
    from retrieval.settings import RetrievalSettings

    settings = Settings()
    configure_logging(settings.log_level)
    try:
        return build_retrieval(settings, RetrievalSettings())
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
