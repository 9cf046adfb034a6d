"""Shared fixtures: the app as `build_app` makes it, the real packaged embedding model,
Chroma (embedded or server), Redis, PostgreSQL and the embedded inference server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FunctionType
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from bot.bootstrap import App

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check, timeout: float, what: str, interval: float = 0.1):
    """Poll `check` until it returns a truthy value; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # the thing polled is not up yet
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s (last error: {last_error})")


def run_cli(
    env: dict[str, str], *args: str, check: bool = True, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`learnloop ARGS...` in a child process, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"learnloop {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=15)  # reaped: an unreaped child is a ResourceWarning (an error here)


@pytest.fixture
def fresh_env(monkeypatch) -> None:
    """No `LEARNLOOP_` setting in this process's environment for the test (restored after
    it): settings read now are a fresh process's defaults."""
    for name in [k for k in os.environ if k.startswith("LEARNLOOP_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def make_app(tmp_path) -> Iterator[Callable[..., App]]:
    """`make_app(admins="slack:U9", model=FakeChatModel(...), sender=lambda app: ...)`: an
    App from `build_app` over a SQLite store in the test's folder; what it built is closed
    at teardown (the parts a test gave are the test's).

    A keyword naming a part of the App replaces that part: a value as it is, a function
    (a lambda or a def) is called with the app and builds the part from its other parts
    (`sender=lambda app: FakeSender(app.job_records)`). Any other keyword is a Settings
    field, or a RetrievalSettings one (`max_upload_mb`). `quiz_writer` names the part;
    the setting of that name is left at its default. Each call builds a new App over the
    same folder, as a restart or a second replica would. Answers are not grounded unless a
    test gives a `grounder`: the fakes' passages and replies are written for the checks
    they test, not for the sentence checker."""
    from bot.bootstrap import PARTS, build_app
    from bot.settings import Settings
    from retrieval.settings import RetrievalSettings

    apps: list[tuple[App, set[str]]] = []

    def make(**keywords: Any) -> App:
        keywords = {"grounder": None, **keywords}
        parts = {k: v for k, v in keywords.items() if k in PARTS}
        fields = {k: v for k, v in keywords.items() if k not in PARTS}
        retrieval = {k: fields.pop(k) for k in list(fields) if k in RetrievalSettings.model_fields}
        unknown = set(fields) - set(Settings.model_fields)
        if unknown:
            raise TypeError(f"make_app: no part or setting named {', '.join(sorted(unknown))}")
        later = {k: v for k, v in parts.items() if isinstance(v, FunctionType)}
        app = build_app(
            Settings(**{"data_dir": tmp_path, "database_url": "", **fields}),
            retrieval_settings=RetrievalSettings(**retrieval),
            **{k: v for k, v in parts.items() if k not in later},
        )
        apps.append((app, set(parts)))
        for name, build in later.items():  # in the order given, before anything uses them
            setattr(app, name, build(app))  # a cached_property yields to the instance's value
        return app

    yield make
    for app, given in reversed(apps):
        for name in given:  # the test's own parts are the test's to close
            vars(app).pop(name, None)
        app.close()


@pytest.fixture(scope="session")
def embedder():
    from retrieval.embedding import Embedder, resolve_embedding_path

    model = Embedder(resolve_embedding_path(""))
    model.embed(["warm up"])
    return model


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory) -> Iterator[str]:
    """A real `chroma run` server on a free loopback port; yields its URL."""
    from tests.services import chroma_server as running_chroma

    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(scope="session")
def generation_model(tmp_path_factory) -> Path:
    """The packaged SmolLM2 GGUF converted once into a plain folder (the real step)."""
    from inference.models import generation_model_path

    return generation_model_path("", tmp_path_factory.mktemp("models-data"))


@contextmanager
def running_server(
    tmp: Path, model: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[str]:
    """`learnloop serve-inference ARGS` in its own process on a free port; yields its /v1 URL."""
    port = free_port()
    child = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    child.update(LEARNLOOP_GENERATION_MODEL=str(model), LEARNLOOP_DATA_DIR=str(tmp / "data"))
    child.update(env or {})
    log = (tmp / "server.log").open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "serve-inference",
            "--port",
            str(port),
            *args,
        ],
        env=child,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: (
                proc.poll() is None
                and urllib.request.urlopen(f"{url}/health", timeout=1).status == 200
            ),
            timeout=180,
            what=f"embedded inference server (log: {tmp / 'server.log'})",
            interval=0.25,
        )
        yield f"{url}/v1"
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="session")
def inference_server(tmp_path_factory, generation_model) -> Iterator[str]:
    """The embedded server shared by the suite, with runtime LoRA loading on (as vLLM's switch)."""
    with running_server(
        tmp_path_factory.mktemp("inference"),
        generation_model,
        env={"VLLM_ALLOW_RUNTIME_LORA_UPDATING": "1"},
    ) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Real Redis on 127.0.0.1:6379 (started if not running), a database of our own."""
    from tests.services import redis_database

    with redis_database() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Real PostgreSQL on 127.0.0.1:5432 (started if not running), a database of our own."""
    from tests.services import postgres_database

    with postgres_database() as url:
        yield url
