"""Hybrid search: vector similarity fused with BM25, audience-filtered, with a verdict."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from retrieval.embedding import TextEmbedder
from retrieval.keyword import compounds, content_terms, named_terms
from retrieval.relevance import RelevancePolicy, is_relevant
from retrieval.snapshot import Row, Snapshot
from retrieval.store import ChunkStore
from retrieval.types import SECTION_SEPARATOR, Passage, RelevanceSignals, SearchResult

log = logging.getLogger(__name__)

RRF_K = 60  # the usual reciprocal-rank-fusion constant


class HybridSearcher:
    def __init__(
        self,
        store: ChunkStore,
        embedder: TextEmbedder,
        policy: RelevancePolicy | None = None,
        common_words: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.policy = policy or RelevancePolicy()
        # Words common enough to be mere phrasing when absent from the material.
        self.common_words = common_words
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def _common(self, word: str) -> bool:
        """A word of everyday English (or a compound of such words, like "half-finished")."""
        parts = [p for p in word.split("-") if p]
        return bool(parts) and all(
            p in self.common_words or p.removesuffix("s") in self.common_words for p in parts
        )

    def snapshot(self) -> Snapshot:
        """The current snapshot, refreshed when any process changed the catalog."""
        generation = self.store.generation()
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                started = time.perf_counter()
                self._snapshot = Snapshot(generation, self.store, self._snapshot)
                log.info(
                    "snapshot refreshed: %d chunks, %d documents reloaded, in %.0f ms",
                    len(self._snapshot.rows),
                    len(self._snapshot.reloaded),
                    (time.perf_counter() - started) * 1000,
                )
            return self._snapshot

    def search(
        self, query: str, k: int = 5, audiences: Sequence[str] | None = ("everyone",)
    ) -> SearchResult:
        """Top `k` passages visible to `audiences` (None: all material, for admin tools)."""
        snap = self.snapshot()
        query_vec = self.embedder.embed_query(query)
        fetch = max(8 * k, 40)
        visible = snap.keywords.mask(audiences)

        # Audience filtering happens inside both rankings: rows a reader may not see are
        # masked before anything is ranked, so they can neither appear nor crowd out others.
        vector_hits = snap.nearest(query_vec, fetch, visible)
        vector_ranked = [snap.rows[row].chunk_id for row, _ in vector_hits]
        keyword_ranked = [
            snap.rows[row].chunk_id for row, _ in snap.keywords.search(query, fetch, visible)
        ]
        # Employees search exact names (json.dumps, --verbose): when a query is mostly
        # names, passages holding them get a ranking of their own, so a near-miss never
        # outranks the exact match. A name mentioned in passing in a long question
        # ("git branch -r still lists ...") is not what the question is about.
        terms = content_terms(query)
        exact_ranked = []
        if 3 * len(compounds(query)) >= len(terms):
            exact_ranked = [
                snap.rows[row].chunk_id for row in snap.keywords.exact(query, fetch, visible)
            ]

        fused: dict[str, float] = {}
        for ranking in (vector_ranked, keyword_ranked, exact_ranked):
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
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
        missing = snap.keywords.missing(terms, visible)
        names = named_terms(query)
        signals = RelevanceSignals(
            top_similarity=vector_hits[0][1] if vector_hits else 0.0,
            content_terms=tuple(terms),
            missing_terms=tuple(missing),
            rare_terms=tuple(terms[t] for t in missing if not self._common(terms[t])),
            missing_names=tuple(names[t] for t in snap.keywords.missing(names, visible)),
        )
        return SearchResult(
            relevant=bool(passages) and is_relevant(signals, self.policy),
            passages=passages,
            signals=signals,
            topics=_topics(passages),
        )


def _distinct(ranked: list[str], snap: Snapshot, k: int) -> list[str]:
    """The first `k` ids whose text differs (pages that include a shared section repeat it)."""
    seen: set[str] = set()
    out: list[str] = []
    for cid in ranked:
        text = " ".join(snap.rows[snap.by_id[cid]].text.split())
        if text not in seen:
            seen.add(text)
            out.append(cid)
            if len(out) == k:
                break
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
    )


def _topics(passages: Sequence[Passage], limit: int = 3) -> tuple[str, ...]:
    """Distinct "title › section" labels of the best passages, to name in a refusal."""
    seen: dict[str, None] = {}
    for p in sorted(passages, key=lambda p: -p.similarity):
        label = SECTION_SEPARATOR.join(x for x in (p.title, p.section) if x)
        seen.setdefault(label, None)
    return tuple(seen)[:limit]
