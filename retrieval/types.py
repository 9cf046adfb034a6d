"""Plain data that flows through ingestion and search."""

from __future__ import annotations

from dataclasses import dataclass, field

EVERYONE = "everyone"
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


@dataclass(frozen=True)
class RelevanceSignals:
    top_similarity: float
    content_terms: tuple[str, ...]
    missing_terms: tuple[str, ...]

    @property
    def missing_ratio(self) -> float:
        if not self.content_terms:
            return 0.0
        return len(self.missing_terms) / len(self.content_terms)


@dataclass(frozen=True)
class SearchResult:
    relevant: bool
    passages: tuple[Passage, ...]
    signals: RelevanceSignals
    topics: tuple[str, ...] = field(default=())
