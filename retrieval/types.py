"""Plain data that flows through ingestion and search."""

from __future__ import annotations

from dataclasses import dataclass, field

from retrieval.reading import Reading

SECTION_SEPARATOR = " › "


@dataclass(frozen=True)
class Section:
    """A run of text under one heading path (outermost heading first)."""

    heading_path: tuple[str, ...]
    text: str

    @property
    def name(self) -> str:
        return SECTION_SEPARATOR.join(self.heading_path)


@dataclass(frozen=True)
class ParsedDocument:
    title: str
    sections: tuple[Section, ...]
    reading: Reading = field(default_factory=Reading)  # pages, OCR'd and skipped parts

    @property
    def text_length(self) -> int:
        return sum(len(s.text.strip()) for s in self.sections)


@dataclass(frozen=True)
class Chunk:
    """A piece of a document, small enough to embed whole."""

    index: int
    section: str
    text: str


@dataclass(frozen=True)
class Piece:
    """A few sentences of a chunk, embedded on their own (see `chunking.split_pieces`)."""

    chunk: int  # the index of the chunk it belongs to
    text: str


@dataclass(frozen=True)
class DocumentRecord:
    """The catalog entry of one document: which version of its chunks is live."""

    doc_id: str
    source: str
    title: str
    version: str
    audiences: tuple[str, ...]
    chunks: int
    ingested_at: str
    url: str = ""
    context: str = ""  # title and opening line, embedded with every chunk


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    source: str
    title: str
    section: str
    text: str
    score: float
    similarity: float
    url: str = ""
    # provenance, recorded with answers so training knows what each passage was
    version: str = ""
    audiences: tuple[str, ...] = ("everyone",)


@dataclass(frozen=True)
class RelevanceSignals:
    top_similarity: float  # cosine similarity of the closest passage
    content_terms: tuple[str, ...]  # the question's topic words (stemmed)
    missing_terms: tuple[str, ...]  # ... that occur nowhere in the visible material
    rare_terms: tuple[str, ...] = ()  # missing words that are not common English words
    missing_names: tuple[str, ...] = ()  # names (GitHub, VPN) the material never mentions


@dataclass(frozen=True)
class SearchResult:
    relevant: bool
    passages: tuple[Passage, ...]
    signals: RelevanceSignals
    topics: tuple[str, ...] = field(default=())
