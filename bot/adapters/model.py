"""The `ChatModel` port over inference/'s client (errors translated), and its lazy form."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import ClassVar

from bot.domain.errors import ModelUnavailable
from bot.domain.ports import ChatModel, written_by
from inference.client import ChatClient
from inference.errors import InferenceError


class ClientChatModel:
    # A tiny model loops on its own words without it; vLLM takes the same parameter.
    REPETITION_PENALTY: ClassVar[float] = 1.2

    def __init__(self, client: ChatClient) -> None:
        self.client = client
        self.name = client.model

    async def aclose(self) -> None:
        await self.client.close()

    async def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        try:
            completion = await self.client.complete(
                messages, max_tokens, repetition_penalty=self.REPETITION_PENALTY
            )
            return completion.text
        except InferenceError as exc:
            raise ModelUnavailable(exc.message) from exc

    async def stream(self, messages: list[dict[str, str]], max_tokens: int) -> AsyncIterator[str]:
        try:
            async for piece in self.client.stream(
                messages, max_tokens, repetition_penalty=self.REPETITION_PENALTY
            ):
                yield piece
        except InferenceError as exc:
            raise ModelUnavailable(exc.message) from exc


class LazyModel:
    """A ChatModel that reaches its server only when a question really needs the model:
    refusals never start (or wait for) the embedded server.

    `connect` may block for minutes (it can start the embedded server): it runs on a worker
    thread, once, so the event loop keeps acknowledging and answering meanwhile."""

    def __init__(self, connect: Callable[[], ChatModel], name: str) -> None:
        self._connect = connect
        self._model: ChatModel | None = None
        self._connecting = threading.Lock()  # not asyncio's: callers may be on any loop
        self._name = name

    @property
    def name(self) -> str:
        """The connected model's (an adapter's, when one is served), else the configured."""
        return self._model.name if self._model is not None else self._name

    def _connect_once(self) -> ChatModel:
        with self._connecting:
            if self._model is None:
                self._model = self._connect()
            return self._model

    async def connect(self) -> ChatModel:
        """The connected model (its server started or found), off the event loop."""
        if self._model is not None:
            return self._model
        return await asyncio.to_thread(self._connect_once)

    async def aclose(self) -> None:
        if self._model is not None:
            await self._model.aclose()
            self._model = None

    async def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        return await (await self.connect()).complete(messages, max_tokens)

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Reply:
        return Reply(self._name, lambda reply: self._stream(messages, max_tokens, reply))

    async def _stream(
        self, messages: list[dict[str, str]], max_tokens: int, reply: Reply
    ) -> AsyncGenerator[str, None]:
        model = await self.connect()
        pieces = model.stream(messages, max_tokens)
        async for piece in pieces:
            reply.model = written_by(pieces, model)
            yield piece
        reply.model = written_by(pieces, model)


class Reply:
    """A streamed reply's text pieces, and the model (or LoRA adapter) that writes them:
    fixed when its request is made, whatever the model's `name` says by the time the
    answer is recorded (`written_by`)."""

    def __init__(self, model: str, pieces: Callable[[Reply], AsyncGenerator[str, None]]) -> None:
        self.model = model
        self._pieces = pieces(self)

    def __aiter__(self) -> Reply:
        return self

    async def __anext__(self) -> str:
        return await self._pieces.__anext__()

    async def aclose(self) -> None:
        await self._pieces.aclose()
