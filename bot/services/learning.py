"""Quizzes in a DM, spaced repetition (FSRS) and each learner's progress and plan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from fsrs import Card, Rating, Scheduler

from bot.domain.conversation import Actor
from bot.domain.errors import NoMaterial, StaleQuestion
from bot.domain.ports import Material, QuizStore, QuizWriter
from bot.domain.quiz import (
    Passage,
    QuizItem,
    Session,
    TopicProgress,
    grade,
    plan,
    provenance,
    rating_for,
    servable,
    topic_progress,
    vocabulary_of,
)
from bot.services.quiz_writing import generate

log = logging.getLogger(__name__)

RATINGS = {"again": Rating.Again, "hard": Rating.Hard, "good": Rating.Good, "easy": Rating.Easy}


class Learners(Protocol):
    def learner_id(
        self, platform: str, user_id: str, name: str = "", email: str = "", team: str = ""
    ) -> str: ...
    def user_groups(self, platform: str, user_id: str) -> set[str]: ...
    def set_reminders(self, learner_id: str, *, on: bool | None = None) -> None: ...


@dataclass(frozen=True)
class Question:
    session_id: str
    item: QuizItem
    number: int  # 1-based
    total: int
    review: bool = False  # a due review rather than a new item


@dataclass(frozen=True)
class Summary:
    correct: int
    asked: int
    total: int
    stopped: bool = False


@dataclass(frozen=True)
class Outcome:
    correct: bool
    item: QuizItem
    picked: int
    next: Question | None
    summary: Summary | None


@dataclass(frozen=True)
class Progress:
    topics: list[TopicProgress]
    plan: list[TopicProgress]
    due: int
    answered: int
    right: int


def utcnow() -> datetime:
    return datetime.now(UTC)


class LearningService:
    """Everything a learner is shown (questions, options, explanations, passages, topics) is
    checked against the current catalog and the learner's audiences when it is shown."""

    def __init__(
        self,
        repo: QuizStore,
        learners: Learners,
        material: Material,
        writer: QuizWriter | None = None,
        *,
        questions: int = 5,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.repo = repo
        self.learners = learners
        self.material = material
        self.writer = writer
        self.questions = questions
        self.clock = clock
        self.scheduler = Scheduler(enable_fuzzing=False)

    async def _learner(self, actor: Actor) -> tuple[str, tuple[str, ...]]:
        learner = await asyncio.to_thread(
            self.learners.learner_id, actor.platform, actor.user_id, team=actor.team_id
        )
        groups = await asyncio.to_thread(self.learners.user_groups, actor.platform, actor.user_id)
        return learner, tuple(sorted(groups | {"everyone"}))

    async def start(self, actor: Actor, topic: str = "") -> Question:
        """A new quiz: due reviews first, then items not yet seen, generated when needed."""
        learner, audiences = await self._learner(actor)
        now = self.clock()
        scheduled = await asyncio.to_thread(self.repo.due, learner, now)
        shown = await asyncio.to_thread(self._shown_ids, scheduled, audiences)
        due = [i for i in scheduled if i in shown]
        for gone in set(scheduled) - shown:  # its material changed, went, or was narrowed
            await asyncio.to_thread(self.repo.drop_card, learner, gone)
        chosen = [] if topic else due[: self.questions]
        if len(chosen) < self.questions:
            fresh = await self._fresh(learner, audiences, topic, self.questions - len(chosen))
            chosen += [i.id for i in fresh if i.id not in chosen]
        if not chosen:
            raise NoMaterial(f"no quiz items for {actor.key} (topic {topic!r})")
        session = await asyncio.to_thread(self.repo.start_session, learner, chosen, now)
        log.info("quiz started session=%s items=%d reviews=%d", session.id, len(chosen), len(due))
        question = await self._question(session, audiences, reviews=set(due))
        if question is None:
            raise NoMaterial(f"no quiz items for {actor.key} (topic {topic!r})")
        return question

    async def _fresh(
        self, learner: str, audiences: tuple[str, ...], topic: str, count: int
    ) -> list[QuizItem]:
        seen = {a.item_id for a in await asyncio.to_thread(self.repo.attempts, learner)}
        material = await asyncio.to_thread(self.material.passages, audiences, topic)
        wanted = {(p.source, p.text) for p in material}
        banked = [
            i
            for i in await asyncio.to_thread(self._shown_bank, audiences)
            if i.id not in seen and (i.passage.source, i.passage.text) in wanted
        ]
        if len(banked) >= count:
            return banked[:count]
        asked = {(i.passage.source, i.passage.text) for i in banked}
        todo = [p for p in material if (p.source, p.text) not in asked]
        # distractors come from all the learner may see, not just the topic's passages
        everything = (
            material
            if not topic
            else await asyncio.to_thread(self.material.passages, audiences, "")
        )
        made, report = await generate(
            todo, count - len(banked), self.writer, vocabulary_of(everything)
        )
        await asyncio.to_thread(self.repo.save_items, made)
        log.info("quiz items made model=%d cloze=%d", report.model_kept, report.cloze_kept)
        return banked + [i for i in made if i.id not in seen]

    # -- what may be shown ----------------------------------------------------------------
    def _checked(self, items: Iterable[QuizItem]) -> list[QuizItem]:
        """Items with their provenance, re-established once for items banked without it."""
        items = list(items)
        unchecked = self.repo.unchecked([i.id for i in items])
        if not unchecked:
            return items
        everything = self.material.passages(None, "", None)
        checked = []
        for item in items:
            if item.id in unchecked:
                item = replace(item, sources=provenance(item, everything))
                self.repo.set_sources(item.id, item.sources)
                log.info("re-checked banked item=%s kept=%s", item.id, bool(item.sources))
            checked.append(item)
        return checked

    def _may_show(self, items: Iterable[QuizItem], audiences: Sequence[str]) -> list[QuizItem]:
        """Those of the items the learner may be shown now (blocking: run it off the loop)."""
        items = self._checked(items)
        if not items:
            return []
        live = self.material.documents()
        texts: dict[str, frozenset[str]] = {}

        def still_there(passage: Passage) -> bool:
            key = passage.origin.doc_id
            if key not in texts:
                texts[key] = self.material.texts(key)
            return passage.text in texts[key]

        return [i for i in items if servable(i, audiences, live, still_there)]

    def _shown_ids(self, item_ids: Sequence[str], audiences: Sequence[str]) -> set[str]:
        return {i.id for i in self._may_show(self.repo.items(item_ids).values(), audiences)}

    def _shown_item(self, item_id: str, audiences: Sequence[str]) -> QuizItem | None:
        shown = self._may_show(self.repo.items([item_id]).values(), audiences)
        return shown[0] if shown else None

    def _shown_bank(self, audiences: Sequence[str]) -> list[QuizItem]:
        return self._may_show(self.repo.bank(audiences), audiences)

    async def _question(
        self, session: Session, audiences: Sequence[str], reviews: set[str] | None = None
    ) -> Question | None:
        """The session's current question, passing over items that may no longer be shown
        (their material changed, went, or was narrowed); None when none is left."""
        while (item_id := session.current) is not None:
            item = await asyncio.to_thread(self._shown_item, item_id, audiences)
            if item is not None:
                return Question(
                    session.id,
                    item,
                    session.position + 1,
                    len(session.items),
                    item_id in (reviews or ()),
                )
            await asyncio.to_thread(self.repo.drop_card, session.learner_id, item_id)
            dropped = await asyncio.to_thread(self.repo.drop_from_session, session.id, item_id)
            if dropped is None:
                break
            session = dropped
        return None

    async def current(self, actor: Actor) -> Question | None:
        learner, audiences = await self._learner(actor)
        session = await asyncio.to_thread(self.repo.active_session, learner)
        return await self._question(session, audiences) if session is not None else None

    async def answer(self, actor: Actor, session_id: str, item_id: str, picked: int) -> Outcome:
        """Grade a pick, schedule the item's next review, and move on."""
        learner, audiences = await self._learner(actor)
        session = await asyncio.to_thread(self.repo.session, session_id)
        if session is None or session.learner_id != learner or session.current != item_id:
            raise StaleQuestion(f"session {session_id} is not at item {item_id}")
        item = await asyncio.to_thread(self.repo.item, item_id)
        if item is None or not 0 <= picked < len(item.options):
            raise StaleQuestion(f"item {item_id} has no option {picked}")
        if not await asyncio.to_thread(self._may_show, [item], audiences):
            # its material changed since it was asked: no grade, explanation or passage
            await asyncio.to_thread(self.repo.drop_card, learner, item_id)
            await asyncio.to_thread(self.repo.drop_from_session, session_id, item_id)
            raise StaleQuestion(f"item {item_id} may no longer be shown")
        now = self.clock()
        right = grade(item, picked)
        seconds = (now - session.asked_at).total_seconds() if session.asked_at else 30.0
        await asyncio.to_thread(self._schedule, learner, item_id, rating_for(right, seconds), now)
        await asyncio.to_thread(
            self.repo.record_attempt, learner, item_id, item.options[picked], right, now
        )
        session = await asyncio.to_thread(self.repo.advance, session_id, right, now)
        following = await self._question(session, audiences)
        if following is None:
            session = await asyncio.to_thread(self.repo.session, session_id) or session
            summary = Summary(session.correct, session.position, len(session.items))
            return Outcome(right, item, picked, None, summary)
        return Outcome(right, item, picked, following, None)

    def _schedule(self, learner: str, item_id: str, rating: str, now: datetime) -> None:
        stored = self.repo.card(learner, item_id)
        card = Card.from_dict(stored) if stored else Card(due=now)  # type: ignore[arg-type]
        card, _ = self.scheduler.review_card(card, RATINGS[rating], review_datetime=now)
        self.repo.save_card(learner, item_id, card.due, dict(card.to_dict()))

    async def stop(self, actor: Actor) -> Summary | None:
        learner, _ = await self._learner(actor)
        session = await asyncio.to_thread(self.repo.active_session, learner)
        if session is None:
            return None
        stopped = await asyncio.to_thread(self.repo.stop, session.id)
        assert stopped is not None  # noqa: S101 - it was just found
        return Summary(stopped.correct, stopped.position, len(stopped.items), stopped=True)

    async def progress(self, actor: Actor) -> Progress:
        learner, audiences = await self._learner(actor)
        bank = await asyncio.to_thread(self._shown_bank, audiences)
        topics = list(dict.fromkeys((i.passage.source, i.passage.section) for i in bank))
        attempts = await asyncio.to_thread(self.repo.attempts, learner)
        shown = await asyncio.to_thread(
            self._shown_ids, list({a.item_id for a in attempts}), audiences
        )
        attempts = [a for a in attempts if a.item_id in shown]
        scheduled = await asyncio.to_thread(self.repo.due, learner, self.clock())
        due = await asyncio.to_thread(self._shown_ids, scheduled, audiences)
        per_topic = topic_progress(attempts, topics)
        return Progress(
            per_topic, plan(per_topic), len(due), len(attempts), sum(a.correct for a in attempts)
        )

    async def set_reminders(self, actor: Actor, on: bool) -> None:
        """Review reminders on or off for this learner (on every platform they use)."""
        learner, _ = await self._learner(actor)
        await asyncio.to_thread(self.learners.set_reminders, learner, on=on)
