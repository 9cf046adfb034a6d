"""Redis, PostgreSQL and Chroma for the tests: used where running, started where not.

Each test session takes its own Redis database number (claimed with a lock key) and its
own PostgreSQL database, so nothing collides with other sessions on the same servers."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

REDIS_PORT = 6379
PG_PORT = 5432
LOCK_KEY = "learnloop:test-session"


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait(check, timeout: float, what: str) -> None:
    from tests.conftest import wait_until

    wait_until(check, timeout=timeout, what=what, interval=0.2)


def _free_port() -> int:
    from tests.conftest import free_port

    return free_port()


def _redis_ready(port: int) -> bool:
    import redis

    try:
        with redis.Redis(port=port, socket_connect_timeout=2) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


@contextmanager
def redis_database() -> Iterator[str]:
    """A redis:// URL of a database number no other session uses; emptied afterwards.

    Uses the server on 6379; with none there, starts one (on 6379, or on a free port when
    6379 holds something we cannot use)."""
    import redis

    port = REDIS_PORT
    started: subprocess.Popen[bytes] | None = None
    if not _redis_ready(port):
        server = shutil.which("redis-server")
        assert server, (
            "Redis is not running and redis-server is missing (apt-get install redis-server)"
        )
        port = _free_port() if _port_open(port) else port
        started = subprocess.Popen(
            [
                server,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=tempfile.mkdtemp(prefix="redis-"),
            stdout=subprocess.DEVNULL,
        )
        _wait(lambda: _redis_ready(port), 30, "redis-server")
    token = uuid.uuid4().hex
    db = None
    for n in range(1, 16):
        with redis.Redis(port=port, db=n) as client:
            if client.set(LOCK_KEY, token, nx=True, ex=3600):
                db = n
                break
    assert db is not None, "every Redis database 1-15 is held by another test session"
    try:
        yield f"redis://127.0.0.1:{port}/{db}"
    finally:
        with redis.Redis(port=port, db=db) as client:
            if client.get(LOCK_KEY) == token.encode():
                client.flushdb()
        if started is not None:
            started.terminate()
            started.wait(timeout=15)


def _pg_connect(port: int, dbname: str = "postgres"):
    import psycopg

    return psycopg.connect(
        host="127.0.0.1",
        port=port,
        user="postgres",
        dbname=dbname,
        connect_timeout=3,
        autocommit=True,
    )


def _pg_ready(port: int) -> bool:
    try:
        with _pg_connect(port) as conn:
            return conn.execute("select 1").fetchone() == (1,)
    except Exception:
        return False


def _start_postgres(port: int) -> subprocess.Popen[bytes]:
    """A throwaway cluster (trust auth) from Debian's PostgreSQL binaries."""
    bindir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None)
    assert bindir, "PostgreSQL is not running and not installed (apt-get install postgresql)"
    data = Path(tempfile.mkdtemp(prefix="pg-"))
    # initdb and postgres refuse to run as root: run them as the postgres user
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(data, "postgres")
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data / "db"), "-U", "postgres", "-A", "trust"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return subprocess.Popen(
        [
            *as_user,
            str(bindir / "postgres"),
            "-D",
            str(data / "db"),
            "-p",
            str(port),
            "-k",
            str(data),
            "-c",
            "listen_addresses=127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextmanager
def postgres_database() -> Iterator[str]:
    """A postgresql:// URL of a fresh database, dropped afterwards.

    Uses the server on 5432 (trust auth for postgres on 127.0.0.1); with none usable there,
    starts a throwaway cluster (on 5432, or on a free port when 5432 is taken)."""
    port = PG_PORT
    started = None
    if not _pg_ready(port):
        port = _free_port() if _port_open(port) else port
        started = _start_postgres(port)
        _wait(lambda: _pg_ready(port), 60, "PostgreSQL")
    name = f"learnloop_test_{uuid.uuid4().hex[:12]}"
    with _pg_connect(port) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/{name}"
    finally:
        with _pg_connect(port) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if started is not None:
            started.terminate()
            started.wait(timeout=30)


@contextmanager
def chroma_server(path: Path) -> Iterator[str]:
    """A private `chroma run` server on a free loopback port; yields its URL."""
    from tests.conftest import free_port, stop, wait_until

    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma CLI ships in the chromadb wheel"
    port = free_port()
    path.mkdir(parents=True, exist_ok=True)
    with (path / "server.log").open("wb") as log:
        proc = subprocess.Popen(
            [chroma, "run", "--path", str(path / "db"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).status == 200,
                timeout=60,
                what="chroma server",
            )
            yield url
        finally:
            stop(proc)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process started with start_new_session=True and all its children."""
    import signal

    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=15)


def start_cli_process(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """`learnloop ARGS...` (a worker, beat) in its own session, so kill_group can kill it
    and every child at once, as a machine dying would."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_worker(env: dict[str, str], log: Path, queues: str) -> subprocess.Popen[bytes]:
    """A real `learnloop worker` process, returned once Celery says it is ready."""
    proc = start_cli_process(env, log, "worker", "--queues", queues)
    wait_ready(proc, log)
    return proc


def wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the worker logs " ready." (after its model is loaded); fail if it exits."""
    from tests.conftest import wait_until

    def ready() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited:\n{log.read_text()[-3000:]}")
        return " ready." in log.read_text(errors="replace")

    wait_until(ready, timeout=120, what="celery worker")


def run_killed_and_restarted(
    logs: list[Path], scenario: Callable[[list[subprocess.Popen[bytes]]], Awaitable[None]]
) -> None:
    """Run `scenario(procs)`, which starts processes into `procs` (and kills some); print
    their logs when it fails; stop and reap every one of them whatever happened."""
    from tests.conftest import stop

    procs: list[subprocess.Popen[bytes]] = []
    try:
        asyncio.run(scenario(procs))
    except BaseException:
        for log in logs:
            if log.exists():
                print(log.read_text())
        raise
    finally:
        for proc in procs:
            stop(proc)
            proc.wait()  # reaped even when it had to be killed
