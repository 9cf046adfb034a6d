"""Async client for the OpenAI-compatible chat API: vLLM in production, the embedded server here.

Both speak the same API, so nothing above this module knows which one it talks to.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
    """`model` is the default served model; any call may name a LoRA adapter instead.

    Every wait is bounded: `timeout` for a whole answer, `first_token_timeout` for the first
    words of a streamed one (and any silence after them). Only connection failures are
    retried (`max_retries`, with backoff), and a request the server turned away unworked
    (429, 503 busy): a server that accepted a request and went quiet is reported at once,
    not asked again."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "",
        timeout: float = 120.0,
        max_retries: int = 2,
        first_token_timeout: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.first_token_timeout = min(first_token_timeout or timeout, timeout)
        self.max_retries = max_retries
        self._client = openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key or "not-needed",  # the embedded server and vLLM may not check it
            timeout=openai.Timeout(timeout, connect=min(10.0, timeout)),
            max_retries=0,  # ours, below: openai's would also repeat timeouts and 5xx
        )

    async def _create(self, **request: Any) -> Any:
        """One chat completion request, retried on connection failures and busy refusals."""
        for attempt in range(self.max_retries + 1):
            try:
                return await self._client.chat.completions.create(**request)
            except openai.APITimeoutError:
                raise  # accepted and unanswered: asking again only doubles the wait
            except openai.APIConnectionError:
                if attempt == self.max_retries:
                    raise
                log.info("model connection failed; retry %d", attempt + 1)
                await asyncio.sleep(0.5 * 2**attempt)
            except (openai.RateLimitError, openai.InternalServerError) as exc:
                # 429, or 503 "busy": the server turned the request away at the door (its
                # queue is full) without working on it, so asking again after a pause is safe
                if exc.status_code not in (429, 503) or attempt == self.max_retries:
                    raise
                log.info("model server busy; retry %d", attempt + 1)
                await asyncio.sleep(0.5 * 2**attempt)
        raise AssertionError("unreachable")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """The one place openai's exceptions become ours."""
        where = f"the language model at {self.base_url}"
        try:
            yield
        except TimeoutError as exc:  # one of our deadlines
            raise ModelUnavailable(f"{where} is not answering") from exc
        except openai.APITimeoutError as exc:
            raise ModelUnavailable(f"{where} is not answering (timed out)") from exc
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
            async with asyncio.timeout(self.timeout):
                response = await self._create(
                    model=model or self.model,
                    messages=messages,
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
        """Text deltas as they are generated, the first within `first_token_timeout`."""
        began = time.monotonic()
        answer_by = began + self.timeout
        words_by = began + self.first_token_timeout  # moves on with every piece of text
        with self._translated():
            async with asyncio.timeout(self.first_token_timeout):
                chunks = await self._create(
                    model=model or self.model,
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                    extra_body=extra or None,
                    # a silent connection fails after this, not after the whole timeout
                    timeout=openai.Timeout(self.timeout, read=self.first_token_timeout),
                )
            pieces = aiter(chunks)
            try:
                while True:
                    # the deadline covers only our wait for the server, never the caller's
                    # work between two pieces
                    async with asyncio.timeout_at(_loop_time(min(answer_by, words_by))):
                        chunk = await anext(pieces, None)
                    if chunk is None:
                        return
                    if chunk.choices and chunk.choices[0].delta.content:
                        words_by = time.monotonic() + self.first_token_timeout
                        yield chunk.choices[0].delta.content
            finally:
                await chunks.close()  # a stream given up on frees its connection

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


def _loop_time(monotonic: float) -> float:
    """A `time.monotonic()` instant on the running loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (monotonic - time.monotonic())


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
