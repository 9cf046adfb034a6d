"""Child processes that never outlive the process that started them.

    python -m bot.runtime.children [--poll] PARENT_PID -- COMMAND [ARG...]

`learnloop up` starts a Chroma server, a worker and the embedded model server; it stops
them when it exits, but a SIGKILL, a crash or the OOM killer runs no cleanup, and the
children would live on, holding the index, the queue and a gigabyte of model. Two ways to
notice a parent's death, one module:
- on Linux the kernel sends SIGTERM (a clean shutdown) when the parent dies (prctl
  PR_SET_PDEATHSIG, kept across exec), and this module then becomes the command;
- elsewhere (or with --poll) it polls its parent pid: a child outlives its parent by being
  re-parented, so its parent pid changes. The command runs as a child of this module,
  which terminates it once the parent is gone. `watch_parent` is the same poll as a thread,
  for a process of ours that watches for itself (`serve-inference --exit-with`).
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
KERNEL_WATCH = sys.platform.startswith("linux")


def bound_to_this_process(argv: list[str], *, poll: bool = not KERNEL_WATCH) -> list[str]:
    """`argv` run through this module, so it stops when the calling process is gone."""
    flag = ["--poll"] if poll else []
    return [sys.executable, "-m", "bot.runtime.children", *flag, str(os.getpid()), "--", *argv]


def bind_to_parent(parent: int) -> None:
    """Have the kernel SIGTERM this process when `parent` exits (Linux only)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request took effect
        sys.exit(0)


def watch_parent(parent: int, interval: float = 1.0) -> threading.Thread:
    """Stop this process (SIGTERM to itself, a clean shutdown) once `parent` is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        log.warning("parent process %d is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    thread.start()
    return thread


def run_polling(parent: int, argv: list[str], interval: float = 0.5) -> int:
    """Run `argv` until it ends or `parent` is gone (then terminate it); its exit status."""
    if os.getppid() != parent:
        return 0
    child = subprocess.Popen(argv)  # noqa: S603 - the caller's own command line
    while child.poll() is None:
        if os.getppid() != parent:
            log.warning("parent process %d is gone: stopping %s", parent, argv[0])
            child.terminate()
            try:
                return child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                return child.wait()
        time.sleep(interval)
    return child.returncode


def main(argv: list[str]) -> None:
    poll = bool(argv) and argv[0] == "--poll"
    if poll:
        argv = argv[1:]
    if len(argv) < 3 or argv[1] != "--":
        sys.exit("usage: python -m bot.runtime.children [--poll] PARENT_PID -- COMMAND [ARG...]")
    parent, command = int(argv[0]), argv[2:]
    if poll or not KERNEL_WATCH:
        sys.exit(run_polling(parent, command))
    bind_to_parent(parent)
    os.execvp(command[0], command)  # noqa: S606 - the caller's own command line


if __name__ == "__main__":
    main(sys.argv[1:])
