"""The Celery app, built by a factory from settings (nothing connects at import time)."""

from __future__ import annotations

from typing import Any

from celery import Celery

from bot.adapters.queue import ROUTES, broker_config
from bot.settings import Settings
from worker.beat import beat_schedule
from worker.tasks import register, warm_on_start


def celery_config(settings: Settings) -> dict[str, Any]:
    conf = broker_config(settings.broker_url, settings.data_dir)
    if settings.broker_url.startswith(("redis://", "rediss://")):
        # for inspection tools only: every task ignores its result (job state is in SQL);
        # the bot's sending client has no backend, so sending never waits on one
        conf["result_backend"] = settings.broker_url
    conf.update(
        # no lost jobs: ack after the task ran, give back what a dying worker held,
        # take one message at a time
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # job state lives in SQL, not in results
        task_ignore_result=True,
        task_routes={name: {"queue": queue} for name, queue in ROUTES.items()},
        task_default_queue="ingest",
        # Flower-compatible events (`celery events`, Flower's /metrics)
        worker_send_task_events=True,
        task_send_sent_event=True,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=beat_schedule(settings),
        beat_schedule_filename=str(settings.data_dir / "celerybeat-schedule"),
        worker_hijack_root_logger=False,
    )
    return conf


def create_app(settings: Settings | None = None, *, warm_pool: str = "") -> Celery:
    """The app; with `warm_pool` (the worker's pool: solo or prefork), the retrieval stack
    is loaded as the worker starts rather than on its first job."""
    settings = settings or Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("learnloop", set_as_current=False)
    app.conf.update(celery_config(settings))
    from bot.bootstrap import build_app

    ctx = build_app(settings)  # every part built on first use, after any fork
    register(app, ctx)
    if warm_pool:
        warm_on_start(ctx, warm_pool)
    return app
