"""Log lines as text or JSON, each carrying the id of the chat event it serves.

A surface sets `event_id` when an event arrives; the queue adapter sends it in the task's
headers; the worker sets it again before the task runs, so one id follows a question from
the bot's log into the worker's."""

from __future__ import annotations

import logging
from contextvars import ContextVar

event_id: ContextVar[str] = ContextVar("learnloop_event_id", default="")

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


class EventIdFilter(logging.Filter):
    """Puts the current event id on every record (empty outside an event)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.event_id = event_id.get()
        return True


def handler(log_format: str) -> logging.Handler:
    """A stderr handler writing text, or one JSON object per line with `event_id`."""
    out = logging.StreamHandler()
    out.addFilter(EventIdFilter())
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        out.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s %(event_id)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        out.setFormatter(logging.Formatter(TEXT_FORMAT))
    return out
