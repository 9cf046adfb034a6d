"""Runs a QA set through search (and, when given, answering) and scores it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.domain.answering import Answer
from bot.domain.grounded import NOT_COVERED_LEAD, Quoted, quotes_text, says_not_covered
from bot.domain.scoring import ItemResult, QAItem, Reply, summarise
from retrieval.search import HybridSearcher
from retrieval.types import SearchResult

Answerer = Callable[[str, SearchResult], Awaitable[Reply]]


async def run_eval(
    items: Sequence[QAItem],
    searcher: HybridSearcher,
    k: int = 5,
    answer: Answerer | None = None,
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    results = []
    for item in items:
        found = await asyncio.to_thread(searcher.search, item.question, k, None)
        refused = not found.relevant
        reply = None
        if answer is not None and not refused:
            reply = await answer(item.question, found)
        results.append(
            ItemResult(
                item=item,
                passages=tuple(p.text for p in found.passages),
                refused=refused,
                answer=None if answer is None else (reply.shown if reply else ""),
                signals={
                    "top_similarity": round(found.signals.top_similarity, 4),
                    "missing_terms": list(found.signals.missing_terms),
                    "rare_terms": list(found.signals.rare_terms),
                    "missing_names": list(found.signals.missing_names),
                },
                reply=reply,
            )
        )
        if progress is not None:
            progress()
    return summarise(results, k)


def reply_of(answer: Answer) -> Reply:
    """What the asker was shown of an answer, as the evaluation scores it."""
    if answer.quotes:
        quoted = quotes_text(Quoted(answer.quotes, answer.quoted_sources))
        shown = answer.text if answer.text.endswith(quoted) else f"{quoted}\n{answer.text}"
        declined = answer.text.startswith(NOT_COVERED_LEAD)
    else:
        shown = answer.text
        declined = answer.refused or says_not_covered(answer.text)
    grounding = answer.meta.get("grounding_ms")
    return Reply(
        shown=shown,
        raw=answer.raw_text or answer.text,
        cited=tuple(s.text for s in answer.citations),
        declined=declined,
        grounding_ms=grounding,
    )
