"""Async client for the OpenAI-compatible chat API: vLLM in production, the embedded server here.

Both speak the same API, so nothing above this module knows which one it talks to.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import openai
from pydantic import BaseModel, ValidationError

from inference.errors import (
    BadRequest,
    InferenceError,
    ModelNotFound,
    ModelUnavailable,
    StructuredOutputError,
)

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class Completion:
    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    model: str


class ChatClient:
    """`model` is the default served model; any call may name a LoRA adapter instead."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        # openai retries connection errors, 408, 429 and 5xx (503 when the server's queue
        # is full) with exponential backoff and jitter
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",  # the embedded server and vLLM may not check it
            timeout=timeout,
            max_retries=max_retries,
        )

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """The one place openai's exceptions become ours."""
        where = f"the language model at {self.base_url}"
        try:
            yield
        except openai.APITimeoutError as exc:
            raise ModelUnavailable(f"{where} timed out") from exc
        except openai.APIConnectionError as exc:
            raise ModelUnavailable(f"cannot reach {where}") from exc
        except openai.NotFoundError as exc:
            raise ModelNotFound(f"{where}: {_message(exc)}") from exc
        except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
            raise BadRequest(f"{where} refused the request: {_message(exc)}") from exc
        except openai.APIStatusError as exc:
            raise ModelUnavailable(
                f"{where} answered HTTP {exc.status_code}: {_message(exc)}"
            ) from exc

    async def complete(
        self,
        messages: list[dict[str, str]],
        max_tokens: int = 256,
        temperature: float = 0.0,
        model: str | None = None,
        **extra: Any,
    ) -> Completion:
        """One whole answer; `extra` carries vLLM's own parameters (repetition_penalty...)."""
        with self._translated():
            response = await self._client.chat.completions.create(
                model=model or self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                extra_body=extra or None,
            )
        if not response.choices:
            raise ModelUnavailable(f"the language model at {self.base_url} returned no choices")
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            model=response.model,
        )

    async def stream(
        self,
        messages: list[dict[str, str]],
        max_tokens: int = 256,
        temperature: float = 0.0,
        model: str | None = None,
        **extra: Any,
    ) -> AsyncIterator[str]:
        """Text deltas as they are generated."""
        with self._translated():
            chunks = await self._client.chat.completions.create(
                model=model or self.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
                extra_body=extra or None,
            )
            async for chunk in chunks:  # type: ignore[union-attr]
                if chunk.choices and chunk.choices[0].delta.content:
                    yield chunk.choices[0].delta.content

    async def generate_structured(
        self,
        messages: list[dict[str, str]],
        output: type[T],
        max_tokens: int = 512,
        temperature: float = 0.0,
        model: str | None = None,
        **extra: Any,
    ) -> T:
        """An instance of `output`, decoded under its JSON schema and validated.

        Whitespace between JSON tokens is disabled: with it, small models can emit blanks
        until max_tokens and never close the object.
        """
        constraint = {"json": output.model_json_schema(), "disable_any_whitespace": True}
        completion = await self.complete(
            messages, max_tokens, temperature, model, structured_outputs=constraint, **extra
        )
        if completion.finish_reason == "length":
            raise StructuredOutputError(
                f"the model used all {max_tokens} tokens before finishing {output.__name__}"
            )
        try:
            return output.model_validate_json(completion.text)
        except ValidationError as exc:
            raise StructuredOutputError(
                f"the model's {output.__name__} did not validate: {exc.error_count()} errors"
            ) from exc

    async def models(self) -> list[str]:
        with self._translated():
            page = await self._client.models.list()
        return [m.id for m in page.data]

    async def close(self) -> None:
        await self._client.close()


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
        if isinstance(inner, str):
            return inner
    return exc.message


__all__ = ["ChatClient", "Completion", "InferenceError"]
