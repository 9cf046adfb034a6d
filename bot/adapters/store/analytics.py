"""Admin analytics over the store: topic accuracy, material gaps, learner activity."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import AnswerRow, QuizAttemptRow, QuizItemRow
from bot.domain.analytics import Report, TopicAccuracy
from bot.domain.errors import StoreUnavailable


class SqlAnalytics:
    """The `Analytics` port over the store."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def report(self, now: datetime, days: int) -> Report:
        try:
            return report(self._sessions, now, days)
        except OperationalError as exc:
            raise StoreUnavailable(f"report: {type(exc).__name__}") from exc


def report(
    sessions: sessionmaker[Session], now: datetime, days: int = 30, min_attempts: int = 3
) -> Report:
    since = now - timedelta(days=days)
    with sessions() as db:
        rows = db.execute(
            select(
                QuizItemRow.source,
                QuizItemRow.section,
                func.count(),
                func.sum(case((QuizAttemptRow.correct, 1), else_=0)),
            )
            .join(QuizItemRow, QuizItemRow.id == QuizAttemptRow.quiz_item_id)
            .where(QuizAttemptRow.answered_at >= since)
            .group_by(QuizItemRow.source, QuizItemRow.section)
            .order_by(QuizItemRow.source, QuizItemRow.section)
        ).all()
        topics = [TopicAccuracy(r[0], r[1], int(r[2]), int(r[3] or 0)) for r in rows]
        # a refusal is recorded as an answer that showed no passage
        refused = db.execute(
            select(AnswerRow.question, func.count())
            .where(AnswerRow.created_at >= since)
            .where(func.coalesce(func.json_array_length(AnswerRow.passages), 0) == 0)
            .group_by(AnswerRow.question)
            .order_by(func.count().desc(), AnswerRow.question)
            .limit(20)
        ).all()
        learners = db.scalar(
            select(func.count(func.distinct(QuizAttemptRow.learner_id))).where(
                QuizAttemptRow.answered_at >= since
            )
        )
        askers = db.scalar(
            select(func.count(func.distinct(AnswerRow.learner))).where(
                AnswerRow.created_at >= since
            )
        )
        answers = db.scalar(
            select(func.count()).select_from(AnswerRow).where(AnswerRow.created_at >= since)
        )
        attempts = sum(t.attempts for t in topics)
    weakest = sorted(
        (t for t in topics if t.attempts >= min_attempts), key=lambda t: (t.accuracy, t.source)
    )[:5]
    return Report(
        topics,
        weakest,
        [(q, int(n)) for q, n in refused],
        int(learners or 0),
        int(askers or 0),
        attempts,
        int(answers or 0),
    )
