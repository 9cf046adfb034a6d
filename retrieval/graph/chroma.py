"""The graph store of retrieval used alone (no database): each concept's part of the
graph rides in the metadata of its vector's record in Chroma's concept collection.

`ChunkStore` writes a version's concept records (vector, position) before `put` adds
their concepts and relations to them, and deletes them with the version's chunks."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from retrieval.graph.codec import from_metadata, has_structure, position, to_metadata
from retrieval.graph.model import DocumentGraph
from retrieval.graph.ports import GraphKey


def concept_id(doc_id: str, version: str, position: int) -> str:
    return f"{doc_id}:{version}:c{position}"


# Documents per read: each read's records are fetched by id in one SQL statement of
# Chroma's embedded store, which refuses more than 32,766 variables ("too many SQL
# variables" at 200 documents of 100 chunks read at once).
READ_DOCUMENTS = 50


class ChromaGraphStore:
    def __init__(self, collection: Any, batch: int) -> None:
        self._concepts = collection
        self._batch = batch  # records per write (the client's maximum batch)

    def put(self, doc_id: str, version: str, graph: DocumentGraph) -> None:
        metas = to_metadata(graph)
        ids = [concept_id(doc_id, version, n) for n in range(len(metas))]
        for start in range(0, len(ids), self._batch):
            end = start + self._batch
            self._concepts.update(ids=ids[start:end], metadatas=metas[start:end])

    def graphs(self, keys: Sequence[GraphKey]) -> dict[GraphKey, DocumentGraph]:
        return {
            key: from_metadata(meta for _, meta, _ in records)
            for key, records in read_records(self._concepts, keys, READ_DOCUMENTS).items()
            if any(has_structure(meta) for _, meta, _ in records)
        }

    def drop(self, doc_id: str, keep: str | None) -> None:
        where: dict[str, Any] = {"doc_id": doc_id}
        if keep is not None:
            where = {"$and": [{"doc_id": doc_id}, {"version": {"$ne": keep}}]}
        self._concepts.delete(where=where)


Record = tuple[int, dict[str, Any], Any]  # position, metadata, vector (if asked for)


def read_records(
    collection: Any, keys: Sequence[GraphKey], batch: int, vectors: bool = False
) -> dict[GraphKey, list[Record]]:
    """The concept records of exactly these versions, each version's in concept order."""
    wanted = set(keys)
    doc_ids = sorted({doc_id for doc_id, _ in wanted})
    include = ["metadatas", "embeddings"] if vectors else ["metadatas"]
    found: dict[GraphKey, list[Record]] = defaultdict(list)
    for start in range(0, len(doc_ids), batch):
        part = doc_ids[start : start + batch]
        where = {"doc_id": part[0]} if len(part) == 1 else {"doc_id": {"$in": part}}
        got = collection.get(where=where, include=include)
        metas = got["metadatas"] or []
        vecs = got["embeddings"] if vectors else None
        for n, (cid, meta) in enumerate(zip(got["ids"], metas, strict=True)):
            meta = dict(meta or {})
            key = (str(meta.get("doc_id", "")), str(meta.get("version", "")))
            if key in wanted:
                found[key].append((position(cid, meta), meta, None if vecs is None else vecs[n]))
    for records in found.values():
        records.sort(key=lambda r: r[0])
    return dict(found)
