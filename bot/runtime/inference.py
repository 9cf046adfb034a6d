"""Finding or starting the embedded inference server for a command that needs a model."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import IO

from bot.domain.errors import ModelUnavailable

log = logging.getLogger(__name__)


def healthy(base_url: str, timeout: float = 1.0) -> bool:
    root = base_url.rstrip("/").removesuffix("/v1")
    try:
        with urllib.request.urlopen(f"{root}/health", timeout=timeout) as response:  # noqa: S310 - our own http URL
            return bool(response.status == 200)
    except OSError:
        return False


class EmbeddedServer(AbstractContextManager["EmbeddedServer"]):
    """`learnloop serve-inference` in a child process, stopped on exit."""

    def __init__(
        self,
        port: int,
        startup_timeout: float = 300.0,
        on_start: Callable[[], None] | None = None,
        command: Sequence[str] = (),
    ) -> None:
        self.port = port
        # what to run (tests: a stand-in server); default `learnloop serve-inference`
        self.command = list(command) or [
            *(sys.executable, "-m", "bot", "serve-inference"),
            *("--port", str(port), "--exit-with", str(os.getpid())),
        ]
        self.on_start = on_start  # told each time a server process is started
        self.url = f"http://127.0.0.1:{port}/v1"
        self.startup_timeout = startup_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._starting = threading.Lock()  # a start-up thread and a question may race

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> str:
        """Start the server and wait until it is healthy. Blocks (up to `startup_timeout`):
        call it from a worker thread, never on an event loop."""
        with self._starting:
            return self._start()

    def _start(self) -> str:
        if self._proc is not None:
            return self.url
        log.info("starting the embedded inference server on port %d", self.port)
        if self.on_start is not None:
            self.on_start()
        # its output goes to a file, not a pipe: an unread pipe fills up and blocks it
        self._log = tempfile.TemporaryFile()
        self._proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            self.command,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # on loopback only: promotion and the reconcile pass load adapters into it
            env={**os.environ, "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1"},
        )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace")[-800:].strip()
                self._proc = None
                raise ModelUnavailable(f"the embedded inference server failed to start: {err}")
            if healthy(self.url):
                return self.url
            time.sleep(0.25)
        self.stop()
        raise ModelUnavailable(
            f"the embedded inference server did not start within {self.startup_timeout:.0f}s"
        )

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __exit__(self, *exc: object) -> None:
        self.stop()
