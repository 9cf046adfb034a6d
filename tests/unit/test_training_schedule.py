"""When the learning loop trains: enough new examples, one job at a time, and the sweeper
re-sends a training job to the training task (over a real SQLite store, a fake broker)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.adapters.queue import ROUTES
from bot.adapters.store import FeedbackRepository, JobRepository, database_url, open_store
from bot.adapters.store.models import utcnow
from bot.adapters.store.training import TrainingRecords
from bot.domain.answering import Answer, Source
from bot.domain.conversation import Place
from bot.domain.feedback import Feedback, answer_record
from bot.domain.jobs import RECONCILE_ADAPTERS, TRAIN, TRAIN_CHECK, JobStatus
from bot.services.jobs import JobPolicy, JobService
from bot.services.training import TrainingService
from bot.settings import Settings
from tests.unit.test_jobs_service import FakeSender
from training.settings import TrainingSettings
from worker.beat import beat_schedule


@pytest.fixture
def loop(tmp_path):
    _, sessions = open_store(database_url("", tmp_path))
    jobs = JobRepository(sessions)
    sender = FakeSender(jobs)
    service = JobService(
        jobs, FeedbackRepository(sessions), sender, upload_dir=tmp_path, policy=JobPolicy(60)
    )
    training = TrainingService(service, TrainingRecords(sessions), threshold=3, steps=7)
    return training, jobs, sender, FeedbackRepository(sessions)


def rate(feedback: FeedbackRepository, place: Place, audiences=("everyone",)) -> None:
    given = (Source(1, "a.md", "A", "", "A is one.", version="v1"),)
    record = answer_record(
        "What is A?",
        Answer("A is one [1].", False, given, given=given),
        "slack:U1",
        "slack",
        place,
        audiences,
        (),
    )
    feedback.record_answer(record)
    feedback.add(Feedback(record.id, "up"))


def test_a_job_starts_only_with_enough_new_examples_and_one_at_a_time(loop):
    training, jobs, sender, feedback = loop
    rate(feedback, Place("slack", "C1"))
    rate(feedback, Place("slack", "D1", direct=True))  # a DM answer: never trained on
    rate(feedback, Place("slack", "C2"), ("eng", "everyone"))  # eng material: not for everyone
    jobs.record_document("a.md", "A", "v1", 1, ["everyone"], jobs.create("ingest", {}).id)
    jobs.record_document("hr.md", "HR", "v1", 5, ["hr"], jobs.create("ingest", {}).id)

    waiting = training.request()
    assert waiting.job is None and (
        waiting.readiness.new_feedback,
        waiting.readiness.new_passages,
    ) == (1, 1)
    assert waiting.reason.startswith("2 new examples since the last run; 3 start one")

    rate(feedback, Place("slack", "C1"))
    started = training.request()
    assert started.job is not None and started.job.status is JobStatus.QUEUED
    assert started.job.progress_total == 7 and sender.sent[-1][:2] == (TRAIN, [started.job.id])
    blocked = training.request(force=True)  # one training job at a time, even when forced
    assert blocked.job is None and f"{started.job.id} is already queued" in blocked.reason

    job = jobs.claim(started.job.id, "w1", 60)
    assert job is not None and jobs.finish(job.id, "w1", JobStatus.DONE, {})
    after = training.readiness()
    assert after.new == 0 and not after.due and after.active is None
    assert training.request(force=True).job is not None  # --now: whatever is new


def test_the_sweeper_resends_a_training_job_to_the_training_task(loop):
    training, jobs, sender, _ = loop
    job = training.request(force=True).job
    jobs.claim(job.id, "w1", lease_seconds=-1)  # its worker died: the lease is over
    later = utcnow() + timedelta(seconds=1)
    assert training.jobs.sweep(later).resent == [job.id]
    assert sender.sent[-1][:2] == (TRAIN, [job.id])


def test_the_beat_looks_on_the_training_queue_and_reconciles_off_it():
    schedule = beat_schedule(
        Settings(), TrainingSettings(train_period_seconds=600, adapter_reconcile_seconds=30)
    )
    look = schedule["train-when-ready"]
    assert look["task"] == TRAIN_CHECK and look["schedule"] == 600
    assert look["options"] == {"queue": "training", "expires": 600}
    assert schedule["reconcile-adapters"]["task"] == RECONCILE_ADAPTERS
    assert ROUTES[TRAIN] == "training" and ROUTES[RECONCILE_ADAPTERS] != "training"
