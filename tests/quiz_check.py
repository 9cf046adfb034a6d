"""A check of quiz items written apart from the generator's own rules (bot/domain/quiz.py), so a
bug there cannot hide in both; shared by the integration tests and benchmarks/quiz_bench.py."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.adapters.search import Retrieval
    from bot.domain.quiz import QuizItem


def independently_valid(item: dict[str, Any], corpus_texts: list[str]) -> bool:
    """Four distinct non-empty options, the correct one's words in the cited passage, and
    the passage really part of the material. `item` is in `quiz generate --json` form."""
    options = [o.strip().lower() for o in item["options"]]
    if len(options) != 4 or len(set(options)) != 4 or not all(options):
        return False
    said = item["passage"].lower()
    answer_words = re.findall(r"[a-z0-9-]{2,}", options[item["correct"]])
    if not answer_words or not all(w in said for w in answer_words):
        return False
    # search passages may run on into the next chunk: their start must be a stored chunk
    head = item["passage"][:200]
    return any(head in text for text in corpus_texts)


def corpus_texts(rt: Retrieval) -> list[str]:
    """Every stored chunk's text: what a cited passage must come from."""
    docs = rt.store.documents()
    return [text for _, text, _, _ in rt.store.chunks_of([d.doc_id for d in docs])]


def as_json(item: QuizItem) -> dict[str, Any]:
    """The fields of `quiz generate --json` that the check reads."""
    return {
        "options": list(item.options),
        "correct": item.correct,
        "passage": item.passage.text,
    }
