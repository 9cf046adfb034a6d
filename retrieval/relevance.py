"""Does the material answer this question at all? A decision from two signals.

Neither signal works alone: near-topic questions score cosine similarities like
answerable ones, and a missing word may be a synonym. Together they separate well:
a strong match is trusted outright; a fair match is trusted only when every topic word
of the question occurs somewhere in the material the reader may see.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.types import RelevanceSignals


@dataclass(frozen=True)
class RelevancePolicy:
    strong_similarity: float = 0.62
    min_similarity: float = 0.40
    max_missing_ratio: float = 0.0


def is_relevant(signals: RelevanceSignals, policy: RelevancePolicy) -> bool:
    if signals.top_similarity >= policy.strong_similarity:
        return True
    return (
        signals.top_similarity >= policy.min_similarity
        and signals.missing_ratio <= policy.max_missing_ratio
    )
