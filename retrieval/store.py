"""Chunks, their pieces and the document catalog in Chroma.

Chroma has no transactions, so a document is replaced in three steps: add the new
version's chunks, pieces and concept vectors (ids carry the version) and its graph (in the
graph store), point the catalog record at the new version (one upsert: the switch), then
delete the old version's chunks, pieces, concepts and graph. Readers only trust what
carries the version the catalog names, so at every moment exactly one version is
searchable. A generation token, rewritten after every change, tells other
processes to refresh; a count of this process's own writes tells its searchers without a
round trip.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import re
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import numpy as np
from filelock import FileLock

from retrieval.errors import IndexUnavailable, InvalidAudience, NameConflict
from retrieval.graph.chroma import ChromaGraphStore, concept_id, read_records
from retrieval.graph.codec import from_metadata, has_structure
from retrieval.graph.model import DocumentGraph, concept_text
from retrieval.graph.ports import GraphKey, GraphStore
from retrieval.identity import clean_identity
from retrieval.types import Chunk, DocumentRecord, Piece

log = logging.getLogger(__name__)

CHUNKS = "learnloop_chunks"
PIECES = "learnloop_pieces"
CONCEPTS = "learnloop_concepts"  # the knowledge graph's concepts (retrieval/graph)
CATALOG = "learnloop_catalog"
GENERATION_ID = "__generation__"
# Marks catalog records named by the path rule (retrieval.identity); records without it
# were named by their base name, and a file in a folder of that name takes them over.
NAMING = "path/1"
_AUDIENCE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")

# Writes (publish, remove) made by any ChunkStore of this process, whatever its client.
_writes_lock = threading.Lock()
_writes = itertools.count(1)
_last_write = 0


def _count_write() -> None:
    global _last_write
    with _writes_lock:
        _last_write = next(_writes)


def writes_in_process() -> int:
    """How many writes this process has finished: a change means the index changed."""
    return _last_write


def normalise_audiences(groups: Sequence[str]) -> tuple[str, ...]:
    cleaned = sorted({g.strip().lower() for g in groups if g.strip()})
    for group in cleaned:
        if not _AUDIENCE.match(group):
            raise InvalidAudience(
                f"audience {group!r} must be lower-case letters, digits, '-' or '_'"
            )
    return tuple(cleaned) or ("everyone",)


def document_id(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()[:16]


def connect(path: Path | None = None, url: str = "", timeout: float = 10.0) -> Any:
    """A Chroma client: the server at `url` when given (each request answered within
    `timeout` seconds or failed), else the embedded one at `path`."""
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    try:
        if url:
            parsed = urlparse(url)
            _heartbeat(url, timeout)  # the client's own first requests have no deadline
            client = chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
            _bound_requests(client, timeout)
            return client
        if path is None:
            return chromadb.EphemeralClient(settings=settings)
        path.mkdir(parents=True, exist_ok=True)
        # Chroma creates its SQLite schema on first open without a lock of its own: two
        # processes opening one new directory at once (a Slack and a Teams bot on one data
        # directory) race, and the loser fails with "table collections already exists".
        with FileLock(opening_lock(path), timeout=timeout * 6):
            return chromadb.PersistentClient(path=str(path), settings=settings)
    except IndexUnavailable:
        raise
    except Exception as exc:
        where = url or str(path)
        raise IndexUnavailable(f"cannot reach the Chroma index at {where}: {exc}") from exc


def opening_lock(path: Path) -> Path:
    """The file that serialises opening the embedded index at `path` across processes."""
    return path / ".learnloop-open.lock"


def _heartbeat(url: str, timeout: float) -> None:
    import httpx

    try:
        httpx.get(f"{url.rstrip('/')}/api/v2/heartbeat", timeout=timeout).raise_for_status()
    except httpx.TimeoutException as exc:
        raise IndexUnavailable(
            f"the Chroma index at {url} did not answer within {timeout:g}s"
        ) from exc


def _bound_requests(client: Any, timeout: float) -> None:
    """Chroma 1.5 builds its HTTP client with no timeout and has no setting for one: set
    it on that client (tests/integration/test_chroma_deadline.py holds this to account)."""
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(timeout)
    else:  # a Chroma release that moved it: requests may now wait without a deadline
        log.warning("the Chroma client's requests could not be given a %gs deadline", timeout)


class ChunkStore:
    """The index in Chroma; documents' graphs in `graph_store` (by default in Chroma too,
    in the metadata of the concept vectors' records)."""

    def __init__(
        self, client: Any, embedding_function: Any, graph_store: GraphStore | None = None
    ) -> None:
        self._client = client
        try:
            self._chunks = client.get_or_create_collection(
                CHUNKS,
                embedding_function=embedding_function,
                configuration={"hnsw": {"space": "cosine"}},
            )
            # Pieces always come with their vectors: no embedding function is needed.
            self._pieces = client.get_or_create_collection(
                PIECES, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
            # A document's concepts are versioned with its chunks: one switch for both.
            self._concepts = client.get_or_create_collection(
                CONCEPTS, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
            )
            self._catalog = client.get_or_create_collection(CATALOG, embedding_function=None)
        except Exception as exc:
            raise IndexUnavailable(f"cannot open the Chroma index: {exc}") from exc
        self._max_batch = int(client.get_max_batch_size())
        self._graphs = graph_store or ChromaGraphStore(self._concepts, self._max_batch)

    # -- catalog -------------------------------------------------------------------
    def generation(self) -> str:
        got = self._catalog.get(ids=[GENERATION_ID], include=["metadatas"])
        metas = got["metadatas"] or []
        return str(metas[0]["token"]) if metas else ""

    def _bump_generation(self) -> None:
        self._catalog.upsert(
            ids=[GENERATION_ID], embeddings=[[0.0]], metadatas=[{"token": uuid.uuid4().hex}]
        )

    def documents(self) -> list[DocumentRecord]:
        got = self._catalog.get(include=["metadatas"])
        records = [
            _record(doc_id, meta)
            for doc_id, meta in zip(got["ids"], got["metadatas"] or [], strict=True)
            if doc_id != GENERATION_ID and meta
        ]
        return sorted(records, key=lambda r: r.source)

    def document(self, source: str) -> DocumentRecord | None:
        doc_id = document_id(source)
        got = self._catalog.get(ids=[doc_id], include=["metadatas"])
        metas = got["metadatas"] or []
        return _record(doc_id, metas[0]) if metas and metas[0] else None

    def legacy_document(self, name: str) -> DocumentRecord | None:
        """The record filed under base name `name` by the rule before paths named
        documents in folders (it carries no naming mark), if there is one."""
        got = self._catalog.get(ids=[document_id(name)], include=["metadatas"])
        metas = got["metadatas"] or []
        if not metas or not metas[0] or metas[0].get("naming") == NAMING:
            return None
        return _record(document_id(name), metas[0])

    def resolve(self, name: str) -> DocumentRecord | None:
        """The document called `name`, or else the one document whose file name it is;
        `NameConflict` naming them when several folders hold a file of that name."""
        found = self.document(clean_identity(name))
        if found is not None:
            return found
        matches = [d for d in self.documents() if PurePosixPath(d.source).name == name]
        if len(matches) > 1:
            names = ", ".join(d.source for d in matches)
            raise NameConflict(f"{name!r} could be any of {names}; give the full name")
        return matches[0] if matches else None

    # -- writes --------------------------------------------------------------------
    def publish(
        self,
        record: DocumentRecord,
        chunks: Sequence[Chunk],
        embeddings: np.ndarray,
        pieces: Sequence[Piece] = (),
        piece_embeddings: np.ndarray | None = None,
        graph: DocumentGraph | None = None,
        concept_embeddings: np.ndarray | None = None,
    ) -> None:
        """Make `record`'s chunks (with their pieces and its part of the knowledge graph)
        the searchable version of its document."""
        base = {
            "doc_id": record.doc_id,
            "version": record.version,
            "source": record.source,
            "title": record.title,
            "url": record.url,
            "context": record.context,
            "audience": ",".join(record.audiences),
        }
        ids = [f"{record.doc_id}:{record.version}:{c.index}" for c in chunks]
        metas = [{**base, "section": c.section, "index": c.index} for c in chunks]
        texts = [c.text for c in chunks]
        self._upsert(self._chunks, ids, embeddings, texts, metas)
        if pieces:
            if piece_embeddings is None or len(piece_embeddings) != len(pieces):
                raise ValueError("every piece needs its embedding")
            prefix = f"{record.doc_id}:{record.version}"
            self._upsert(
                self._pieces,
                [f"{prefix}:{p.chunk}:{n}" for n, p in enumerate(pieces)],
                piece_embeddings,
                [p.text for p in pieces],
                [
                    {"doc_id": record.doc_id, "version": record.version, "chunk": p.chunk}
                    for p in pieces
                ],
            )
        if graph is not None:
            self._publish_graph(record, graph, concept_embeddings)
        self._catalog.upsert(ids=[record.doc_id], embeddings=[[0.0]], metadatas=[_meta(record)])
        self._drop_other_versions(record.doc_id, keep=record.version)
        self._bump_generation()
        _count_write()

    def _publish_graph(
        self, record: DocumentRecord, graph: DocumentGraph, vectors: np.ndarray | None
    ) -> None:
        """The concept vectors (in Chroma, by position), then the graph itself."""
        if graph.concepts:
            if vectors is None or len(vectors) != len(graph.concepts):
                raise ValueError("every concept needs its embedding")
            base = {"doc_id": record.doc_id, "version": record.version}
            self._upsert(
                self._concepts,
                [concept_id(record.doc_id, record.version, n) for n in range(len(vectors))],
                vectors,
                [concept_text(c) for c in graph.concepts],
                [{**base, "key": c.key, "position": n} for n, c in enumerate(graph.concepts)],
            )
        self._graphs.put(record.doc_id, record.version, graph)

    def remove(self, source: str) -> DocumentRecord | None:
        """Delete the document `source` names (see `resolve`); None if there is none."""
        record = self.resolve(source)
        if record is None:
            return None
        self._catalog.delete(ids=[record.doc_id])  # invisible from here on
        self._drop_other_versions(record.doc_id, keep=None)
        self._bump_generation()
        _count_write()
        return record

    def _upsert(
        self,
        collection: Any,
        ids: list[str],
        embeddings: np.ndarray,
        texts: list[str],
        metas: list[dict[str, Any]],
    ) -> None:
        for start in range(0, len(ids), self._max_batch):
            end = start + self._max_batch
            collection.upsert(
                ids=ids[start:end],
                embeddings=embeddings[start:end],
                documents=texts[start:end],
                metadatas=metas[start:end],
            )

    def _drop_other_versions(self, doc_id: str, keep: str | None) -> None:
        where: dict[str, Any] = {"doc_id": doc_id}
        if keep is not None:
            where = {"$and": [{"doc_id": doc_id}, {"version": {"$ne": keep}}]}
        self._chunks.delete(where=where)
        self._pieces.delete(where=where)
        self._concepts.delete(where=where)
        self._graphs.drop(doc_id, keep)

    # -- reads ---------------------------------------------------------------------
    def count(self) -> int:
        return int(self._chunks.count())

    def chunks_of(
        self, doc_ids: Sequence[str], batch: int = 50
    ) -> Iterator[tuple[str, str, dict[str, Any], np.ndarray]]:
        """(id, text, metadata, vector) of every stored chunk of these documents."""
        return _read(self._chunks, doc_ids, batch, ["documents", "metadatas", "embeddings"])

    def pieces_of(
        self, doc_ids: Sequence[str], batch: int = 50
    ) -> Iterator[tuple[str, str, dict[str, Any], np.ndarray]]:
        """(id, text, metadata, vector) of every stored piece of these documents (none for
        documents indexed before pieces existed)."""
        return _read(self._pieces, doc_ids, batch, ["metadatas", "embeddings"])

    def concepts_of(
        self, doc_ids: Sequence[str], batch: int = 50
    ) -> Iterator[tuple[str, str, dict[str, Any], np.ndarray]]:
        """(id, text, metadata, vector) of every stored concept record of these documents
        (none for documents indexed before the graph existed)."""
        return _read(self._concepts, doc_ids, batch, ["documents", "metadatas", "embeddings"])

    def graphs_of(
        self, keys: Sequence[GraphKey], batch: int = 50
    ) -> dict[GraphKey, tuple[DocumentGraph, np.ndarray]]:
        """The graph of exactly each of these versions, with its concept vectors in concept
        order (an empty graph for a version that has none)."""
        records = read_records(self._concepts, keys, batch, vectors=True)
        # Records that carry their concepts (the Chroma graph store's, or a document's
        # indexed before its graph store) are the graph already: only the others are read
        # from the graph store.
        carried = {k for k, got in records.items() if any(has_structure(m) for _, m, _ in got)}
        rest = [key for key in keys if key not in carried]
        stored = self._graphs.graphs(rest) if rest else {}
        found = {}
        for key in keys:
            got = records.get(key, [])
            if key in carried:
                graph = from_metadata(meta for _, meta, _ in got if has_structure(meta))
            else:
                graph = stored.get(key, DocumentGraph())
            vectors = [np.asarray(vec, dtype=np.float32) for _, _, vec in got]
            if len(vectors) != len(graph.concepts):  # left by a crash, or by a bug
                log.warning(
                    "document %s: %d concepts but %d concept vectors; its graph is left out",
                    key[0],
                    len(graph.concepts),
                    len(vectors),
                )
                graph, vectors = DocumentGraph(), []
            matrix = np.vstack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)
            found[key] = (graph, matrix)
        return found


