"""Retrieval benchmark: prints figures, asserts nothing.

1. Ingest throughput of the whole pipeline (parse, chunk, embed, write to Chroma)
   against raw `SentenceTransformer.encode`, measured in the same run, of exactly the
   texts the pipeline embeds (goal: ratio >= 0.8) and of the chunks alone (what a
   pipeline without piece vectors would embed).
2. Hybrid search latency (query embedding, exact cosine similarity, BM25, fusion,
   relevance) over a 20,000-chunk synthetic index (goal: p50 < 30 ms). Every timed search
   embeds its query: the query-vector cache is emptied before each one.

Usage: python benchmarks/retrieval_bench.py [--docs N] [--chunks 20000] [--queries 200]
                                           [--search-only | --ingest-only]
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
from retrieval.chunking import chunk_document, split_pieces
from retrieval.embedding import Embedder, resolve_embedding_path
from retrieval.ingest import _context, embedded_texts
from retrieval.parse import parse
from retrieval.store import document_id
from retrieval.types import Chunk, DocumentRecord, Piece

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "corpus"
QA = ROOT / "tests" / "data" / "qa"


def bench_ingest(embedder: Embedder, files: list[Path]) -> None:
    texts: list[str] = []  # exactly what the pipeline embeds: chunks, then their pieces
    chunk_texts: list[str] = []  # the chunks alone, as a chunk-only pipeline would embed
    for path in files:
        doc = parse(path.name, path.read_bytes())
        chunks = chunk_document(doc)
        embedded = embedded_texts(doc.title, _context(doc), chunks, split_pieces(chunks))
        texts += embedded
        chunk_texts += embedded[: len(chunks)]
    embedder.embed(texts[:16])  # warm up

    def encode(batch: list[str]) -> float:
        start = time.perf_counter()
        embedder.model.encode(batch, batch_size=embedder.batch_size, normalize_embeddings=True)
        return time.perf_counter() - start

    raw_all = encode(texts)
    raw_chunks = encode(chunk_texts)
    with tempfile.TemporaryDirectory() as tmp:
        rt = build_retrieval_from(embedder, path=Path(tmp) / "chroma")
        start = time.perf_counter()
        reports = rt.ingestor.ingest_paths(files)
        pipeline = time.perf_counter() - start
    chunks = sum(r.chunks for r in reports)
    assert chunks == len(chunk_texts), (chunks, len(chunk_texts))
    print(f"ingest: {len(files)} documents, {chunks} chunks ({len(texts)} texts with pieces)")
    for label, seconds in (
        ("raw encode, chunks and pieces", raw_all),
        ("raw encode, chunks alone", raw_chunks),
        ("learnloop ingest pipeline", pipeline),
    ):
        print(f"  {label:30} {seconds:7.2f} s  {chunks / seconds:7.1f} chunks/s")
    print(
        f"  ratio against encoding the same texts: {raw_all / pipeline:.3f}   (goal >= 0.8; "
        "what parsing, chunking and Chroma writes cost)"
    )
    print(
        f"  ratio against encoding the chunks alone: {raw_chunks / pipeline:.3f}   "
        "(also the price of piece vectors, which lift hit@5)"
    )


def bench_search(embedder: Embedder, n_chunks: int, n_queries: int) -> None:
    rng = np.random.default_rng(7)
    random.seed(7)
    # Realistic texts and vectors without embedding 20k chunks (which takes ~30 min on
    # two cores): real corpus chunks, each copied with jittered text and a vector near
    # its real embedding, so both the BM25 vocabulary and the ANN geometry look real.
    # Each copy keeps its original's pieces, with jittered vectors too.
    base: list[Chunk] = []
    for path in sorted(CORPUS.glob("*.html")):
        base += chunk_document(parse(path.name, path.read_bytes()))
    base_vecs = embedder.embed([c.text for c in base])
    base_pieces = [[p.text for p in split_pieces([c])] for c in base]
    piece_vecs = embedder.embed([t for texts in base_pieces for t in texts])
    first_piece = np.cumsum([0] + [len(texts) for texts in base_pieces])
    words = " ".join(c.text for c in base).split()
    with tempfile.TemporaryDirectory() as tmp:
        rt = build_retrieval_from(embedder, path=Path(tmp) / "chroma")
        per_doc = 100

        def publish(d: int, version: str) -> None:
            picks = rng.integers(0, len(base), per_doc)
            chunks = [
                Chunk(i, base[p].section, base[p].text + " " + " ".join(random.sample(words, 12)))
                for i, p in enumerate(picks)
            ]
            vecs = jitter(rng, base_vecs[picks])
            pieces = [Piece(i, text) for i, p in enumerate(picks) for text in base_pieces[p]]
            pvecs = jitter(
                rng, np.vstack([piece_vecs[first_piece[p] : first_piece[p + 1]] for p in picks])
            )
            source = f"synthetic-{d:04d}.md"
            record = DocumentRecord(
                document_id(source),
                source,
                f"Synthetic {d}",
                version,
                ("everyone",),
                per_doc,
                "2026-01-01T00:00:00+00:00",
            )
            rt.store.publish(record, chunks, vecs, pieces, pvecs)

        start = time.perf_counter()
        for d in range(n_chunks // per_doc):
            publish(d, "v1")
        print(
            f"search: built a {rt.store.count()}-chunk index in {time.perf_counter() - start:.1f} s"
        )
        start = time.perf_counter()
        snap = rt.searcher.snapshot()
        print(f"  first snapshot (load every chunk, BM25): {time.perf_counter() - start:.2f} s")
        print(f"  {len(snap.piece_vectors)} pieces under those chunks")
        publish(0, "v2")  # one document changes, as an ingest does
        start = time.perf_counter()
        rt.searcher.snapshot()
        print(
            f"  refresh after one {per_doc}-chunk document changed: "
            f"{time.perf_counter() - start:.2f} s (the next search waits for it)"
        )

        questions = [json.loads(line)["question"] for f in QA.glob("*.jsonl") for line in f.open()]
        # The questions repeat when there are fewer than --queries of them: the query-vector
        # cache is emptied before every timed call, so no search reuses an earlier embedding.
        embed_ms, total_ms = [], []
        for i in range(n_queries):
            q = questions[i % len(questions)]
            embedder.clear_query_cache()
            t0 = time.perf_counter()
            rt.searcher.search(q, k=5)  # everything: query embedding included
            t1 = time.perf_counter()
            embedder.clear_query_cache()
            embedder.embed_query(q)
            t2 = time.perf_counter()
            total_ms.append((t1 - t0) * 1000)
            embed_ms.append((t2 - t1) * 1000)
        p50, p95 = np.percentile(total_ms, [50, 95])
        print(
            f"  {n_queries} queries, k=5, no cached query vectors: "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms   (goal p50 < 30 ms)"
        )
        print(f"  of which query embedding alone: p50 {statistics.median(embed_ms):.1f} ms")


def jitter(rng: np.random.Generator, vectors: np.ndarray) -> np.ndarray:
    """Unit vectors near `vectors`."""
    out = vectors + rng.normal(0, 0.02, vectors.shape)
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=8, help="corpus documents to ingest")
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--search-only", action="store_true", help="skip the ingest benchmark")
    only.add_argument("--ingest-only", action="store_true", help="skip the search benchmark")
    args = parser.parse_args()
    limit_blas_threads()  # as every LearnLoop process does (bot.bootstrap)
    embedder = Embedder(resolve_embedding_path(""))
    if not args.search_only:
        bench_ingest(embedder, sorted(CORPUS.glob("*.html"))[: args.docs])
    if not args.ingest_only:
        bench_search(embedder, args.chunks, args.queries)


if __name__ == "__main__":
    main()
