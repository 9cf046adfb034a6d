"""No lost work: kill -9 a worker in the middle of a multi-file ingest; the lease expires,
the beat sweeper re-sends the job, a new worker finishes it, and every chunk is there
exactly once."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest

from bot.bootstrap import build_app, build_retrieval_from
from bot.domain.jobs import JobStatus
from bot.settings import Settings
from retrieval.chunking import chunk_document
from retrieval.parse import parse
from retrieval.store import document_id
from tests.conftest import DATA, stop, wait_until
from tests.services import chroma_server, kill_group, start_cli_process, wait_ready

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LEASE_SECONDS = 4


def test_killed_worker_s_job_is_finished_by_another_without_loss_or_duplicates(
    tmp_path, redis_url, postgres_url, embedder
):
    # the eight smallest pages: two groups of four, so the kill lands between them
    files = sorted((DATA / "corpus").glob("*.html"), key=lambda p: p.stat().st_size)[:8]
    material = tmp_path / "material"
    material.mkdir()
    for f in files:
        shutil.copy(f, material / f.name)
    paths = sorted(material.iterdir())

    with chroma_server(tmp_path / "chroma") as chroma:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
        env.update(
            LEARNLOOP_DATA_DIR=str(tmp_path / "data"),
            LEARNLOOP_DATABASE_URL=postgres_url,
            LEARNLOOP_BROKER_URL=redis_url,
            LEARNLOOP_CHROMA_URL=chroma,
            LEARNLOOP_LEASE_SECONDS=str(LEASE_SECONDS),
            LEARNLOOP_SWEEP_SECONDS="1",
        )
        settings = Settings(
            data_dir=tmp_path / "data", database_url=postgres_url, broker_url=redis_url
        )
        app = build_app(settings)
        service = app.jobs
        beat = start_cli_process(env, tmp_path / "beat.log", "beat")
        workers = {}
        try:
            logs = [tmp_path / f"worker{n}.log" for n in (1, 2)]
            for log in logs:  # a fleet of two, started together: either may take the job
                proc = start_cli_process(env, log, "worker", "--queues", "ingest,notify")
                workers[proc.pid] = proc
            for proc, log in zip(workers.values(), logs, strict=True):
                wait_ready(proc, log)
            job = asyncio.run(service.enqueue_ingest(paths))

            def part_done():
                j = service.jobs.get(job.id)
                return j if j.status is JobStatus.RUNNING and j.progress_done >= 1 else None

            seen = wait_until(part_done, timeout=120, what="the first files", interval=0.05)
            holder = workers[int(seen.lease_owner.rsplit(":", 1)[1])]
            kill_group(holder)  # the machine dies: no warm shutdown, no ack, no release
            at_kill = service.jobs.get(job.id)
            assert at_kill.status is JobStatus.RUNNING, "the job finished before the kill"
            assert 1 <= at_kill.progress_done < len(paths)

            done = wait_until(
                lambda: (j := service.jobs.get(job.id)).status is JobStatus.DONE and j,
                timeout=120,
                what="the job after the kill",
                interval=0.2,
            )
        finally:
            stop(beat)
            for proc in workers.values():
                if proc.poll() is None:
                    stop(proc)
            app.close()

        assert done.lease_owner == "" and done.attempts == 2  # taken over once
        assert done.result["documents"] == len(paths) and done.result["skipped"] == 0
        expected = {
            p.name: len(chunk_document(parse(p.name, p.read_bytes()), 900, 150)) for p in paths
        }
        assert done.result["chunks"] == sum(expected.values())

        store = build_retrieval_from(embedder, url=chroma).store
        catalog = {d.source: d for d in store.documents()}
        assert set(catalog) == set(expected)
        for source, n in expected.items():
            record = catalog[source]
            ids = [cid for cid, *_ in store.chunks_of([document_id(source)])]
            # every chunk of the published version, once; no orphan from the killed run
            assert sorted(ids) == sorted(
                f"{record.doc_id}:{record.version}:{i}" for i in range(n)
            ), source
        assert store.count() == sum(expected.values())
