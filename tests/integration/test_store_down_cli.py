"""Every command that uses the database, and the chat processes' start, with the database
unreachable: one plain line and exit code 1, never a traceback. The commands run at once
(separate processes), each test reads one's result."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import free_port
from tests.slack_server import SECRET, TOKEN

pytestmark = pytest.mark.integration

COMMANDS = {
    "access show": ["access", "show", "slack:U1"],
    "access grant": ["access", "grant", "slack:U1", "hr"],
    "access channel": ["access", "channel", "slack:C1", "hr"],
    "progress": ["progress", "slack:U1"],
    "report": ["report"],
    "jobs": ["jobs"],
    "jobs retry": ["jobs", "retry", "job-1"],
    "migrate": ["migrate"],
    "adapters list": ["adapters", "list"],
    "adapters rollback": ["adapters", "rollback"],
    "bot slack": ["bot", "slack", "--http", "--port", "0"],
    "bot teams": ["bot", "teams", "--port", "0"],
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "SLACK_"))}
    env.update(
        # nothing listens there: refused at once, as a database that is down
        LEARNLOOP_DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/learnloop",
        LEARNLOOP_DATA_DIR=str(tmp_path_factory.mktemp("data")),
        LEARNLOOP_INFERENCE_URL=f"http://127.0.0.1:{free_port()}/v1",  # never reached
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        COLUMNS="200",
    )
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, args in COMMANDS.items()
    }
    done = {}
    for name, proc in procs.items():
        try:
            out, err = proc.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return done


@pytest.mark.parametrize("name", list(COMMANDS))
def test_with_the_database_down_a_command_says_so_in_one_line(outcomes, name):
    result = outcomes[name]
    said = (result.stdout + result.stderr).strip()
    assert result.returncode == 1, said
    assert "Traceback" not in said
    assert len(said.splitlines()) == 1, said
    assert "database" in said.lower(), said
