"""Fit the sentence checker's thresholds on tests/data/qa/grounding_calibration.jsonl.

Usage:
    python scripts/calibrate_grounding.py [tests/data/qa/grounding_calibration.jsonl]

Each line holds passages from tests/data/corpus and model-like sentences labelled
supported or not. The checker runs once per sentence with every threshold pair on a grid
(the embeddings are computed once); the pair kept has the best recall among those whose
precision is at least 0.95 (a wrong sentence shown as backed costs more trust than a right
one dropped), then the best F1, then the middle of the tied region. It prints the chosen
GroundingPolicy and precision/recall, overall and per kind of sentence.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.domain.grounding import GroundingPolicy, check_sentences
from retrieval.embedding import Embedder, resolve_embedding_path

DEFAULT = Path(__file__).resolve().parent.parent / "tests/data/qa/grounding_calibration.jsonl"
# Issue 18 asks for precision >= 0.9 on independent labels: aim higher here, since a
# threshold fitted on 52 sentences loses some of its precision on new material.
TARGET_PRECISION = 0.95


@dataclass(frozen=True)
class Passage:
    source: str
    section: str
    text: str


class CachedEmbedder:
    """The real embedder, each text embedded once across the whole grid search."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.cache: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            self.cache.update(zip(todo, self.inner.embed(todo), strict=True))
        return np.stack([self.cache[t] for t in texts])


def load(path: Path) -> list[tuple[list[Passage], str, bool, str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        group = json.loads(line)
        passages = [Passage(p["source"], p["section"], p["text"]) for p in group["passages"]]
        for s in group["sentences"]:
            rows.append((passages, s["text"], bool(s["supported"]), s.get("kind", "")))
    return rows


def evaluate(rows, embedder, policy: GroundingPolicy) -> list[bool]:
    return [check_sentences([text], ps, embedder, policy)[0].supported for ps, text, _, _ in rows]


def precision_recall(predicted: list[bool], wanted: list[bool]) -> tuple[float, float]:
    tp = sum(p and w for p, w in zip(predicted, wanted, strict=True))
    shown = sum(predicted)
    return (tp / shown if shown else 1.0), (tp / sum(wanted) if any(wanted) else 1.0)


def main(path: Path) -> None:
    rows = load(path)
    embedder = CachedEmbedder(Embedder(resolve_embedding_path("")))
    wanted = [w for _, _, w, _ in rows]
    grid = {}
    for overlap in np.arange(0.3, 0.85, 0.05):
        for similarity in np.arange(0.4, 0.85, 0.05):
            policy = GroundingPolicy(round(float(overlap), 2), round(float(similarity), 2))
            grid[policy] = precision_recall(evaluate(rows, embedder, policy), wanted)
    safe = {p: r for p, r in grid.items() if r[0] >= TARGET_PRECISION} or grid
    best_recall = max(r[1] for r in safe.values())
    tied = sorted(
        (p for p, r in safe.items() if r[1] == best_recall),
        key=lambda p: (p.min_overlap, p.min_similarity),
    )
    chosen = tied[len(tied) // 2]
    start = time.perf_counter()
    predicted = evaluate(rows, embedder, chosen)
    elapsed = time.perf_counter() - start
    precision, recall = precision_recall(predicted, wanted)
    print(f"sentences: {len(rows)} ({sum(wanted)} supported) from {path.name}")
    print("best recall at each precision (overlap, similarity):")
    for floor in (1.0, 0.95, 0.9, 0.85, 0.8):
        ok = {p: r for p, r in grid.items() if r[0] >= floor}
        if ok:
            p, r = max(ok.items(), key=lambda kv: (kv[1][1], kv[1][0]))
            at = f"({p.min_overlap}, {p.min_similarity})"
            print(f"  precision>={floor:.2f}: recall {r[1]:.3f} at {at}")
    print(f"chosen: min_overlap={chosen.min_overlap} min_similarity={chosen.min_similarity}")
    print(f"precision={precision:.3f} recall={recall:.3f} (tied pairs: {len(tied)})")
    kinds = sorted({k for _, _, _, k in rows})
    for kind in kinds:
        picked = [(p, w) for (_, _, w, k), p in zip(rows, predicted, strict=True) if k == kind]
        right = sum(p == w for p, w in picked)
        print(f"  {kind:<14} {right}/{len(picked)} judged as labelled")
    for (_, text, want, kind), got in zip(rows, predicted, strict=True):
        if got != want:
            print(f"  wrong ({kind}, labelled {'supported' if want else 'unsupported'}): {text}")
    print(f"checking time: {1000 * elapsed / len(rows):.1f} ms a sentence (embeddings cached)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
