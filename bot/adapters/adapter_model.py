"""The model port that asks for the learning loop's active LoRA adapter by name.

The registry (training/) names the active adapter; every inference server is reconciled to
serve it under that name. A server that does not have it yet (restarted, not reconciled)
answers 404: the question is then asked of the base model, never failed."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from bot.adapters.model import ClientChatModel
from bot.domain.errors import ModelUnavailable
from inference.client import ChatClient
from inference.errors import InferenceError, ModelNotFound
from training.registry import JsonRegistry

log = logging.getLogger(__name__)


class ActiveAdapter:
    """The active adapter's name (None: the base model), re-read when the registry file
    changes, looked at no more often than every `every` seconds."""

    def __init__(self, root: Path, every: float = 5.0) -> None:
        self._registry = JsonRegistry(root, served_base="")
        self._file = root / "registry.json"
        self._every = every
        self._checked = float("-inf")
        self._stamp: float | None = None
        self._name: str | None = None

    def __call__(self) -> str | None:
        now = time.monotonic()
        if now - self._checked < self._every:
            return self._name
        self._checked = now
        try:
            stamp = self._file.stat().st_mtime
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            active = self._registry.active() if stamp is not None else None
            self._name = active.name if active else None
            log.info("serving adapter %s", self._name or "none (the base model)")
        return self._name


class AdapterChatModel(ClientChatModel):
    """Asks for the active adapter; `name` is the model the latest answer came from."""

    def __init__(self, client: ChatClient, active: Callable[[], str | None]) -> None:
        super().__init__(client)
        self.base = client.model
        self._active = active

    def _pick(self) -> str:
        self.name = self._active() or self.base
        return self.name

    async def complete(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        model = self._pick()
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

    async def stream(self, messages: list[dict[str, str]], max_tokens: int) -> AsyncIterator[str]:
        model = self._pick()
        try:
            try:
                async for piece in self._pieces(messages, max_tokens, model):
                    yield piece
            except ModelNotFound:  # raised before any piece: the request itself was refused
                if model == self.base:
                    raise
                log.warning("adapter %s not on the server yet: answering with the base", model)
                self.name = self.base
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
