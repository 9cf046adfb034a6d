"""The material as admins see it in the console: documents, their chunks, and the
answers that need a person's review."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.conversation import EVERYONE
from bot.domain.jobs import FINAL, Job, JobStatus


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    source: str
    title: str
    version: str
    audiences: tuple[str, ...]
    chunks: int
    ingested_at: str


@dataclass(frozen=True)
class ChunkView:
    """A chunk as shown: where it is in its document and who may see it."""

    chunk_id: str  # "<doc id>:<version>:<index>" (retrieval.store)
    source: str
    title: str
    section: str
    text: str
    audiences: tuple[str, ...]


def doc_id_of(chunk_id: str) -> str:
    return chunk_id.split(":", 1)[0]


def may_see(viewer: Iterable[str], audiences: Iterable[str]) -> bool:
    """A passage is visible to a viewer who is in one of its audiences (everyone is)."""
    return bool({*viewer, EVERYONE} & set(audiences))


@dataclass(frozen=True)
class ReviewItem:
    """An answer to review: a question the material did not answer ("unanswered") or an
    answer marked 👎 ("down"), and the right answer someone wrote for it, if any."""

    answer_id: str
    kind: str  # unanswered | down
    question: str
    answer: str
    learner: str
    when: datetime
    correction: str = ""


@dataclass(frozen=True)
class MaterialRow:
    """A document's line on the material page: its indexed version (None when it has none
    yet) and where it stands: "indexed", "replacing" or "adding" (a job is ingesting it),
    or "failed" (its last ingest did not finish; `reason` says why)."""

    source: str
    status: str
    doc: DocumentInfo | None = None
    job_id: str = ""
    reason: str = ""


def material_rows(docs: Iterable[DocumentInfo], jobs: Iterable[Job]) -> list[MaterialRow]:
    """Each indexed document with the state its newest ingest job gives it, then the
    documents no version of which is indexed yet: being added, or failed with the reason."""
    latest: dict[str, tuple[Job, dict[str, Any] | None]] = {}
    for job in sorted(jobs, key=_when, reverse=True):
        if job.kind != "ingest":
            continue
        done = job.result.get("files", {})
        for item in job.payload.get("files", []):
            source = item.get("source") or str(item["path"]).rsplit("/", 1)[-1]
            latest.setdefault(source, (job, done.get(item["path"])))
    rows = [_row(d.source, d, *latest.pop(d.source, (None, None))) for d in docs]
    new = [_row(source, None, job, result) for source, (job, result) in latest.items()]
    return rows + [r for r in new if r.status != "indexed"]


def _row(
    source: str, doc: DocumentInfo | None, job: Job | None, result: dict[str, Any] | None
) -> MaterialRow:
    if job is None:
        return MaterialRow(source, "indexed", doc)
    if result is None and job.status not in FINAL:
        return MaterialRow(source, "replacing" if doc else "adding", doc, job.id)
    if result is not None and result.get("status") == "skipped":
        reason = str(result.get("reason") or result.get("code") or "skipped")
    elif result is None and job.status is JobStatus.FAILED:
        reason = job.error or job.error_code or "the job failed"
    else:
        return MaterialRow(source, "indexed", doc, job.id)
    if doc is not None and _indexed_after(doc, job):
        return MaterialRow(source, "indexed", doc)  # ingested again since, not by a job
    return MaterialRow(source, "failed", doc, job.id, reason)


def _when(job: Job) -> datetime:
    return _aware(job.created_at or job.updated_at or datetime.min)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)  # SQLite keeps no zone


def _indexed_after(doc: DocumentInfo, job: Job) -> bool:
    try:
        indexed = _aware(datetime.fromisoformat(doc.ingested_at))
    except ValueError:
        return False
    return indexed > _aware(job.updated_at or job.created_at or datetime.min)
