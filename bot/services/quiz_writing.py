"""Quiz generation: the model writes items under a JSON schema, the domain's rules judge them,
and the cloze generator stands in whenever the model's item is not fair."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.domain.ports import QuizWriter
from bot.domain.quiz import Passage, QuizItem, Term, cloze_items, problems, vocabulary_of

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)


@dataclass
class GenerationReport:
    model_tried: int = 0
    model_kept: int = 0
    cloze_kept: int = 0
    seconds: float = 0.0
    reasons: Counter[str] = field(default_factory=Counter)

    @property
    def per_minute(self) -> float:
        kept = self.model_kept + self.cloze_kept
        return kept / self.seconds * 60 if self.seconds else 0.0


async def generate(
    passages: Sequence[Passage],
    count: int,
    writer: QuizWriter | None = None,
    vocabulary: Sequence[Term] | None = None,
    concurrency: int = 4,
) -> tuple[list[QuizItem], GenerationReport]:
    """Up to `count` fair items, one per passage, the model's where they pass the rules.

    The model writes `concurrency` items at once: the server batches them."""
    started = time.perf_counter()
    report = GenerationReport()
    pool = list(vocabulary) if vocabulary is not None else vocabulary_of(passages)
    items: list[QuizItem] = []
    at = 0
    while len(items) < count and at < len(passages):
        window = passages[at : at + min(concurrency, count - len(items))]
        at += len(window)
        drafts: list[QuizItem | None] = [None] * len(window)
        if writer is not None:
            report.model_tried += len(window)
            drafts = list(await asyncio.gather(*(writer.write(p) for p in window)))
        for passage, draft in zip(window, drafts, strict=True):
            item = _judged(draft, report) if writer is not None else None
            if item is None:
                fallback = cloze_items(passage, pool, limit=1)
                if fallback:
                    item = fallback[0]
                    report.cloze_kept += 1
            if item is not None and len(items) < count:
                items.append(item)
    report.seconds = time.perf_counter() - started
    return items, report


def _judged(draft: QuizItem | None, report: GenerationReport) -> QuizItem | None:
    found = problems(draft) if draft is not None else ["no valid JSON item"]
    if draft is not None and not found:
        report.model_kept += 1
        return draft
    for reason in found:
        report.reasons[reason] += 1
    log.info("model item discarded: %s", "; ".join(found))
    return None


def item_json(item: QuizItem) -> dict[str, object]:
    return {
        "id": item.id,
        "question": item.question,
        "options": list(item.options),
        "correct": item.correct,
        "explanation": item.explanation,
        "source": item.passage.source,
        "section": item.passage.section,
        "passage": item.passage.text,
        "origin": item.origin,
    }
