"""Hybrid search: vector similarity fused with BM25, audience-filtered, with a verdict."""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from retrieval.embedding import TextEmbedder
from retrieval.errors import IndexUnavailable
from retrieval.keyword import (
    compounds,
    contains_phrase,
    content_terms,
    name_phrases,
    named_terms,
    tokenize,
    top_scores,
    word_forms,
)
from retrieval.relevance import RelevancePolicy, is_relevant
from retrieval.snapshot import Row, Snapshot
from retrieval.store import ChunkStore, writes_in_process
from retrieval.types import SECTION_SEPARATOR, Passage, RelevanceSignals, SearchResult

log = logging.getLogger(__name__)

# Reciprocal-rank-fusion constant. Below the usual 60: only a handful of passages are
# returned, and a chunk one signal ranks first should beat one that every signal ranks
# middling (calibration hit@5: 0.93-0.95 for 10 to 40, 0.89 for 60).
RRF_K = 20
# The knowledge graph's ranking (personalized PageRank, HippoRAG-style): seeded by the
# concepts the question names and by the passages the other rankings put first, it ranks
# the chunks of *other* pages that those concepts and passages lead to, where the second
# page of a two-page question is. Tuned on the calibration questions
# (benchmarks/graph_bench.py --tune); held-out figures in the README.
GRAPH_DEPTH = 10  # how many chunks the graph's ranking contributes to the fusion
GRAPH_WEIGHT = 0.3  # the weight of its reciprocal ranks against the other rankings' 1.0
GRAPH_SEED_PASSAGES = 3  # the fused ranking's first passages that seed the walk ...
GRAPH_PASSAGE_SEED = 1.0  # ... and their weight against the question's concepts'
GRAPH_OTHER_PAGES = True  # rank only chunks of pages the seed passages are not from


