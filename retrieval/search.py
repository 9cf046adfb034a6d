"""Hybrid search: vector similarity fused with BM25, audience-filtered, with a verdict."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.embedding import TextEmbedder
from retrieval.keyword import KeywordIndex, content_terms, named_terms
from retrieval.relevance import RelevancePolicy, is_relevant
from retrieval.store import ChunkStore
from retrieval.types import SECTION_SEPARATOR, Passage, RelevanceSignals, SearchResult

log = logging.getLogger(__name__)

RRF_K = 60  # the usual reciprocal-rank-fusion constant


@dataclass(frozen=True)
class _Row:
    chunk_id: str
    doc_id: str
    text: str
    source: str
    title: str
    section: str
    url: str
    context: str


class _Snapshot:
    """The live chunks of one catalog generation, with their keyword index."""

    def __init__(self, generation: str, store: ChunkStore) -> None:
        self.generation = generation
        self.active = {r.doc_id: r.version for r in store.documents()}
        rows: list[_Row] = []
        groups: list[list[str]] = []
        seen: set[str] = set()
        for cid, text, meta in store.iter_chunks():
            doc_id = str(meta.get("doc_id", ""))
            if self.active.get(doc_id) != meta.get("version") or cid in seen:
                continue  # another version, mid-replacement or left by a crash
            seen.add(cid)
            rows.append(_row(cid, text, meta))
            groups.append(str(meta.get("audience", "everyone")).split(","))
        self.rows = rows
        self.by_id = {r.chunk_id: i for i, r in enumerate(rows)}
        self.keywords = KeywordIndex(
            [f"{r.context or r.title}\n{r.section}\n{r.text}" for r in rows], groups
        )


def _row(cid: str, text: str, meta: dict[str, object]) -> _Row:
    return _Row(
        chunk_id=cid,
        doc_id=str(meta.get("doc_id", "")),
        text=text,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        url=str(meta.get("url", "")),
        context=str(meta.get("context", "")),
    )


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
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def _common(self, word: str) -> bool:
        """A word of everyday English (or a compound of such words, like "half-finished")."""
        parts = [p for p in word.split("-") if p]
        return bool(parts) and all(
            p in self.common_words or p.removesuffix("s") in self.common_words for p in parts
        )

    def snapshot(self) -> _Snapshot:
        """The current snapshot, rebuilt when any process changed the catalog."""
        generation = self.store.generation()
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != generation:
                started = time.perf_counter()
                self._snapshot = _Snapshot(generation, self.store)
                log.info(
                    "keyword index rebuilt: %d chunks in %.0f ms",
                    len(self._snapshot.rows),
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

        vector_ranked: list[str] = []
        similarity: dict[str, float] = {}
        for hit in self.store.query(query_vec, fetch, audiences):
            if hit.chunk_id in snap.by_id:
                vector_ranked.append(hit.chunk_id)
                similarity[hit.chunk_id] = 1.0 - hit.distance
        keyword_ranked = [
            snap.rows[row].chunk_id for row, _ in snap.keywords.search(query, fetch, visible)
        ]
        # Employees search exact names (json.dumps, --verbose): passages holding them
        # get a ranking of their own, so a near-miss never outranks the exact match.
        exact_ranked = [snap.rows[row].chunk_id for row in snap.keywords.exact(query, fetch, visible)]

        fused: dict[str, float] = {}
        for ranking in (vector_ranked, keyword_ranked, exact_ranked):
            for rank, cid in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        top = _distinct(sorted(fused, key=lambda cid: (-fused[cid], cid)), snap, k)

        missing_sim = [cid for cid in top if cid not in similarity]
        for cid, vec in self.store.embeddings(missing_sim).items():
            similarity[cid] = float(np.dot(vec, query_vec))

        passages = tuple(
            _passage(snap.rows[snap.by_id[cid]], fused[cid], similarity.get(cid, 0.0))
            for cid in top
        )
        terms = content_terms(query)
        missing = snap.keywords.missing(terms, visible)
        names = named_terms(query)
        signals = RelevanceSignals(
            top_similarity=max(similarity.values(), default=0.0),
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


def _distinct(ranked: list[str], snap: _Snapshot, k: int) -> list[str]:
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


def _passage(row: _Row, score: float, similarity: float) -> Passage:
    return Passage(
        chunk_id=row.chunk_id,
        source=row.source,
        title=row.title,
        section=row.section,
        text=row.text,
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
