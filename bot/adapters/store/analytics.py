"""Admin analytics over the store: topic accuracy, material gaps, learner activity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import AnswerRow, QuizAttemptRow, QuizItemRow


@dataclass(frozen=True)
class TopicAccuracy:
    source: str
    section: str
    attempts: int
    correct: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.attempts if self.attempts else 0.0


@dataclass(frozen=True)
class Report:
    topics: list[TopicAccuracy]
    weakest: list[TopicAccuracy]
    gaps: list[tuple[str, int]]  # questions the material could not answer, with counts
    active_learners: int  # took a quiz in the period
    askers: int  # asked a question in the period
    attempts: int
    answers: int

    def as_json(self) -> dict[str, Any]:
        def topic(t: TopicAccuracy) -> dict[str, Any]:
            return {
                "source": t.source,
                "section": t.section,
                "attempts": t.attempts,
                "correct": t.correct,
                "accuracy": round(t.accuracy, 3),
            }

        return {
            "topics": [topic(t) for t in self.topics],
            "weakest": [topic(t) for t in self.weakest],
            "gaps": [{"question": q, "count": n} for q, n in self.gaps],
            "active_learners": self.active_learners,
            "askers": self.askers,
            "attempts": self.attempts,
            "answers": self.answers,
        }


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
