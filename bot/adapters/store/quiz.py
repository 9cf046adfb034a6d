"""The question bank, quiz sessions, attempts and review schedules."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session as DBSession
from sqlalchemy.orm import sessionmaker

from bot.adapters.store.models import (
    QuizAttemptRow,
    QuizItemRow,
    QuizSessionRow,
    ScheduleRow,
    utcnow,
)
from bot.domain.quiz import Attempt, Origin, Passage, QuizItem, Session
from retrieval.store import document_id


class QuizRepository:
    def __init__(self, sessions: sessionmaker[DBSession]) -> None:
        self._sessions = sessions

    # -- the bank --------------------------------------------------------------------
    def save_items(self, items: Sequence[QuizItem]) -> None:
        with self._sessions.begin() as db:
            for item in items:
                if db.get(QuizItemRow, item.id) is not None:
                    continue
                db.add(
                    QuizItemRow(
                        id=item.id,
                        source=item.passage.source,
                        section=item.passage.section,
                        question=item.question,
                        choices=list(item.options),
                        answer=item.options[item.correct],
                        explanation=item.explanation,
                        audience=",".join(item.passage.audience),
                        passage=item.passage.text,
                        doc_version=item.passage.version,
                        origin=item.origin,
                        sources=_sources_json(item.sources),
                    )
                )

    def set_sources(self, item_id: str, sources: Sequence[Origin]) -> None:
        """Record a re-checked item's provenance ([] when it could not be re-established)."""
        with self._sessions.begin() as db:
            row = db.get(QuizItemRow, item_id)
            if row is not None:
                row.sources = _sources_json(sources)

    def item(self, item_id: str) -> QuizItem | None:
        with self._sessions() as db:
            row = db.get(QuizItemRow, item_id)
            return _item(row) if row is not None else None

    def unchecked(self, item_ids: Sequence[str]) -> set[str]:
        """Those of these items banked before provenance was kept and not re-checked yet."""
        with self._sessions() as db:
            rows = db.scalars(
                select(QuizItemRow.id).where(
                    QuizItemRow.id.in_(list(item_ids)), QuizItemRow.sources.is_(None)
                )
            )
            return set(rows)

    def items(self, item_ids: Sequence[str]) -> dict[str, QuizItem]:
        with self._sessions() as db:
            rows = db.scalars(select(QuizItemRow).where(QuizItemRow.id.in_(list(item_ids))))
            return {r.id: _item(r) for r in rows}

    def bank(self, audiences: Sequence[str], source: str = "") -> list[QuizItem]:
        """Items whose passage's audience the learner is in, oldest first. A first cut only:
        the service checks each against the current catalog before showing it."""
        allowed = set(audiences)
        with self._sessions() as db:
            query = select(QuizItemRow).order_by(QuizItemRow.created_at, QuizItemRow.id)
            if source:
                query = query.where(QuizItemRow.source == source)
            rows = db.scalars(query).all()
            return [_item(r) for r in rows if allowed & set(r.audience.split(","))]

    # -- sessions ----------------------------------------------------------------------
    def start_session(self, learner_id: str, item_ids: Sequence[str], now: datetime) -> Session:
        with self._sessions.begin() as db:
            for old in db.scalars(
                select(QuizSessionRow).where(
                    QuizSessionRow.learner_id == learner_id, QuizSessionRow.status == "active"
                )
            ):
                old.status = "stopped"  # one quiz at a time: a new one replaces the old
            row = QuizSessionRow(
                id=uuid.uuid4().hex,
                learner_id=learner_id,
                items=list(item_ids),
                position=0,
                correct=0,
                status="active",
                asked_at=now,
                created_at=now,
            )
            db.add(row)
            db.flush()
            return _session(row)

    def session(self, session_id: str) -> Session | None:
        with self._sessions() as db:
            row = db.get(QuizSessionRow, session_id)
            return _session(row) if row is not None else None

    def active_session(self, learner_id: str) -> Session | None:
        with self._sessions() as db:
            row = db.scalars(
                select(QuizSessionRow).where(
                    QuizSessionRow.learner_id == learner_id, QuizSessionRow.status == "active"
                )
            ).first()
            return _session(row) if row is not None else None

    def advance(self, session_id: str, correct: bool, now: datetime) -> Session:
        with self._sessions.begin() as db:
            row = db.get(QuizSessionRow, session_id)
            if row is None:
                raise KeyError(session_id)
            row.position += 1
            row.correct += int(correct)
            row.asked_at = now
            if row.position >= len(row.items):
                row.status = "finished"
            db.flush()
            return _session(row)

    def drop_from_session(self, session_id: str, item_id: str) -> Session | None:
        """Take an item that may no longer be shown out of a session's remaining questions."""
        with self._sessions.begin() as db:
            row = db.get(QuizSessionRow, session_id)
            if row is None:
                return None
            items = list(row.items)
            if item_id in items[row.position :]:
                items.pop(items.index(item_id, row.position))
                row.items = items
                if row.position >= len(items) and row.status == "active":
                    row.status = "finished"
            db.flush()
            return _session(row)

    def stop(self, session_id: str) -> Session | None:
        with self._sessions.begin() as db:
            row = db.get(QuizSessionRow, session_id)
            if row is None:
                return None
            if row.status == "active":
                row.status = "stopped"
            db.flush()
            return _session(row)

    # -- attempts and schedules --------------------------------------------------------
    def record_attempt(
        self, learner_id: str, item_id: str, picked: str, correct: bool, now: datetime
    ) -> None:
        with self._sessions.begin() as db:
            db.add(
                QuizAttemptRow(
                    learner_id=learner_id,
                    quiz_item_id=item_id,
                    response=picked,
                    correct=correct,
                    score=1.0 if correct else 0.0,
                    answered_at=now,
                )
            )

    def attempts(self, learner_id: str) -> list[Attempt]:
        with self._sessions() as db:
            rows = db.execute(
                select(QuizAttemptRow, QuizItemRow)
                .join(QuizItemRow, QuizItemRow.id == QuizAttemptRow.quiz_item_id)
                .where(QuizAttemptRow.learner_id == learner_id)
            ).all()
            return [
                Attempt(item.id, item.source, item.section, attempt.correct, attempt.answered_at)
                for attempt, item in rows
            ]

    def card(self, learner_id: str, item_id: str) -> dict[str, Any] | None:
        with self._sessions() as db:
            row = db.get(ScheduleRow, (learner_id, item_id))
            return dict(row.card) if row is not None else None

    def save_card(self, learner_id: str, item_id: str, due: datetime, card: dict[str, Any]) -> None:
        with self._sessions.begin() as db:
            row = db.get(ScheduleRow, (learner_id, item_id))
            if row is None:
                db.add(ScheduleRow(learner_id=learner_id, quiz_item_id=item_id, due=due, card=card))
            else:
                row.due, row.card = due, card

    def drop_card(self, learner_id: str, item_id: str) -> None:
        """Take an item off a learner's review schedule."""
        with self._sessions.begin() as db:
            row = db.get(ScheduleRow, (learner_id, item_id))
            if row is not None:
                db.delete(row)

    def due(self, learner_id: str, now: datetime) -> list[str]:
        with self._sessions() as db:
            rows = db.scalars(
                select(ScheduleRow.quiz_item_id)
                .where(ScheduleRow.learner_id == learner_id, ScheduleRow.due <= now)
                .order_by(ScheduleRow.due)
            )
            return list(rows)

    def due_counts(self, now: datetime) -> dict[str, int]:
        """Learners with reviews due, and how many."""
        with self._sessions() as db:
            rows = db.execute(
                select(ScheduleRow.learner_id, func.count())
                .where(ScheduleRow.due <= now)
                .group_by(ScheduleRow.learner_id)
            ).all()
            return {r[0]: int(r[1]) for r in rows}


def _sources_json(sources: Sequence[Origin]) -> list[Any]:
    return [[o.doc_id, o.version, list(o.audience)] for o in sources]


def _item(row: QuizItemRow) -> QuizItem:
    audience = tuple(a for a in row.audience.split(",") if a) or ("everyone",)
    sources = tuple(Origin(d, v, tuple(a)) for d, v, a in row.sources or ())
    doc_id = sources[0].doc_id if sources else document_id(row.source)
    return QuizItem(
        question=row.question,
        options=tuple(row.choices),
        correct=list(row.choices).index(row.answer),
        explanation=row.explanation,
        passage=Passage(row.passage, row.source, row.section, row.doc_version, audience, doc_id),
        origin=row.origin,
        id=row.id,
        sources=sources,
    )


def _session(row: QuizSessionRow) -> Session:
    return Session(
        id=row.id,
        learner_id=row.learner_id,
        items=tuple(row.items),
        position=row.position,
        correct=row.correct,
        status=row.status,
        asked_at=row.asked_at or utcnow(),
    )