def _read(
    collection: Any, doc_ids: Sequence[str], batch: int, include: list[str]
) -> Iterator[tuple[str, str, dict[str, Any], np.ndarray]]:
    ids = list(doc_ids)
    for start in range(0, len(ids), batch):
        part = ids[start : start + batch]
        where = {"doc_id": part[0]} if len(part) == 1 else {"doc_id": {"$in": part}}
        got = collection.get(where=where, include=include)
        vectors = got["embeddings"]
        if vectors is None or not len(got["ids"]):
            continue
        texts = got.get("documents") or [""] * len(got["ids"])
        for cid, text, meta, vec in zip(
            got["ids"], texts, got["metadatas"] or [], vectors, strict=True
        ):
            yield cid, text or "", dict(meta or {}), np.asarray(vec, dtype=np.float32)


def _meta(record: DocumentRecord) -> dict[str, Any]:
    return {
        "source": record.source,
        "title": record.title,
        "version": record.version,
        "audience": ",".join(record.audiences),
        "chunks": record.chunks,
        "ingested_at": record.ingested_at,
        "url": record.url,
        "naming": NAMING,
    }


def _record(doc_id: str, meta: dict[str, Any]) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id,
        source=str(meta["source"]),
        title=str(meta.get("title", "")),
        version=str(meta["version"]),
        audiences=tuple(str(meta.get("audience", "everyone")).split(",")),
        chunks=int(meta.get("chunks", 0)),
        ingested_at=str(meta.get("ingested_at", "")),
        url=str(meta.get("url", "")),
    )
