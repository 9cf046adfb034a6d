"""Does the material answer this question at all? A decision from two signals.

Neither signal works alone: near-topic questions ("how do I open a pull request on
GitHub?" against Git's own manual) score cosine similarities like answerable ones, and a
word missing from the material may be a mere synonym ("typo", "teammate"). Together they
separate well: a strong match is trusted unless the question names something (GitHub,
Docker, VPN) the material never mentions; a fair match only when, besides, none of the
question's rare words is absent from the material.
"""

from __future__ import annotations

from dataclasses import dataclass

from retrieval.types import RelevanceSignals


@dataclass(frozen=True)
class RelevancePolicy:
    strong_similarity: float = 0.42
    min_similarity: float = 0.36
    max_rare_missing: int = 0


def is_relevant(signals: RelevanceSignals, policy: RelevancePolicy) -> bool:
    if signals.missing_names:
        return False
    if signals.top_similarity >= policy.strong_similarity:
        return True
    return (
        signals.top_similarity >= policy.min_similarity
        and len(signals.rare_terms) <= policy.max_rare_missing
    )
