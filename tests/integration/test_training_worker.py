"""The learning loop through the queue: a real `learnloop beat` finds enough new examples,
a real `learnloop worker -Q training` on Redis trains, gates and promotes an adapter, with
progress and its lease in PostgreSQL, and puts it on the real embedded server."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import openai
import pytest

from bot.adapters.store import FeedbackRepository, JobRepository, database_url, open_store
from bot.adapters.store.registry import SqlRegistry
from bot.bootstrap import build_retrieval_from
from bot.domain.answering import Answer, Source
from bot.domain.conversation import Place
from bot.domain.feedback import Feedback, answer_record
from bot.domain.jobs import JobStatus
from inference.models import SERVED_NAME
from tests.conftest import stop, wait_until
from tests.services import (
    chroma_server,
    kill_group,
    postgres_database,
    start_cli_process,
    start_worker,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEPLOYS = """# Deploys

## Freeze
A deploy freeze is a window when only approved hotfixes ship. Freezes start every
Friday at 15:00 and end on Monday at 09:00.

## Rollback
A rollback is the return to the previous release. The on-call engineer runs
`deploy rollback` and posts in the incident channel.
"""
EXPENSES = """# Expenses

## Meals
A meal allowance is the most a meal may cost: 40 euros per person. Receipts are
uploaded within 30 days.
"""
SECURITY = """# Security

## Passwords
A password manager is the only place passwords are kept. Shared accounts use the team
vault, and a leaked password is reported to security within one hour.
"""
HOLIDAYS = """# Holidays

## Requests
A holiday request is filed in the HR portal two weeks ahead. Requests over ten days
need the manager's approval and a handover note.
"""
SALARIES = """# Salary bands

