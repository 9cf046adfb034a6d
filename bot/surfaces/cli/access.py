"""`learnloop access`: who may see which material (admins edit it; answers obey it).

A channel's answers use only material for the channel's audiences; a DM answer uses the
asker's groups. Material for "everyone" is always allowed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.surfaces.cli.common import _fail, _print_json, out, the_app

if TYPE_CHECKING:
    from bot.adapters.store.access import AccessRepository

access_app = typer.Typer(help="Audiences: groups of people and channels.", no_args_is_help=True)

PLATFORMS = ("slack", "teams")


def _repo() -> AccessRepository:
    return the_app().access


def _split(key: str) -> tuple[str, str]:
    platform, _, ident = key.partition(":")
    if platform not in PLATFORMS or not ident:
        _fail(f"{key!r}: write PLATFORM:ID, e.g. slack:U0123 or teams:<AAD object id>")
    return platform, ident


def _audiences(names: list[str]) -> tuple[str, ...]:
    from retrieval.errors import RetrievalError
    from retrieval.store import normalise_audiences

    try:
        return tuple(a for a in normalise_audiences(names) if a != "everyone")
    except RetrievalError as exc:
        _fail(exc.message)


@access_app.command()
def grant(
    person: Annotated[str, typer.Argument(help="PLATFORM:USER_ID")],
    audiences: Annotated[list[str], typer.Argument(help="Groups to add.")],
) -> None:
    """Add a person to groups: their DMs may then use material for those groups."""
    platform, user = _split(person)
    repo = _repo()
    for audience in _audiences(audiences):
        repo.grant(platform, user, audience)
    out.print(f"{person}: {', '.join(sorted(repo.user_groups(platform, user))) or '(none)'}")


@access_app.command()
def revoke(
    person: Annotated[str, typer.Argument(help="PLATFORM:USER_ID")],
    audiences: Annotated[list[str], typer.Argument(help="Groups to remove.")],
) -> None:
    """Remove a person from groups."""
    platform, user = _split(person)
    repo = _repo()
    for audience in _audiences(audiences):
        repo.revoke(platform, user, audience)
    out.print(f"{person}: {', '.join(sorted(repo.user_groups(platform, user))) or '(none)'}")


@access_app.command()
def channel(
    place: Annotated[str, typer.Argument(help="PLATFORM:CHANNEL_ID")],
    audiences: Annotated[
        list[str] | None,
        typer.Argument(help="Audiences its answers may use (none: everyone only)."),
    ] = None,
) -> None:
    """Set the audiences a channel's answers may use (everyone in it sees them)."""
    platform, ident = _split(place)
    repo = _repo()
    repo.set_channel_groups(platform, ident, _audiences(audiences or []))
    out.print(
        f"{place}: {', '.join(sorted(repo.channel_groups(platform, ident))) or '(everyone only)'}"
    )


@access_app.command()
def show(
    key: Annotated[str, typer.Argument(help="PLATFORM:ID of a person or a channel")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """A person's groups and a channel's audiences under that id."""
    platform, ident = _split(key)
    repo = _repo()
    found = {
        "groups": sorted(repo.user_groups(platform, ident)),
        "channel_audiences": sorted(repo.channel_groups(platform, ident)),
    }
    if as_json:
        _print_json(found)
        return
    out.print(f"groups: {', '.join(found['groups']) or '(none)'}")
    out.print(f"channel audiences: {', '.join(found['channel_audiences']) or '(everyone only)'}")


@access_app.command()
def link(
    first: Annotated[str, typer.Argument(help="PLATFORM:USER_ID kept")],
    second: Annotated[str, typer.Argument(help="PLATFORM:USER_ID merged into the first")],
) -> None:
    """One person on Slack and Teams: their quiz history, reviews and groups become one."""
    kept = _repo().link(_split(first), _split(second))
    out.print(f"{first} and {second} are one learner ({kept})")


@access_app.command()
def reminders(
    person: Annotated[str, typer.Argument(help="PLATFORM:USER_ID")],
    state: Annotated[str, typer.Argument(help="on or off")],
) -> None:
    """Turn a learner's daily review reminders on or off."""
    if state not in ("on", "off"):
        _fail("say on or off")
    repo = _repo()
    repo.set_reminders(repo.learner_id(*_split(person)), on=state == "on")
    out.print(f"{person}: reminders {state}")
