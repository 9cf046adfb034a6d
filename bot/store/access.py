"""Who may see what: learners' groups and channels' audiences, edited by admins."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.store.models import (
    ChannelAudienceRow,
    LearnerAudienceRow,
    LearnerRow,
    PlatformAccountRow,
)


class AccessRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def learner_id(self, platform: str, user_id: str, name: str = "") -> str:
        """The learner behind a platform account, created on first sight."""
        with self._sessions.begin() as session:
            found = _account(session, platform, user_id)
            if found is not None:
                return found.learner_id
            learner = LearnerRow(id=uuid.uuid4().hex, display_name=name)
            session.add(learner)
            session.add(
                PlatformAccountRow(learner_id=learner.id, platform=platform, external_id=user_id)
            )
            return learner.id

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