class HybridSearcher:
    """Searches this process's snapshot of the index, kept in step with Chroma.

    Freshness contract: a change made in this process (any `ChunkStore` of it) is seen by
    the very next search; a change made by another process is seen by every search that
    starts more than `check_interval` seconds after that change finished. Reading the
    catalog's generation token is a Chroma round trip (an HTTP request to a server), so it
    is read at most once per `check_interval`, not on every search; 0 reads it every time.
    """

    def __init__(
        self,
        store: ChunkStore,
        embedder: TextEmbedder,
        policy: RelevancePolicy | None = None,
        common_words: frozenset[str] | Callable[[], frozenset[str]] = frozenset(),
        check_interval: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        graph_search: bool = True,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.policy = policy or RelevancePolicy()
        # Words common enough to be mere phrasing when absent from the material; a callable
        # (the embedder's vocabulary) is read on the first search, so a command that never
        # searches never loads the embedding model
        self._common_words = common_words
        self.check_interval = check_interval
        self._clock = clock
        # personalized PageRank over the knowledge graph as one more ranking (when the
        # index has a graph: documents ingested with a graph extractor)
        self.graph_search = graph_search
        self._snapshot: Snapshot | None = None
        self._checked_at = -float("inf")
        self._checked_writes = -1
        self._lock = threading.Lock()

    @property
    def common_words(self) -> frozenset[str]:
        if callable(self._common_words):
            self._common_words = self._common_words()
        return self._common_words

    def _common(self, word: str) -> bool:
        """A word of everyday English (or a compound of such words, like "half-finished")."""
        parts = [p for p in word.split("-") if p]
        return bool(parts) and all(
            p in self.common_words or p.removesuffix("s") in self.common_words for p in parts
        )

    def snapshot(self) -> Snapshot:
        """The current snapshot, refreshed when any process changed the catalog (see the
        class's freshness contract)."""
        import httpx  # Chroma's client errors, translated here (imported with Chroma)
        from chromadb.errors import ChromaError

        with self._lock:
            # The write count is read before the generation: a write finishing in between
            # changes the count, so the next search checks again.
            writes = writes_in_process()
            now = self._clock()
            if (
                self._snapshot is not None
                and writes == self._checked_writes
                and now - self._checked_at < self.check_interval
            ):
                return self._snapshot
            try:
                generation = self.store.generation()
                self._checked_at, self._checked_writes = now, writes
                if self._snapshot is None or self._snapshot.generation != generation:
                    started = time.perf_counter()
                    self._snapshot = Snapshot(generation, self.store, self._snapshot)
                    log.info(
                        "snapshot refreshed: %d chunks, %d documents reloaded, in %.0f ms",
                        len(self._snapshot.rows),
                        len(self._snapshot.reloaded),
                        (time.perf_counter() - started) * 1000,
                    )
            except (httpx.HTTPError, ChromaError) as exc:  # down, or past the deadline
                raise IndexUnavailable(f"the Chroma index did not answer: {exc}") from exc
            return self._snapshot

    @property
    def loaded(self) -> bool:
        """Whether a snapshot is in memory (the first search need not build one)."""
        return self._snapshot is not None

    def warm(self) -> None:
        """Load the embedding model and the snapshot before the first question needs them
        (at 20k chunks the first snapshot takes ~13 s); failures are left to that question,
        which reports them to the asker."""
        started = time.perf_counter()
        try:
            self.embedder.embed_query("warm up")
            self.snapshot()
        except Exception as exc:  # the index may not be reachable yet
            log.warning("search warm-up failed: %s", exc)
            return
        log.info("search warmed in %.2fs", time.perf_counter() - started)

    def search(
        self, query: str, k: int = 5, audiences: Sequence[str] | None = ("everyone",)
    ) -> SearchResult:
        """Top `k` passages visible to `audiences` (None: all material, for admin tools)."""
        snap = self.snapshot()
        query_vec = self.embedder.embed_query(query)
        fetch = max(8 * k, 40)
        visible = snap.keywords.mask(audiences)

        # Audience filtering happens inside every ranking: rows a reader may not see are
        # masked before anything is ranked, so they can neither appear nor crowd out others.
        vector_hits = snap.nearest(query_vec, fetch, visible)
        bm25 = snap.keywords.scores(query, visible)  # scored once, for two rankings below
        keyword_hits = top_scores(bm25, fetch)
        # The candidates of both rankings again, by their best piece: a chunk's own vector
        # averages all it says, a piece's says one thing (chunking.split_pieces).
        candidates = np.array(
            list(dict.fromkeys(row for row, _ in (*vector_hits, *keyword_hits))), dtype=np.int64
        )
        best_piece = snap.best_piece(candidates, query_vec)
        piece_order = candidates[np.argsort(-best_piece, kind="stable")]
        # Employees search exact names (json.dumps, --verbose): when a query is mostly
        # names, passages holding them get a ranking of their own, so a near-miss never
        # outranks the exact match. A name mentioned in passing in a long question
        # ("git branch -r still lists ...") is not what the question is about.
        terms = content_terms(query)
        exact_rows: list[int] = []
        if 3 * len(compounds(query)) >= len(terms):
            exact_rows = snap.keywords.exact(query, fetch, visible, bm25)

        base = (
            [row for row, _ in vector_hits],
            [int(row) for row in piece_order],
            [row for row, _ in keyword_hits],
            exact_rows,
        )
        fused: dict[str, float] = {}
        for ranking in base:
            _fuse(fused, ranking, snap, 1.0)
        if self.graph_search and not snap.graph.empty:
            order = heapq.nsmallest(GRAPH_SEED_PASSAGES, fused, key=lambda c: (-fused[c], c))
            first = [snap.by_id[cid] for cid in order]
            _fuse(
                fused, self._graph_rows(snap, query, query_vec, visible, first), snap, GRAPH_WEIGHT
            )
        top = _distinct(sorted(fused, key=lambda cid: (-fused[cid], cid)), snap, k)

        passages = tuple(
            _passage(
                snap.rows[snap.by_id[cid]],
                snap.passage_text(snap.by_id[cid]),
                fused[cid],
                float(snap.vectors[snap.by_id[cid]] @ query_vec),
            )
            for cid in top
        )
        missing = [
            t
            for t in snap.keywords.missing(terms, visible)
            if not _another_form_present(snap, terms[t], visible)
        ]
        names = named_terms(query)
        signals = RelevanceSignals(
            top_similarity=vector_hits[0][1] if vector_hits else 0.0,
            content_terms=tuple(terms),
            missing_terms=tuple(missing),
            rare_terms=tuple(terms[t] for t in missing if not self._common(terms[t])),
            missing_names=(
                *(names[t] for t in snap.keywords.missing(names, visible)),
                *_phrases_never_used(snap, query, visible),
            ),
        )
        return SearchResult(
            relevant=bool(passages) and is_relevant(signals, self.policy),
            passages=passages,
            signals=signals,
            topics=_topics(passages),
        )

    @staticmethod
    def _graph_rows(
        snap: Snapshot,
        query: str,
        query_vec: np.ndarray,
        visible: np.ndarray,
        first: Sequence[int],
    ) -> list[int]:
        """The graph's ranking of chunks for this question, seeded also by the `first`
        rows of the other rankings' fusion (see GRAPH_*)."""
        seeds = snap.graph.seeds(query, query_vec, visible)
        passages = {row: GRAPH_PASSAGE_SEED / (rank + 1) for rank, row in enumerate(first)}
        ranked = snap.graph.rank_chunks(seeds, visible, GRAPH_DEPTH + 50, passages=passages)
        if GRAPH_OTHER_PAGES:
            pages = {snap.rows[row].doc_id for row in first}
            ranked = [row for row in ranked if snap.rows[row].doc_id not in pages]
        else:
            ranked = [row for row in ranked if row not in passages]
        return ranked[:GRAPH_DEPTH]


def _fuse(fused: dict[str, float], ranking: Sequence[int], snap: Snapshot, weight: float) -> None:
    """Add a ranking's reciprocal ranks, times `weight`, to the fused scores by chunk id."""
    for rank, row in enumerate(ranking):
        cid = snap.rows[row].chunk_id
        fused[cid] = fused.get(cid, 0.0) + weight / (RRF_K + rank + 1)


def _another_form_present(snap: Snapshot, word: str, visible: np.ndarray) -> bool:
    """A word missing as written whose form a prefix or suffix away the material uses."""
    if word.startswith("-") or "." in word:
        return False  # an exact name: no other form of it will do
    return any(not snap.keywords.missing([form], visible) for form in word_forms(word)[1:])


def _phrases_never_used(snap: Snapshot, query: str, visible: np.ndarray) -> list[str]:
    """The question's multi-word names that no visible passage holds as one phrase, though
    it may hold each of their words."""
    missing = []
    for phrase in name_phrases(query):
        rows = None
        for stem in dict.fromkeys(tokenize(phrase)):  # its indexed words: no stop words
            postings = snap.keywords.rows_with(stem, visible)
            rows = postings if rows is None else np.intersect1d(rows, postings)
        if rows is None or not any(
            contains_phrase(snap.rows[int(row)].text, phrase) for row in rows
        ):
            missing.append(phrase)
    return missing


def _distinct(ranked: list[str], snap: Snapshot, k: int) -> list[str]:
    """The first `k` ids whose chunk is not already shown: a chunk repeated word for word
    (pages that include a shared section repeat it), or the continuation that an earlier
    passage already carries, would only take the place of another passage."""
    shown: set[str] = set()
    out: list[str] = []
    for cid in ranked:
        row = snap.by_id[cid]
        text = " ".join(snap.rows[row].text.split())
        if text in shown:
            continue
        out.append(cid)
        if len(out) == k:
            break
        shown.add(text)
        after = snap.continuation(row)
        if after is not None:
            shown.add(" ".join(snap.rows[after].text.split()))
    return out


def _passage(row: Row, text: str, score: float, similarity: float) -> Passage:
    return Passage(
        chunk_id=row.chunk_id,
        source=row.source,
        title=row.title,
        section=row.section,
        text=text,
        score=round(score, 6),
        similarity=round(similarity, 4),
        url=row.url,
        version=row.version,
        audiences=row.audiences,
    )


def _topics(passages: Sequence[Passage], limit: int = 3) -> tuple[str, ...]:
    """Distinct "title › section" labels of the best passages, to name in a refusal."""
    seen: dict[str, None] = {}
    for p in sorted(passages, key=lambda p: -p.similarity):
        label = SECTION_SEPARATOR.join(x for x in (p.title, p.section) if x)
        seen.setdefault(label, None)
    return tuple(seen)[:limit]
