"""Scoring rules of the QA evaluation: pure functions over questions and results."""

from __future__ import annotations

import json
import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QAItem:
    question: str
    must_contain: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    source: tuple[str, ...] = ()
    type: str = ""  # factual, procedural, two-page, not-in-material ("" in older files)
    pages: tuple[tuple[str, ...], ...] = ()  # two-page: each page's evidence, all to be found

    @property
    def answerable(self) -> bool:
        return bool(self.source)


@dataclass(frozen=True)
class Reply:
    """An answer as the evaluation scores it."""

    shown: str  # everything the asker sees: quotes and the checked text
    raw: str  # what the model wrote, before any grounding
    cited: tuple[str, ...] = ()  # texts of the passages the shown answer cites
    declined: bool = False  # it tells the asker the material does not cover the question
    grounding_ms: float | None = None  # None: grounding was off


@dataclass(frozen=True)
class ItemResult:
    item: QAItem
    passages: tuple[str, ...]
    refused: bool
    answer: str | None = None
    signals: dict[str, Any] = field(default_factory=dict)
    reply: Reply | None = None

    @property
    def hit(self) -> bool:
        if self.item.pages:
            return all(evidence_found(page, self.passages) for page in self.item.pages)
        return evidence_found(self.item.evidence, self.passages)

    @property
    def raw_contains(self) -> bool | None:
        if self.reply is None or self.refused or not self.item.answerable:
            return None
        return answer_contains(self.reply.raw, self.item.must_contain)

    @property
    def cites_evidence(self) -> bool | None:
        """An answered question's shown answer cites a passage holding the evidence."""
        if self.reply is None or self.refused or not self.item.answerable:
            return None
        return evidence_found(self.item.evidence, self.reply.cited)

    @property
    def answer_refused(self) -> bool:
        """Refused as the asker sees it: by search, or by the answer saying so."""
        return self.refused or (self.reply is not None and self.reply.declined)

    @property
    def answer_refusal_correct(self) -> bool:
        return self.answer_refused == (not self.item.answerable)

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
        type=str(raw.get("type") or ""),
        pages=tuple(_as_tuple(page.get("evidence")) for page in raw.get("pages") or () if page),
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
    report = _scores(results, k)
    types = sorted({r.item.type for r in results if r.item.type})
    if types:
        report["per_type"] = {
            t: _scores([r for r in results if r.item.type == t], k) for t in types
        }
    report["items"] = [
        {
            "question": r.item.question,
            "type": r.item.type or None,
            "passages": list(r.passages),
            "answer": r.answer,
            "model_text": r.reply.raw if r.reply is not None else None,
            "refused": r.refused,
            "declined": r.reply.declined if r.reply is not None else None,
            "expected_refusal": not r.item.answerable,
            "hit": r.hit if r.item.answerable else None,
            "contains": r.contains,
            "raw_contains": r.raw_contains,
            "cites_evidence": r.cites_evidence,
            "grounding_ms": r.reply.grounding_ms if r.reply is not None else None,
            "signals": r.signals,
        }
        for r in results
    ]
    return report


def _scores(results: Sequence[ItemResult], k: int) -> dict[str, Any]:
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
        "raw_contains": _share([r.raw_contains for r in answerable]),
        "citation_rate": _share([r.cites_evidence for r in answerable]),
        "answer_refusal_correct": (
            _ratio(sum(r.answer_refusal_correct for r in results), len(results))
            if any(r.reply is not None for r in results)
            else None
        ),
        "grounding_ms_p50": _median(
            [r.reply.grounding_ms for r in results if r.reply and r.reply.grounding_ms is not None]
        ),
        "counts": {
            "questions": len(results),
            "answerable": len(answerable),
            "out_of_material": len(out_of_material),
        },
    }


def _share(flags: Iterable[bool | None]) -> float | None:
    known = [f for f in flags if f is not None]
    return _ratio(sum(known), len(known)) if known else None


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None