## Bands
A salary band for level four engineers spans 71000 to 88000 euros before bonuses.
"""
TRAINING = {
    "LEARNLOOP_TRAIN_DEVICE": "cpu",
    "LEARNLOOP_TRAIN_MAX_STEPS": "2",
    "LEARNLOOP_TRAIN_BATCH_SIZE": "1",
    "LEARNLOOP_TRAIN_MAX_LENGTH": "320",
    "LEARNLOOP_TRAIN_LORA_RANK": "4",
    "LEARNLOOP_TRAIN_LEARNING_RATE": "0.01",
    "LEARNLOOP_TRAIN_MIN_EXAMPLES": "1",
    "LEARNLOOP_TRAIN_HELDOUT_SHARE": "0.3",
    "LEARNLOOP_TRAIN_HELDOUT_LIMIT": "2",
    "LEARNLOOP_TRAIN_GATE_MAX_TOKENS": "16",
    "LEARNLOOP_TRAIN_PERIOD_SECONDS": "1",
    "LEARNLOOP_TRAIN_NEW_EXAMPLES": "3",
    # two CPU steps do not reliably move the citation rate: this run is about the plumbing
    # (tests/unit/test_training_cycle.py holds the gate's decisions)
    "LEARNLOOP_GATE_MIN_CITATION_GAIN": "-1",
    "LEARNLOOP_GATE_MAX_KEY_LOSS": "1",
    "LEARNLOOP_GATE_MAX_REFUSAL_LOSS": "1",
}


@pytest.fixture(scope="module")
def site(tmp_path_factory, redis_url, embedder, generation_model, inference_server):
    root = tmp_path_factory.mktemp("training-worker")
    with postgres_database() as pg, chroma_server(root / "chroma") as chroma:
        rt = build_retrieval_from(embedder, url=chroma)
        engine, sessions = open_store(database_url(pg, Path()))
        jobs = JobRepository(sessions)
        ingest = jobs.create("ingest", {})
        for name, text, groups in (
            ("deploys.md", DEPLOYS, ["everyone"]),
            ("expenses.md", EXPENSES, ["everyone"]),
            # held out by the split (a hash of the document name): the gate's questions
            ("security.md", SECURITY, ["everyone"]),
            ("holidays.md", HOLIDAYS, ["everyone"]),
            ("salaries.md", SALARIES, ["hr"]),
        ):
            report = rt.ingestor.ingest_bytes(name, text.encode(), groups)
            doc = rt.store.document(report.source)
            # what an ingest job records: the loop counts new material by it
            jobs.record_document(doc.source, doc.title, doc.version, doc.chunks, groups, ingest.id)
        rated = rate_an_answer(FeedbackRepository(sessions))
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
        env.update(
            LEARNLOOP_DATA_DIR=str(root / "data"),
            LEARNLOOP_DATABASE_URL=pg,
            LEARNLOOP_BROKER_URL=redis_url,
            LEARNLOOP_CHROMA_URL=chroma,
            LEARNLOOP_INFERENCE_URL=inference_server,
            LEARNLOOP_GENERATION_MODEL=str(generation_model),
            **TRAINING,
        )
        worker = start_worker(env, root / "worker.log", "training")
        beat = start_cli_process(env, root / "beat.log", "beat")
        try:
            yield env, jobs, root, rated, sessions
        finally:
            stop(beat)
            kill_group(worker)  # it may be mid-run when a check failed: no warm shutdown
            engine.dispose()
            # the suite's shared server: leave it as found
            root_url = inference_server.removesuffix("/v1")
            httpx.post(f"{root_url}/v1/unload_lora_adapter", json={"lora_name": "learnloop-v1"})


def rate_an_answer(repo: FeedbackRepository) -> str:
    """A 👍 on a channel answer recorded with its provenance."""
    given = (
        Source(1, "expenses.md", "Expenses", "Meals", "A meal may cost 40 euros.", version="v1"),
    )
    record = answer_record(
        "How much may a team lunch cost?",
        Answer("Up to 40 euros per person [1].", False, citations=given, given=given),
        "slack:U1",
        "slack",
        Place("slack", "C1"),
        ("everyone",),
        {"everyone"},
    )
    repo.record_answer(record)
    repo.add(Feedback(record.id, "up"))
    return record.answer


def test_the_beat_starts_one_training_job_that_trains_gates_promotes_and_serves(
    site, inference_server
):
    _env, jobs, root, rated, sessions = site

    def finished():
        done = [
            j for j in jobs.recent(kind="train") if j.status in (JobStatus.DONE, JobStatus.FAILED)
        ]
        return done[0] if done else None

    job = wait_until(finished, timeout=900, what="the beat-started training job")
    assert job.status is JobStatus.DONE, f"{job.error}\n{(root / 'worker.log').read_text()[-3000:]}"
    result = job.result
    assert len(jobs.recent(kind="train")) == 1  # the beat kept looking, but one job at a time
    assert (job.progress_done, job.progress_total) == (2, 2), result
    assert result["training"]["steps"] == 2 and result["training"]["device"] == "cpu"
    assert result["adapter"] == "learnloop-v1" and result["status"] == "active"
    assert result["verdict"]["promote"] and result["verdict"]["candidate"]["questions"] >= 1
    # the gate loaded it to ask it: every server has it, none needed it again
    server = inference_server.removesuffix("/v1")
    assert result["servers"] == [{"url": server, "loaded": [], "error": ""}]

    rows = [json.loads(line) for line in Path(result["dataset_file"]).read_text().splitlines()]
    said = json.dumps(rows)
    assert "71000" not in said and "salary band" not in said.lower()  # restricted material
    assert any(r["origin"] == "thumbs_up" and r["completion"][0]["content"] == rated for r in rows)

    # the registry the worker wrote is in PostgreSQL, where every bot process reads it
    (adapter,) = SqlRegistry(sessions, root / "data/training/adapters", SERVED_NAME).records()
    assert adapter.status == "active" and adapter.base_model == SERVED_NAME
    assert adapter.report["promote"] is True
    assert Path(adapter.path, "adapter_config.json").is_file()

    # the promoted adapter is served by name
    client = openai.OpenAI(base_url=inference_server, api_key="unused")
    reply = client.chat.completions.create(
        model="learnloop-v1",
        messages=[{"role": "user", "content": "Hello"}],
        max_tokens=4,
        temperature=0,
    )
    assert reply.choices
