"""The embedded model server, and the Chroma server and worker of `learnloop up`, never
outlive the command that started them, however that command ends (here: SIGKILL, which
runs no cleanup)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from bot.runtime.children import watch_parent
    watch_parent(int(sys.argv[1]), interval=0.05)
    print(os.getpid(), flush=True)
    time.sleep(120)
    """
)
PARENT = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid())],
                             stdout=sys.stdout)
    time.sleep(120)
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still "exists"; it has exited all the same
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def assert_child_stops_with_parent(parent_script: str, child_script: str) -> None:
    """Run `parent_script`, which starts `child_script` and prints the child's pid; SIGKILL
    the parent; the child must be gone soon after."""
    with subprocess.Popen(
        [sys.executable, "-c", parent_script, child_script], stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            child = int(parent.stdout.readline())
            assert alive(child)  # running while its parent is there
            parent.send_signal(signal.SIGKILL)
            parent.wait()
            deadline = time.monotonic() + 20
            while alive(child) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(child)
        finally:
            parent.kill()


def test_a_child_stops_when_its_parent_is_killed():
    assert_child_stops_with_parent(PARENT, CHILD)


SLEEPER = "import os, time; print(os.getpid(), flush=True); time.sleep(120)"
BOUND_PARENT = textwrap.dedent(
    """
    import subprocess, sys, time
    from bot.runtime.children import bound_to_this_process
    command = bound_to_this_process([sys.executable, "-c", sys.argv[1]])
    child = subprocess.Popen(command, stdout=sys.stdout)
    time.sleep(120)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_parentbound_command_stops_when_its_parent_is_killed():
    """`learnloop up` starts `chroma run` (not ours: no --exit-with) through
    bot.runtime.children; the pid printed is the command's own (exec kept it)."""
    assert_child_stops_with_parent(BOUND_PARENT, SLEEPER)


POLLING_PARENT = BOUND_PARENT.replace(
    'bound_to_this_process([sys.executable, "-c", sys.argv[1]])',
    'bound_to_this_process([sys.executable, "-c", sys.argv[1]], poll=True)',
)


def test_a_command_bound_by_polling_stops_when_its_parent_is_killed():
    """The path for systems without prctl, forced here on Linux: the binder polls its
    parent and terminates the command once the parent is gone."""
    assert "poll=True" in POLLING_PARENT
    assert_child_stops_with_parent(POLLING_PARENT, SLEEPER)


def test_parentbound_does_not_start_a_command_whose_parent_is_already_gone():
    # this test's process is the parent, not pid 1: as if the real one had died meanwhile
    done = subprocess.run(
        [sys.executable, "-m", "bot.runtime.children", "1", "--", sys.executable, "-c", "exit(7)"],
        check=False,
    )
    assert done.returncode == 0
    polled = subprocess.run(
        [sys.executable, "-m", "bot.runtime.children", "--poll", "1", "--", "false"],
        check=False,
    )
    assert polled.returncode == 0
