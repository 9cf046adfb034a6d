"""Ingestion: parse, chunk, enrich, embed and publish, one document at a time."""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Protocol

import numpy as np

from retrieval.chunking import chunk_document, split_pieces
from retrieval.embedding import TextEmbedder
from retrieval.errors import CorruptFile, FileTooLarge, RetrievalError
from retrieval.graph.model import DocumentGraph, concept_text
from retrieval.identity import (
    Refusal,
    SourceFile,
    clean_identity,
    expand_sources,
    same_name_refusals,
)
from retrieval.parse import check_supported, parse
from retrieval.parse.limits import MiB, ParseLimits
from retrieval.reading import Reading
from retrieval.settings import RetrievalSettings
from retrieval.store import ChunkStore, document_id, normalise_audiences
from retrieval.types import Chunk, DocumentRecord, ParsedDocument, Piece

log = logging.getLogger(__name__)

# Part of every document's version: a document indexed by an older pipeline (before
# pieces) is indexed again when re-ingested, instead of being reported unchanged.
INDEX_FORMAT = b"chunks+pieces/1"
# ... and a document indexed without its graph is indexed again once the graph is on.
GRAPH_FORMAT = b"chunks+pieces+graph/1"


class Enricher(Protocol):
    """A step between chunking and embedding (the knowledge graph hooks in here)."""

    def enrich(self, doc: ParsedDocument, chunks: list[Chunk]) -> list[Chunk]: ...


class GraphExtractor(Protocol):
    """A document's concepts and relations (retrieval.graph.extract, or the LLM's too)."""

    def extract(self, doc: ParsedDocument, chunks: Sequence[Chunk]) -> DocumentGraph: ...


class DocumentParser(Protocol):
    """Turns files into documents: in this process, or in sandboxed children."""

    def parse(self, name: str, data: bytes) -> ParsedDocument: ...

    def parse_many(
        self, items: Iterable[tuple[str, bytes]]
    ) -> Iterator[ParsedDocument | RetrievalError]: ...


class InlineParser:
    """Parses in the calling process (tests, and measuring what the sandbox costs)."""

    def __init__(self, limits: ParseLimits | None = None) -> None:
        self.limits = limits or ParseLimits()

    def parse(self, name: str, data: bytes) -> ParsedDocument:
        return parse(name, data, self.limits)

    def parse_many(
        self, items: Iterable[tuple[str, bytes]]
    ) -> Iterator[ParsedDocument | RetrievalError]:
        for name, data in items:
            try:
                yield parse(name, data, self.limits)
            except RetrievalError as exc:
                yield exc


def parser_from_settings(rs: RetrievalSettings) -> DocumentParser:
    """The sandboxed parser pool, unless LEARNLOOP_PARSE_SANDBOX turns it off."""
    limits = ParseLimits(
        memory_bytes=rs.parse_memory_mb * MiB,
        cpu_seconds=rs.parse_cpu_seconds,
        wall_seconds=2.0 * rs.parse_cpu_seconds,
        ocr_engine=rs.ocr_engine,
        ocr_languages=rs.ocr_languages,
        ocr_seconds=rs.ocr_seconds,
    )
    if not rs.parse_sandbox:
        return InlineParser(limits)
    from retrieval.parse.sandbox import SandboxParser

    return SandboxParser(limits, workers=rs.parse_workers)


