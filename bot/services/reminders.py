"""The review reminder job: DM learners whose reviews are due, once a day, in their daytime."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from bot.domain.ports import DueReviews, ReminderSettings
from bot.domain.reminders import reminder_text, should_remind

log = logging.getLogger(__name__)


class DirectMessenger(Protocol):
    """Sends a DM on one platform (the worker is synchronous)."""

    def timezone(self, user_id: str) -> str: ...
    def send(self, user_id: str, text: str) -> bool: ...


@dataclass(frozen=True)
class Reminded:
    learner_id: str
    account: str
    due: int


def remind_due(
    quiz: DueReviews,
    access: ReminderSettings,
    messengers: Mapping[str, DirectMessenger],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Reminded]:
    """One pass (the beat runs it hourly, so every time zone's morning comes round)."""
    now = clock()
    sent: list[Reminded] = []
    for learner, due in sorted(quiz.due_counts(now).items()):
        enabled, zone, reminded_at = access.reminder_state(learner)
        accounts = [(p, u) for p, u in access.accounts(learner) if p in messengers]
        if not accounts or not enabled:
            continue
        if not zone:  # learn it once from a platform (Slack's users.info, Teams' messages)
            zone = _zone(accounts, messengers)
            if zone:
                access.set_reminders(learner, timezone=zone)
        if not should_remind(now, due=due, enabled=enabled, timezone=zone, reminded_at=reminded_at):
            continue
        for platform, user in accounts:
            if messengers[platform].send(user, reminder_text(due)):
                access.set_reminders(learner, reminded_at=now)
                sent.append(Reminded(learner, f"{platform}:{user}", due))
                break
    log.info("review reminders sent=%d", len(sent))
    return sent


def _zone(accounts: list[tuple[str, str]], messengers: Mapping[str, DirectMessenger]) -> str:
    """The first time zone any of the learner's platforms knows."""
    for platform, user in accounts:
        if zone := messengers[platform].timezone(user):
            return zone
    return ""
