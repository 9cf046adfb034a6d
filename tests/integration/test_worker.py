"""Ingestion and feedback through the queue: the CLI and the service enqueue, a real
`learnloop worker` process on real Redis does the work, job state lands in PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.adapters.store import FeedbackRepository, JobRepository, database_url, open_store
from bot.adapters.store.models import DocumentRow
from bot.bootstrap import build_app, build_retrieval_from
from bot.domain.feedback import Feedback
from bot.domain.jobs import JobStatus
from bot.settings import Settings
from tests.conftest import free_port, run_cli, stop, wait_until
from tests.services import chroma_server, start_worker

pytestmark = pytest.mark.integration

GUIDE = """# Release guide

## Tagging
Tag every release with `git tag -a` and push it with --follow-tags.

## Changelog
Summarise user-visible changes in CHANGELOG.md before tagging.
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory, redis_url, postgres_url):
    """Chroma server + a worker process on the ingest, feedback and notify queues."""
    root = tmp_path_factory.mktemp("worker")
    with chroma_server(root / "chroma") as chroma:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
        env.update(
            LEARNLOOP_DATA_DIR=str(root / "data"),
            LEARNLOOP_DATABASE_URL=postgres_url,
            LEARNLOOP_BROKER_URL=redis_url,
            LEARNLOOP_CHROMA_URL=chroma,
        )
        worker = start_worker(env, root / "worker.log", "ingest,feedback,notify")
        try:
            yield env, chroma
        finally:
            stop(worker)


@pytest.fixture(scope="module")
def jobs(postgres_url):
    engine, sessions = open_store(database_url(postgres_url, Path()))
    yield JobRepository(sessions), sessions
    engine.dispose()


def finished(repo: JobRepository, job_id: str):
    job = repo.get(job_id)
    return job if job.status in (JobStatus.DONE, JobStatus.FAILED) else None


def test_cli_enqueued_file_is_ingested_by_a_worker_process(stack, jobs, tmp_path, embedder):
    env, chroma = stack
    repo, sessions = jobs
    guide = tmp_path / "release.md"
    guide.write_text(GUIDE)
    (tmp_path / "diagram.svg").write_bytes(b"<svg></svg>")

    queued = json.loads(
        run_cli(
            env, "ingest", "--queue", str(guide), str(tmp_path / "diagram.svg"), "--json"
        ).stdout
    )
    (job_id,) = queued["jobs"]
    job = wait_until(lambda: finished(repo, job_id), timeout=120, what="the ingest job")

    assert job.status is JobStatus.DONE, job.error
    assert (job.progress_done, job.progress_total) == (2, 2)
    assert job.result["documents"] == 1 and job.result["skipped"] == 1
    assert job.result["chunks"] >= 2
    skipped = [f for f in job.result["files"].values() if f["status"] == "skipped"]
    assert skipped[0]["code"] == "unsupported_file_type"
    with sessions() as session:
        doc = session.scalars(select(DocumentRow).where(DocumentRow.source == "release.md")).one()
    assert doc.job_id == job_id and doc.chunks == job.result["chunks"]

    # searchable from another process over the same Chroma server
    found = build_retrieval_from(embedder, url=chroma).searcher.search("--follow-tags", k=3)
    assert found.passages[0].source == "release.md"

    listed = json.loads(run_cli(env, "jobs", "--json").stdout)
    mine = next(j for j in listed if j["id"] == job_id)
    assert mine["status"] == "done" and mine["progress"] == {"done": 2, "total": 2}


