"""The embedded inference server: the subset of vLLM's OpenAI-compatible API LearnLoop uses."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from inference.generator import GenerationRequest, GenerationResult, Generator

log = logging.getLogger(__name__)


class ChatMessage(BaseModel):
    role: str
    content: str


class StreamOptions(BaseModel):
    include_usage: bool = False


class ChatRequest(BaseModel):
    model: str = ""
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = None
    repetition_penalty: float = Field(default=1.0, gt=0.0, le=2.0)  # vLLM's extra parameter
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None


def _error(status: int, message: str, kind: str = "BadRequestError") -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": status}},
        status_code=status,
    )


def create_app(
    generator: Generator, model_name: str, api_key: str = "", max_tokens_cap: int = 1024
) -> FastAPI:
    app = FastAPI(title="LearnLoop embedded inference server")
    created = int(time.time())

    @app.middleware("http")
    async def check_key(request: Request, call_next: Any) -> Any:
        if api_key and request.url.path.startswith("/v1/"):
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not secrets.compare_digest(given, api_key):
                return _error(401, "invalid API key", "AuthenticationError")
        return await call_next(request)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [
                {
                    "id": model_name,
                    "object": "model",
                    "created": created,
                    "owned_by": "learnloop",
                    "root": model_name,
                    "parent": None,
                }
            ],
        }

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatRequest) -> JSONResponse | StreamingResponse:
        if body.model and body.model != model_name:
            return _error(404, f"The model `{body.model}` does not exist.", "NotFoundError")
        limit = min(body.max_completion_tokens or body.max_tokens or 256, max_tokens_cap)
        stops = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
        request = GenerationRequest(
            messages=[m.model_dump() for m in body.messages],
            max_tokens=limit,
            temperature=body.temperature,
            top_p=body.top_p,
            seed=body.seed,
            repetition_penalty=body.repetition_penalty,
            stop=stops,
        )
        rid = f"chatcmpl-{uuid.uuid4().hex}"
        if body.stream:
            usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(
                _sse(generator, request, rid, model_name, usage), media_type="text/event-stream"
            )
        result = GenerationResult()
        try:
            text = await asyncio.to_thread(lambda: "".join(generator.stream(request, result)))
        except Exception as exc:
            log.exception("generation failed")
            raise HTTPException(500, "generation failed") from exc
        return JSONResponse(
            {
                "id": rid,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model_name,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": result.finish_reason,
                    }
                ],
                "usage": _usage(result),
            }
        )

    return app


def _usage(result: GenerationResult) -> dict[str, int]:
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_tokens": result.prompt_tokens + result.completion_tokens,
    }


async def _sse(
    generator: Generator, request: GenerationRequest, rid: str, model: str, include_usage: bool
) -> AsyncIterator[str]:
    created = int(time.time())

    def chunk(delta: dict[str, str], finish: str | None, usage: Any = None) -> str:
        body: dict[str, Any] = {
            "id": rid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if include_usage:
            body["usage"] = usage
        return f"data: {json.dumps(body)}\n\n"

    result = GenerationResult()
    pieces: Iterator[str] = generator.stream(request, result)
    yield chunk({"role": "assistant", "content": ""}, None)
    while True:
        piece = await asyncio.to_thread(next, pieces, None)
        if piece is None:
            break
        if piece:
            yield chunk({"content": piece}, None)
    yield chunk({}, result.finish_reason)
    if include_usage:
        body = {
            "id": rid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [],
            "usage": _usage(result),
        }
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"


def serve(host: str, port: int, model_path: Any, model_name: str, api_key: str = "") -> None:
    import uvicorn

    generator = Generator(model_path)
    app = create_app(generator, model_name, api_key)
    uvicorn.run(app, host=host, port=port, log_level="warning")
