"""The live chunks of one catalog generation, held in memory for fast hybrid search.

Chroma is the durable store shared by every process; each process keeps this snapshot of
the chunks whose version the catalog names: texts, vectors, audiences and a BM25 index.
When the catalog's generation changes (any process ingested or deleted), a refresh
reloads only the documents whose version changed and reuses the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.keyword import KeywordIndex, tokenize
from retrieval.store import ChunkStore


@dataclass(frozen=True)
class Row:
    chunk_id: str
    doc_id: str
    text: str
    source: str
    title: str
    section: str
    url: str
    context: str
    index: int
    audiences: tuple[str, ...]


@dataclass(frozen=True)
class _Document:
    version: str
    rows: tuple[Row, ...]
    tokens: tuple[list[str], ...]
    vectors: np.ndarray


class Snapshot:
    def __init__(self, generation: str, store: ChunkStore, previous: Snapshot | None = None):
        self.generation = generation
        active = {r.doc_id: r.version for r in store.documents()}
        reused: dict[str, _Document] = previous._docs if previous is not None else {}
        docs = {d: reused[d] for d, v in active.items() if d in reused and reused[d].version == v}
        self.reloaded = sorted(set(active) - set(docs))
        docs.update(_load(store, self.reloaded, active))
        self._docs: dict[str, _Document] = docs

        rows = [row for doc in docs.values() for row in doc.rows]
        self.rows = rows
        self.by_id = {r.chunk_id: i for i, r in enumerate(rows)}
        self._by_position = {(r.doc_id, r.index): i for i, r in enumerate(rows)}
        self.vectors = (
            np.vstack([d.vectors for d in docs.values() if len(d.vectors)])
            if rows
            else np.zeros((0, 1), dtype=np.float32)
        )
        self.keywords = KeywordIndex.from_tokens(
            [t for doc in docs.values() for t in doc.tokens], [r.audiences for r in rows]
        )

    def nearest(self, query: np.ndarray, n: int, visible: np.ndarray) -> list[tuple[int, float]]:
        """Top `n` (row, cosine similarity) among visible rows: exact, not approximate."""
        if not self.rows or n <= 0 or not visible.any():
            return []
        sims = self.vectors @ query
        sims = np.where(visible, sims, -np.inf)
        n = min(n, int(visible.sum()))
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(row), float(sims[row])) for row in top]

    def passage_text(self, row: int) -> str:
        """A chunk with its continuation in the same section: a match often sits just
        before the sentences that explain it (an option's name, then its description)."""
        chunk = self.rows[row]
        after = self._by_position.get((chunk.doc_id, chunk.index + 1))
        if after is None or self.rows[after].section != chunk.section:
            return chunk.text
        return _join_overlapping(chunk.text, self.rows[after].text)


def _load(
    store: ChunkStore, doc_ids: Sequence[str], active: dict[str, str]
) -> dict[str, _Document]:
    found: dict[str, list[tuple[Row, np.ndarray]]] = {d: [] for d in doc_ids}
    for cid, text, meta, vector in store.chunks_of(doc_ids):
        doc_id = str(meta.get("doc_id", ""))
        if active.get(doc_id) != meta.get("version"):
            continue  # another version: mid-replacement, or left by a crash
        found[doc_id].append((_row(cid, text, meta), vector))
    docs = {}
    for doc_id, pairs in found.items():
        pairs.sort(key=lambda pair: pair[0].index)
        rows = tuple(row for row, _ in pairs)
        docs[doc_id] = _Document(
            version=active[doc_id],
            rows=rows,
            tokens=tuple(tokenize(f"{r.context or r.title}\n{r.section}\n{r.text}") for r in rows),
            vectors=np.vstack([v for _, v in pairs]) if pairs else np.zeros((0, 1), np.float32),
        )
    return docs


def _row(cid: str, text: str, meta: dict[str, object]) -> Row:
    return Row(
        chunk_id=cid,
        doc_id=str(meta.get("doc_id", "")),
        text=text,
        source=str(meta.get("source", "")),
        title=str(meta.get("title", "")),
        section=str(meta.get("section", "")),
        url=str(meta.get("url", "")),
        context=str(meta.get("context", "")),
        index=int(str(meta.get("index", 0))),
        audiences=tuple(str(meta.get("audience", "everyone")).split(",")),
    )


def _join_overlapping(first: str, second: str, max_overlap: int = 600) -> str:
    """`first` then `second` without the text they share (chunks overlap)."""
    for size in range(min(len(first), len(second), max_overlap), 15, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return f"{first}\n{second}"
