"""The one entry point every surface calls: ask a question, get a cited answer."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.domain.answering import (
    Answer,
    Turn,
    bound_history,
    build_messages,
    finish_answer,
    refusal,
    rough_tokens,
)
from bot.domain.grounded import (
    Quoted,
    cited_sources,
    fallback_text,
    quoted,
    released,
    says_not_covered,
    stand_in_note,
)
from bot.domain.grounding import Verdict
from bot.domain.ports import ChatModel, Findings, Retriever, written_by
from bot.domain.sentences import split_units

if TYPE_CHECKING:
    from bot.services.grounding import Grounder

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
        grounder: Grounder | None = None,
    ) -> None:
        self.retriever = retriever
        self.model = model
        self.k = k
        self.history_tokens = history_tokens
        self.max_answer_tokens = max_answer_tokens
        self.grounder = grounder  # None: the model's text is shown as written

    async def aclose(self) -> None:
        """Release the model's connections (call before the event loop ends)."""
        await self.model.aclose()
        if self.grounder is not None:
            self.grounder.close()

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
    ) -> AsyncIterator[str | Quoted | Answer]:
        """Text pieces as the model writes them, then the finished, checked `Answer`;
        with a grounder, `Quoted` first and then only the sentences a passage backs.

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
    ) -> AsyncIterator[str | Quoted | Answer]:
        """Answer from passages already found (the eval harness searches by itself)."""
        searched = time.perf_counter()
        if not findings.relevant or not findings.sources:
            log.info("refused without a model call")
            answer = refusal(findings.topics)
            yield answer.text
            yield answer
            return
        if self.grounder is not None:
            async for event in self._grounded(self.grounder, question, findings, history):
                yield event
            return
        turns = bound_history(history, self.history_tokens, rough_tokens)
        messages = build_messages(question, findings.sources, turns)
        prompted = time.perf_counter()
        first: float | None = None
        text = ""
        reply = self.model.stream(messages, self.max_answer_tokens)
        async for piece in reply:
            if first is None:
                first = time.perf_counter()
            text += piece
            yield piece
        done = time.perf_counter()
        answer = finish_answer(text, findings.sources, written_by(reply, self.model))
        meta = {
            "prompt_ms": (prompted - searched) * 1000,
            "first_token_ms": ((first or done) - prompted) * 1000,
            "generation_ms": (done - prompted) * 1000,
        }
        log.info("answered citations=%d %s", len(answer.citations), meta)
        yield replace(answer, meta=meta)

    async def _grounded(
        self, grounder: Grounder, question: str, findings: Findings, history: Sequence[Turn]
    ) -> AsyncIterator[str | Quoted | Answer]:
        """Quotes at once (no model needed), then the model's sentences, each released only
        once a passage backs it, with the citation the check found."""
        sources = findings.sources
        started = time.perf_counter()
        quotes = quoted(await grounder.quotes(question, sources), sources)
        grounding_ms = (time.perf_counter() - started) * 1000
        yield quotes
        grounder.prepare(sources)  # overlaps the model's first tokens
        quoted_at = time.perf_counter()
        turns = bound_history(history, self.history_tokens, rough_tokens)
        messages = build_messages(question, sources, turns)
        prompted = time.perf_counter()
        first: float | None = None
        raw = ""
        verdicts: list[Verdict] = []
        shown = ""
        reply = self.model.stream(messages, self.max_answer_tokens)
        async for piece in reply:
            if first is None:
                first = time.perf_counter()
            raw += piece
            units = split_units(raw)
            if len(units) - 1 > len(verdicts):  # all but the last unit are complete
                checking = time.perf_counter()
                fresh = await grounder.check(units[len(verdicts) : -1], sources)
                grounding_ms += (time.perf_counter() - checking) * 1000
                for verdict in fresh:
                    text = released(verdict, sources, first=not shown) if verdict.supported else ""
                    if text:
                        shown += text
                        yield text
                verdicts += fresh
        done = time.perf_counter()
        fresh = await grounder.check(split_units(raw)[len(verdicts) :], sources)
        grounding_ms += (time.perf_counter() - done) * 1000
        for verdict in fresh:
            text = released(verdict, sources, first=not shown) if verdict.supported else ""
            if text:
                shown += text
                yield text
        verdicts += fresh
        kept = sum(v.supported for v in verdicts)
        note = ""
        if not shown.strip():  # the quotes, already out, are the answer: said, not repeated
            declined = says_not_covered(raw)
            shown = fallback_text(quotes, declined)
            note = stand_in_note(quotes, declined)
            yield note or shown
        citations = cited_sources(verdicts, quotes, sources)
        answer = Answer(
            text=shown.strip(),
            refused=False,
            citations=citations,
            consulted=() if citations else tuple(sources),
            model=written_by(reply, self.model),  # the adapter asked, whatever was promoted since
            quotes=quotes.quotes,
            quoted_sources=quotes.sources,
            raw_text=raw.strip(),
            grounded=kept > 0,
            note=note,
        )
        meta = {
            "prompt_ms": (prompted - quoted_at) * 1000,
            "first_token_ms": ((first or done) - prompted) * 1000,
            "generation_ms": (done - prompted) * 1000,
            "grounding_ms": grounding_ms,
            "sentences": float(len(verdicts)),
            "supported": float(kept),
        }
        log.info("answered grounded citations=%d %s", len(citations), meta)
        yield replace(answer, meta=meta)
