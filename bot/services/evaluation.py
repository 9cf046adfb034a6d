"""Runs a QA set through search (and, when given, answering) and scores it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.domain.scoring import ItemResult, QAItem, summarise
from retrieval.search import HybridSearcher
from retrieval.types import SearchResult

Answerer = Callable[[str, SearchResult], Awaitable[str]]


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
        text = None
        if answer is not None:
            text = "" if refused else await answer(item.question, found)
        results.append(
            ItemResult(
                item=item,
                passages=tuple(p.text for p in found.passages),
                refused=refused,
                answer=text,
                signals={
                    "top_similarity": round(found.signals.top_similarity, 4),
                    "missing_terms": list(found.signals.missing_terms),
                    "rare_terms": list(found.signals.rare_terms),
                    "missing_names": list(found.signals.missing_names),
                },
            )
        )
        if progress is not None:
            progress()
    return summarise(results, k)
