"""The job queue as the bot sees it: broker settings and sending tasks by name.

The bot never imports `worker/`; it names tasks by string (`send_task`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from bot.domain.errors import BrokerUnavailable
from bot.domain.jobs import (  # the task names, each routed to its queue
    FEEDBACK,
    FORGET_THREADS,
    INGEST,
    NOTIFY,
    RECONCILE_ADAPTERS,
    REMIND,
    SWEEP,
    TRAIN,
    TRAIN_CHECK,
)

log = logging.getLogger(__name__)

QUEUES = ("ingest", "feedback", "notify", "training")
ROUTES = {
    INGEST: "ingest",
    FEEDBACK: "feedback",
    NOTIFY: "notify",
    SWEEP: "ingest",
    REMIND: "notify",
    FORGET_THREADS: "notify",
    TRAIN: "training",
    TRAIN_CHECK: "training",
    # light and frequent: not behind a training run on the training queue
    RECONCILE_ADAPTERS: "notify",
}


def broker_config(broker_url: str, data_dir: Path) -> dict[str, Any]:
    """Celery settings for the broker: Redis (or any kombu URL) when configured, else a
    folder-backed queue that needs no server (embedded mode)."""
    if broker_url:
        conf: dict[str, Any] = {
            "broker_url": broker_url,
            "broker_connection_timeout": 3,
            # fail fast when the broker is down at start instead of retrying forever
            "broker_connection_retry_on_startup": True,
            "broker_connection_max_retries": 3,
        }
        if broker_url.startswith(("redis://", "rediss://")):
            conf["broker_transport_options"] = {"socket_connect_timeout": 3}
        return conf
    folder = data_dir / "queue"
    for sub in ("messages", "control", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "broker_url": "filesystem://",
        "broker_transport_options": {
            "data_folder_in": str(folder / "messages"),
            "data_folder_out": str(folder / "messages"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
            "processed_folder": str(folder / "processed"),
            "polling_interval": 0.1,
        },
    }


class CelerySender:
    """Sends tasks by name through a Celery client app (no worker code imported)."""

    def __init__(self, conf: dict[str, Any]) -> None:
        from celery import Celery

        self._app = Celery("learnloop", set_as_current=False)
        self._app.conf.update(conf)
        self._where = conf["broker_url"]

    def send(self, name: str, args: list[Any], *, expires: float) -> None:
        from kombu.exceptions import OperationalError

        from bot.runtime.logs import event_id

        try:
            self._app.send_task(
                name,
                args=args,
                headers={"event_id": event_id.get()},  # the worker logs it (bot.runtime.logs)
                queue=ROUTES.get(name, "ingest"),
                expires=expires,
                retry=True,
                retry_policy={
                    "max_retries": 2,
                    "interval_start": 0,
                    "interval_step": 0.5,
                    "interval_max": 1,
                },
            )
        except (OperationalError, OSError) as exc:
            raise BrokerUnavailable(
                f"cannot reach the job queue at {_redact(self._where)}: {exc}"
            ) from exc
        log.info("sent task=%s", name)

    def close(self) -> None:
        self._app.close()


def _redact(url: str) -> str:
    """The broker URL without its password."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1) if "://" in url else ("", url)
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
