"""Scoring the raw model's replies on held-out examples with the answers issue's metrics."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from training.examples import Example
from training.gate import Metrics

_CITATION = re.compile(r"\[(\d{1,3})\]")
_PASSAGE_NUMBER = re.compile(r"^\[(\d{1,3})\] ", re.MULTILINE)
_REFUSAL = re.compile(r"\b(?:does not|doesn't|do not|don't) cover\b", re.IGNORECASE)


@dataclass(frozen=True)
class HeldOut:
    messages: tuple[tuple[str, str], ...]
    passages: int  # how many numbered passages the prompt shows
    answerable: bool
    keys: tuple[str, ...] = ()


def held_out(examples: Sequence[Example]) -> list[HeldOut]:
    """Held-out items from examples: refusal examples are the out-of-material ones."""
    items = []
    for ex in examples:
        numbers = [int(n) for n in _PASSAGE_NUMBER.findall(ex.prompt[-1][1])]
        items.append(HeldOut(ex.prompt, max(numbers, default=0), ex.origin != "refusal", ex.keys))
    return items


def cites(reply: str, passages: int) -> bool:
    return any(1 <= int(n) <= passages for n in _CITATION.findall(reply))


def refuses(reply: str) -> bool:
    return bool(_REFUSAL.search(reply))


def score(items: Sequence[HeldOut], replies: Sequence[str]) -> Metrics:
    """Metrics of `replies` (one per item, in order); no citation repair, as the raw model."""
    answerable = [(i, r) for i, r in zip(items, replies, strict=True) if i.answerable]
    keyed = [(i, r) for i, r in answerable if i.keys]
    return Metrics(
        citation_rate=_share(cites(r, i.passages) for i, r in answerable),
        key_accuracy=_share(all(k.lower() in r.lower() for k in i.keys) for i, r in keyed),
        refusal_correct=_share(
            refuses(r) != i.answerable for i, r in zip(items, replies, strict=True)
        ),
        questions=len(items),
    )


def ask(items: Sequence[HeldOut], complete: Callable[[list[dict[str, str]]], str]) -> list[str]:
    """`complete`'s reply (one model or adapter, greedy) to every item, in order."""
    return [complete([{"role": r, "content": c} for r, c in i.messages]) for i in items]


def evaluate(items: Sequence[HeldOut], complete: Callable[[list[dict[str, str]]], str]) -> Metrics:
    """Ask `complete` every item and score its replies."""
    return score(items, ask(items, complete))


def _share(flags: Iterable[bool]) -> float:
    values = list(flags)
    return sum(values) / len(values) if values else 0.0
