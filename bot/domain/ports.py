"""What the service needs from the outside world: small protocols, implemented elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.domain.answering import Source
from bot.domain.quiz import Live, Passage, QuizItem


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
