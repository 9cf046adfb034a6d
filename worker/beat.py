"""The beat schedule (run exactly one `learnloop beat`): the lease sweeper, review
reminders, forgetting idle threads, the learning loop's look for new examples and its
adapter reconcile pass."""

from __future__ import annotations

from typing import Any

from bot.domain.jobs import FORGET_THREADS, RECONCILE_ADAPTERS, REMIND, SWEEP, TRAIN_CHECK
from bot.settings import Settings
from training.settings import TrainingSettings

FORGET_EVERY = 3600.0


def beat_schedule(settings: Settings, training: TrainingSettings | None = None) -> dict[str, Any]:
    every = settings.sweep_seconds
    training = training or TrainingSettings()
    period = float(training.train_period_seconds)
    reconcile = training.adapter_reconcile_seconds
    return {
        # a look for enough new examples; only a worker on the `training` queue acts on it
        # (`up` runs none: it does not train unless asked)
        "train-when-ready": {
            "task": TRAIN_CHECK,
            "schedule": period,
            "options": {"queue": "training", "expires": period},
        },
        # runtime-loaded adapters vanish when a server restarts: put the active one back
        "reconcile-adapters": {
            "task": RECONCILE_ADAPTERS,
            "schedule": reconcile,
            "options": {"queue": "notify", "expires": reconcile},
        },
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
