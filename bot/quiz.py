"""Quiz generation: the model writes items under a JSON schema, the core's rules judge them,
and the cloze generator stands in whenever the model's item is not fair."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Protocol

from pydantic import BaseModel, Field

from bot.core.quiz import Live, Passage, QuizItem, Term, cloze_items, problems, vocabulary_of

if TYPE_CHECKING:
    from bot.bootstrap import Retrieval
    from inference.client import ChatClient

log = logging.getLogger(__name__)

WRITER_PROMPT = (
    "You write one multiple-choice quiz question about the passage below, for employees "
    "learning this material. Exactly one option is correct and stated in the passage; the "
    "other three are plausible but wrong. Do not put the answer in the question. Give the "
    "index (0-3) of the correct option and a one-sentence explanation quoting the passage."
)


class ModelItem(BaseModel):
    """The JSON the model must return; bounded lengths bound its tokens."""

    question: str = Field(max_length=120)
    options: list[Annotated[str, Field(max_length=60)]] = Field(min_length=4, max_length=4)
    correct: int = Field(ge=0, le=3)
    explanation: str = Field(max_length=150)


class QuizWriter(Protocol):
    async def write(self, passage: Passage) -> QuizItem | None: ...


class ModelQuizWriter:
    """Items from the language model (vLLM or the embedded server) with structured output."""

    def __init__(self, client: ChatClient, temperature: float = 0.7) -> None:
        self.client = client
        self.temperature = temperature

    async def write(self, passage: Passage) -> QuizItem | None:
        from inference.errors import InferenceError

        messages = [
            {"role": "system", "content": WRITER_PROMPT},
            {"role": "user", "content": f"Passage ({passage.section}):\n{passage.text}"},
        ]
        try:
            raw = await self.client.generate_structured(
                messages, ModelItem, max_tokens=560, temperature=self.temperature
            )
        except InferenceError as exc:
            log.info("model item discarded: %s", exc.code)
            return None
        return QuizItem(
            question=raw.question,
            options=tuple(raw.options),
            correct=raw.correct,
            explanation=raw.explanation,
            passage=passage,
            origin="model",
            sources=(passage.origin,),  # the model saw this passage and nothing else
        )


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


class CatalogMaterial:
    """The material as the quiz sees it: passages to ask about, and the catalog's current
    state, against which banked items are checked each time they are shown."""

    def __init__(self, rt: Retrieval) -> None:
        self.rt = rt

    def passages(
        self, audiences: Sequence[str] | None, topic: str = "", limit: int | None = 200
    ) -> list[Passage]:
        """Material for these audiences (all of it for None), at most `limit` passages."""
        return material_passages(self.rt, topic, audiences, limit)

    def documents(self) -> dict[str, Live]:
        return {d.doc_id: Live(d.version, d.audiences) for d in self.rt.store.documents()}

    def texts(self, doc_id: str) -> frozenset[str]:
        """The chunk texts of the document's current version."""
        live = self.documents().get(doc_id)
        return frozenset(
            text
            for _, text, meta, _ in self.rt.store.chunks_of([doc_id])
            if live is not None and meta.get("version") == live.version
        )


def material_passages(
    rt: Retrieval,
    topic: str = "",
    audiences: Sequence[str] | None = None,
    limit: int | None = 200,
) -> list[Passage]:
    """Passages to ask about: those matching `topic`, else every chunk, documents interleaved
    so a short quiz covers several documents. Each carries its document's id, version and
    audience, so an item made from it is banked for exactly that audience."""
    docs = {d.doc_id: d for d in rt.store.documents()}
    if topic:
        found = rt.searcher.search(topic, k=min(limit or 20, 20), audiences=audiences)
        passages = []
        for p in found.passages:
            doc_id, version, _ = p.chunk_id.split(":", 2)
            doc = docs.get(doc_id)
            if doc is None or doc.version != version or not p.text:
                continue  # replaced or deleted since the search's snapshot
            passages.append(
                Passage(p.text, p.source, p.section or p.title, version, doc.audiences, doc_id)
            )
        return passages
    per_doc: list[list[Passage]] = []
    allowed = set(audiences) if audiences is not None else None
    for doc in docs.values():
        if allowed is not None and not allowed & set(doc.audiences):
            continue
        chunks = [
            Passage(
                text,
                doc.source,
                str(meta.get("section") or doc.title),
                doc.version,
                doc.audiences,
                doc.doc_id,
            )
            for _, text, meta, _ in rt.store.chunks_of([doc.doc_id])
            if meta.get("version") == doc.version  # not a version being written or dropped
        ]
        per_doc.append(chunks)
    interleaved = [p for group in _zip_longest(per_doc) for p in group]
    return interleaved[:limit]


def _zip_longest(groups: list[list[Passage]]) -> list[list[Passage]]:
    depth = max((len(g) for g in groups), default=0)
    return [[g[i] for g in groups if i < len(g)] for i in range(depth)]


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
