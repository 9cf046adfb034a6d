"""`learnloop migrate` and LEARNLOOP_MIGRATE_ON_START: a deployment migrates once, in a
one-shot job, and its processes refuse (in one sentence) a schema that is not up to date."""

from __future__ import annotations

import json
import os

import pytest

from tests.conftest import ROOT, run_cli

pytestmark = pytest.mark.integration

HEAD = sorted(
    p.stem.split("_")[0] for p in (ROOT / "bot/adapters/store/migrations/versions").glob("0*.py")
)[-1]


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request, tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    base.update(LEARNLOOP_DATA_DIR=str(tmp_path / "data"), LEARNLOOP_MIGRATE_ON_START="false")
    if request.param == "sqlite":
        yield base
        return
    from tests.services import postgres_database

    with postgres_database() as url:
        yield base | {"LEARNLOOP_DATABASE_URL": url}


def test_processes_wait_for_the_migrate_job_when_told_not_to_migrate(env):
    refused = run_cli(env, "access", "show", "slack:U1", check=False)
    assert refused.returncode == 1
    said = (refused.stdout + refused.stderr).strip()
    assert "run `learnloop migrate` first" in said
    assert "Traceback" not in said and len(said.splitlines()) == 1

    done = json.loads(run_cli(env, "migrate", "--json").stdout)
    assert done == {"from": None, "to": HEAD}
    run_cli(env, "access", "show", "slack:U1", "--json")  # fails the test if it fails
    assert json.loads(run_cli(env, "migrate", "--json").stdout) == {"from": HEAD, "to": HEAD}


def test_migrate_says_in_one_sentence_when_the_database_is_down(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env.update(
        LEARNLOOP_DATA_DIR=str(tmp_path / "data"),
        LEARNLOOP_DATABASE_URL="postgresql+psycopg://nobody@127.0.0.1:1/none",
    )
    failed = run_cli(env, "migrate", check=False)
    said = (failed.stdout + failed.stderr).strip()
    assert failed.returncode == 1 and "Traceback" not in said
    assert said.startswith("error:") and "database" in said


@pytest.mark.usefixtures("fresh_env")
def test_up_migrates_the_store_before_it_starts_the_worker(tmp_path, monkeypatch):
    """`up` starts a worker (later the console and the Teams bot) that opens the store too:
    the schema is at head before the first child starts, so no two processes migrate one
    new SQLite file at once (they raced: one gave up waiting on the other's locks)."""
    import typer

    from bot.adapters.store import database_url, make_engine
    from bot.adapters.store.db import current_revision, head_revision
    from bot.domain.errors import IndexUnavailable
    from bot.main import up
    from bot.runtime.local import LocalServices

    monkeypatch.setenv("LEARNLOOP_DATA_DIR", str(tmp_path / "data"))
    seen = []

    def start(self) -> None:  # where the worker would start: look, then stop `up`
        engine = make_engine(database_url("", tmp_path / "data"))
        seen.append(current_revision(engine))
        engine.dispose()
        raise IndexUnavailable("stopped by the test")

    monkeypatch.setattr(LocalServices, "start", start)
    with pytest.raises(typer.Exit):
        up(slack_port=0, teams_port=0, web_port=0)
    assert seen == [head_revision()]


def test_a_migrator_waits_while_another_holds_the_migration_lock(env, tmp_path):
    """Processes migrating one database at once take turns (a file lock beside a SQLite
    file, an advisory lock on PostgreSQL): racing on a new SQLite file, one gave up waiting
    on the other's locks. Held here, `migrate` waits; released, it migrates."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    from bot.adapters.store import database_url, make_engine

    url = env.get("LEARNLOOP_DATABASE_URL")
    if url is None:
        from filelock import FileLock

        db = Path(env["LEARNLOOP_DATA_DIR"]) / "learnloop.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(f"{db}.migrate.lock")
        lock.acquire()
        release = lock.release
    else:
        engine = make_engine(database_url(url, tmp_path))
        conn = engine.connect()
        conn.exec_driver_sql("SELECT pg_advisory_lock(7310001)")  # env.py's MIGRATING

        def release() -> None:
            conn.exec_driver_sql("SELECT pg_advisory_unlock(7310001)")
            conn.close()
            engine.dispose()

    waiting = subprocess.Popen(
        [sys.executable, "-m", "bot", "migrate", "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        time.sleep(4)
        assert waiting.poll() is None  # it waits for the lock's holder
    finally:
        release()
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert json.loads(out) == {"from": None, "to": HEAD}
