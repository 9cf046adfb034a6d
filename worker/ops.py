"""The worker's and beat's side of the operations port: job metrics from Celery's task
signals, the event id a task carries (logged on every line while it runs), and the
readiness checks."""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import Task
from celery.signals import task_postrun, task_prerun

from bot.runtime.logs import event_id
from bot.runtime.metrics import JOB_SECONDS, JOBS

log = logging.getLogger(__name__)

_started: dict[str, float] = {}


def _on_prerun(task_id: str, task: Task, **_: Any) -> None:
    _started[task_id] = time.perf_counter()
    event_id.set(str(getattr(task.request, "event_id", None) or ""))
    log.info("task %s id=%s started", task.name, task_id)


def _on_postrun(task_id: str, task: Task, state: str | None = None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    JOBS.labels(task.name, (state or "unknown").lower()).inc()
    if started is not None:
        JOB_SECONDS.labels(task.name).observe(time.perf_counter() - started)
    log.info("task %s id=%s %s", task.name, task_id, (state or "unknown").lower())
    event_id.set("")


def track_tasks() -> None:
    """Count and time every task this process runs; carry its event id into the log."""
    task_prerun.connect(_on_prerun, weak=False)
    task_postrun.connect(_on_postrun, weak=False)
