"""Thin tasks: parse the message, call the job code, report. Named by string so the bot
can send them without importing this package."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from datetime import timedelta
from functools import cache
from typing import Any

import httpx
from celery import Celery, Task
from sqlalchemy.exc import OperationalError

from bot.adapters.notify import notifier_for
from bot.adapters.store.models import utcnow
from bot.bootstrap import App
from bot.domain.errors import BrokerUnavailable, LearnLoopError, StoreUnavailable
from bot.domain.feedback import Feedback
from bot.domain.jobs import (
    FEEDBACK,
    FORGET_THREADS,
    INGEST,
    NOTIFY,
    RECONCILE_ADAPTERS,
    REMIND,
    SWEEP,
    TRAIN,
    TRAIN_CHECK,
    Job,
)
from retrieval.errors import IndexUnavailable
from training.errors import TrainingError
from worker.context import worker_id
from worker.ingest import LeaseLost, run_ingest
from worker.training import Endpoint, endpoint_from, reconcile_all, run_training

log = logging.getLogger(__name__)

# worth retrying: a server was briefly unreachable. Anything else fails the job at once.
TRANSIENT = (
    OperationalError,
    StoreUnavailable,
    BrokerUnavailable,
    IndexUnavailable,
    httpx.TransportError,
    ConnectionError,
)
MAX_RETRIES = 3


def backoff(retries: int) -> float:
    return float(min(60, 2 ** (retries + 1)))


def warm_on_start(ctx: App, pool: str) -> None:
    """Load the embedding model and open the index when the worker starts (in each pool
    process), so the first job does not pay for it."""
    from celery.signals import worker_process_init, worker_ready

    def warm(**_: Any) -> None:
        log.info("warming the retrieval stack")
        ctx.retrieval.embedder.embed(["warm up"])

    # prefork: in each child after the fork; solo: in the one process, before "ready."
    signal = worker_process_init if pool == "prefork" else worker_ready
    signal.connect(warm, weak=False)


def register(app: Celery, ctx: App) -> None:
    @cache
    def endpoint() -> Endpoint:
        """The inference server(s) training evaluates on and serves adapters from."""
        return endpoint_from(ctx.training_settings, ctx.settings.data_dir)

    def notify(job: Job, event: str) -> None:
        try:
            ctx.sender.send(NOTIFY, [job.id, event], expires=ctx.settings.job_expires_seconds)
        except BrokerUnavailable:
            log.warning("could not queue a %s notice for job=%s", event, job.id)

    def run_leased(task: Task, job_id: str, run: Callable[[str], Job | None]) -> None:
        """A job under its lease: `run(worker)` does the work; a lost lease stops quietly,
        a transient error requeues and retries (then fails), any other error fails the job."""
        worker = worker_id()
        try:
            job = run(worker)
        except LeaseLost:
            log.warning("job=%s lease lost to another worker; stopping", job_id)
            return
        except TRANSIENT as exc:
            if task.request.retries >= MAX_RETRIES:
                ctx.job_records.fail(job_id, f"gave up after retries: {exc}", "transient_exhausted")
                notify(ctx.job_records.get(job_id), "finished")
                raise
            with suppress(Exception):  # the database may be what is down: retry anyway
                ctx.job_records.requeue(job_id, worker)
            raise task.retry(
                exc=exc,
                countdown=backoff(task.request.retries),
                expires=ctx.settings.job_expires_seconds,
            ) from exc
        except Exception as exc:
            code = exc.code if isinstance(exc, LearnLoopError | TrainingError) else ""
            ctx.job_records.fail(job_id, str(exc) or type(exc).__name__, code or type(exc).__name__)
            notify(ctx.job_records.get(job_id), "finished")
            raise
        if job is not None:
            notify(job, "finished")

    @app.task(name=INGEST, bind=True, max_retries=MAX_RETRIES)
    def ingest(self: Task, job_id: str) -> None:
        run_leased(
            self,
            job_id,
            lambda worker: run_ingest(
                ctx.job_records,
                ctx.retrieval.ingestor,
                job_id,
                worker,
                ctx.settings.lease_seconds,
                on_progress=lambda j: notify(j, "progress"),
            ),
        )

    @app.task(name=TRAIN, bind=True, max_retries=MAX_RETRIES)
    def train(self: Task, job_id: str) -> None:
        run_leased(
            self,
            job_id,
            lambda worker: run_training(
                ctx.job_records,
                ctx.training_records,
                ctx.adapter_registry,
                ctx.retrieval.store,
                endpoint(),
                ctx.training_settings,
                ctx.settings.data_dir,
                job_id,
                worker,
                ctx.settings.lease_seconds,
            ),
        )

    @app.task(name=TRAIN_CHECK, autoretry_for=TRANSIENT, max_retries=MAX_RETRIES)
    def train_check() -> dict[str, Any]:
        """The beat's look: a training job when enough is new and none is active."""
        asked = ctx.training.request()
        return {"job": asked.job.id if asked.job else None, "reason": asked.reason}

    @app.task(name=RECONCILE_ADAPTERS)
    def reconcile_adapters() -> list[str]:
        """The active adapter on every inference server (a restarted one lost it)."""
        served = endpoint()
        registry = ctx.adapter_registry
        if not registry.records():
            return []  # nothing was ever trained here: nothing to put anywhere
        return [s.error for s in reconcile_all(served, registry.active()) if s.error]

    @app.task(
        name=FEEDBACK,
        autoretry_for=TRANSIENT,
        max_retries=MAX_RETRIES,
        retry_backoff=True,
        retry_backoff_max=60,
    )
    def feedback(message: dict[str, Any]) -> None:
        stored = ctx.feedback.add(Feedback.from_message(message))
        log.info("feedback id=%s stored=%s", message.get("id"), stored)

    @app.task(name=NOTIFY, autoretry_for=TRANSIENT, max_retries=MAX_RETRIES, retry_backoff=True)
    def notify_task(job_id: str, event: str) -> None:
        job = ctx.job_records.get(job_id)
        notifier = notifier_for(job, ctx.notifiers)
        if event == "progress":
            notifier.progress(job)
        else:
            notifier.finished(job)

    @app.task(name=REMIND, autoretry_for=TRANSIENT, max_retries=MAX_RETRIES, retry_backoff=True)
    def remind() -> int:
        from bot.services.reminders import remind_due

        return len(remind_due(ctx.quiz_items, ctx.access, ctx.messengers))

    @app.task(name=SWEEP)
    def sweep() -> dict[str, list[str]]:
        report = ctx.jobs.sweep()
        return {"resent": report.resent, "failed": report.failed, "unsent": report.unsent}

    @app.task(name=FORGET_THREADS)
    def forget_threads() -> int:
        forgotten = ctx.threads.forget(utcnow() - timedelta(days=ctx.settings.thread_days))
        log.info("forgot %d thread turns", forgotten)
        return forgotten
