"""Run a command that stops when the process that started it is gone.

    python -m bot.runtime.children PARENT_PID -- COMMAND [ARG...]

`learnloop up` starts a Chroma server and a worker; it stops them when it exits, but a
SIGKILL, a crash or the OOM killer runs no cleanup, and the children would live on,
holding the index and the queue. On Linux this asks the kernel to send SIGTERM (a clean
shutdown) when the parent dies (prctl PR_SET_PDEATHSIG, kept across exec), then becomes
the command; elsewhere it simply becomes the command.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def bound_to_this_process(argv: list[str]) -> list[str]:
    """`argv` run through this module, so it stops when the calling process is gone."""
    return [sys.executable, "-m", "bot.runtime.children", str(os.getpid()), "--", *argv]


def bind_to_parent(parent: int) -> None:
    """Have the kernel SIGTERM this process when `parent` exits (Linux; a no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        sys.exit(0)


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m bot.runtime.children PARENT_PID -- COMMAND [ARG...]")
    bind_to_parent(int(argv[0]))
    os.execvp(argv[2], argv[2:])  # noqa: S606 - the caller's own command line


if __name__ == "__main__":
    main(sys.argv[1:])
