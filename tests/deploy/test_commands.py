"""Every command the compose file and the manifests give LearnLoop's image is a real one."""

from __future__ import annotations

from importlib import metadata

import pytest
from typer.testing import CliRunner

from bot.main import app
from tests.deploy.artefacts import (
    OVERLAYS,
    PENDING_COMMANDS,
    compose,
    is_learnloop,
    pod_spec,
    rendered,
)


def commands() -> set[tuple[str, ...]]:
    found = {
        tuple(s["command"])
        for s in compose()["services"].values()
        if str(s["image"]).startswith("${LEARNLOOP_")
    }
    for overlay in OVERLAYS:
        for obj in rendered(overlay):
            spec = pod_spec(obj)
            for container in spec["containers"] if spec else []:
                if is_learnloop(container["image"]):
                    found.add(tuple(container["command"]))
    return found


def cli_path(command: tuple[str, ...]) -> tuple[str, ...]:
    """The subcommand words before the first option (`bot slack`, `worker`)."""
    words: list[str] = []
    for word in command[1:]:
        if word.startswith("-"):
            break
        words.append(word)
    return tuple(words)


@pytest.mark.parametrize("command", sorted(commands()), ids=" ".join)
def test_command_exists(command: tuple[str, ...]) -> None:
    if command[0] == "chroma":
        scripts = {ep.name for ep in metadata.distribution("chromadb").entry_points}
        assert "chroma" in scripts
        return
    assert command[0] == "learnloop"
    # --help after the real arguments: an unknown command or option still fails to parse
    result = CliRunner().invoke(app, [*command[1:], "--help"])
    if result.exit_code != 0 and cli_path(command) in PENDING_COMMANDS:
        pytest.skip(f"`learnloop {' '.join(cli_path(command))}` comes with issue 22's code part")
    assert result.exit_code == 0, result.output
