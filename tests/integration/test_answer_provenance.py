"""Migration 0008 on SQLite and PostgreSQL: answers from before it stay out of training."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.adapters.store import FeedbackRepository, make_engine, upgrade
from bot.adapters.store.db import sessions
from bot.adapters.store.training import TrainingRecords
from bot.domain.answering import Answer, Source
from bot.domain.conversation import Place
from bot.domain.feedback import Feedback, answer_record
from bot.services.training import feedback_items

pytestmark = pytest.mark.integration

OLD = (
    "INSERT INTO answers (id, question, answer, passages, model, adapter_version, learner,"
    " platform, created_at) VALUES ('old', 'Leave?', 'Leave is 25 days [1].',"
    ' \'[{"n": 1, "source": "h.md", "text": "Leave is 25 days."}]\','
    " 'm', '', 'slack:U1', 'slack', CURRENT_TIMESTAMP)"
)


def test_answers_from_before_provenance_are_never_trained_on(store_url):
    engine = make_engine(store_url)
    upgrade(engine, "0007")
    with engine.begin() as conn:
        conn.execute(text(OLD))
    upgrade(engine)
    repo = FeedbackRepository(sessions(engine))
    old = repo.answer("old")
    assert old is not None and old.audiences is None and not old.has_provenance

    given = (Source(1, "h.md", "Handbook", "Leave", "Leave is 25 days.", version="v1"),)
    new = answer_record(
        "Leave?",
        Answer("Leave is 25 days [1].", False, citations=given, given=given, model="m"),
        "slack:U2",
        "slack",
        Place("slack", "C1"),
        ("everyone",),
        {"hr"},
    )
    repo.record_answer(new)
    assert repo.answer(new.id) == new  # every field survives the round trip
    for answer_id in ("old", new.id):
        repo.add(Feedback(answer_id, "up"))
    repo.add(Feedback(new.id, "correction", "Leave is 25 working days [1]."))  # the latest

    rated = TrainingRecords(sessions(engine)).rated()
    assert [(r.id, rating) for r, rating, _ in rated] == [(new.id, "correction")]
    (item,) = feedback_items(rated)
    assert item.correction == "Leave is 25 working days [1]." and item.place_public
    engine.dispose()
