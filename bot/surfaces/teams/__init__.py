"""Microsoft Teams: Bot Framework activity -> chat service -> Adaptive Cards.

Every botbuilder import lives in this package, so moving to the Microsoft 365 Agents
SDK touches nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.bootstrap import App

__all__ = ["serve"]


def serve(stack: App, port: int = 3978) -> None:
    """Serve POST /api/messages until interrupted, then close the stack."""
    from bot.surfaces.teams.serve import run

    run(stack, port)