@dataclass(frozen=True)
class IngestReport:
    source: str
    status: str  # added | updated | unchanged | skipped
    chunks: int = 0
    code: str = ""
    reason: str = ""
    seconds: float = 0.0
    reading: Reading | None = None  # what was read and skipped inside the file, if parsed

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
        parser: DocumentParser | None = None,
        graph: GraphExtractor | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.max_bytes = max_bytes
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.enrichers = tuple(enrichers)
        self.embed_batch = embed_batch
        self.parser: DocumentParser = parser or InlineParser()
        self.graph = graph
        self.graph_seconds = 0.0  # time spent extracting graphs (the bench reports it)

    def ingest_bytes(
        self, name: str, data: bytes, audiences: Sequence[str] = ("everyone",), url: str = ""
    ) -> IngestReport:
        """Index one document named `name` (its identity); raise a coded `RetrievalError`
        if it cannot be."""
        checked = self._check(clean_identity(name), data, audiences, url)
        if isinstance(checked, IngestReport):
            return checked
        prepared = self._prepare(checked, self.parser.parse(checked.source, data))
        return self._publish(prepared, self.embedder.embed(prepared.texts))

    def ingest_file(self, path: Path, audiences: Sequence[str] = ("everyone",)) -> IngestReport:
        return self.ingest_bytes(path.name, self._read(path), audiences)

    def ingest_paths(
        self,
        paths: Iterable[Path | SourceFile],
        audiences: Sequence[str] = ("everyone",),
        progress: Progress | None = None,
        batch: Sequence[SourceFile] = (),
    ) -> list[IngestReport]:
        """Ingest files and folders (recursively); a bad file is reported, never fatal.

        `batch` is the whole job when `paths` is one part of it: same-named files are
        judged across it. Files are parsed a few ahead (in the parser's children) and
        chunks of several documents are embedded together; each document is still
        published on its own, so each switches atomically."""
        normalise_audiences(audiences)  # a bad audience fails the batch before any work
        sources = expand_sources(paths)
        whole = list(batch) or sources
        refused = same_name_refusals(whole)
        base_names = Counter(PurePosixPath(s.identity).name for s in whole)
        identities = {s.identity for s in whole}
        reports: list[IngestReport] = []
        pending: list[_Prepared] = []
        waiting: deque[_Checked] = deque()

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

        def to_parse() -> Iterator[tuple[str, bytes]]:
            for source in sources:
                if (refusal := refused.get(source.path)) is not None:
                    report(_refused(refusal))
                    continue
                try:
                    data = self._read(source.path, source.identity)
                    checked = self._check(source.identity, data, audiences, "")
                except RetrievalError as exc:
                    log.warning("skipped file code=%s", exc.code)
                    report(
                        IngestReport(source.identity, "skipped", code=exc.code, reason=exc.message)
                    )
                    continue
                if isinstance(checked, IngestReport):
                    report(checked)
                    continue
                # a document filed under its base name before folders gave it a path
                base = PurePosixPath(source.identity).name
                if checked.previous is None and base_names[base] == 1 and base not in identities:
                    checked = replace(checked, legacy=self.store.legacy_document(base))
                waiting.append(checked)
                yield source.identity, data

        for result in self.parser.parse_many(to_parse()):
            checked = waiting.popleft()
            if isinstance(result, RetrievalError):
                log.warning("skipped file code=%s", result.code)
                report(
                    IngestReport(checked.source, "skipped", code=result.code, reason=result.message)
                )
                continue
            pending.append(self._prepare(checked, result))
            if sum(len(p.texts) for p in pending) >= self.embed_batch:
                flush()
        if pending:
            flush()
        return reports

    def _read(self, path: Path, name: str = "") -> bytes:
        name = name or path.name
        check_supported(name)
        try:
            self._check_size(name, path.stat().st_size)  # before reading a huge file
            return path.read_bytes()
        except OSError as exc:
            raise CorruptFile(
                f"{name}: cannot read the file ({exc.strerror})", source=name
            ) from exc

    def _check_size(self, name: str, size: int) -> None:
        if size > self.max_bytes:
            raise FileTooLarge(
                f"{name}: {size / 1e6:.1f} MB is over the {self.max_bytes / 1e6:.0f} MB limit",
                source=name,
            )

    def _check(
        self, source: str, data: bytes, audiences: Sequence[str], url: str
    ) -> _Checked | IngestReport:
        """Size and version; an unchanged document comes back as its report."""
        started = time.perf_counter()
        check_supported(source)
        groups = normalise_audiences(audiences)
        self._check_size(source, len(data))
        version = _version(data, groups, GRAPH_FORMAT if self.graph else INDEX_FORMAT)
        previous = self.store.document(source)
        if previous is not None and previous.version == version:
            return IngestReport(source, "unchanged", previous.chunks)
        return _Checked(source, version, groups, url, previous, None, started)

    def _prepare(self, checked: _Checked, doc: ParsedDocument) -> _Prepared:
        """Chunk and enrich a parsed document into what is embedded and published."""
        chunks = chunk_document(doc, self.chunk_size, self.chunk_overlap)
        for enricher in self.enrichers:
            chunks = enricher.enrich(doc, chunks)
        context = _context(doc)
        pieces = split_pieces(chunks)
        record = DocumentRecord(
            doc_id=document_id(checked.source),
            source=checked.source,
            title=doc.title,
            version=checked.version,
            audiences=checked.audiences,
            chunks=len(chunks),
            ingested_at=datetime.now(UTC).isoformat(timespec="seconds"),
            url=checked.url,
            context=context,
        )
        texts = embedded_texts(doc.title, context, chunks, pieces)
        graph = None
        if self.graph is not None:
            started = time.perf_counter()
            graph = self.graph.extract(doc, chunks)
            self.graph_seconds += time.perf_counter() - started
            texts += [concept_text(c) for c in graph.concepts]
        return _Prepared(record, chunks, pieces, texts, checked, doc.reading, graph)

    def _publish(self, prepared: _Prepared, vectors: np.ndarray) -> IngestReport:
        record, checked = prepared.record, prepared.checked
        n, m = len(prepared.chunks), len(prepared.chunks) + len(prepared.pieces)
        self.store.publish(
            record,
            prepared.chunks,
            vectors[:n],
            prepared.pieces,
            vectors[n:m],
            graph=prepared.graph,
            concept_embeddings=vectors[m:],
        )
        reason = ""
        if checked.legacy is not None:  # the new name is live: the old one can go
            self.store.remove(checked.legacy.source)
            reason = f"replaces {checked.legacy.source!r} (files in folders are now named by path)"
        elapsed = time.perf_counter() - checked.started
        log.info("ingested doc=%s chunks=%d in %.2fs", record.doc_id, record.chunks, elapsed)
        replaced = checked.previous is not None or checked.legacy is not None
        status = "updated" if replaced else "added"
        return IngestReport(
            record.source,
            status,
            record.chunks,
            reason=reason,
            seconds=elapsed,
            reading=prepared.reading,
        )


