"""Job rows: create, claim with a lease, renew, record progress, finish, sweep."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import DocumentRow, JobRow, utcnow
from bot.domain.errors import JobNotFound
from bot.domain.jobs import Job, JobStatus, ReplyTo, lease_until


def new_job_id() -> str:
    return uuid.uuid4().hex


class JobRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def create(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        total: int = 0,
        requested_by: str = "",
        reply_to: ReplyTo | None = None,
    ) -> Job:
        """Write the job as `unsent`: it exists in the database before any message does."""
        now = utcnow()
        row = JobRow(
            id=new_job_id(),
            kind=kind,
            status=JobStatus.UNSENT.value,
            payload=payload,
            result={},
            progress_done=0,
            progress_total=total,
            error="",
            error_code="",
            requested_by=requested_by,
            reply_to=(reply_to or ReplyTo()).as_dict(),
            lease_owner="",
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        with self._sessions.begin() as session:
            session.add(row)
            session.flush()
            return _job(row)

    def get(self, job_id: str) -> Job:
        with self._sessions() as session:
            row = session.get(JobRow, job_id)
            if row is None:
                raise JobNotFound(f"no job {job_id!r}; `learnloop jobs` lists them")
            return _job(row)

    def recent(
        self, *, statuses: Sequence[JobStatus] = (), kind: str = "", limit: int = 100
    ) -> list[Job]:
        query = select(JobRow).order_by(JobRow.created_at.desc()).limit(limit)
        if statuses:
            query = query.where(JobRow.status.in_([s.value for s in statuses]))
        if kind:
            query = query.where(JobRow.kind == kind)
        with self._sessions() as session:
            return [_job(row) for row in session.scalars(query)]

    def mark_queued(self, job_id: str) -> None:
        """The message is with the broker (unless a worker already took the job)."""
        self._update(
            job_id,
            when=[JobStatus.UNSENT],
            status=JobStatus.QUEUED.value,
            error="",
            error_code="",
            updated_at=utcnow(),
        )

    def mark_unsent(self, job_id: str, error: str, code: str) -> None:
        """The broker could not take the message: keep the job to be sent again."""
        self._update(
            job_id,
            when=[JobStatus.UNSENT, JobStatus.QUEUED],
            status=JobStatus.UNSENT.value,
            error=error,
            error_code=code,
            updated_at=utcnow(),
        )

    def release(self, job_id: str, now: datetime, *, stale_before: datetime) -> bool:
        """Take a job back from a vanished worker (lease expired) or a lost message
        (queued before `stale_before`), so it can be sent again; False if it moved on."""
        expired = (JobRow.status == JobStatus.RUNNING.value) & (
            JobRow.lease_expires.is_(None) | (JobRow.lease_expires <= now)
        )
        stale = (JobRow.status == JobStatus.QUEUED.value) & (JobRow.updated_at <= stale_before)
        unsent = JobRow.status == JobStatus.UNSENT.value
        with self._sessions.begin() as session:
            done = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, or_(expired, stale, unsent))
                .values(
                    status=JobStatus.UNSENT.value,
                    lease_owner="",
                    lease_expires=None,
                    updated_at=now,
                )
            )
            return bool(done.rowcount == 1)  # type: ignore[attr-defined]

    def requeue(self, job_id: str, worker: str) -> bool:
        """Give our lease up so a retry (by any worker) can claim the job at once."""
        return self._owned_update(
            job_id,
            worker,
            status=JobStatus.QUEUED.value,
            lease_owner="",
            lease_expires=None,
            updated_at=utcnow(),
        )

    def reset_for_retry(self, job_id: str) -> Job:
        """A failed job back to the start of its life (its finished files stay done)."""
        self._update(
            job_id,
            when=[JobStatus.FAILED],
            status=JobStatus.UNSENT.value,
            attempts=0,
            error="",
            error_code="",
            finished_at=None,
            updated_at=utcnow(),
        )
        return self.get(job_id)

    def claim(self, job_id: str, worker: str, lease_seconds: float) -> Job | None:
        """Take the job's lease, atomically; None when it is finished or another worker
        holds a live lease (the same rule as `bot.domain.jobs.may_claim`)."""
        now = utcnow()
        claimable = or_(
            JobRow.status.in_([JobStatus.UNSENT.value, JobStatus.QUEUED.value]),
            (JobRow.status == JobStatus.RUNNING.value)
            & (
                (JobRow.lease_owner == worker)
                | JobRow.lease_expires.is_(None)
                | (JobRow.lease_expires <= now)
            ),
        )
        with self._sessions.begin() as session:
            claimed = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, claimable)
                .values(
                    status=JobStatus.RUNNING.value,
                    lease_owner=worker,
                    lease_expires=lease_until(now, lease_seconds),
                    attempts=JobRow.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = session.get(JobRow, job_id, populate_existing=True)
            assert row is not None  # noqa: S101 - just updated under the same transaction
            return _job(row)

    def renew(self, job_id: str, worker: str, lease_seconds: float) -> bool:
        """Extend our lease; False when it is no longer ours (the sweeper gave it away)."""
        now = utcnow()
        return self._owned_update(
            job_id, worker, lease_expires=lease_until(now, lease_seconds), updated_at=now
        )

    def progress(
        self, job_id: str, worker: str, done: int, result: dict[str, Any], lease_seconds: float
    ) -> bool:
        now = utcnow()
        return self._owned_update(
            job_id,
            worker,
            progress_done=done,
            result=result,
            lease_expires=lease_until(now, lease_seconds),
            updated_at=now,
        )

    def finish(
        self,
        job_id: str,
        worker: str,
        status: JobStatus,
        result: dict[str, Any],
        *,
        error: str = "",
        code: str = "",
    ) -> bool:
        now = utcnow()
        return self._owned_update(
            job_id,
            worker,
            status=status.value,
            result=result,
            error=error,
            error_code=code,
            lease_owner="",
            lease_expires=None,
            updated_at=now,
            finished_at=now,
        )

    def fail(self, job_id: str, error: str, code: str) -> None:
        now = utcnow()
        self._update(
            job_id,
            status=JobStatus.FAILED.value,
            error=error,
            error_code=code,
            lease_owner="",
            lease_expires=None,
            updated_at=now,
            finished_at=now,
        )

    def sweep_candidates(self, now: datetime, stale_before: datetime) -> list[Job]:
        """Running jobs whose lease has expired, unsent jobs, and queued jobs older than
        `stale_before` (their message may have expired)."""
        query = select(JobRow).where(
            or_(
                JobRow.status == JobStatus.UNSENT.value,
                (JobRow.status == JobStatus.RUNNING.value)
                & (JobRow.lease_expires.is_(None) | (JobRow.lease_expires <= now)),
                (JobRow.status == JobStatus.QUEUED.value) & (JobRow.updated_at <= stale_before),
            )
        )
        with self._sessions() as session:
            return [_job(row) for row in session.scalars(query)]

    def record_document(
        self,
        source: str,
        title: str,
        version: str,
        chunks: int,
        audiences: Sequence[str],
        job_id: str,
    ) -> None:
        with self._sessions.begin() as session:
            session.merge(
                DocumentRow(
                    source=source,
                    title=title,
                    version=version,
                    chunks=chunks,
                    audiences=list(audiences),
                    job_id=job_id,
                    ingested_at=utcnow(),
                )
            )

    def _update(self, job_id: str, *, when: Sequence[JobStatus] = (), **values: Any) -> bool:
        """Update the job (only while its status is one of `when`, if given)."""
        query = update(JobRow).where(JobRow.id == job_id)
        if when:
            query = query.where(JobRow.status.in_([s.value for s in when]))
        with self._sessions.begin() as session:
            done = session.execute(query.values(**values))
            if done.rowcount == 1:  # type: ignore[attr-defined]
                return True
        self.get(job_id)  # raises JobNotFound when there is no such job
        return False

    def _owned_update(self, job_id: str, worker: str, **values: Any) -> bool:
        with self._sessions.begin() as session:
            done = session.execute(
                update(JobRow)
                .where(
                    JobRow.id == job_id,
                    JobRow.lease_owner == worker,
                    JobRow.status == JobStatus.RUNNING.value,
                )
                .values(**values)
            )
            return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        status=JobStatus(row.status),
        attempts=row.attempts,
        lease_owner=row.lease_owner,
        lease_expires=row.lease_expires,
        progress_done=row.progress_done,
        progress_total=row.progress_total,
        error=row.error,
        error_code=row.error_code,
        requested_by=row.requested_by,
        reply_to=ReplyTo.from_dict(row.reply_to),
        payload=dict(row.payload or {}),
        result=dict(row.result or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
