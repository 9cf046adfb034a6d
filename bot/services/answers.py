"""The one entry point every surface calls: ask a question, get a cited answer."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from bot.domain.answering import (
    Answer,
    Turn,
    bound_history,
    build_messages,
    finish_answer,
    refusal,
    rough_tokens,
)
from bot.domain.ports import ChatModel, Findings, Retriever

log = logging.getLogger(__name__)


class AnswerService:
    def __init__(
        self,
        retriever: Retriever,
        model: ChatModel,
        *,
        k: int = 4,
        history_tokens: int = 400,
        max_answer_tokens: int = 200,
    ) -> None:
        self.retriever = retriever
        self.model = model
        self.k = k
        self.history_tokens = history_tokens
        self.max_answer_tokens = max_answer_tokens

    async def aclose(self) -> None:
        """Release the model's connections (call before the event loop ends)."""
        await self.model.aclose()

    async def ask(
        self, question: str, audiences: Sequence[str] = ("everyone",), history: Sequence[Turn] = ()
    ) -> Answer:
        answer: Answer | None = None
        async for event in self.ask_stream(question, audiences, history):
            if isinstance(event, Answer):
                answer = event
        if answer is None:  # unreachable: ask_stream always ends with the answer
            raise RuntimeError("the answer stream ended without an answer")
        return answer

    async def ask_stream(
        self, question: str, audiences: Sequence[str] = ("everyone",), history: Sequence[Turn] = ()
    ) -> AsyncIterator[str | Answer]:
        """Text pieces as the model writes them, then the finished, checked `Answer`.

        A question the material does not cover is refused without calling the model."""
        started = time.perf_counter()
        findings = await self.retriever.find(question, audiences, self.k)
        search_ms = (time.perf_counter() - started) * 1000
        async for event in self.answer(question, findings, history):
            if isinstance(event, Answer):
                event = replace(event, meta={"search_ms": search_ms, **event.meta})
            yield event

    async def answer(
        self, question: str, findings: Findings, history: Sequence[Turn] = ()
    ) -> AsyncIterator[str | Answer]:
        """Answer from passages already found (the eval harness searches by itself)."""
        searched = time.perf_counter()
        if not findings.relevant or not findings.sources:
            log.info("refused without a model call")
            answer = refusal(findings.topics)
            yield answer.text
            yield answer
            return
        turns = bound_history(history, self.history_tokens, rough_tokens)
        messages = build_messages(question, findings.sources, turns)
        prompted = time.perf_counter()
        first: float | None = None
        text = ""
        async for piece in self.model.stream(messages, self.max_answer_tokens):
            if first is None:
                first = time.perf_counter()
            text += piece
            yield piece
        done = time.perf_counter()
        answer = finish_answer(text, findings.sources, self.model.name)
        meta = {
            "prompt_ms": (prompted - searched) * 1000,
            "first_token_ms": ((first or done) - prompted) * 1000,
            "generation_ms": (done - prompted) * 1000,
        }
        log.info("answered citations=%d %s", len(answer.citations), meta)
        yield replace(answer, meta=meta)
