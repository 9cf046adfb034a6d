"""The beat schedule (run exactly one `learnloop beat`): the lease sweeper and review
reminders."""

from __future__ import annotations

from typing import Any

from bot.queue import REMIND, SWEEP
from bot.settings import Settings


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
    }
