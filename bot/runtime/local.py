"""The local processes `learnloop up` needs on embedded defaults: a Chroma server (the
embedded index is not process-safe once a worker writes it too) and a Celery worker on
the server-free filesystem queue, with SQLite as the store. Stopped in reverse order."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import suppress
from pathlib import Path
from typing import IO

from bot.domain.errors import IndexUnavailable
from bot.runtime.children import bound_to_this_process
from bot.settings import Settings

log = logging.getLogger(__name__)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LocalServices:
    """Starts what is missing; `stop()` ends exactly what it started."""

    def __init__(self, settings: Settings, chroma_url: str) -> None:
        self.settings = settings
        self.chroma_url = chroma_url
        self._procs: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self) -> None:
        if not self.chroma_url:
            self.chroma_url = self._start_chroma(self.settings.data_dir / "chroma")
            # this process and the worker both reach the index through the server
            os.environ["LEARNLOOP_CHROMA_URL"] = self.chroma_url
        if not self.settings.broker_url:
            self._spawn(
                "worker",
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "worker",
                    "--beat",
                    "--loglevel",
                    "WARNING",
                ],
            )

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        # output to a file, never an unread pipe; own session, so Ctrl-C reaches only us;
        # bound to this process, so a SIGKILL or crash of `up` leaves no orphan behind
        out = tempfile.TemporaryFile()
        proc = subprocess.Popen(  # noqa: S603 - fixed arguments, our own executables
            bound_to_this_process(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,
        )
        self._procs.append((name, proc, out))
        return proc

    def _start_chroma(self, path: Path, timeout: float = 60.0) -> str:
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which(
            "chroma"
        )
        if chroma is None:
            raise IndexUnavailable("the `chroma` command (from the chromadb wheel) is missing")
        port = _free_port()
        path.mkdir(parents=True, exist_ok=True)
        argv = [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)]
        proc = self._spawn("chroma", argv)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise IndexUnavailable(f"the local Chroma server exited: {self._tail('chroma')}")
            with suppress(OSError):
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as r:  # noqa: S310 - our loopback URL
                    if r.status == 200:
                        return url
            time.sleep(0.2)
        raise IndexUnavailable(f"the local Chroma server did not start within {timeout:.0f}s")

    def _tail(self, name: str) -> str:
        for n, _, out in self._procs:
            if n == name:
                out.seek(0)
                return out.read().decode(errors="replace")[-800:].strip()
        return ""

    def stop(self) -> None:
        """Worker first (a warm shutdown finishes its task), then the index it writes."""
        for name, proc, out in reversed(self._procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in 30s; killing it", name)
                proc.kill()
                proc.wait()
            out.close()
        self._procs.clear()
