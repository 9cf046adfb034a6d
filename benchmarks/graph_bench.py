"""Knowledge-graph benchmark: prints figures, asserts nothing.

1. Quality, before/after in the same run (graph ranking off, then on, over one index):
   hit@5 and, for questions whose answer spans pages, all pages in the top 5.
   Calibration (tuned on): tests/data/qa/calibration.jsonl over the git manual, where a
   question with several `source` pages counts when every page has a passage in the top 5.
   Held out (never tuned on): tests/data/qa/answers.jsonl over tests/data/answers_corpus
   (its two-page questions: every page's evidence in the top 5) and heldout.jsonl.
2. Ingest cost: graph extraction plus concept embeddings as a share of ingestion.
3. Search p50 with and without the graph at --chunks synthetic chunks: the synthetic
   index's documents get the graphs the extractor builds from the real chunks they copy.

Usage: python benchmarks/graph_bench.py [--index DIR] [--chunks 20000] [--queries 200]
                                        [--quality-only | --search-only | --tune]
--tune scores a grid of the graph ranking's settings on the calibration questions only.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.bootstrap import build_retrieval_from, limit_blas_threads
from bot.domain.scoring import evidence_found
from retrieval.chunking import chunk_document, split_pieces
from retrieval.embedding import Embedder, resolve_embedding_path
from retrieval.graph.extract import StructuralExtractor
from retrieval.graph.model import Concept, DocumentGraph, concept_text
from retrieval.parse import parse
from retrieval.store import document_id
from retrieval.types import Chunk, DocumentRecord, Piece

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


def ingest(embedder: Embedder, folder: Path, where: Path) -> tuple[object, float, float]:
    rt = build_retrieval_from(embedder, path=where)
    rt.ingestor.graph = StructuralExtractor()
    start = time.perf_counter()
    rt.ingestor.ingest_paths(sorted(folder.iterdir()))
    return rt, time.perf_counter() - start, rt.ingestor.graph_seconds


def score(rt, qa: Path, graph: bool) -> dict[str, float]:
    rt.searcher.graph_search = graph
    hits = multi = multi_ok = answerable = 0
    for line in qa.open():
        item = json.loads(line)
        if not item.get("source"):
            continue
        answerable += 1
        passages = rt.searcher.search(item["question"], k=5).passages
        texts = [p.text for p in passages]
        hits += evidence_found(item["evidence"], texts)
        pages = item.get("pages")
        if pages:
            multi += 1
            multi_ok += all(evidence_found(p["evidence"], texts) for p in pages)
        elif len(item["source"]) > 1:
            multi += 1
            found = {Path(p.source).name for p in passages}
            multi_ok += all(s in found for s in item["source"])
    return {
        "hit@5": hits / answerable,
        "all pages@5": multi_ok / multi if multi else float("nan"),
        "n": answerable,
        "multi": multi,
    }


def bench_quality(embedder: Embedder, index: Path) -> None:
    for name, folder, files in (
        ("calibration (git manual)", DATA / "corpus", ["calibration.jsonl"]),
        ("held out: answers corpus", DATA / "answers_corpus", ["answers.jsonl"]),
        ("held out: git manual", DATA / "corpus", ["heldout.jsonl"]),
    ):
        rt, seconds, graph_seconds = ingest(embedder, folder, index / folder.name)
        if seconds > 1:  # a fresh ingest, not an index from an earlier run
            concepts = [
                concept_text(c) for c in _graphs(sorted(folder.iterdir())) for c in c.concepts
            ]
            start = time.perf_counter()
            embedder.embed(concepts)
            embed_s = time.perf_counter() - start
            print(
                f"{folder.name}: ingest {seconds:.1f} s, graph extraction {graph_seconds:.1f} s,"
                f" {len(concepts)} concept embeddings {embed_s:.1f} s: graph share "
                f"{(graph_seconds + embed_s) / seconds:.1%} of ingestion (goal <= 25%)"
            )
        for file in files:
            before = score(rt, DATA / "qa" / file, graph=False)
            after = score(rt, DATA / "qa" / file, graph=True)
            print(f"{name} ({file}, {before['n']} answerable, {before['multi']} multi-page)")
            for key in ("hit@5", "all pages@5"):
                print(f"  {key:12} before {before[key]:.3f}  after {after[key]:.3f}")


def tune(embedder: Embedder, index: Path) -> None:
    """The graph ranking's settings (retrieval/search.py GRAPH_*) on the calibration
    questions only: the held-out sets are never scored here."""
    import itertools

    import retrieval.search as search

    rt, _, _ = ingest(embedder, DATA / "corpus", index / "corpus")
    qa = DATA / "qa" / "calibration.jsonl"
    before = score(rt, qa, graph=False)
    print(
        f"calibration without graph: hit@5 {before['hit@5']:.3f}  "
        f"all pages@5 {before['all pages@5']:.3f} ({before['multi']} multi-page)"
    )
    grid = itertools.product((0.3, 0.6, 1.0), (0, 1, 3), (0.5, 1.0, 2.0), (True, False))
    for weight, passages, passage_seed, other in grid:
        if passages == 0 and passage_seed != 1.0:
            continue
        search.GRAPH_WEIGHT, search.GRAPH_SEED_PASSAGES = weight, passages
        search.GRAPH_PASSAGE_SEED, search.GRAPH_OTHER_PAGES = passage_seed, other
        after = score(rt, qa, graph=True)
        print(
            f"  weight {weight} seed passages {passages} x{passage_seed} other pages "
            f"{other!s:5}: hit@5 {after['hit@5']:.3f}  all pages@5 "
            f"{after['all pages@5']:.3f}",
            flush=True,
        )


def _graphs(files: list[Path]) -> list[DocumentGraph]:
    ex = StructuralExtractor()
    out = []
    for path in files:
        doc = parse(path.name, path.read_bytes())
        out.append(ex.extract(doc, chunk_document(doc)))
    return out


def bench_search(embedder: Embedder, n_chunks: int, n_queries: int) -> None:
    """The retrieval bench's synthetic index, each copied chunk bringing the concepts its
    original mentions (names, descriptions, relations; vectors jittered like the chunks')."""
    rng = np.random.default_rng(7)
    random.seed(7)
    base: list[Chunk] = []
    base_concepts: list[list[Concept]] = []
    relations = []
    ex = StructuralExtractor()
    for path in sorted((DATA / "corpus").glob("*.html")):
        doc = parse(path.name, path.read_bytes())
        chunks = chunk_document(doc)
        graph = ex.extract(doc, chunks)
        by_chunk: list[list[Concept]] = [[] for _ in chunks]
        for c in graph.concepts:
            for i in c.mentions:
                by_chunk[i].append(c)
        base += chunks
        base_concepts += by_chunk
        relations += list(graph.relations)
    base_vecs = embedder.embed([c.text for c in base])
    base_pieces = [[p.text for p in split_pieces([c])] for c in base]
    piece_vecs = embedder.embed([t for texts in base_pieces for t in texts])
    first_piece = np.cumsum([0] + [len(texts) for texts in base_pieces])
    names = sorted({c.key: c for cs in base_concepts for c in cs}.values(), key=lambda c: c.key)
    name_vecs = dict(
        zip([c.key for c in names], embedder.embed([concept_text(c) for c in names]), strict=True)
    )
    words = " ".join(c.text for c in base).split()
    questions = [
        json.loads(line)["question"]
        for f in (DATA / "qa").glob("*.jsonl")
        for line in f.open()
        if "question" in line
    ]
    with tempfile.TemporaryDirectory() as tmp:
        rt = build_retrieval_from(embedder, path=Path(tmp) / "chroma")
        per_doc = 100
        for d in range(n_chunks // per_doc):
            picks = rng.integers(0, len(base), per_doc)
            chunks = [
                Chunk(i, base[p].section, base[p].text + " " + " ".join(random.sample(words, 12)))
                for i, p in enumerate(picks)
            ]
            pieces = [Piece(i, text) for i, p in enumerate(picks) for text in base_pieces[p]]
            pvecs = np.vstack([piece_vecs[first_piece[p] : first_piece[p + 1]] for p in picks])
            mentions: dict[str, list[int]] = {}
            concepts: dict[str, Concept] = {}
            for i, p in enumerate(picks):
                for c in base_concepts[p]:
                    mentions.setdefault(c.key, []).append(i)
                    concepts[c.key] = c
            graph = DocumentGraph(
                tuple(
                    Concept(c.key, c.name, c.kind, c.description, c.aliases, tuple(mentions[k]))
                    for k, c in concepts.items()
                ),
                tuple(r for r in relations if r.source in concepts and r.target in concepts),
            )
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
            rt.store.publish(
                record,
                chunks,
                _jitter(rng, base_vecs[picks]),
                pieces,
                _jitter(rng, pvecs),
                graph=graph,
                concept_embeddings=_jitter(
                    rng,
                    np.vstack([name_vecs[k] for k in concepts]) if concepts else np.zeros((0, 384)),
                ),
            )
        start = time.perf_counter()
        snap = rt.searcher.snapshot()
        print(
            f"search: {len(snap.rows)} chunks, {snap.graph.n_concepts} concepts, "
            f"{len(snap.graph.entries)} concept entries, {len(snap.graph._src)} edges; "
            f"snapshot with graph {time.perf_counter() - start:.1f} s"
        )
        for audiences in (("everyone",),):
            rt.searcher.search("warm up", k=5, audiences=audiences)
        timings: dict[bool, list[float]] = {False: [], True: []}
        for i in range(n_queries):
            q = questions[i % len(questions)]
            for graph_on in (False, True):  # interleaved: both see the same machine load
                rt.searcher.graph_search = graph_on
                embedder.clear_query_cache()
                t0 = time.perf_counter()
                rt.searcher.search(q, k=5)
                timings[graph_on].append((time.perf_counter() - t0) * 1000)
        off, on = np.median(timings[False]), np.median(timings[True])
        print(
            f"  {n_queries} queries, k=5, no cached query vectors: p50 without graph "
            f"{off:.1f} ms, with graph {on:.1f} ms: +{on - off:.1f} ms (goal <= +5 ms); "
            f"p95 {np.percentile(timings[False], 95):.1f} / {np.percentile(timings[True], 95):.1f}"
        )


def _jitter(rng: np.random.Generator, vectors: np.ndarray) -> np.ndarray:
    out = vectors + rng.normal(0, 0.02, vectors.shape)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return (out / np.where(norms == 0, 1, norms)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--index", type=Path, help="keep the ingested indexes here (reruns reuse them)"
    )
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=200)
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--quality-only", action="store_true")
    only.add_argument("--search-only", action="store_true")
    only.add_argument("--tune", action="store_true", help="calibration grid of GRAPH_*")
    args = parser.parse_args()
    limit_blas_threads()
    embedder = Embedder(resolve_embedding_path(""))
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}")
    if args.tune:
        with tempfile.TemporaryDirectory() as tmp:
            tune(embedder, args.index or Path(tmp))
        return
    if not args.search_only:
        if args.index:
            bench_quality(embedder, args.index)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                bench_quality(embedder, Path(tmp))
    if not args.quality_only:
        bench_search(embedder, args.chunks, args.queries)
    print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}")


if __name__ == "__main__":
    main()
