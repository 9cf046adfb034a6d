"""What the service needs from the outside world: small protocols, implemented elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.answering import Source


@dataclass(frozen=True)
class Findings:
    relevant: bool
    sources: tuple[Source, ...]
    topics: tuple[str, ...]


class Retriever(Protocol):
    async def find(self, question: str, audiences: Sequence[str], k: int) -> Findings: ...


class ChatModel(Protocol):
    name: str

    async def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str: ...

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...
