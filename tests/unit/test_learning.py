"""Quizzes, FSRS reviews and progress over a real SQLite store with a fixed clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.store import database_url, open_store
from bot.adapters.store.access import AccessRepository
from bot.adapters.store.quiz import QuizRepository
from bot.domain.conversation import Actor
from bot.domain.errors import NoMaterial, StaleQuestion
from bot.domain.quiz import Passage
from bot.services.learning import LearningService
from tests.fakes import FakeMaterial

MATERIAL = [
    Passage("Run git-clean to remove untracked files from the working tree.", "clean.md", "Clean"),
    Passage("Use git-stash to set aside local changes for later.", "stash.md", "Stash"),
    Passage("Run git-commit to record changes to the repository.", "commit.md", "Commit"),
    Passage("Use git-bisect to find the commit that introduced a bug.", "bisect.md", "Bisect"),
    Passage("Use git-rebase to replay commits on top of another base.", "rebase.md", "Rebase"),
    Passage(
        "Payroll runs on the payroll-portal every month for salaried staff.",
        "hr.md",
        "Payroll",
        audience=("hr",),
    ),
    Passage(
        "Expenses go through the expense-tool within thirty days.",
        "hr2.md",
        "Expenses",
        audience=("hr",),
    ),
    Passage(
        "Leave requests use the leave-planner before travel.", "hr3.md", "Leave", audience=("hr",)
    ),
    Passage(
        "Pensions are managed in the pension-hub by finance staff.",
        "hr4.md",
        "Pension",
        audience=("hr",),
    ),
]
ALICE = Actor("slack", "U1")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


visible = FakeMaterial(MATERIAL)  # shared by the surfaces' quiz tests: never edited


@pytest.fixture
def learning(tmp_path):
    engine, sessions = open_store(database_url("", tmp_path))
    clock = Clock()
    access = AccessRepository(sessions)
    service = LearningService(QuizRepository(sessions), access, visible, questions=3, clock=clock)
    yield service, clock, access
    engine.dispose()


def run(coro):
    return asyncio.run(coro)


def test_a_quiz_asks_grades_explains_and_summarises(learning):
    service, clock, _ = learning
    question = run(service.start(ALICE))
    assert (question.number, question.total) == (1, 3)
    outcomes = []
    while question is not None:
        item = question.item
        clock.now += timedelta(seconds=5)
        wrong = (item.correct + 1) % 4
        picked = item.correct if question.number != 2 else wrong
        outcome = run(service.answer(ALICE, question.session_id, item.id, picked))
        assert outcome.correct == (picked == item.correct)
        assert outcome.item.explanation and outcome.item.passage.source.endswith(".md")
        outcomes.append(outcome)
        question = outcome.next
    assert outcomes[-1].summary.correct == 2 and outcomes[-1].summary.total == 3
    assert all(o.item.passage.audience == ("everyone",) for o in outcomes)  # no hr material

    progress = run(service.progress(ALICE))
    assert progress.answered == 3 and progress.right == 2
    weak = [t for t in progress.topics if t.seen and t.correct == 0]
    assert progress.plan[0] == weak[0]  # the topic answered wrongly comes first


def test_stale_buttons_get_a_stale_error_not_a_wrong_grade(learning):
    service, _, _ = learning
    first = run(service.start(ALICE))
    run(service.answer(ALICE, first.session_id, first.item.id, first.item.correct))
    with pytest.raises(StaleQuestion):  # the same button pressed again
        run(service.answer(ALICE, first.session_id, first.item.id, first.item.correct))
    with pytest.raises(StaleQuestion):  # someone else's quiz
        run(service.answer(Actor("slack", "U2"), first.session_id, "x", 0))
    newer = run(service.start(ALICE))  # a new quiz replaces the old one
    current = run(service.current(ALICE))
    assert current.session_id == newer.session_id
    with pytest.raises(StaleQuestion):
        run(service.answer(ALICE, first.session_id, current.item.id, 0))


def test_wrong_answers_come_back_soon_right_ones_later(learning):
    service, clock, _ = learning
    question = run(service.start(ALICE))
    wrong_item = question.item
    outcome = run(
        service.answer(ALICE, question.session_id, wrong_item.id, (wrong_item.correct + 1) % 4)
    )
    right_item = outcome.next.item
    run(service.answer(ALICE, question.session_id, right_item.id, right_item.correct))
    learner = service.learners.learner_id("slack", "U1")
    wrong_due = service.repo.due(learner, clock.now + timedelta(minutes=10))
    assert wrong_item.id in wrong_due and right_item.id not in wrong_due

    clock.now += timedelta(hours=1)
    review = run(service.start(ALICE))
    assert review.item.id == wrong_item.id and review.review  # due reviews first


def test_groups_open_material_and_topics_narrow_it(learning):
    service, _, access = learning
    access.grant("slack", "U1", "hr")
    question = run(service.start(ALICE, topic="payroll"))
    assert question.item.passage.source == "hr.md"
    with pytest.raises(NoMaterial):
        run(service.start(Actor("slack", "U3"), topic="payroll"))  # not in hr


def test_stopping_gives_the_score_so_far(learning):
    service, _, _ = learning
    question = run(service.start(ALICE))
    run(service.answer(ALICE, question.session_id, question.item.id, question.item.correct))
    summary = run(service.stop(ALICE))
    assert summary.stopped and (summary.correct, summary.asked, summary.total) == (1, 1, 3)
    assert run(service.stop(ALICE)) is None
    assert run(service.current(ALICE)) is None
