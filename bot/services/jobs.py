"""Enqueueing work and recording feedback: the port the CLI and chat adapters call.

Every job is written to the database before its message is sent, so nothing exists only
in the broker; when the broker cannot be reached the job stays `unsent` (the caller gets
`BrokerUnavailable`) and the sweeper or `learnloop jobs retry` sends it later."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.errors import BrokerUnavailable, LearnLoopError
from bot.domain.feedback import AnswerRecord, Feedback
from bot.domain.jobs import (
    FEEDBACK,
    INGEST,
    JOB_TASKS,
    RETRYABLE,
    Job,
    JobStatus,
    ReplyTo,
    SweepAction,
    sweep_action,
    utcnow,
)
from bot.domain.ports import AnswerLog, JobStore, TaskSender

log = logging.getLogger(__name__)


class JobNotRetryable(LearnLoopError):
    code = "job_not_retryable"


@dataclass(frozen=True)
class JobPolicy:
    expires_seconds: float = 86400.0
    max_attempts: int = 5
    resend_unsent_after: timedelta = timedelta(seconds=30)


class JobService:
    def __init__(
        self,
        jobs: JobStore,
        feedback: AnswerLog,
        sender: TaskSender,
        *,
        upload_dir: Path,
        policy: JobPolicy | None = None,
        closers: Sequence[Callable[[], None]] = (),
    ) -> None:
        self.jobs = jobs
        self.feedback = feedback
        self.sender = sender
        self.upload_dir = upload_dir
        self.policy = policy or JobPolicy()
        self._closers = tuple(closers)

    def close(self) -> None:
        """Release database and broker connections."""
        for close in self._closers:
            close()

    async def enqueue_ingest(
        self,
        paths: Sequence[Path],
        audiences: Sequence[str] = ("everyone",),
        *,
        requested_by: str = "",
        reply_to: ReplyTo | None = None,
        names: Sequence[str] = (),
    ) -> Job:
        """One job ingesting these files (the worker reads them from the same paths);
        `names` are their document names (retrieval.identity), by default file names."""
        named = names or [p.name for p in paths]
        files = [{"path": str(p.resolve()), "source": n} for p, n in zip(paths, named, strict=True)]
        return await asyncio.to_thread(
            self.submit,
            "ingest",
            {"files": files, "audiences": list(audiences)},
            total=len(files),
            requested_by=requested_by,
            reply_to=reply_to,
        )

    async def enqueue_upload(
        self,
        name: str,
        data: bytes,
        audiences: Sequence[str] = ("everyone",),
        *,
        requested_by: str = "",
        reply_to: ReplyTo | None = None,
    ) -> Job:
        """A file shared in a conversation: saved under the upload dir, then ingested."""
        folder = self.upload_dir / uuid.uuid4().hex
        path = folder / Path(name).name
        await asyncio.to_thread(_write, path, data)
        return await self.enqueue_ingest(
            [path], audiences, requested_by=requested_by, reply_to=reply_to
        )

    async def record_answer(self, record: AnswerRecord) -> None:
        await asyncio.to_thread(self.feedback.record_answer, record)

    async def answer(self, answer_id: str) -> AnswerRecord | None:
        """The answer as it was shown, for feedback on it."""
        return await asyncio.to_thread(self.feedback.answer, answer_id)

    async def record_feedback(self, event: Feedback) -> None:
        """Queue the event for a worker to store; with the broker down, store it here
        (an employee's feedback is never dropped)."""
        try:
            await asyncio.to_thread(
                self.sender.send,
                FEEDBACK,
                [event.to_message()],
                expires=self.policy.expires_seconds,
            )
        except BrokerUnavailable as exc:
            log.warning("feedback stored directly: %s", exc.code)
            await asyncio.to_thread(self.feedback.add, event)

    async def retry(self, job_id: str) -> Job:
        job = await asyncio.to_thread(self.jobs.get, job_id)
        if job.status not in RETRYABLE:
            raise JobNotRetryable(f"job {job_id} is {job.status}; only failed or unsent jobs")
        if job.status is JobStatus.FAILED:
            job = await asyncio.to_thread(self.jobs.reset_for_retry, job_id)
        return await asyncio.to_thread(self.dispatch, job)

    def get(self, job_id: str) -> Job:
        """The job; `JobNotFound` when there is none."""
        return self.jobs.get(job_id)

    def recent(
        self, *, statuses: Sequence[JobStatus] = (), kind: str = "", limit: int = 100
    ) -> list[Job]:
        """The newest jobs, of one kind and in these states when given."""
        return self.jobs.recent(statuses=statuses, kind=kind, limit=limit)

    def submit(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        total: int = 0,
        requested_by: str = "",
        reply_to: ReplyTo | None = None,
    ) -> Job:
        """A new job of this kind, its message sent (`dispatch`)."""
        job = self.jobs.create(
            kind, payload, total=total, requested_by=requested_by, reply_to=reply_to
        )
        return self.dispatch(job)

    def dispatch(self, job: Job) -> Job:
        """Send the job's message; on failure mark it unsent and raise."""
        try:
            task = JOB_TASKS.get(job.kind, INGEST)
            self.sender.send(task, [job.id], expires=self.policy.expires_seconds)
        except BrokerUnavailable as exc:
            self.jobs.mark_unsent(job.id, exc.message, exc.code)
            raise BrokerUnavailable(
                f"{exc.message.rstrip('.')} (job {job.id} is kept as unsent)", job_id=job.id
            ) from exc
        self.jobs.mark_queued(job.id)
        return self.jobs.get(job.id)

    def sweep(self, now: datetime | None = None) -> SweepReport:
        """Re-send jobs whose worker vanished or whose message never left; give up on
        those that have used all their attempts."""
        now = now or utcnow()
        expiry = timedelta(seconds=self.policy.expires_seconds)
        report = SweepReport()
        for job in self.jobs.sweep_candidates(now, stale_before=now - expiry):
            action = sweep_action(
                job,
                now,
                max_attempts=self.policy.max_attempts,
                resend_unsent_after=self.policy.resend_unsent_after,
                resend_queued_after=expiry,
            )
            if action is SweepAction.FAIL:
                self.jobs.fail(
                    job.id,
                    f"gave up after {job.attempts} attempts (its worker stopped each time)",
                    "attempts_exhausted",
                )
                report.failed.append(job.id)
            elif action is SweepAction.RESEND and self.jobs.release(
                job.id, now, stale_before=now - expiry
            ):
                try:
                    self.dispatch(self.jobs.get(job.id))
                except BrokerUnavailable:
                    report.unsent.append(job.id)
                    continue
                report.resent.append(job.id)
        if report.resent or report.failed:
            log.info("sweep resent=%d failed=%d", len(report.resent), len(report.failed))
        return report


@dataclass
class SweepReport:
    resent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    unsent: list[str] = field(default_factory=list)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
