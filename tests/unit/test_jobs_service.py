"""JobService over a SQLite store and a fake broker: write-before-send, unsent jobs,
retries and the sweeper's decisions carried out."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.adapters.store import FeedbackRepository, JobRepository, database_url, open_store
from bot.adapters.store.models import utcnow
from bot.domain.errors import BrokerUnavailable
from bot.domain.feedback import Feedback
from bot.domain.jobs import FEEDBACK, INGEST, JobStatus
from bot.services.jobs import JobNotRetryable, JobPolicy, JobService


class FakeSender:
    """A TaskSender that records what it sent, or fails like an unreachable broker."""

    def __init__(self, jobs: JobRepository) -> None:
        self.jobs = jobs
        self.sent: list[tuple[str, list, float]] = []
        self.down = False
        self.status_at_send: list[JobStatus] = []

    def send(self, name, args, *, expires):
        if name == INGEST:  # the row must exist before the message does
            self.status_at_send.append(self.jobs.get(args[0]).status)
        if self.down:
            raise BrokerUnavailable("cannot reach the job queue at redis://x: refused")
        self.sent.append((name, args, expires))


@pytest.fixture
def setup(tmp_path):
    engine, sessions = open_store(database_url("", tmp_path))
    jobs = JobRepository(sessions)
    sender = FakeSender(jobs)
    service = JobService(
        jobs,
        FeedbackRepository(sessions),
        sender,
        upload_dir=tmp_path / "uploads",
        policy=JobPolicy(expires_seconds=600, max_attempts=2),
        closers=(engine.dispose,),
    )
    yield service, sender
    service.close()


def test_the_row_is_written_before_the_message_and_every_send_expires(setup, tmp_path):
    service, sender = setup
    job = asyncio.run(service.enqueue_upload("guide.md", b"# Guide\n", ["sales"]))
    assert sender.status_at_send == [JobStatus.UNSENT]
    assert sender.sent == [(INGEST, [job.id], 600)]
    assert job.status is JobStatus.QUEUED and job.progress_total == 1
    (item,) = job.payload["files"]
    assert item["source"] == "guide.md" and job.payload["audiences"] == ["sales"]
    (saved,) = (tmp_path / "uploads").rglob("guide.md")  # where workers read it
    assert saved.read_bytes() == b"# Guide\n" and item["path"] == str(saved.resolve())


def test_broker_down_keeps_the_job_unsent_and_a_retry_sends_it(setup, tmp_path):
    service, sender = setup
    sender.down = True
    with pytest.raises(BrokerUnavailable) as caught:
        asyncio.run(service.enqueue_ingest([tmp_path / "a.md"]))
    job = service.jobs.get(caught.value.job_id)
    assert job.status is JobStatus.UNSENT and job.error_code == "broker_unavailable"
    assert "kept as unsent" in caught.value.message

    sender.down = False
    assert asyncio.run(service.retry(job.id)).status is JobStatus.QUEUED
    with pytest.raises(JobNotRetryable):
        asyncio.run(service.retry(job.id))


def test_a_failed_job_is_retried_from_a_clean_slate(setup, tmp_path):
    service, _ = setup
    job = asyncio.run(service.enqueue_ingest([tmp_path / "a.md"]))
    service.jobs.fail(job.id, "disk full", "OSError")
    assert [j.id for j in service.jobs.recent(statuses=[JobStatus.FAILED])] == [job.id]
    again = asyncio.run(service.retry(job.id))
    assert again.status is JobStatus.QUEUED and again.attempts == 0 and again.error == ""


def test_sweep_resends_a_dead_worker_s_job_and_gives_up_after_max_attempts(setup, tmp_path):
    service, sender = setup
    job = asyncio.run(service.enqueue_ingest([tmp_path / "a.md"]))
    service.jobs.claim(job.id, "w1", lease_seconds=30)
    assert service.sweep().resent == []  # the lease is live
    later = utcnow() + timedelta(seconds=31)
    assert service.sweep(later).resent == [job.id]
    assert service.jobs.get(job.id).status is JobStatus.QUEUED
    assert sender.sent[-1] == (INGEST, [job.id], 600)

    service.jobs.claim(job.id, "w2", lease_seconds=30)  # attempt 2 of 2
    report = service.sweep(utcnow() + timedelta(seconds=31))
    assert report.failed == [job.id] and report.resent == []
    failed = service.jobs.get(job.id)
    assert failed.status is JobStatus.FAILED and failed.error_code == "attempts_exhausted"


def test_sweep_sends_unsent_jobs_once_the_broker_is_back(setup, tmp_path):
    service, sender = setup
    sender.down = True
    with pytest.raises(BrokerUnavailable):
        asyncio.run(service.enqueue_ingest([tmp_path / "a.md"]))
    sender.down = False
    assert service.sweep().resent == []  # its sender may still be retrying
    report = service.sweep(utcnow() + timedelta(seconds=31))
    assert len(report.resent) == 1
    assert service.jobs.get(report.resent[0]).status is JobStatus.QUEUED


def test_feedback_goes_through_the_queue_or_straight_to_the_store(setup):
    service, sender = setup
    event = Feedback("a1", "up", learner="U1", platform="slack")
    asyncio.run(service.record_feedback(event))
    assert sender.sent == [(FEEDBACK, [event.to_message()], 600)]
    assert service.feedback.events("a1") == []  # the worker stores it

    sender.down = True
    other = Feedback("a2", "down", learner="U2", platform="teams")
    asyncio.run(service.record_feedback(other))
    assert service.feedback.events("a2") == [other]
