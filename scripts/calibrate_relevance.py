"""Fit the relevance policy's thresholds on a calibration QA set.

Usage:
    learnloop eval tests/data/qa/calibration.jsonl --no-generate --json > cal.json
    python scripts/calibrate_relevance.py cal.json

Reads each item's signals (top similarity, rare missing words) and whether refusing was
expected, grid-searches (strong_similarity, min_similarity, max_rare_missing) for the best
balanced accuracy, preferring refusals that are never wrong on out-of-material questions,
and prints the LEARNLOOP_RELEVANCE_* settings to use. Check them on a held-out set.
"""

from __future__ import annotations

import json
import sys

from retrieval.relevance import RelevancePolicy, is_relevant
from retrieval.types import RelevanceSignals


def load(path: str) -> list[tuple[RelevanceSignals, bool]]:
    report = json.loads(open(path, encoding="utf-8").read())
    out = []
    for item in report["items"]:
        sig = item["signals"]
        signals = RelevanceSignals(
            top_similarity=sig["top_similarity"],
            content_terms=(),
            missing_terms=tuple(sig["missing_terms"]),
            rare_terms=tuple(sig["rare_terms"]),
            missing_names=tuple(sig["missing_names"]),
        )
        out.append((signals, not item["expected_refusal"]))
    return out


def score(
    policy: RelevancePolicy, data: list[tuple[RelevanceSignals, bool]]
) -> tuple[float, float, float]:
    pos = [is_relevant(s, policy) for s, want in data if want]
    neg = [not is_relevant(s, policy) for s, want in data if not want]
    tpr = sum(pos) / len(pos) if pos else 1.0
    tnr = sum(neg) / len(neg) if neg else 1.0
    return (tnr + tpr) / 2, tnr, tpr


def main(path: str) -> None:
    data = load(path)
    steps = [round(0.30 + 0.01 * i, 2) for i in range(51)]
    results = {
        RelevancePolicy(strong, low, rare): score(RelevancePolicy(strong, low, rare), data)
        for low in steps
        for strong in steps
        if strong >= low
        for rare in (0, 1)
    }
    # Best balanced accuracy among policies that refuse every out-of-material question
    # (if any do), then the middle of that optimal region rather than its edge.
    safe = {p: r for p, r in results.items() if r[1] == 1.0} or results
    top = max(r[0] for r in safe.values())
    optimal = [p for p, r in safe.items() if r[0] == top]
    rare = min(p.max_rare_missing for p in optimal)
    lows = sorted({p.min_similarity for p in optimal if p.max_rare_missing == rare})
    low = lows[len(lows) // 2]
    strongs = sorted(
        p.strong_similarity
        for p in optimal
        if p.max_rare_missing == rare and p.min_similarity == low
    )
    policy = RelevancePolicy(strongs[len(strongs) // 2], low, rare)
    balanced, tnr, tpr = results[policy]
    print(f"optimal region: min {lows[0]}..{lows[-1]}, strong {strongs[0]}..{strongs[-1]}")
    print(
        f"balanced accuracy {balanced:.3f} "
        f"(out-of-material refused {tnr:.3f}, answerable accepted {tpr:.3f})"
    )
    print(f"LEARNLOOP_RELEVANCE_STRONG={policy.strong_similarity}")
    print(f"LEARNLOOP_RELEVANCE_MIN={policy.min_similarity}")
    print(f"LEARNLOOP_RELEVANCE_MAX_RARE_MISSING={policy.max_rare_missing}")


if __name__ == "__main__":
    main(sys.argv[1])
