"""Embedded mode needs no Redis and no PostgreSQL: `up`'s local services (a Chroma server
and a worker on the filesystem queue, SQLite store) run a queued ingest end to end, and
stop cleanly."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from bot.adapters.store import JobRepository, database_url, open_store
from bot.bootstrap import build_retrieval_from
from bot.domain.jobs import JobStatus
from bot.runtime.local import LocalServices
from bot.settings import Settings
from tests.conftest import run_cli, wait_until

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("fresh_env")
def test_queued_ingest_runs_with_no_server_installed(tmp_path, monkeypatch, embedder):
    monkeypatch.delenv("LEARNLOOP_CHROMA_URL", raising=False)  # restored after the test
    data = tmp_path / "data"
    monkeypatch.setenv("LEARNLOOP_DATA_DIR", str(data))
    guide = tmp_path / "onboarding.md"
    guide.write_text("# Onboarding\n\n## Laptops\nIT hands out laptops on the first Monday.\n")

    local = LocalServices(Settings(), "")
    try:
        local.start()
        env = dict(os.environ)  # now names the local Chroma server, and nothing else
        assert "LEARNLOOP_BROKER_URL" not in env and "LEARNLOOP_DATABASE_URL" not in env
        (job_id,) = json.loads(run_cli(env, "ingest", "--queue", str(guide), "--json").stdout)[
            "jobs"
        ]
        engine, sessions = open_store(database_url("", data))
        repo = JobRepository(sessions)
        job = wait_until(
            lambda: (j := repo.get(job_id)).status in (JobStatus.DONE, JobStatus.FAILED) and j,
            timeout=120,
            what="the job on the filesystem queue",
            interval=0.2,
        )
        assert job.status is JobStatus.DONE and job.result["documents"] == 1, job.error
        assert (data / "learnloop.db").is_file() and any((data / "queue").iterdir())
        found = build_retrieval_from(embedder, url=local.chroma_url).searcher.search("laptops")
        assert found.passages[0].source == "onboarding.md"
        procs = [proc for _, proc, _ in local._procs]
        engine.dispose()
    finally:
        local.stop()
    assert all(p.returncode is not None for p in procs)  # worker and Chroma ended
    port = urlparse(local.chroma_url).port
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    assert Path(data / "chroma").is_dir()  # the index stays for the next start
