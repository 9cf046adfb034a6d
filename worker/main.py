"""The worker process's entry point: `python -m worker worker|beat [celery options]`.

`learnloop worker` and `learnloop beat` exec this module, so `bot/` never imports `worker/`.
Both serve /healthz, /readyz and /metrics on LEARNLOOP_OPS_PORT; beat runs its schedule
only while it holds the beat lease (worker/lease.py)."""

from __future__ import annotations

import logging
import sys

from bot.settings import Settings
from worker.app import create_app


def _option(argv: list[str], *names: str) -> str:
    for i, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[i + 1]
    return ""


def _logging(settings: Settings, argv: list[str]) -> None:
    """Text or JSON lines (LEARNLOOP_LOG_FORMAT); Celery keeps a root handler it finds."""
    from bot.runtime.logs import handler

    level = (_option(argv, "-l", "--loglevel") or "INFO").upper()
    logging.basicConfig(level=level, handlers=[handler(settings.log_format)], force=True)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("worker", "beat"):
        sys.exit("usage: python -m worker worker|beat [celery options]")
    settings = Settings()
    _logging(settings, argv)
    if argv[0] == "beat":
        _beat(settings, argv)
        return
    from bot.bootstrap import build_app
    from bot.runtime.ops import http_check
    from retrieval.settings import RetrievalSettings
    from worker.ops import track_tasks

    queues = _option(argv, "-Q", "--queues").split(",")
    pool = _option(argv, "-P", "--pool") or "prefork"
    app = create_app(settings, warm_pool=pool if "ingest" in queues else "")
    track_tasks()
    if "training" in queues:
        _import_adapters(settings)
    ops = build_app(settings).ops_server()
    chroma = RetrievalSettings().chroma_url
    if ops is not None and chroma and "ingest" in queues:
        ops.checks["index"] = http_check("the Chroma server", f"{chroma}/api/v2/heartbeat")
    if ops is not None:
        ops.start()
    try:
        app.worker_main(argv)
    finally:
        if ops is not None:
            ops.stop()


def _import_adapters(settings: Settings) -> None:
    """The training worker mounts the adapters' folder: a registry.json an earlier version
    kept there goes into the database now, not at the first training run, so the bots
    (which do not mount it) serve the active adapter from the start."""
    from bot.bootstrap import build_app
    from bot.domain.errors import LearnLoopError

    parts = build_app(settings)
    try:
        parts.adapter_registry.records()  # the first use imports it (once, in any process)
    except LearnLoopError as exc:
        logging.getLogger(__name__).warning("adapter registry not imported yet: %s", exc)
    finally:
        parts.close()


def _beat(settings: Settings, argv: list[str]) -> None:
    from bot.adapters.queue import broker_config
    from bot.runtime.ops import OpsServer, broker_check
    from worker.lease import BeatLease

    lease = BeatLease(settings)
    ops = None
    if settings.ops_port:
        checks = {
            "broker": broker_check(broker_config(settings.broker_url, settings.data_dir)),
            "schedule": lease.check,
        }
        ops = OpsServer(checks, settings.ops_port)
        ops.start()
    try:
        lease.wait()
        create_app(settings).start(argv)
    finally:
        lease.release()
        if ops is not None:
            ops.stop()
