"""Retrieval benchmark: prints figures, asserts nothing.

1. Ingest throughput of the whole pipeline (parse, chunk, embed, write to Chroma)
   against raw `SentenceTransformer.encode` of exactly the texts the pipeline embeds,
   measured in the same run (goal: ratio >= 0.8).
2. Hybrid search latency (query embedding, Chroma ANN, BM25, fusion, relevance) over a
   20,000-chunk synthetic index (goal: p50 < 30 ms).

Usage: python benchmarks/retrieval_bench.py [--docs N] [--chunks 20000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.bootstrap import build_retrieval_from, limit_blas_threads
from retrieval.chunking import chunk_document
from retrieval.embedding import Embedder, resolve_embedding_path
from retrieval.ingest import _context
from retrieval.parse import parse
from retrieval.store import document_id
from retrieval.types import Chunk, DocumentRecord

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
QA = ROOT / "tests" / "data" / "qa"


def bench_ingest(embedder: Embedder, files: list[Path]) -> None:
    texts = []
    for path in files:
        doc = parse(path.name, path.read_bytes())
        context = _context(doc)
        texts += [f"{context}\n{c.section}\n{c.text}" for c in chunk_document(doc)]
    embedder.embed(texts[:16])  # warm up

    start = time.perf_counter()
    embedder.model.encode(texts, batch_size=embedder.batch_size, normalize_embeddings=True)
    raw = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as tmp:
        rt = build_retrieval_from(embedder, path=Path(tmp) / "chroma")
        start = time.perf_counter()
        reports = rt.ingestor.ingest_paths(files)
        pipeline = time.perf_counter() - start
    chunks = sum(r.chunks for r in reports)
    assert chunks == len(texts), (chunks, len(texts))
    print(f"ingest: {len(files)} documents, {chunks} chunks")
    print(f"  raw SentenceTransformer.encode: {raw:7.2f} s  {chunks / raw:7.1f} chunks/s")
    print(f"  learnloop ingest pipeline:      {pipeline:7.2f} s  {chunks / pipeline:7.1f} chunks/s")
    print(f"  throughput ratio (pipeline / raw): {raw / pipeline:.3f}   (goal >= 0.8)")


def bench_search(embedder: Embedder, n_chunks: int, n_queries: int) -> None:
    rng = np.random.default_rng(7)
    random.seed(7)
    # Realistic texts and vectors without embedding 20k chunks (which takes ~30 min on
    # two cores): real corpus chunks, each copied with jittered text and a vector near
    # its real embedding, so both the BM25 vocabulary and the ANN geometry look real.
    base: list[Chunk] = []
    for path in sorted(CORPUS.glob("*.html")):
        base += chunk_document(parse(path.name, path.read_bytes()))
    base_vecs = embedder.embed([c.text for c in base])
    words = " ".join(c.text for c in base).split()
    with tempfile.TemporaryDirectory() as tmp:
        rt = build_retrieval_from(embedder, path=Path(tmp) / "chroma")
        per_doc = 100
        start = time.perf_counter()
        for d in range(n_chunks // per_doc):
            picks = rng.integers(0, len(base), per_doc)
            chunks = [
                Chunk(i, base[p].section, base[p].text + " " + " ".join(random.sample(words, 12)))
                for i, p in enumerate(picks)
            ]
            vecs = base_vecs[picks] + rng.normal(0, 0.02, (per_doc, base_vecs.shape[1]))
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            source = f"synthetic-{d:04d}.md"
            record = DocumentRecord(
                document_id(source),
                source,
                f"Synthetic {d}",
                "v1",
                ("everyone",),
                per_doc,
                "2026-01-01T00:00:00+00:00",
            )
            rt.store.publish(record, chunks, vecs.astype(np.float32))
        print(
            f"search: built a {rt.store.count()}-chunk index in {time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        rt.searcher.snapshot()
        print(f"  keyword index (first search after a change): {time.perf_counter() - start:.2f} s")

        questions = [json.loads(line)["question"] for f in QA.glob("*.jsonl") for line in f.open()]
        embed_ms, total_ms = [], []
        for i in range(n_queries):
            q = questions[i % len(questions)]
            t0 = time.perf_counter()
            embedder.embed_query(q)
            t1 = time.perf_counter()
            rt.searcher.search(q, k=5)
            t2 = time.perf_counter()
            embed_ms.append((t1 - t0) * 1000)
            total_ms.append((t2 - t1) * 1000)
        p50, p95 = np.percentile(total_ms, [50, 95])
        print(
            f"  {n_queries} queries, k=5: p50 {p50:.1f} ms, p95 {p95:.1f} ms   (goal p50 < 30 ms)"
        )
        print(f"  of which query embedding alone: p50 {statistics.median(embed_ms):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=8, help="corpus documents to ingest")
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    limit_blas_threads()  # as every LearnLoop process does (bot.bootstrap)
    embedder = Embedder(resolve_embedding_path(""))
    files = sorted(CORPUS.glob("*.html"))[: args.docs]
    bench_ingest(embedder, files)
    bench_search(embedder, args.chunks, args.queries)


if __name__ == "__main__":
    main()