def test_broker_unreachable_keeps_the_job_to_resend(stack, jobs, tmp_path):
    env, _ = stack
    repo, _ = jobs
    guide = tmp_path / "changelog.md"
    guide.write_text(GUIDE.replace("Release", "Changelog"))
    down = {**env, "LEARNLOOP_BROKER_URL": f"redis://127.0.0.1:{free_port()}/0"}

    failed = run_cli(down, "ingest", "--queue", str(guide), check=False)
    assert failed.returncode == 1
    assert "cannot reach the job queue at redis://127.0.0.1" in failed.stderr
    job_id = re.search(r"jobs retry\s+([0-9a-f]{32})", failed.stderr)
    assert job_id, failed.stderr
    job = repo.get(job_id.group(1))
    assert job.status is JobStatus.UNSENT and job.error_code == "broker_unavailable"
    listed = json.loads(run_cli(env, "jobs", "--json").stdout)
    assert next(j for j in listed if j["id"] == job.id)["status"] == "unsent"

    # the queue is back: a retry by command sends it, and the worker finishes it
    assert run_cli(env, "jobs", "retry", job.id).stdout.startswith(job.id)
    done = wait_until(lambda: finished(repo, job.id), timeout=120, what="the resent job")
    assert done.status is JobStatus.DONE and done.result["documents"] == 1

    again = run_cli(env, "jobs", "retry", job.id, check=False)
    assert again.returncode == 1 and "only failed or unsent jobs" in again.stderr


def test_feedback_through_the_service_port_lands_in_postgres(stack, jobs, postgres_url, tmp_path):
    env, _ = stack
    _, sessions = jobs
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_url, broker_url=env["LEARNLOOP_BROKER_URL"]
    )
    event = Feedback(
        "answer-1",
        "down",
        question="How do I tag a release?",
        answer="Use git tag [1].",
        passages=({"n": 1, "source": "release.md", "section": "Tagging"},),
        model="smollm2-135m",
        adapter_version="base",
        learner="U0123",
        platform="slack",
    )
    app = build_app(settings)
    asyncio.run(app.jobs.record_feedback(event))
    app.close()
    repo = FeedbackRepository(sessions)
    stored = wait_until(lambda: repo.events("answer-1"), timeout=60, what="stored feedback")
    assert stored == [event]

    # broker down: the event is stored directly, never dropped
    down = settings.model_copy(update={"broker_url": f"redis://127.0.0.1:{free_port()}/0"})
    other = Feedback("answer-2", "up", learner="U0456", platform="teams")
    app = build_app(down)
    asyncio.run(app.jobs.record_feedback(other))
    app.close()
    assert repo.events("answer-2") == [other]


def test_hostile_files_in_a_job_are_skipped_and_the_worker_lives_on(stack, jobs, tmp_path):
    from tests.bombs import billion_laughs_docx, markup_bomb_html, zip_bomb_docx

    env, _ = stack
    repo, _ = jobs
    folder = tmp_path / "batch"
    (folder / "sales").mkdir(parents=True)
    (folder / "support").mkdir()
    (folder / "zip-bomb.docx").write_bytes(zip_bomb_docx(1024 * 1024 * 1024))
    (folder / "laughs.docx").write_bytes(billion_laughs_docx())
    (folder / "markup-bomb.html").write_bytes(markup_bomb_html())
    (folder / "sales" / "guide.md").write_text(GUIDE)
    (folder / "support" / "guide.md").write_text(GUIDE.replace("Release", "Support"))

    (job_id,) = json.loads(run_cli(env, "ingest", "--queue", str(folder), "--json").stdout)["jobs"]
    job = wait_until(lambda: finished(repo, job_id), timeout=180, what="the hostile job")

    assert job.status is JobStatus.DONE, job.error
    files = {f["source"]: f for f in job.result["files"].values()}
    assert {s: f["status"] for s, f in files.items()} == {
        "zip-bomb.docx": "skipped",
        "laughs.docx": "skipped",
        "markup-bomb.html": "skipped",
        "sales/guide.md": "added",
        "support/guide.md": "added",
    }
    for name in ("zip-bomb.docx", "laughs.docx", "markup-bomb.html"):
        assert files[name]["code"] == "over_limit" and files[name]["reason"].startswith(name)

    # the same worker takes the next job
    later = tmp_path / "later.md"
    later.write_text(GUIDE.replace("Release", "Onboarding"))
    (second,) = json.loads(run_cli(env, "ingest", "--queue", str(later), "--json").stdout)["jobs"]
    done = wait_until(lambda: finished(repo, second), timeout=120, what="the next job")
    assert done.status is JobStatus.DONE and done.result["documents"] == 1
