"""Grounding benchmark: prints figures, asserts nothing.

Per answer, the time quoting and checking add (goal: p50 <= 50 ms), model time excluded:
`pick_quotes` for the question plus `check_answer` for a model-like answer of 3-5
sentences, against the question's top 5 passages, with the real MiniLM embedder on one
torch thread (as queries run: see `OneThread`). Two figures:
- cold: nothing remembered between answers; every answer embeds its candidate sentences
  (the question's vector is the one search just computed, so it comes from its cache);
- warm: passage-sentence vectors embedded ahead (`passage_texts` into a
  `RememberingEmbedder`, as ingestion or a running process could), so an answer embeds
  only the model's sentences.

Passages: the chunks of tests/data/answers_corpus ranked by embedding similarity to the
question (retrieval's own ranking is benchmarked in retrieval_bench.py). The model-like
answer: two sentences of the best passage (one with a wrong [n]), a sentence with a
changed number, and an unrelated sentence, so both supported and dropped paths run.

Usage: python benchmarks/grounding_bench.py [--rounds 2] [--k 5]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.bootstrap import limit_blas_threads
from bot.domain.grounding import (
    RememberingEmbedder,
    SentenceEmbedder,
    check_answer,
    passage_texts,
    pick_quotes,
)
from bot.domain.sentences import split_units
from retrieval.chunking import chunk_document
from retrieval.embedding import Embedder, resolve_embedding_path
from retrieval.parse import parse

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "answers_corpus"
QA = ROOT / "tests" / "data" / "qa" / "answers.jsonl"


@dataclass(frozen=True)
class Passage:
    source: str
    section: str
    text: str


def load_passages() -> list[Passage]:
    out = []
    for path in sorted(CORPUS.iterdir()):
        doc = parse(path.name, path.read_bytes())
        out += [Passage(path.name, c.section, c.text) for c in chunk_document(doc)]
    return out


def model_like_answer(passage: Passage) -> str:
    """Sentences a model might write: two of the passage's, reworded just enough (case and
    punctuation) that their vectors are not the passage's, one with a changed number, and
    one the passage does not back."""
    prose = [u for u in split_units(passage.text) if len(u.split()) > 4][:2]
    reworded = [p[0].lower() + p[1:].rstrip(".") + "." for p in prose if p]
    changed = re.sub(r"\d+", lambda m: str(int(m.group()) + 7), prose[0]) if prose else ""
    first = [f"{reworded[0]} [3]"] if reworded else []
    return " ".join([*first, *reworded[1:], changed, "Ask your manager if unsure."]).strip()


class OneThread:
    """Embeds on one torch thread, as queries do (retrieval/embedding.py): on two busy
    cores a batch of six sentences took ~100 ms on one thread and 1.5-1.8 s on two."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner

    def embed(self, texts: list[str]) -> np.ndarray:
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self.inner.embed(texts)
        finally:
            torch.set_num_threads(threads)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def timed(
    cases, embedder: SentenceEmbedder, rounds: int
) -> tuple[dict[str, list[float]], int, int]:
    times: dict[str, list[float]] = {"quotes": [], "check": [], "total": []}
    supported = sentences = 0
    for _ in range(rounds):
        for question, found, answer in cases:
            start = time.perf_counter()
            pick_quotes(question, found, embedder)
            middle = time.perf_counter()
            verdicts = check_answer(answer, found, embedder)
            end = time.perf_counter()
            times["quotes"].append(1000 * (middle - start))
            times["check"].append(1000 * (end - middle))
            times["total"].append(1000 * (end - start))
            supported += sum(v.supported for v in verdicts)
            sentences += len(verdicts)
    return times, supported, sentences


def report(label: str, times: dict[str, list[float]]) -> None:
    for name, values in times.items():
        p50, p95 = percentile(values, 50), percentile(values, 95)
        mean = statistics.fmean(values)
        print(f"{label:>5} {name:>6}: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  mean {mean:6.1f} ms")


def quote_keys(cases, embedder: SentenceEmbedder) -> None:
    """How often the quotes alone (the answer when no model sentence survives) contain every
    key string of an answerable question: a figure, never a tuning target."""
    items = [json.loads(line) for line in QA.read_text().splitlines() if line]
    by_type: dict[str, list[bool]] = {}
    for item, (question, found, _) in zip(items, cases, strict=True):
        if item["type"] == "not-in-material":
            continue
        shown = " ".join(q.text for q in pick_quotes(question, found, embedder)).lower()
        hit = all(key.lower() in shown for key in item["must_contain"])
        by_type.setdefault(item["type"], []).append(hit)
    every = [hit for hits in by_type.values() for hit in hits]
    parts = ", ".join(f"{t} {sum(h)}/{len(h)}" for t, h in sorted(by_type.items()))
    print(f"key strings in the quotes alone: {sum(every)}/{len(every)} ({parts})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    limit_blas_threads()  # as every LearnLoop process does (bot.bootstrap)
    embedder = Embedder(resolve_embedding_path(""))
    passages = load_passages()
    vectors = embedder.embed([p.text for p in passages])
    questions = [json.loads(line)["question"] for line in QA.read_text().splitlines() if line]
    cases = []
    for question in questions:
        top = np.argsort(-(vectors @ embedder.embed_query(question)))[: args.k]
        found = [passages[i] for i in top]
        cases.append((question, found, model_like_answer(found[0])))
    one_thread = OneThread(embedder)
    for question, found, answer in cases[:5]:  # warm-up: first-call costs are not per answer
        pick_quotes(question, found, one_thread)
        check_answer(answer, found, one_thread)
    cold, supported, sentences = timed(cases, one_thread, args.rounds)
    remembering = RememberingEmbedder(one_thread, size=100_000, learn=False)
    remembering.warm(passage_texts(passages))
    warm, _, _ = timed(cases, remembering, args.rounds)
    print(f"answers timed: {len(cold['total'])} ({len(cases)} questions x {args.rounds} rounds)")
    print(f"passages per answer: {args.k}; torch threads for grounding: 1")
    print(f"answer sentences kept: {supported}/{sentences}")
    quote_keys(cases, one_thread)
    report("cold", cold)
    report("warm", warm)
    print("goal: total p50 <= 50 ms")


if __name__ == "__main__":
    main()
