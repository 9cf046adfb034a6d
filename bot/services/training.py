"""Rated answers as the learning loop's examples: only those whose record can be trusted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.domain.feedback import AnswerRecord
from training.examples import EVERYONE, FeedbackItem, Passage
from training.prompt import PROMPT_VERSION


def feedback_item(record: AnswerRecord, rating: str, correction: str = "") -> FeedbackItem | None:
    """The training view of a rated answer; None when its record cannot be trusted: written
    before provenance was kept, under another prompt, with thread context the training
    prompt would not show, or with passages that lack their document version."""
    if not record.has_provenance or record.prompt_version != PROMPT_VERSION:
        return None
    if record.history_turns or not record.passages:
        return None
    passages = _passages(record.passages)
    if passages is None:
        return None
    return FeedbackItem(
        question=record.question,
        answer=record.answer,
        rating=rating,
        passages=passages,
        correction=correction,
        # what the answer could draw on decides who may learn from it
        asker_audiences=tuple(record.audiences or ()),
        place_public=record.place == "channel",
        learner=record.learner,
        answer_id=record.id,
    )


def feedback_items(rated: Iterable[tuple[AnswerRecord, str, str]]) -> list[FeedbackItem]:
    items = (feedback_item(record, rating, fix) for record, rating, fix in rated)
    return [item for item in items if item is not None]


def _passages(recorded: Sequence[dict[str, Any]]) -> tuple[Passage, ...] | None:
    ordered = sorted(recorded, key=lambda p: int(p.get("n", 0)))
    if [int(p.get("n", 0)) for p in ordered] != list(range(1, len(ordered) + 1)):
        return None  # not the full prompt: the numbering would not match the reply's [n]
    if any(not p.get("version") or "audiences" not in p for p in ordered):
        return None
    return tuple(
        Passage(
            source=str(p.get("source", "")),
            title=str(p.get("title", "")),
            section=str(p.get("section", "")),
            text=str(p.get("text", "")),
            audiences=tuple(p.get("audiences") or (EVERYONE,)),
            doc_version=str(p["version"]),
        )
        for p in ordered
    )
