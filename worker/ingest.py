"""Running one ingest job: claim its lease, ingest its files in small groups (recording
progress, which renews the lease), then record the result. Safe to run again: files
already done are skipped and the ingestor is idempotent by content hash."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bot.adapters.store.jobs import JobRepository
from bot.domain.jobs import Job, JobStatus
from retrieval.identity import SourceFile
from retrieval.ingest import Ingestor, IngestReport

log = logging.getLogger(__name__)

GROUP = 4  # files per ingest call: embedding batches stay full, progress stays fresh


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired); stop without writing."""


class LeaseKeeper:
    """Renews the job's lease in the background while a long file is being ingested."""

    def __init__(self, jobs: JobRepository, job_id: str, worker: str, seconds: float) -> None:
        self._jobs, self._job_id, self._worker, self._seconds = jobs, job_id, worker, seconds
        self._stop = threading.Event()
        self.lost = False
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._seconds / 3):
            try:
                if not self._jobs.renew(self._job_id, self._worker, self._seconds):
                    self.lost = True
                    return
            except Exception:  # a database blip: try again next tick, the lease has slack
                log.warning("lease renewal failed job=%s", self._job_id, exc_info=True)

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(self._job_id)


def run_ingest(
    jobs: JobRepository,
    ingestor: Ingestor,
    job_id: str,
    worker: str,
    lease_seconds: float,
    on_progress: Callable[[Job], None] = lambda job: None,
) -> Job | None:
    """Run the job if we can claim it; None when it is done or held by a live worker."""
    job = jobs.claim(job_id, worker, lease_seconds)
    if job is None:
        log.info("job=%s not claimed (finished, or another worker holds it)", job_id)
        return None
    log.info("job=%s claimed by %s attempt=%d", job_id, worker, job.attempts)
    audiences = job.payload.get("audiences") or ["everyone"]
    files: dict[str, Any] = dict(job.result.get("files", {}))
    pending = [f for f in job.payload.get("files", []) if f["path"] not in files]
    batch = [_source(f) for f in job.payload.get("files", [])]  # same names judged job-wide
    with LeaseKeeper(jobs, job_id, worker, lease_seconds) as keeper:
        for start in range(0, len(pending), GROUP):
            group = tuple(pending[start : start + GROUP])
            keeper.check()
            for item, report in _ingest_group(ingestor, group, audiences, batch):
                files[item["path"]] = _file_result(report)
                if report.ok:
                    record = ingestor.store.document(report.source)
                    if record is not None:
                        jobs.record_document(
                            record.source,
                            record.title,
                            record.version,
                            record.chunks,
                            record.audiences,
                            job_id,
                        )
            if not jobs.progress(job_id, worker, len(files), _totals(files), lease_seconds):
                raise LeaseLost(job_id)
            if len(files) < len(job.payload.get("files", [])):  # the summary follows otherwise
                on_progress(jobs.get(job_id))
        keeper.check()
    if not jobs.finish(job_id, worker, JobStatus.DONE, _totals(files)):
        raise LeaseLost(job_id)
    return jobs.get(job_id)


def _source(item: dict[str, Any]) -> SourceFile:
    """A job's file; jobs queued before paths named documents carry the file name."""
    return SourceFile(Path(item["path"]), item.get("source") or Path(item["path"]).name)


def _ingest_group(
    ingestor: Ingestor,
    group: tuple[dict[str, Any], ...],
    audiences: list[str],
    batch: list[SourceFile],
) -> Iterator[tuple[dict[str, Any], IngestReport]]:
    """(file item, report) for each file; a vanished file is reported as skipped."""
    present: list[dict[str, Any]] = []
    for item in group:
        if Path(item["path"]).is_file():
            present.append(item)
        else:
            reason = f"{item['source']}: the file is gone (was it moved or deleted?)"
            yield item, IngestReport(item["source"], "skipped", code="file_missing", reason=reason)
    # reports come in publishing order, not argument order: match them by document name
    waiting: dict[str, list[dict[str, Any]]] = {}
    sources = [_source(item) for item in present]
    for item, source in zip(present, sources, strict=True):
        waiting.setdefault(source.identity, []).append(item)
    for report in ingestor.ingest_paths(sources, audiences, batch=batch):
        yield waiting[report.source].pop(0), report


def _file_result(report: IngestReport) -> dict[str, Any]:
    return {
        "source": report.source,
        "status": report.status,
        "chunks": report.chunks,
        "code": report.code,
        "reason": report.reason,
        "read": report.reading.as_dict() if report.reading is not None else None,
    }


def _totals(files: dict[str, Any]) -> dict[str, Any]:
    done = [f for f in files.values() if f["status"] != "skipped"]
    return {
        "documents": len(done),
        "chunks": sum(f["chunks"] for f in done),
        "skipped": len(files) - len(done),
        "files": files,
    }
