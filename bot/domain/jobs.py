"""Background jobs as the domain sees them: states, leases, and what a sweep does.

A job row is written before its message is sent; the worker that runs it holds a lease
(owner + expiry) that it renews while it works. A job whose lease expired lost its worker,
so the sweeper sends it again. These rules are plain functions the store and the worker
both follow, and tests call without any server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    UNSENT = "unsent"  # written, but the broker could not be reached: re-send it
    QUEUED = "queued"  # the message is with the broker
    RUNNING = "running"  # a worker holds the lease
    DONE = "done"
    FAILED = "failed"


FINAL = frozenset({JobStatus.DONE, JobStatus.FAILED})
# what an operator may send again: a failure, or a job the broker never took
RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.UNSENT})


class SweepAction(StrEnum):
    KEEP = "keep"
    RESEND = "resend"
    FAIL = "fail"


@dataclass(frozen=True)
class ReplyTo:
    """Where progress and the summary go: the conversation the request came from, and
    its workspace (a Slack team: whose bot token may post there)."""

    platform: str = "cli"
    channel: str = ""
    thread: str = ""
    team: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "platform": self.platform,
            "channel": self.channel,
            "thread": self.thread,
            "team": self.team,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ReplyTo:
        data = data or {}
        return cls(
            str(data.get("platform", "cli")),
            str(data.get("channel", "")),
            str(data.get("thread", "")),
            str(data.get("team", "")),
        )


@dataclass(frozen=True)
class Job:
    id: str
    kind: str
    status: JobStatus
    attempts: int = 0
    lease_owner: str = ""
    lease_expires: datetime | None = None
    progress_done: int = 0
    progress_total: int = 0
    error: str = ""
    error_code: str = ""
    requested_by: str = ""
    reply_to: ReplyTo = field(default_factory=ReplyTo)
    payload: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None
    updated_at: datetime | None = None


def lease_expired(job: Job, now: datetime) -> bool:
    return job.status is JobStatus.RUNNING and (
        job.lease_expires is None or job.lease_expires <= now
    )


def may_claim(job: Job, worker: str, now: datetime) -> bool:
    """Whether `worker` may start (or resume) `job` on receiving its message.

    A finished job is a duplicate delivery; a running job with a live lease belongs to
    its holder (a redelivered message must not run it twice at once)."""
    if job.status in FINAL:
        return False
    if job.status is JobStatus.RUNNING:
        return job.lease_owner == worker or lease_expired(job, now)
    return True


def sweep_action(
    job: Job,
    now: datetime,
    *,
    max_attempts: int,
    resend_unsent_after: timedelta,
    resend_queued_after: timedelta,
) -> SweepAction:
    """What the sweeper does with `job`: leave it, send it again, or give up on it.

    A running job whose lease expired lost its worker; an unsent one waits for the broker;
    a queued one older than its message's expiry lost its message."""
    if job.status is JobStatus.RUNNING and lease_expired(job, now):
        return SweepAction.FAIL if job.attempts >= max_attempts else SweepAction.RESEND
    age = now - (job.updated_at or job.created_at or now)
    if job.status is JobStatus.UNSENT:
        return SweepAction.RESEND if age >= resend_unsent_after else SweepAction.KEEP
    if job.status is JobStatus.QUEUED:
        return SweepAction.RESEND if age >= resend_queued_after else SweepAction.KEEP
    return SweepAction.KEEP


def lease_until(now: datetime, seconds: float) -> datetime:
    return now + timedelta(seconds=seconds)


# The worker's tasks, named by string: the bot sends them without importing worker/.
INGEST = "learnloop.ingest"
FEEDBACK = "learnloop.feedback"
NOTIFY = "learnloop.notify"
SWEEP = "learnloop.sweep"
REMIND = "learnloop.remind"
FORGET_THREADS = "learnloop.forget_threads"
TRAIN = "learnloop.train"
TRAIN_CHECK = "learnloop.train_check"
RECONCILE_ADAPTERS = "learnloop.reconcile_adapters"
# the task that runs each kind of job (what the sweeper re-sends)
JOB_TASKS = {"ingest": INGEST, "train": TRAIN}


def utcnow() -> datetime:
    return datetime.now(UTC)
