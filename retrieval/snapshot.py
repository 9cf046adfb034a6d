"""The live chunks of one catalog generation, held in memory for fast hybrid search.

Chroma is the durable store shared by every process; each process keeps this snapshot of
the chunks whose version the catalog names: texts, vectors (of chunks and of their
pieces), audiences and a BM25 index.
When the catalog's generation changes (any process ingested or deleted), a refresh
reloads only the documents whose version changed and reuses the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.graph.index import GraphDocument, GraphIndex
from retrieval.graph.model import DocumentGraph
from retrieval.keyword import KeywordIndex, TermCounts, Vocabulary, tokenize
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
    version: str = ""  # the document version the chunk is from


@dataclass(frozen=True)
class _Document:
    version: str
    rows: tuple[Row, ...]
    terms: TermCounts  # for the keyword index
    vectors: np.ndarray
    pieces: np.ndarray  # piece vectors, row by row
    piece_counts: np.ndarray  # pieces per row (at least one)
    graph: DocumentGraph  # its part of the knowledge graph, same version as its chunks
    concept_vectors: np.ndarray


class Snapshot:
    def __init__(self, generation: str, store: ChunkStore, previous: Snapshot | None = None):
        self.generation = generation
        active = {r.doc_id: r.version for r in store.documents()}
        reused: dict[str, _Document] = previous._docs if previous is not None else {}
        # Term ids live as long as the documents counted with them: a snapshot takes over
        # its predecessor's vocabulary along with its documents.
        self._vocab: Vocabulary = previous._vocab if previous is not None else Vocabulary()
        docs = {d: reused[d] for d, v in active.items() if d in reused and reused[d].version == v}
        self.reloaded = sorted(set(active) - set(docs))
        docs.update(_load(store, self.reloaded, active, self._vocab))
        self._docs: dict[str, _Document] = docs

        rows = [row for doc in docs.values() for row in doc.rows]
        self.rows = rows
        self.by_id = {r.chunk_id: i for i, r in enumerate(rows)}
        self._by_position = {(r.doc_id, r.index): i for i, r in enumerate(rows)}
        self.vectors = _stack([d.vectors for d in docs.values()])
        counts = (
            np.concatenate([d.piece_counts for d in docs.values()])
            if rows
            else np.zeros(0, dtype=np.int64)
        )
        self._piece_count = counts
        self._piece_start = np.cumsum(counts) - counts
        self.piece_vectors = _stack([d.pieces for d in docs.values()])
        self.keywords = KeywordIndex.from_counts(
            [doc.terms for doc in docs.values()], [r.audiences for r in rows], self._vocab
        )
        placed, start = [], 0
        for doc in docs.values():
            where = {row.index: start + i for i, row in enumerate(doc.rows)}
            placed.append(GraphDocument(where, doc.graph, doc.concept_vectors))
            start += len(doc.rows)
        self.graph = GraphIndex(placed, len(rows))

    def nearest(self, query: np.ndarray, n: int, visible: np.ndarray) -> list[tuple[int, float]]:
        """Top `n` (row, cosine similarity) among visible rows: exact, not approximate."""
        if not self.rows or n <= 0 or not visible.any():
            return []
        sims = self.vectors @ query
        visible_rows = int(np.count_nonzero(visible))
        if visible_rows < len(sims):
            sims[~visible] = -np.inf
        n = min(n, visible_rows)
        top = np.argpartition(-sims, n - 1)[:n]
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(int(row), float(sims[row])) for row in top]

    def best_piece(self, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """For each of `rows`, the highest cosine similarity of one of its pieces."""
        if not len(rows):
            return np.zeros(0, dtype=np.float32)
        counts = self._piece_count[rows]
        offsets = np.cumsum(counts) - counts  # where each row's pieces start below
        gathered = np.repeat(self._piece_start[rows] - offsets, counts) + np.arange(counts.sum())
        return np.maximum.reduceat(self.piece_vectors[gathered] @ query, offsets)

    def continuation(self, row: int) -> int | None:
        """The next chunk of the same section, if any."""
        chunk = self.rows[row]
        after = self._by_position.get((chunk.doc_id, chunk.index + 1))
        if after is None or self.rows[after].section != chunk.section:
            return None
        return after

    def passage_text(self, row: int) -> str:
        """A chunk with its continuation in the same section: a match often sits just
        before the sentences that explain it (an option's name, then its description)."""
        after = self.continuation(row)
        if after is None:
            return self.rows[row].text
        return _join_overlapping(self.rows[row].text, self.rows[after].text)


def _load(
    store: ChunkStore, doc_ids: Sequence[str], active: dict[str, str], vocab: Vocabulary
) -> dict[str, _Document]:
    found: dict[str, list[tuple[Row, np.ndarray]]] = {d: [] for d in doc_ids}
    for cid, text, meta, vector in store.chunks_of(doc_ids):
        doc_id = str(meta.get("doc_id", ""))
        if active.get(doc_id) != meta.get("version"):
            continue  # another version: mid-replacement, or left by a crash
        found[doc_id].append((_row(cid, text, meta), vector))
    pieces: dict[tuple[str, int], list[np.ndarray]] = {}
    for _, _, meta, vector in store.pieces_of(doc_ids):
        doc_id = str(meta.get("doc_id", ""))
        if active.get(doc_id) == meta.get("version"):
            pieces.setdefault((doc_id, int(str(meta.get("chunk", 0)))), []).append(vector)
    # exactly the catalog's version of each graph, as of this catalog generation
    graphs = store.graphs_of([(d, active[d]) for d in doc_ids])
    docs = {}
    for doc_id, pairs in found.items():
        pairs.sort(key=lambda pair: pair[0].index)
        graph, concept_vectors = graphs[(doc_id, active[doc_id])]
        rows = tuple(row for row, _ in pairs)
        # A chunk indexed before pieces existed is its own single piece.
        per_row = [pieces.get((doc_id, row.index)) or [vector] for row, vector in pairs]
        docs[doc_id] = _Document(
            version=active[doc_id],
            rows=rows,
            terms=TermCounts.of(
                [tokenize(f"{r.context or r.title}\n{r.section}\n{r.text}") for r in rows], vocab
            ),
            vectors=_stack([v for _, v in pairs]),
            pieces=_stack([v for vs in per_row for v in vs]),
            piece_counts=np.array([len(vs) for vs in per_row], dtype=np.int64),
            graph=graph,
            concept_vectors=concept_vectors,
        )
    return docs


def _stack(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """Vectors (single ones or blocks of them) as one matrix; none: an empty one."""
    blocks = [v for v in vectors if len(v)]
    return np.vstack(blocks) if blocks else np.zeros((0, 1), dtype=np.float32)


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
        version=str(meta.get("version", "")),
    )


def _join_overlapping(first: str, second: str, max_overlap: int = 600, least: int = 16) -> str:
    """`first` then `second` without the text they share (chunks overlap): the longest
    end of `first`, `least` to `max_overlap` characters, that `second` starts with."""
    probe = second[:least]
    if len(probe) == least:
        # Only where `second`'s first characters occur can a shared part start.
        pos = first.find(probe, max(0, len(first) - max_overlap))
        while pos != -1:
            if second.startswith(first[pos:]):
                return first + second[len(first) - pos :]
            pos = first.find(probe, pos + 1)
    return f"{first}\n{second}"
