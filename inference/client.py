"""Async client for the OpenAI-compatible chat API (vLLM or the embedded server)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import openai

from inference.errors import InferenceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int


class ChatClient:
    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 120.0):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",  # the embedded server and vLLM may not check it
            timeout=timeout,
            max_retries=1,
        )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """The one place openai's exceptions become ours."""
        try:
            yield
        except openai.APITimeoutError as exc:
            raise InferenceUnavailable(f"the language model at {self.base_url} timed out") from exc
        except openai.APIConnectionError as exc:
            raise InferenceUnavailable(
                f"cannot reach the language model at {self.base_url}"
            ) from exc
        except openai.APIStatusError as exc:
            raise InferenceUnavailable(
                f"the language model at {self.base_url} answered HTTP {exc.status_code}"
            ) from exc

    async def complete(
        self,
        messages: list[dict[str, str]],
        max_tokens: int = 256,
        temperature: float = 0.0,
        **extra: Any,
    ) -> Completion:
        with self._translated():
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                extra_body=extra or None,
            )
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    async def stream(
        self,
        messages: list[dict[str, str]],
        max_tokens: int = 256,
        temperature: float = 0.0,
        **extra: Any,
    ) -> AsyncIterator[str]:
        with self._translated():
            chunks = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
                extra_body=extra or None,
            )
            async for chunk in chunks:  # type: ignore[union-attr]
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    async def models(self) -> list[str]:
        with self._translated():
            page = await self._client.models.list()
        return [m.id for m in page.data]

    async def close(self) -> None:
        await self._client.close()
