"""Answers as shown and the feedback given on them."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import AnswerRow, FeedbackRow
from bot.domain.feedback import AnswerRecord, Feedback


class FeedbackRepository:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def add(self, event: Feedback) -> bool:
        """Store the event once: a redelivered message (same id) changes nothing."""
        with self._sessions.begin() as session:
            if session.get(FeedbackRow, event.id) is not None:
                return False
            fields = asdict(event)
            fields["passages"] = list(event.passages)
            session.add(FeedbackRow(**fields))
            return True

    def events(self, answer_id: str = "", limit: int = 1000) -> list[Feedback]:
        query = select(FeedbackRow).order_by(FeedbackRow.created_at).limit(limit)
        if answer_id:
            query = query.where(FeedbackRow.answer_id == answer_id)
        with self._sessions() as session:
            return [
                Feedback(
                    id=r.id,
                    answer_id=r.answer_id,
                    rating=r.rating,
                    correction=r.correction,
                    question=r.question,
                    answer=r.answer,
                    passages=tuple(r.passages or ()),
                    model=r.model,
                    adapter_version=r.adapter_version,
                    learner=r.learner,
                    platform=r.platform,
                    created_at=r.created_at,
                )
                for r in session.scalars(query)
            ]

    def record_answer(self, record: AnswerRecord) -> None:
        with self._sessions.begin() as session:
            fields = asdict(record)
            fields["passages"] = list(record.passages)
            for name in ("asker_audiences", "audiences"):
                value = getattr(record, name)
                fields[name] = None if value is None else list(value)
            session.merge(AnswerRow(**fields))

    def answer(self, answer_id: str) -> AnswerRecord | None:
        with self._sessions() as session:
            r = session.get(AnswerRow, answer_id)
            return None if r is None else answer_record(r)


def answer_record(r: AnswerRow) -> AnswerRecord:
    return AnswerRecord(
        id=r.id,
        question=r.question,
        answer=r.answer,
        passages=tuple(r.passages or ()),
        model=r.model,
        adapter_version=r.adapter_version,
        learner=r.learner,
        platform=r.platform,
        created_at=r.created_at,
        prompt_version=r.prompt_version,
        asker_audiences=None if r.asker_audiences is None else tuple(r.asker_audiences),
        audiences=None if r.audiences is None else tuple(r.audiences),
        place=r.place,
        channel=r.channel,
        history_turns=r.history_turns,
    )
