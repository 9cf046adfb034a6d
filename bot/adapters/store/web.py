"""The web console's rows: sign-in links, sessions, questions waiting for their stream,
and the admin action log."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import (
    AdminActionRow,
    WebLinkRow,
    WebQuestionRow,
    WebSessionRow,
    utcnow,
)
from bot.domain.conversation import Actor
from bot.domain.web import AdminAction, WebSession

_DAY = timedelta(days=1)


class WebRepository:
    """Implements the `SignInLinks`, `WebSessions`, `PendingQuestions` and `AdminLog` ports."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    # -- links
    def add_link(self, token_hash: str, actor: Actor, expires_at: datetime) -> None:
        with self._sessions.begin() as db:
            db.add(
                WebLinkRow(
                    token_hash=token_hash,
                    user_key=actor.key,
                    platform=actor.platform,
                    user_id=actor.user_id,
                    team_id=actor.team_id,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
            )

    def links_since(self, actor_key: str, since: datetime) -> int:
        query = (
            select(func.count())
            .select_from(WebLinkRow)
            .where(WebLinkRow.user_key == actor_key, WebLinkRow.created_at >= since)
        )
        with self._sessions() as db:
            return int(db.scalar(query) or 0)

    def take_link(self, token_hash: str, now: datetime) -> Actor | None:
        """Single use even under a race: one UPDATE claims the unused, unexpired row."""
        claim = (
            update(WebLinkRow)
            .where(
                WebLinkRow.token_hash == token_hash,
                WebLinkRow.used_at.is_(None),
                WebLinkRow.expires_at > now,
            )
            .values(used_at=now)
        )
        with self._sessions.begin() as db:
            if db.execute(claim).rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = db.get(WebLinkRow, token_hash)
            assert row is not None  # noqa: S101 - just claimed
            return Actor(row.platform, row.user_id, row.team_id)

    # -- sessions
    def add_session(self, id_hash: str, session: WebSession) -> None:
        with self._sessions.begin() as db:
            db.add(
                WebSessionRow(
                    id_hash=id_hash,
                    platform=session.platform,
                    user_id=session.user_id,
                    team_id=session.team_id,
                    csrf=session.csrf,
                    created_at=utcnow(),
                    expires_at=session.expires_at,
                )
            )

    def session(self, id_hash: str, now: datetime) -> WebSession | None:
        with self._sessions() as db:
            row = db.get(WebSessionRow, id_hash)
            if row is None or row.expires_at <= now:
                return None
            return WebSession(row.platform, row.user_id, row.team_id, row.csrf, row.expires_at)

    def end_session(self, id_hash: str) -> None:
        with self._sessions.begin() as db:
            db.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == id_hash))

    def forget_expired(self, now: datetime) -> int:
        """Drop expired sessions, and links a day after they expired."""
        with self._sessions.begin() as db:
            gone = db.execute(delete(WebSessionRow).where(WebSessionRow.expires_at <= now))
            db.execute(delete(WebLinkRow).where(WebLinkRow.expires_at <= now - _DAY))
            db.execute(delete(WebQuestionRow).where(WebQuestionRow.expires_at <= now))
            return int(gone.rowcount)  # type: ignore[attr-defined]

    # -- questions waiting for their stream
    def add_question(
        self, id_hash: str, user_key: str, conversation: str, question: str, expires_at: datetime
    ) -> None:
        with self._sessions.begin() as db:
            # questions never streamed go with the next one asked, not kept for long
            db.execute(delete(WebQuestionRow).where(WebQuestionRow.expires_at <= utcnow()))
            db.add(
                WebQuestionRow(
                    id_hash=id_hash,
                    user_key=user_key,
                    conversation=conversation,
                    question=question,
                    expires_at=expires_at,
                )
            )

    def take_question(self, id_hash: str, user_key: str, now: datetime) -> tuple[str, str] | None:
        """Once even under a race: the DELETE that removes the row is the claim."""
        mine = (
            WebQuestionRow.id_hash == id_hash,
            WebQuestionRow.user_key == user_key,
            WebQuestionRow.expires_at > now,
        )
        with self._sessions.begin() as db:
            row = db.scalars(select(WebQuestionRow).where(*mine)).first()
            if row is None:
                return None
            found = (row.conversation, row.question)
            if db.execute(delete(WebQuestionRow).where(*mine)).rowcount != 1:  # type: ignore[attr-defined]
                return None
            return found

    # -- the admin log
    def record(self, action: AdminAction) -> None:
        with self._sessions.begin() as db:
            db.add(
                AdminActionRow(
                    who=action.who, what=action.what, detail=action.detail, created_at=action.when
                )
            )

    def recent(self, limit: int) -> list[AdminAction]:
        query = select(AdminActionRow).order_by(AdminActionRow.id.desc()).limit(limit)
        with self._sessions() as db:
            return [AdminAction(r.who, r.what, r.detail, r.created_at) for r in db.scalars(query)]
