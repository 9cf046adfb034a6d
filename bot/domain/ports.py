"""What the service needs from the outside world: small protocols, implemented elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain.answering import Source
from bot.domain.conversation import Actor
from bot.domain.material import ChunkView, DocumentInfo, ReviewItem
from bot.domain.quiz import Live, Passage, QuizItem
from bot.domain.web import AdminAction, WebSession


@dataclass(frozen=True)
class Findings:
    relevant: bool
    sources: tuple[Source, ...]
    topics: tuple[str, ...]


class Retriever(Protocol):
    async def find(self, question: str, audiences: Sequence[str], k: int) -> Findings: ...


class ChatModel(Protocol):
    @property
    def name(self) -> str:
        """The model (or LoRA adapter) the latest reply came from."""
        ...

    async def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str: ...

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> AsyncIterator[str]:
        """The reply's text pieces; answers record `written_by(reply, model)`."""
        ...

    async def aclose(self) -> None: ...


def written_by(reply: AsyncIterator[str], model: ChatModel) -> str:
    """The model (or adapter) that wrote a streamed reply: the reply's own `model` when it
    keeps one (a model that picks the active adapter per request), else `model.name`."""
    return str(getattr(reply, "model", "") or model.name)


class Material(Protocol):
    """The training material as quizzes see it, and the catalog's current state."""

    def passages(
        self, audiences: Sequence[str] | None, topic: str = "", limit: int | None = 200
    ) -> Sequence[Passage]: ...

    def documents(self) -> Mapping[str, Live]: ...

    def texts(self, doc_id: str) -> frozenset[str]: ...


class QuizWriter(Protocol):
    async def write(self, passage: Passage) -> QuizItem | None: ...


class TaskSender(Protocol):
    def send(self, name: str, args: list[Any], *, expires: float) -> None: ...


class SignInLinks(Protocol):
    """One-time sign-in links, by the hash of their token."""

    def add_link(self, token_hash: str, actor: Actor, expires_at: datetime) -> None: ...

    def links_since(self, actor_key: str, since: datetime) -> int: ...

    def take_link(self, token_hash: str, now: datetime) -> Actor | None:
        """The link's user, marking it used; None when unknown, used or expired."""
        ...


class WebSessions(Protocol):
    """Signed-in browsers, by the hash of their session id."""

    def add_session(self, id_hash: str, session: WebSession) -> None: ...

    def session(self, id_hash: str, now: datetime) -> WebSession | None: ...

    def end_session(self, id_hash: str) -> None: ...

    def forget_expired(self, now: datetime) -> int:
        """Drop expired sessions (and links past the rate limit's window)."""
        ...


class PendingQuestions(Protocol):
    """Questions posted in the web console and not yet streamed, by the hash of their id."""

    def add_question(
        self, id_hash: str, user_key: str, conversation: str, question: str, expires_at: datetime
    ) -> None: ...

    def take_question(self, id_hash: str, user_key: str, now: datetime) -> tuple[str, str] | None:
        """(conversation, question), removed; None when unknown, another's, taken or expired."""
        ...


class AdminLog(Protocol):
    def record(self, action: AdminAction) -> None: ...

    def recent(self, limit: int) -> Sequence[AdminAction]: ...


class Catalog(Protocol):
    """The indexed documents as the console manages them."""

    def documents(self) -> Sequence[DocumentInfo]: ...

    def chunks(self, doc_id: str) -> Sequence[ChunkView]:
        """The chunks of the document's live version, in order."""
        ...

    def remove(self, source: str) -> DocumentInfo | None: ...

    def original(self, source: str) -> str | None:
        """The file a queued job last ingested the document from, if it is still there."""
        ...


class ReviewQueue(Protocol):
    def items(self, limit: int) -> Sequence[ReviewItem]:
        """Unanswered questions and 👎 answers, newest first."""
        ...
