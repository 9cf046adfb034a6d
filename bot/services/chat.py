"""The channel-agnostic chat service every surface calls (Slack, Teams, the terminal).

Surfaces translate a platform's payload into an `Actor`, a `Place` and text, call one
method here, and render what comes back. Audience rules, thread memory, answer records,
feedback and uploads are decided here once, for every surface.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Protocol

from bot.domain.answering import Answer, Turn
from bot.domain.conversation import Actor, Place, audiences_for, is_admin
from bot.domain.errors import NotAllowed, StoreUnavailable, UnknownAnswer, UnsupportedUpload
from bot.domain.feedback import AnswerRecord, Feedback, answer_record
from bot.domain.grounded import Quoted
from bot.domain.jobs import Job, ReplyTo
from bot.runtime.metrics import ANSWER_SECONDS, FEEDBACK, REFUSALS
from bot.services.answers import AnswerService

log = logging.getLogger(__name__)


class Access(Protocol):
    def user_groups(self, platform: str, user_id: str) -> set[str]: ...
    def channel_groups(self, platform: str, channel: str) -> set[str]: ...
    def learner_id(self, platform: str, user_id: str, name: str = "") -> str: ...


class Jobs(Protocol):
    async def record_answer(self, record: AnswerRecord) -> None: ...
    async def record_feedback(self, event: Feedback) -> None: ...
    async def answer(self, answer_id: str) -> AnswerRecord | None: ...
    async def enqueue_upload(
        self,
        name: str,
        data: bytes,
        audiences: tuple[str, ...] = ...,
        *,
        requested_by: str = "",
        reply_to: ReplyTo | None = None,
    ) -> Job: ...


class Threads(Protocol):
    """Earlier turns of threads the bot answered in, keyed by `Place.thread_key`. Kept by
    LearnLoop: Slack apps outside the Marketplace may call `conversations.replies` only
    about once a minute. Raises `StoreUnavailable` when it cannot be reached."""

    def knows(self, thread_key: str) -> bool: ...
    def turns(self, thread_key: str, limit: int) -> list[Turn]: ...
    def add(self, thread_key: str, question: str, answer: str, keep: int) -> None: ...


@dataclass(frozen=True)
class Answered:
    """The end of an answer stream: the checked answer and the id its buttons carry."""

    answer: Answer
    answer_id: str


class ChatService:
    def __init__(
        self,
        answers: AnswerService,
        jobs: Jobs,
        access: Access,
        threads: Threads,
        *,
        admins: Collection[str] = (),
        max_upload_bytes: int = 25 * 1024 * 1024,
        thread_turns: int = 12,
    ) -> None:
        self.answers = answers
        self.jobs = jobs
        self.access = access
        self.threads = threads
        self.admins = frozenset(admins)
        self.max_upload_bytes = max_upload_bytes
        self.thread_turns = thread_turns  # the context a thread reply gets, and all it keeps

    async def audiences(self, actor: Actor, place: Place) -> tuple[str, ...]:
        return (await self._groups(actor, place))[0]

    async def _groups(self, actor: Actor, place: Place) -> tuple[tuple[str, ...], set[str]]:
        """(the audiences an answer here may use, the asker's own groups)."""
        channel = await asyncio.to_thread(self.access.channel_groups, place.platform, place.channel)
        mine = await asyncio.to_thread(self.access.user_groups, actor.platform, actor.user_id)
        return audiences_for(place, channel, mine), mine

    async def follows_up(self, place: Place) -> bool:
        """A thread reply the bot should answer without a mention (it answered there).
        With the store unreachable it is not one: a mention still reaches the bot."""
        if not place.thread:
            return False
        try:
            return await asyncio.to_thread(self.threads.knows, place.thread_key)
        except StoreUnavailable as exc:
            log.warning("follow-up check skipped, thread memory unreachable: %s", exc.message)
            return False

    async def _history(self, place: Place) -> list[Turn]:
        """The thread's earlier turns; none when unreachable (an answer without context
        beats no answer)."""
        if not place.thread:
            return []
        try:
            return await asyncio.to_thread(self.threads.turns, place.thread_key, self.thread_turns)
        except StoreUnavailable as exc:
            log.warning("answering without thread context: %s", exc.message)
            return []

    async def _remember(self, place: Place, question: str, answer: str) -> None:
        """Keep the turn for the thread's replies; a failure only costs them their context
        (the answer is already shown)."""
        if not place.thread:
            return
        try:
            await asyncio.to_thread(
                self.threads.add, place.thread_key, question, answer, self.thread_turns
            )
        except StoreUnavailable as exc:
            log.warning("thread turn not kept: %s", exc.message)

    async def ask(
        self, actor: Actor, place: Place, question: str
    ) -> AsyncIterator[str | Quoted | Answered]:
        """Quotes (when grounding), text pieces as they are released, then `Answered`
        (recorded for feedback)."""
        started = time.perf_counter()
        audiences, mine = await self._groups(actor, place)
        history = await self._history(place)
        async for event in self.answers.ask_stream(question, audiences, history):
            if not isinstance(event, Answer):
                yield event
                continue
            record = answer_record(
                question, event, actor.key, actor.platform, place, audiences, mine, len(history)
            )
            await self.jobs.record_answer(record)
            await self._remember(place, question, event.text)
            log.info("answered answer=%s refused=%s", record.id, event.refused)
            ANSWER_SECONDS.labels(actor.platform).observe(time.perf_counter() - started)
            if event.refused:
                REFUSALS.labels(actor.platform).inc()
            yield Answered(event, record.id)

    async def feedback(
        self, actor: Actor, answer_id: str, rating: str, correction: str = ""
    ) -> Feedback:
        """👍 / 👎 / a correction on an answer, with the question and passages it had."""
        record = await self.jobs.answer(answer_id)
        if record is None:
            raise UnknownAnswer(f"no answer {answer_id}")
        event = Feedback(
            answer_id=answer_id,
            rating=rating,
            correction=correction,
            question=record.question,
            answer=record.answer,
            passages=record.passages,
            model=record.model,
            adapter_version=record.adapter_version,
            learner=actor.key,
            platform=actor.platform,
        )
        await self.jobs.record_feedback(event)
        FEEDBACK.labels(actor.platform, rating).inc()
        return event

    def check_upload(self, actor: Actor, name: str, size: int) -> None:
        """Refuse before downloading: not an admin, a type we cannot parse, too large."""
        from retrieval.errors import RetrievalError
        from retrieval.parse import check_supported

        if not is_admin(actor, self.admins):
            raise NotAllowed(f"{actor.key} is not an admin")
        try:
            check_supported(name)
        except RetrievalError as exc:
            raise UnsupportedUpload(exc.message) from exc
        if size > self.max_upload_bytes:
            limit = self.max_upload_bytes / (1024 * 1024)
            raise UnsupportedUpload(f"{name} is larger than the {limit:.0f} MB limit.")
        if size == 0:
            raise UnsupportedUpload(f"{name} is empty.")

    async def upload(
        self,
        actor: Actor,
        place: Place,
        name: str,
        data: bytes,
        audiences: tuple[str, ...] = ("everyone",),
    ) -> Job:
        """Queue a shared file for ingestion; progress goes back to `place`."""
        self.check_upload(actor, name, len(data))
        reply_to = ReplyTo(place.platform, place.channel, place.thread, team=actor.team_id)
        return await self.jobs.enqueue_upload(
            name, data, audiences, requested_by=actor.key, reply_to=reply_to
        )
