"""The beat schedule (run exactly one `learnloop beat`): the lease sweeper, review
reminders and forgetting idle threads."""

from __future__ import annotations

from typing import Any

from bot.adapters.queue import FORGET_THREADS, REMIND, SWEEP
from bot.settings import Settings

FORGET_EVERY = 3600.0


def beat_schedule(settings: Settings) -> dict[str, Any]:
    every = settings.sweep_seconds
    return {
        "sweep-expired-leases": {
            "task": SWEEP,
            "schedule": every,
            # a sweep nobody ran in time is superseded by the next one
            "options": {"queue": "notify", "expires": every},
        },
        # hourly, so each learner's local morning comes round; each gets at most one a day
        "remind-due-reviews": {
            "task": REMIND,
            "schedule": settings.remind_seconds,
            "options": {"queue": "notify", "expires": settings.remind_seconds},
        },
        # thread turns older than LEARNLOOP_THREAD_DAYS: idle threads need a mention again
        "forget-idle-threads": {
            "task": FORGET_THREADS,
            "schedule": FORGET_EVERY,
            "options": {"queue": "notify", "expires": FORGET_EVERY},
        },
    }
