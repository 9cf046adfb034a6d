"""Ingestion: parse, chunk, enrich, embed and publish, one document at a time."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.chunking import chunk_document, split_pieces
from retrieval.embedding import TextEmbedder
from retrieval.errors import FileTooLarge, RetrievalError
from retrieval.parse import check_supported, parse
from retrieval.store import ChunkStore, document_id, normalise_audiences
from retrieval.types import Chunk, DocumentRecord, ParsedDocument, Piece

log = logging.getLogger(__name__)

# Part of every document's version: a document indexed by an older pipeline (before
# pieces) is indexed again when re-ingested, instead of being reported unchanged.
INDEX_FORMAT = b"chunks+pieces/1"


class Enricher(Protocol):
    """A step between chunking and embedding (the knowledge graph hooks in here)."""

    def enrich(self, doc: ParsedDocument, chunks: list[Chunk]) -> list[Chunk]: ...


@dataclass(frozen=True)
class IngestReport:
    source: str
    status: str  # added | updated | unchanged | skipped
    chunks: int = 0
    code: str = ""
    reason: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status != "skipped"


Progress = Callable[[IngestReport], None]


class Ingestor:
    def __init__(
        self,
        store: ChunkStore,
        embedder: TextEmbedder,
        *,
        max_bytes: int = 25 * 1024 * 1024,
        chunk_size: int = 900,
        chunk_overlap: int = 150,
        enrichers: Sequence[Enricher] = (),
        embed_batch: int = 256,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.max_bytes = max_bytes
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.enrichers = tuple(enrichers)
        self.embed_batch = embed_batch

    def ingest_bytes(
        self, name: str, data: bytes, audiences: Sequence[str] = ("everyone",), url: str = ""
    ) -> IngestReport:
        """Index one document; raise a coded `RetrievalError` if it cannot be."""
        prepared = self._prepare(name, data, audiences, url)
        if isinstance(prepared, IngestReport):
            return prepared
        return self._publish(prepared, self.embedder.embed(prepared.texts))

    def ingest_file(self, path: Path, audiences: Sequence[str] = ("everyone",)) -> IngestReport:
        return self.ingest_bytes(path.name, self._read(path), audiences)

    def ingest_paths(
        self,
        paths: Iterable[Path],
        audiences: Sequence[str] = ("everyone",),
        progress: Progress | None = None,
    ) -> list[IngestReport]:
        """Ingest files and folders (recursively); a bad file is reported, never fatal.

        Chunks of several documents are embedded together (fuller batches run faster);
        each document is still published on its own, so each switches atomically."""
        normalise_audiences(audiences)  # a bad audience fails the batch before any work
        reports: list[IngestReport] = []
        pending: list[_Prepared] = []

        def report(item: IngestReport) -> None:
            reports.append(item)
            if progress is not None:
                progress(item)

        def flush() -> None:
            vectors = self.embedder.embed([t for p in pending for t in p.texts])
            start = 0
            for prepared in pending:
                end = start + len(prepared.texts)
                report(self._publish(prepared, vectors[start:end]))
                start = end
            pending.clear()

        for path in expand_paths(paths):
            try:
                prepared = self._prepare(path.name, self._read(path), audiences, "")
            except RetrievalError as exc:
                log.warning("skipped file code=%s", exc.code)
                report(IngestReport(path.name, "skipped", code=exc.code, reason=exc.message))
                continue
            if isinstance(prepared, IngestReport):
                report(prepared)
                continue
            pending.append(prepared)
            if sum(len(p.texts) for p in pending) >= self.embed_batch:
                flush()
        if pending:
            flush()
        return reports

    def _read(self, path: Path) -> bytes:
        check_supported(path.name)
        self._check_size(path.name, path.stat().st_size)  # before reading a huge file
        return path.read_bytes()

    def _check_size(self, name: str, size: int) -> None:
        if size > self.max_bytes:
            raise FileTooLarge(
                f"{name}: {size / 1e6:.1f} MB is over the {self.max_bytes / 1e6:.0f} MB limit",
                source=name,
            )

    def _prepare(
        self, name: str, data: bytes, audiences: Sequence[str], url: str
    ) -> _Prepared | IngestReport:
        """Parse, chunk and enrich; an unchanged document comes back as its report."""
        started = time.perf_counter()
        source = Path(name).name
        groups = normalise_audiences(audiences)
        self._check_size(source, len(data))
        version = _version(data, groups)
        previous = self.store.document(source)
        if previous is not None and previous.version == version:
            return IngestReport(source, "unchanged", previous.chunks)
        doc = parse(source, data)
        chunks = chunk_document(doc, self.chunk_size, self.chunk_overlap)
        for enricher in self.enrichers:
            chunks = enricher.enrich(doc, chunks)
        context = _context(doc)
        pieces = split_pieces(chunks)
        record = DocumentRecord(
            doc_id=document_id(source),
            source=source,
            title=doc.title,
            version=version,
            audiences=groups,
            chunks=len(chunks),
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            url=url,
            context=context,
        )
        texts = embedded_texts(doc.title, context, chunks, pieces)
        return _Prepared(record, chunks, pieces, texts, previous is not None, started)

    def _publish(self, prepared: _Prepared, vectors: np.ndarray) -> IngestReport:
        record = prepared.record
        n = len(prepared.chunks)
        self.store.publish(record, prepared.chunks, vectors[:n], prepared.pieces, vectors[n:])
        elapsed = time.perf_counter() - prepared.started
        log.info("ingested doc=%s chunks=%d in %.2fs", record.doc_id, record.chunks, elapsed)
        status = "updated" if prepared.replaces else "added"
        return IngestReport(record.source, status, record.chunks, seconds=elapsed)


@dataclass(frozen=True)
class _Prepared:
    record: DocumentRecord
    chunks: list[Chunk]
    pieces: list[Piece]
    texts: list[str]  # what is embedded: one text per chunk, then one per piece
    replaces: bool
    started: float


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            files.append(path)
    return files


def embedded_texts(
    title: str, context: str, chunks: Sequence[Chunk], pieces: Sequence[Piece]
) -> list[str]:
    """The texts embedded for a document: each chunk with the document's context (what
    the page is about), then each piece with the title and its chunk's section."""
    sections = {c.index: c.section for c in chunks}
    return [f"{context}\n{c.section}\n{c.text}" for c in chunks] + [
        f"{title}\n{sections[p.chunk]}\n{p.text}" for p in pieces
    ]


def _version(data: bytes, audiences: Sequence[str]) -> str:
    digest = hashlib.sha256(INDEX_FORMAT + b"\0" + data)
    digest.update(b"\0" + ",".join(audiences).encode())
    return digest.hexdigest()[:16]


def _context(doc: ParsedDocument, limit: int = 200) -> str:
    """Title and opening line of the document, embedded with every chunk so that a
    passage deep inside it still says what it is about (contextual retrieval)."""
    opening = next((s.text for s in doc.sections if s.text.strip()), "")
    first_line = opening.strip().split("\n", 1)[0][:limit]
    return doc.title if first_line in doc.title else f"{doc.title}: {first_line}"
