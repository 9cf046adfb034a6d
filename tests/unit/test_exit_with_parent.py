"""The embedded model server never outlives the command that started it, however that
command ends (here: SIGKILL, which runs no cleanup)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

CHILD = textwrap.dedent(
    """
    import os, sys, time
    from bot.embedded import exit_with
    exit_with(int(sys.argv[1]), interval=0.05)
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


def test_a_child_stops_when_its_parent_is_killed():
    with subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD], stdout=subprocess.PIPE, text=True
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
