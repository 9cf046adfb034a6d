"""`learnloop ingest --queue`, `jobs`, `jobs retry`, `worker` and `beat`: work off the
chat path, through the job queue."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from bot.surfaces.cli.common import _fail, _print_json, console, lit, out, the_app

if TYPE_CHECKING:
    from bot.domain.jobs import Job
    from bot.services.jobs import JobService

log = logging.getLogger(__name__)

jobs_app = typer.Typer(help="Background jobs: list, inspect failures, retry.")


def _service() -> JobService:
    """The job service over the store and the queue (no model or index is loaded)."""
    from bot.domain.errors import LearnLoopError

    try:
        return the_app().jobs
    except LearnLoopError as exc:
        _fail(exc.message)


def job_json(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "status": str(job.status),
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "attempts": job.attempts,
        "error": job.error or None,
        "error_code": job.error_code or None,
        "requested_by": job.requested_by,
        "result": job.result,
        "created_at": job.created_at.isoformat() if job.created_at else None,
        "updated_at": job.updated_at.isoformat() if job.updated_at else None,
    }


def enqueue(files: list[Path], audiences: tuple[str, ...], as_json: bool, names: list[str]) -> None:
    """`ingest --queue`: one job for the files (`names`: their document names); print its id."""
    from bot.domain.errors import BrokerUnavailable, LearnLoopError

    service = _service()
    who = os.environ.get("USER", "cli")
    try:
        job = asyncio.run(service.enqueue_ingest(files, audiences, requested_by=who, names=names))
    except BrokerUnavailable as exc:
        _fail(
            f"{exc.message}: `learnloop jobs retry {exc.job_id}` (or the sweeper) sends it "
            "when the queue is back"
        )
    except LearnLoopError as exc:
        _fail(exc.message)
    finally:
        service.close()
    if as_json:
        _print_json({"jobs": [job.id]})
    else:
        out.print(job.id)
        console.print(f"queued {len(files)} file(s); `learnloop jobs` shows progress")


@jobs_app.callback(invoke_without_command=True)
def jobs(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only failed jobs, with reasons.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
) -> None:
    """Jobs, newest first: status, progress and error of each."""
    from bot.domain.jobs import JobStatus

    if ctx.invoked_subcommand is not None:
        return
    statuses = [JobStatus.FAILED] if failed else []
    service = _service()
    listed = service.recent(statuses=statuses, limit=limit)
    service.close()
    if as_json:
        _print_json([job_json(j) for j in listed])
        return
    table = Table(title=f"{len(listed)} job(s)")
    for column in ("ID", "Kind", "Status", "Progress", "Attempts", "Created", "Error"):
        table.add_column(column)
    for j in listed:
        created = j.created_at.strftime("%Y-%m-%d %H:%M:%S") if j.created_at else ""
        table.add_row(
            j.id,
            j.kind,
            str(j.status),
            f"{j.progress_done}/{j.progress_total}",
            str(j.attempts),
            created,
            lit(j.error),
        )
    out.print(table)


@jobs_app.command()
def retry(job_id: Annotated[str, typer.Argument(help="A failed or unsent job's id.")]) -> None:
    """Send a failed or unsent job again."""
    from bot.domain.errors import LearnLoopError

    service = _service()
    try:
        job = asyncio.run(service.retry(job_id))
    except LearnLoopError as exc:
        _fail(exc.message)
    finally:
        service.close()
    out.print(f"{job.id} {job.status}")


def worker(
    queues: Annotated[
        str,
        typer.Option("--queues", "-Q", help="Comma-separated: ingest,feedback,notify,training."),
    ] = "ingest,feedback,notify",
    concurrency: Annotated[int, typer.Option(min=1, help="Tasks at once (processes).")] = 1,
    beat: Annotated[bool, typer.Option(help="Also run the beat schedule (one per site).")] = False,
    loglevel: Annotated[str, typer.Option()] = "INFO",
) -> None:
    """Run a Celery worker (one task at a time per process; scale with more processes)."""
    from bot.adapters.queue import QUEUES
    from retrieval.settings import RetrievalSettings

    unknown = set(queues.split(",")) - set(QUEUES)
    if unknown:
        _fail(f"unknown queue(s) {', '.join(sorted(unknown))}; known: {', '.join(QUEUES)}")
    if not RetrievalSettings().chroma_url and "ingest" in queues:
        console.print(
            "[yellow]warning:[/] LEARNLOOP_CHROMA_URL is not set: this worker writes the embedded "
            "index, which no other process may use at the same time (run `chroma run`)."
        )
    argv = ["worker", "-Q", queues, "--concurrency", str(concurrency), "--loglevel", loglevel]
    argv += ["--hostname", f"learnloop-{os.getpid()}@%h"]
    # one process per task: a killed worker loses only its own job, and the embedding
    # model is loaded once per process
    argv += ["--pool", "solo" if concurrency == 1 else "prefork"]
    if beat:
        argv.append("--beat")
    _exec_worker(argv)


def beat(loglevel: Annotated[str, typer.Option()] = "INFO") -> None:
    """Run the beat schedule (lease sweeper, reminders, idle threads). One per site."""
    _exec_worker(["beat", "--loglevel", loglevel])


def _exec_worker(argv: list[str]) -> None:
    """Become `python -m worker ARGV` (same process id): the bot names the worker's entry
    point, as it names tasks, without importing the package that imports it."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "worker", *argv])  # noqa: S606 - fixed module