@dataclass(frozen=True)
class _Checked:
    """A file that needs (re)indexing, before it is parsed."""

    source: str  # the document's identity
    version: str
    audiences: tuple[str, ...]
    url: str
    previous: DocumentRecord | None
    legacy: DocumentRecord | None  # the same document under its pre-path name, if any
    started: float


@dataclass(frozen=True)
class _Prepared:
    record: DocumentRecord
    chunks: list[Chunk]
    pieces: list[Piece]
    texts: list[str]  # what is embedded: one text per chunk, one per piece, one per concept
    checked: _Checked
    reading: Reading
    graph: DocumentGraph | None = None


def _refused(refusal: Refusal) -> IngestReport:
    return IngestReport(
        refusal.source.identity, refusal.status, code=refusal.code, reason=refusal.reason
    )


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """The files under `paths` (see `retrieval.identity.expand_sources` for their names)."""
    return [s.path for s in expand_sources(paths)]


def embedded_texts(
    title: str, context: str, chunks: Sequence[Chunk], pieces: Sequence[Piece]
) -> list[str]:
    """The texts embedded for a document: each chunk with the document's context (what
    the page is about), then each piece with the title and its chunk's section."""
    sections = {c.index: c.section for c in chunks}
    return [f"{context}\n{c.section}\n{c.text}" for c in chunks] + [
        f"{title}\n{sections[p.chunk]}\n{p.text}" for p in pieces
    ]


def _version(data: bytes, audiences: Sequence[str], index_format: bytes = INDEX_FORMAT) -> str:
    digest = hashlib.sha256(index_format + b"\0" + data)
    digest.update(b"\0" + ",".join(audiences).encode())
    return digest.hexdigest()[:16]


def _context(doc: ParsedDocument, limit: int = 200) -> str:
    """Title and opening line of the document, embedded with every chunk so that a
    passage deep inside it still says what it is about (contextual retrieval)."""
    opening = next((s.text for s in doc.sections if s.text.strip()), "")
    first_line = opening.strip().split("\n", 1)[0][:limit]
    return doc.title if first_line in doc.title else f"{doc.title}: {first_line}"
