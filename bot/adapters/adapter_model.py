"""The model port that asks for the learning loop's active LoRA adapter by name.

The registry (in the store) names the active adapter; every inference server is reconciled
to serve it under that name. A server that does not have it yet (restarted, not
reconciled) answers 404: the question is then asked of the base model, never failed.

Each reply reads the active adapter once, when its request is made, and keeps that name
(`Reply.model`): an answer records the adapter that wrote it, even when another is
promoted while it is being written and other answers already ask for the new one."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable

from bot.adapters.model import ClientChatModel, Reply
from bot.domain.errors import ModelUnavailable, StoreUnavailable
from inference.client import ChatClient
from inference.errors import InferenceError, ModelNotFound
from training.registry import AdapterRecord

log = logging.getLogger(__name__)


class ActiveAdapter:
    """The active adapter's name (None: the base model), read from the registry no more
    often than every `every` seconds. While the store cannot be reached the last name
    read is kept: answers go on, the servers still have that adapter."""

    def __init__(self, read: Callable[[], AdapterRecord | None], every: float = 5.0) -> None:
        self._read = read
        self._every = every
        self._checked = float("-inf")
        self._name: str | None = None

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now - self._checked < self._every:
            return self._name
        self._checked = now
        try:
            active = self._read()
        except StoreUnavailable as exc:
            log.warning("adapter registry not readable (%s): keeping %s", exc.message, self._name)
            return self._name
        name = active.name if active else None
        if name != self._name:
            log.info("serving adapter %s", name or "none (the base model)")
        self._name = name
        return name


class AdapterChatModel(ClientChatModel):
    """Asks for the active adapter; `name` is the model the latest reply came from, and
    each streamed reply's `model` the one that wrote it."""

    def __init__(self, client: ChatClient, active: Callable[[], str | None]) -> None:
        super().__init__(client)
        self.base = client.model
        self._active = active

    async def _pick(self) -> str:
        """The active adapter, read off the event loop (it may ask the database)."""
        active: str | None = await asyncio.to_thread(self._active)
        self.name = active or self.base
        return self.name

    async def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        model = await self._pick()
        try:
            try:
                done = await self.client.complete(
                    messages, max_tokens, model=model, repetition_penalty=self.REPETITION_PENALTY
                )
            except ModelNotFound:
                if model == self.base:
                    raise
                done = await self.client.complete(
                    messages, max_tokens, repetition_penalty=self.REPETITION_PENALTY
                )
                self.name = self.base
            return done.text
        except InferenceError as exc:
            raise ModelUnavailable(exc.message) from exc

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Reply:
        return Reply(self.base, lambda reply: self._stream(messages, max_tokens, reply))

    async def _stream(
        self, messages: list[dict[str, str]], max_tokens: int, reply: Reply
    ) -> AsyncGenerator[str, None]:
        model = reply.model = await self._pick()  # once per reply: the name it records
        try:
            try:
                async for piece in self._pieces(messages, max_tokens, model):
                    yield piece
            except ModelNotFound:  # raised before any piece: the request itself was refused
                if model == self.base:
                    raise
                log.warning("adapter %s not on the server yet: answering with the base", model)
                self.name = reply.model = self.base
                async for piece in self._pieces(messages, max_tokens, self.base):
                    yield piece
        except InferenceError as exc:
            raise ModelUnavailable(exc.message) from exc

    def _pieces(
        self, messages: list[dict[str, str]], max_tokens: int, model: str
    ) -> AsyncIterator[str]:
        return self.client.stream(
            messages, max_tokens, model=model, repetition_penalty=self.REPETITION_PENALTY
        )
