"""Telling the originating conversation how a job is going (progress, then a summary).

The Slack and Teams notifiers implement `Notifier`; the worker picks one by the job's
`reply_to.platform`, falling back to the log."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from bot.domain.jobs import Job, JobStatus
from retrieval.reading import Reading

log = logging.getLogger(__name__)

DESCRIBED_FILES = 10  # files whose reading a summary shows; skipped files are all listed


class Notifier(Protocol):
    def progress(self, job: Job) -> None: ...

    def finished(self, job: Job) -> None: ...


def progress_text(job: Job) -> str:
    return f"Ingesting: {job.progress_done} of {job.progress_total} file(s) done."


def summary_text(job: Job, preview: bool = True) -> str:
    """The final message: counts, each skipped file with its reason, and what was read
    in each file (the preview of its first sections only where `preview`)."""
    if job.status is JobStatus.FAILED:
        return f"Ingestion failed: {job.error or 'unknown error'}"
    result = job.result
    lines = [
        f"Ingested {result.get('documents', 0)} document(s), {result.get('chunks', 0)} "
        f"chunk(s); {result.get('skipped', 0)} skipped."
    ]
    described = 0
    for item in result.get("files", {}).values():
        if item.get("status") == "skipped":
            lines.append(f"- {item.get('source')}: {item.get('reason')}")
        elif item.get("read") and described < DESCRIBED_FILES:  # a chat message stays short
            described += 1
            lines.extend(read_lines(item.get("source", ""), item.get("read"), preview))
    return "\n".join(lines)


def read_lines(source: str, read: dict[str, Any] | None, preview: bool = True) -> list[str]:
    """What was read in a file, what inside it was skipped and why, its first sections."""
    if not read:
        return []
    first, *rest = Reading.from_dict(read).report_lines(preview)
    return [f"- {source}: {first}", *(f"  {line}" for line in rest)]


class LogNotifier:
    """Writes progress and summaries to the log (the CLI, and platforms without one)."""

    def progress(self, job: Job) -> None:
        log.info("job=%s %s", job.id, progress_text(job))

    def finished(self, job: Job) -> None:
        # no preview: the material's text stays out of the log
        log.info("job=%s status=%s %s", job.id, job.status, summary_text(job, preview=False))


def notifier_for(job: Job, notifiers: Mapping[str, Notifier]) -> Notifier:
    return notifiers.get(job.reply_to.platform) or LogNotifier()
