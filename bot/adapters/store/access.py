"""Who may see what: learners' groups and channels' audiences, edited by admins."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import (
    ChannelAudienceRow,
    LearnerAudienceRow,
    LearnerRow,
    PlatformAccountRow,
    QuizAttemptRow,
    QuizSessionRow,
    ScheduleRow,
)

# every table that points at a learner: linking two accounts moves these rows
_LEARNER_COLUMNS = (
    (PlatformAccountRow, PlatformAccountRow.learner_id),
    (QuizAttemptRow, QuizAttemptRow.learner_id),
    (QuizSessionRow, QuizSessionRow.learner_id),
)


class AccessRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def learner_id(
        self, platform: str, user_id: str, name: str = "", email: str = "", team: str = ""
    ) -> str:
        """The learner behind a platform account, created on first sight; an account whose
        e-mail matches a known learner's joins that learner (one person on Slack and Teams).
        `team` (the account's workspace) is recorded when given."""
        try:
            return self._learner_id(platform, user_id, name, email, team)
        except IntegrityError:
            # someone's first two messages at once: the other request created the account
            # (the unique key on platform + id) between our read and our insert; read it
            return self._learner_id(platform, user_id, name, email, team)

    def _learner_id(self, platform: str, user_id: str, name: str, email: str, team: str) -> str:
        email = email.strip().lower()
        with self._sessions.begin() as session:
            found = _account(session, platform, user_id)
            if found is not None:
                if team and found.team_id != team:
                    found.team_id = team
                return found.learner_id
            learner = None
            if email:
                learner = session.scalars(
                    select(LearnerRow).where(LearnerRow.email == email)
                ).first()
            if learner is None:
                learner = LearnerRow(id=uuid.uuid4().hex, display_name=name, email=email)
                session.add(learner)
            session.add(
                PlatformAccountRow(
                    learner_id=learner.id, platform=platform, external_id=user_id, team_id=team
                )
            )
            return learner.id

    def link(self, first: tuple[str, str], second: tuple[str, str]) -> str:
        """Make two accounts one learner (an admin's call): the second's history moves over."""
        keep = self.learner_id(*first)
        gone = self.learner_id(*second)
        if keep == gone:
            return keep
        with self._sessions.begin() as session:
            for table, column in _LEARNER_COLUMNS:
                session.execute(update(table).where(column == gone).values({column.key: keep}))
            # rows keyed by learner: move those the kept learner lacks, drop the rest
            for schedule in session.scalars(
                select(ScheduleRow).where(ScheduleRow.learner_id == gone)
            ):
                if session.get(ScheduleRow, (keep, schedule.quiz_item_id)) is None:
                    session.add(
                        ScheduleRow(
                            learner_id=keep,
                            quiz_item_id=schedule.quiz_item_id,
                            due=schedule.due,
                            card=schedule.card,
                        )
                    )
            for audience in session.scalars(
                select(LearnerAudienceRow.audience).where(LearnerAudienceRow.learner_id == gone)
            ):
                if session.get(LearnerAudienceRow, (keep, audience)) is None:
                    session.add(LearnerAudienceRow(learner_id=keep, audience=audience))
            session.flush()
            session.execute(delete(ScheduleRow).where(ScheduleRow.learner_id == gone))
            session.execute(delete(LearnerAudienceRow).where(LearnerAudienceRow.learner_id == gone))
            session.execute(delete(LearnerRow).where(LearnerRow.id == gone))
        return keep

    def accounts(self, learner_id: str) -> list[tuple[str, str]]:
        with self._sessions() as session:
            rows = session.execute(
                select(PlatformAccountRow.platform, PlatformAccountRow.external_id).where(
                    PlatformAccountRow.learner_id == learner_id
                )
            ).all()
            return [(r[0], r[1]) for r in rows]

    def account_team(self, platform: str, user_id: str) -> str:
        """The workspace an account was last seen in ("" when unknown)."""
        with self._sessions() as session:
            account = _account(session, platform, user_id)
            return account.team_id if account is not None else ""

    def reminder_state(self, learner_id: str) -> tuple[bool, str, datetime | None]:
        """(reminders on, time zone, when the last reminder went)."""
        with self._sessions() as session:
            row = session.get(LearnerRow, learner_id)
            if row is None:
                return (False, "", None)
            return (row.reminders, row.timezone, row.reminded_at)

    def set_reminders(
        self,
        learner_id: str,
        *,
        on: bool | None = None,
        timezone: str | None = None,
        reminded_at: datetime | None = None,
    ) -> None:
        with self._sessions.begin() as session:
            row = session.get(LearnerRow, learner_id)
            if row is None:
                return
            if on is not None:
                row.reminders = on
            if timezone is not None:
                row.timezone = timezone
            if reminded_at is not None:
                row.reminded_at = reminded_at

    def user_groups(self, platform: str, user_id: str) -> set[str]:
        with self._sessions() as session:
            account = _account(session, platform, user_id)
            if account is None:
                return set()
            rows = session.scalars(
                select(LearnerAudienceRow.audience).where(
                    LearnerAudienceRow.learner_id == account.learner_id
                )
            )
            return set(rows)

    def grant(self, platform: str, user_id: str, audience: str) -> None:
        learner = self.learner_id(platform, user_id)
        with self._sessions.begin() as session:
            if session.get(LearnerAudienceRow, (learner, audience)) is None:
                session.add(LearnerAudienceRow(learner_id=learner, audience=audience))

    def revoke(self, platform: str, user_id: str, audience: str) -> None:
        learner = self.learner_id(platform, user_id)
        with self._sessions.begin() as session:
            session.execute(
                delete(LearnerAudienceRow).where(
                    LearnerAudienceRow.learner_id == learner,
                    LearnerAudienceRow.audience == audience,
                )
            )

    def channel_groups(self, platform: str, channel: str) -> set[str]:
        with self._sessions() as session:
            rows = session.scalars(
                select(ChannelAudienceRow.audience).where(
                    ChannelAudienceRow.platform == platform, ChannelAudienceRow.channel == channel
                )
            )
            return set(rows)

    def set_channel_groups(self, platform: str, channel: str, audiences: Iterable[str]) -> None:
        """Replace the channel's audiences (an empty list: everyone-material only)."""
        with self._sessions.begin() as session:
            session.execute(
                delete(ChannelAudienceRow).where(
                    ChannelAudienceRow.platform == platform, ChannelAudienceRow.channel == channel
                )
            )
            for audience in sorted(set(audiences)):
                session.add(
                    ChannelAudienceRow(platform=platform, channel=channel, audience=audience)
                )


def _account(session: Session, platform: str, user_id: str) -> PlatformAccountRow | None:
    return session.scalars(
        select(PlatformAccountRow).where(
            PlatformAccountRow.platform == platform, PlatformAccountRow.external_id == user_id
        )
    ).first()
