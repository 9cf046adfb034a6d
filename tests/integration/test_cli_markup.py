"""Text from material is printed as it is: brackets that look like Rich markup
(`[/etc/hosts]`, `[bold]`) neither break a command nor style its output."""

from __future__ import annotations

import os

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.integration

PAGE = """# Hosts [bold]file[/bold] notes

## Editing [/etc/hosts]

To pin a name, edit [/etc/hosts] as root and add the address first, then the name.
Never run [red]rm -rf /etc[/red] to start over; restore the file from /etc/hosts.bak instead.
"""


def test_material_that_looks_like_markup_is_printed_literally(tmp_path, inference_server):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env.update(
        LEARNLOOP_DATA_DIR=str(tmp_path / "data"),
        LEARNLOOP_INFERENCE_URL=inference_server,
        LEARNLOOP_ANSWER_TOKENS="48",  # a real answer, a short one: CI time on two cores
    )
    folder = tmp_path / "material"
    folder.mkdir()
    (folder / "hosts[1].md").write_text(PAGE)
    run_cli(env, "ingest", str(folder))

    stats = run_cli(env, "stats").stdout
    assert "hosts[1].md" in stats and "[bold]file[/bold]" in " ".join(stats.split())

    found = run_cli(env, "search", "how do I edit the hosts file").stdout
    assert "edit [/etc/hosts] as root" in found
    assert "[red]rm -rf /etc[/red]" in found

    answered = run_cli(env, "ask", "How do I edit the hosts file to pin a name?")
    assert answered.returncode == 0 and "Traceback" not in answered.stderr
    assert "hosts[1].md" in answered.stdout  # its sources, brackets and all

    quiz = run_cli(env, "quiz", "generate", "--no-model", "-n", "2")
    assert quiz.returncode == 0 and "Traceback" not in quiz.stderr
