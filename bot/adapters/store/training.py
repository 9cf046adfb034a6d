"""What the learning loop reads from the store: rated answers with their provenance, and
the identities to scrub from anything written for training."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.feedback import answer_record
from bot.adapters.store.models import (
    AnswerRow,
    DocumentRow,
    FeedbackRow,
    LearnerRow,
    PlatformAccountRow,
)
from bot.domain.feedback import AnswerRecord

TRAINABLE = ("up", "correction")


class TrainingRecords:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def rated(
        self, since: datetime | None = None, limit: int = 100_000
    ) -> list[tuple[AnswerRecord, str, str]]:
        """(answer, rating, correction) for each answer's latest 👍 or correction; answers
        recorded before provenance was kept (NULL audiences) are left out here already."""
        latest = (
            select(FeedbackRow.answer_id, func.max(FeedbackRow.created_at).label("at"))
            .group_by(FeedbackRow.answer_id)
            .subquery()
        )
        query = (
            select(AnswerRow, FeedbackRow.rating, FeedbackRow.correction)
            .join(FeedbackRow, FeedbackRow.answer_id == AnswerRow.id)
            .join(
                latest,
                (latest.c.answer_id == FeedbackRow.answer_id)
                & (latest.c.at == FeedbackRow.created_at),
            )
            .where(FeedbackRow.rating.in_(TRAINABLE), AnswerRow.audiences.is_not(None))
            .order_by(FeedbackRow.created_at, FeedbackRow.id)
            .limit(limit)
        )
        if since is not None:
            query = query.where(FeedbackRow.created_at > since)
        with self._sessions() as session:
            return [(answer_record(a), rating, fix) for a, rating, fix in session.execute(query)]

    def identities(self) -> tuple[list[str], list[str], list[str]]:
        """(display names, e-mail addresses, platform user ids) the store knows."""
        with self._sessions() as session:
            names = [n for n in session.scalars(select(LearnerRow.display_name)) if n]
            emails = [e for e in session.scalars(select(LearnerRow.email)) if e]
            ids = [i for i in session.scalars(select(PlatformAccountRow.external_id)) if i]
        return names, emails, ids

    def new_passages(self, since: datetime | None, allowed: Sequence[str]) -> int:
        """Chunks of documents (visible to `allowed`) ingested after `since`."""
        query = select(DocumentRow.chunks, DocumentRow.audiences)
        if since is not None:
            query = query.where(DocumentRow.ingested_at > since)
        with self._sessions() as session:
            rows = session.execute(query).all()
        return sum(chunks for chunks, groups in rows if set(groups or ["everyone"]) & set(allowed))
