"""Scoring rules of the QA evaluation: pure functions over questions and results."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QAItem:
    question: str
    must_contain: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    source: tuple[str, ...] = ()

    @property
    def answerable(self) -> bool:
        return bool(self.source)


@dataclass(frozen=True)
class ItemResult:
    item: QAItem
    passages: tuple[str, ...]
    refused: bool
    answer: str | None = None
    signals: dict[str, Any] = field(default_factory=dict)

    @property
    def hit(self) -> bool:
        return evidence_found(self.item.evidence, self.passages)

    @property
    def refusal_correct(self) -> bool:
        return self.refused == (not self.item.answerable)

    @property
    def contains(self) -> bool | None:
        if self.answer is None or not self.item.answerable:
            return None
        return answer_contains(self.answer, self.item.must_contain)


def _as_tuple(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if str(v))


def parse_qa_line(line: str, number: int = 0) -> QAItem:
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {number}: not valid JSON ({exc.msg})") from exc
    if not isinstance(raw, dict) or not str(raw.get("question", "")).strip():
        raise ValueError(f'line {number}: each line needs a non-empty "question"')
    return QAItem(
        question=str(raw["question"]).strip(),
        must_contain=_as_tuple(raw.get("must_contain")),
        evidence=_as_tuple(raw.get("evidence")),
        source=_as_tuple(raw.get("source")),
    )


def parse_qa(lines: Iterable[str]) -> list[QAItem]:
    return [parse_qa_line(line, n) for n, line in enumerate(lines, start=1) if line.strip()]


def normalise(text: str) -> str:
    """Lower case, with every whitespace and punctuation character removed."""
    return re.sub(r"[\W_]+", "", text.lower())


def evidence_found(evidence: Sequence[str], passages: Sequence[str]) -> bool:
    wanted = [normalise(e) for e in evidence if normalise(e)]
    haystacks = [normalise(p) for p in passages]
    return any(w in h for w in wanted for h in haystacks)


def answer_contains(answer: str, keys: Sequence[str]) -> bool:
    lowered = answer.lower()
    return all(key.lower() in lowered for key in keys)


def summarise(results: Sequence[ItemResult], k: int) -> dict[str, Any]:
    answerable = [r for r in results if r.item.answerable]
    contains = [r.contains for r in answerable if r.contains is not None]
    out_of_material = [r for r in results if not r.item.answerable]
    return {
        "k": k,
        "hit_at_k": _ratio(sum(r.hit for r in answerable), len(answerable)),
        "answer_contains": _ratio(sum(contains), len(contains)) if contains else None,
        "refusal_correct": _ratio(sum(r.refusal_correct for r in results), len(results)),
        "answerable_accepted": _ratio(sum(not r.refused for r in answerable), len(answerable)),
        "out_of_material_refused": _ratio(
            sum(r.refused for r in out_of_material), len(out_of_material)
        ),
        "counts": {
            "questions": len(results),
            "answerable": len(answerable),
            "out_of_material": len(out_of_material),
        },
        "items": [
            {
                "question": r.item.question,
                "passages": list(r.passages),
                "answer": r.answer,
                "refused": r.refused,
                "expected_refusal": not r.item.answerable,
                "hit": r.hit if r.item.answerable else None,
                "signals": r.signals,
            }
            for r in results
        ],
    }


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None
