"""The channel-agnostic chat service every adapter calls (Slack, Teams, the terminal).

Adapters translate a platform's payload into an `Actor`, a `Place` and text, call one
method here, and render what comes back. Audience rules, thread memory, answer records,
feedback and uploads are decided here once, for every surface.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass
from typing import Protocol

from bot.core.answering import Answer, Turn
from bot.core.chat import Actor, Place, audiences_for, is_admin
from bot.core.errors import NotAllowed, UnknownAnswer, UnsupportedUpload
from bot.core.feedback import AnswerRecord, Feedback
from bot.core.jobs import Job, ReplyTo
from bot.service import AnswerService

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


@dataclass(frozen=True)
class Answered:
    """The end of an answer stream: the checked answer and the id its buttons carry."""

    answer: Answer
    answer_id: str


class ThreadMemory:
    """Earlier turns of threads the bot answered in, bounded in threads and turns.

    Kept by LearnLoop itself: Slack apps outside the Marketplace may call
    `conversations.replies` only about once a minute."""

    def __init__(self, max_threads: int = 10_000, max_turns: int = 12) -> None:
        self.max_threads = max_threads
        self.max_turns = max_turns
        self._threads: OrderedDict[str, deque[Turn]] = OrderedDict()

    def knows(self, place: Place) -> bool:
        return bool(place.thread) and place.thread_key in self._threads

    def turns(self, place: Place) -> tuple[Turn, ...]:
        return tuple(self._threads.get(place.thread_key, ())) if place.thread else ()

    def add(self, place: Place, question: str, answer: str) -> None:
        if not place.thread:
            return
        turns = self._threads.setdefault(place.thread_key, deque(maxlen=self.max_turns))
        self._threads.move_to_end(place.thread_key)
        turns.extend([Turn("user", question), Turn("assistant", answer)])
        while len(self._threads) > self.max_threads:
            self._threads.popitem(last=False)


class ChatService:
    def __init__(
        self,
        answers: AnswerService,
        jobs: Jobs,
        access: Access,
        *,
        admins: Collection[str] = (),
        max_upload_bytes: int = 25 * 1024 * 1024,
        threads: ThreadMemory | None = None,
    ) -> None:
        self.answers = answers
        self.jobs = jobs
        self.access = access
        self.admins = frozenset(admins)
        self.max_upload_bytes = max_upload_bytes
        self.threads = threads or ThreadMemory()

    async def audiences(self, actor: Actor, place: Place) -> tuple[str, ...]:
        channel = await asyncio.to_thread(self.access.channel_groups, place.platform, place.channel)
        mine = await asyncio.to_thread(self.access.user_groups, actor.platform, actor.user_id)
        return audiences_for(place, channel, mine)

    def follows_up(self, place: Place) -> bool:
        """A thread reply the bot should answer without a mention (it answered there)."""
        return self.threads.knows(place)

    async def ask(self, actor: Actor, place: Place, question: str) -> AsyncIterator[str | Answered]:
        """Text pieces as the model writes them, then `Answered` (recorded for feedback)."""
        audiences = await self.audiences(actor, place)
        history = self.threads.turns(place)
        async for event in self.answers.ask_stream(question, audiences, history):
            if not isinstance(event, Answer):
                yield event
                continue
            shown = event.citations or event.consulted
            record = AnswerRecord(
                question=question,
                answer=event.text,
                passages=tuple(
                    {"n": s.n, "source": s.source, "section": s.section, "text": s.text}
                    for s in shown
                ),
                model=event.model,
                learner=actor.key,
                platform=actor.platform,
            )
            await self.jobs.record_answer(record)
            self.threads.add(place, question, event.text)
            log.info("answered answer=%s refused=%s", record.id, event.refused)
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
