"""Job states, lease expiry and sweep decisions, and feedback validation: no servers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.notify import summary_text
from bot.domain.feedback import Feedback
from bot.domain.jobs import (
    Job,
    JobStatus,
    SweepAction,
    lease_expired,
    may_claim,
    sweep_action,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
RUNNING = Job("j1", "ingest", JobStatus.RUNNING, attempts=1, lease_owner="w1")


def sweep(job: Job, max_attempts: int = 3) -> SweepAction:
    return sweep_action(
        job,
        NOW,
        max_attempts=max_attempts,
        resend_unsent_after=timedelta(seconds=30),
        resend_queued_after=timedelta(hours=1),
    )


def test_a_lease_expires_at_its_deadline_not_before():
    live = replace(RUNNING, lease_expires=NOW + timedelta(seconds=1))
    assert not lease_expired(live, NOW)
    assert lease_expired(replace(live, lease_expires=NOW), NOW)
    assert lease_expired(replace(live, lease_expires=None), NOW)
    # only a running job holds a lease
    assert not lease_expired(replace(live, status=JobStatus.QUEUED, lease_expires=None), NOW)


def test_claims_a_redelivered_message_may_not_make():
    live = replace(RUNNING, lease_expires=NOW + timedelta(seconds=30))
    assert not may_claim(live, "w2", NOW)  # a live worker holds it
    assert may_claim(live, "w1", NOW)  # its own holder resumes it
    assert may_claim(replace(live, lease_expires=NOW - timedelta(seconds=1)), "w2", NOW)
    assert not may_claim(replace(live, status=JobStatus.DONE), "w1", NOW)
    assert not may_claim(replace(live, status=JobStatus.FAILED), "w2", NOW)
    assert may_claim(replace(live, status=JobStatus.QUEUED, lease_owner=""), "w2", NOW)
    assert may_claim(replace(live, status=JobStatus.UNSENT, lease_owner=""), "w2", NOW)


def test_sweep_resends_a_vanished_worker_s_job_until_attempts_run_out():
    expired = replace(RUNNING, lease_expires=NOW - timedelta(seconds=1))
    assert sweep(expired) is SweepAction.RESEND
    assert sweep(replace(expired, attempts=3)) is SweepAction.FAIL
    assert sweep(replace(expired, lease_expires=NOW + timedelta(seconds=5))) is SweepAction.KEEP


def test_sweep_resends_unsent_jobs_after_a_pause_and_queued_ones_past_expiry():
    unsent = Job("j2", "ingest", JobStatus.UNSENT, updated_at=NOW - timedelta(seconds=5))
    assert sweep(unsent) is SweepAction.KEEP  # its sender may still be trying
    assert sweep(replace(unsent, updated_at=NOW - timedelta(seconds=31))) is SweepAction.RESEND
    queued = replace(unsent, status=JobStatus.QUEUED, updated_at=NOW - timedelta(minutes=5))
    assert sweep(queued) is SweepAction.KEEP
    assert sweep(replace(queued, updated_at=NOW - timedelta(hours=2))) is SweepAction.RESEND
    for final in (JobStatus.DONE, JobStatus.FAILED):
        old = replace(unsent, status=final, updated_at=NOW - timedelta(days=9))
        assert sweep(old) is SweepAction.KEEP


def test_feedback_checks_its_rating_and_round_trips_through_a_message():
    event = Feedback("a1", "correction", correction="Use --follow-tags", passages=({"n": 1},))
    again = Feedback.from_message(event.to_message())
    assert again == event
    with pytest.raises(ValueError, match="rating"):
        Feedback("a1", "meh")
    with pytest.raises(ValueError, match="correction"):
        Feedback("a1", "correction", correction="  ")


def test_summary_names_each_skipped_file_and_its_reason():
    job = Job(
        "j3",
        "ingest",
        JobStatus.DONE,
        result={
            "documents": 1,
            "chunks": 4,
            "skipped": 1,
            "files": {
                "/a/guide.md": {"source": "guide.md", "status": "added", "chunks": 4},
                "/a/x.png": {"source": "x.png", "status": "skipped", "reason": "x.png: type"},
            },
        },
    )
    text = summary_text(job)
    assert text.startswith("Ingested 1 document(s), 4 chunk(s); 1 skipped.")
    assert "- x.png: x.png: type" in text
    failed = replace(job, status=JobStatus.FAILED, error="disk full")
    assert summary_text(failed) == "Ingestion failed: disk full"
