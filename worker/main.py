"""The worker process's entry point: `python -m worker worker|beat [celery options]`.

`learnloop worker` and `learnloop beat` exec this module, so `bot/` never imports `worker/`."""

from __future__ import annotations

import sys

from bot.settings import Settings
from worker.app import create_app


def _option(argv: list[str], *names: str) -> str:
    for i, arg in enumerate(argv[:-1]):
        if arg in names:
            return argv[i + 1]
    return ""


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in ("worker", "beat"):
        sys.exit("usage: python -m worker worker|beat [celery options]")
    if argv[0] == "beat":
        create_app(Settings()).start(argv)
        return
    queues = _option(argv, "-Q", "--queues").split(",")
    pool = _option(argv, "-P", "--pool") or "prefork"
    app = create_app(Settings(), warm_pool=pool if "ingest" in queues else "")
    app.worker_main(argv)
