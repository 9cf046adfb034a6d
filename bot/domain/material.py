"""The material as admins see it in the console: documents, their chunks, and the
answers that need a person's review."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.conversation import EVERYONE


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    source: str
    title: str
    version: str
    audiences: tuple[str, ...]
    chunks: int
    ingested_at: str


@dataclass(frozen=True)
class ChunkView:
    """A chunk as shown: where it is in its document and who may see it."""

    chunk_id: str  # "<doc id>:<version>:<index>" (retrieval.store)
    source: str
    title: str
    section: str
    text: str
    audiences: tuple[str, ...]


def doc_id_of(chunk_id: str) -> str:
    return chunk_id.split(":", 1)[0]


def may_see(viewer: Iterable[str], audiences: Iterable[str]) -> bool:
    """A passage is visible to a viewer who is in one of its audiences (everyone is)."""
    return bool({*viewer, EVERYONE} & set(audiences))


@dataclass(frozen=True)
class ReviewItem:
    """An answer to review: a question the material did not answer ("unanswered") or an
    answer marked 👎 ("down"), and the right answer someone wrote for it, if any."""

    answer_id: str
    kind: str  # unanswered | down
    question: str
    answer: str
    learner: str
    when: datetime
    correction: str = ""
