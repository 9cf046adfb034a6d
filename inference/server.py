"""The embedded inference server: the subset of vLLM's OpenAI-compatible API LearnLoop uses."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from inference.engine import Delta, Engine, EngineBusy, Event, Failed, Finished, Job
from inference.host import AdapterError, ModelHost
from inference.metrics import ServerMetrics
from inference.protocol import ChatRequest, LoadLoRARequest, UnloadLoRARequest, error
from inference.sampling import SamplingParams
from inference.structured import GrammarCompiler, GrammarError, constraint_of

log = logging.getLogger(__name__)

LORA_SWITCH = "VLLM_ALLOW_RUNTIME_LORA_UPDATING"  # the environment switch vLLM uses


@dataclass
class ServerConfig:
    model_name: str
    api_key: str = ""
    allow_lora_updates: bool = False
    # structured JSON without free whitespace unless a request allows it (vLLM's
    # --structured-outputs-config.disable_any_whitespace, on by default here)
    disable_any_whitespace: bool = True
    default_max_tokens: int = 1024  # when a request names none (vLLM: the rest of the context)
    created: int = field(default_factory=lambda: int(time.time()))


def create_app(
    engine: Engine, config: ServerConfig, metrics: ServerMetrics | None = None
) -> FastAPI:
    app = FastAPI(title="LearnLoop embedded inference server")
    host = engine.host
    name = config.model_name

    @app.middleware("http")
    async def check_key(request: Request, call_next: Any) -> Any:
        if config.api_key and request.url.path.startswith("/v1"):
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not secrets.compare_digest(given.encode(), config.api_key.encode()):
                return JSONResponse({"error": "Unauthorized"}, status_code=401)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(400, _validation_message(exc))

    @app.get("/health")
    async def health() -> Response:
        return Response(status_code=200 if engine.alive else 503)

    # the probes every LearnLoop process answers; this server is its own operations port,
    # as vLLM's API port carries /health and /metrics
    @app.get("/healthz")
    async def healthz() -> Response:
        return PlainTextResponse("ok\n")

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        ready = engine.alive
        checks = {"model": "ok" if ready else "the model engine has stopped"}
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics")
    async def prometheus() -> Response:
        body = metrics.render() if metrics is not None else b""
        return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        def card(model_id: str, root: str, parent: str | None) -> dict[str, Any]:
            return {
                "id": model_id,
                "object": "model",
                "created": config.created,
                "owned_by": "learnloop",
                "root": root,
                "parent": parent,
                "max_model_len": host.max_model_len,
            }

        cards = [card(name, name, None)]
        cards += [card(a, path, name) for a, path in sorted(host.adapters.items())]
        return {"object": "list", "data": cards}

    if config.allow_lora_updates:

        @app.post("/v1/load_lora_adapter", response_model=None)
        async def load_lora(body: LoadLoRARequest) -> Response:
            if not body.lora_name or not body.lora_path:
                return error(
                    400, "Both 'lora_name' and 'lora_path' must be provided.", "InvalidUserInput"
                )
            if body.lora_name == name:
                return error(
                    400,
                    f"The lora adapter name '{body.lora_name}' conflicts with a served base model.",
                    "InvalidUserInput",
                    "lora_name",
                )
            if body.lora_name in host.adapters and not body.load_inplace:
                return error(
                    400,
                    f"The lora adapter '{body.lora_name}' has already been loaded. If you want to "
                    "load the adapter in place, set 'load_inplace' to true.",
                    "InvalidUserInput",
                    "lora_name",
                )

            def load() -> None:
                if body.lora_name in host.adapters:
                    engine.retire_adapter(body.lora_name)
                host.load_adapter(body.lora_name, body.lora_path)

            try:
                await asyncio.wrap_future(engine.call(load))
            except AdapterError as exc:
                return error(exc.status, exc.message, exc.kind)
            return PlainTextResponse(
                f"Success: LoRA adapter '{body.lora_name}' added successfully."
            )

        @app.post("/v1/unload_lora_adapter", response_model=None)
        async def unload_lora(body: UnloadLoRARequest) -> Response:
            if not body.lora_name:
                return error(
                    400,
                    "'lora_name' needs to be provided to unload a LoRA adapter.",
                    "InvalidUserInput",
                )
            if body.lora_name not in host.adapters:
                return error(
                    404, f"The lora adapter '{body.lora_name}' cannot be found.", "NotFoundError"
                )
            await asyncio.wrap_future(engine.call(lambda: engine.retire_adapter(body.lora_name)))
            return PlainTextResponse(
                f"Success: LoRA adapter '{body.lora_name}' removed successfully."
            )

    @app.post("/v1/chat/completions", response_model=None)
    async def chat(body: ChatRequest, request: Request) -> Response:
        if body.model and body.model != name and body.model not in host.adapters:
            return error(404, f"The model `{body.model}` does not exist.", "NotFoundError", "model")
        adapter = body.model if body.model and body.model != name else None
        if body.ignored_fields():
            log.warning(
                "The following fields were present in the request but ignored: %s",
                body.ignored_fields(),
            )
        try:
            constraint = constraint_of(
                body.structured_outputs,
                body.response_format,
                disable_any_whitespace=config.disable_any_whitespace,
            )
            grammar = None
            if constraint is not None:
                if engine.compiler is None:
                    raise GrammarError("structured output needs xgrammar, which is not installed")
                grammar = await asyncio.to_thread(engine.compiler.compile, constraint)
        except GrammarError as exc:
            return error(400, str(exc))
        messages = [{"role": m.role, "content": m.text()} for m in body.messages]
        prompt = await asyncio.to_thread(host.prompt_ids, messages)
        limit = host.max_model_len
        wanted = body.max_completion_tokens or body.max_tokens
        if len(prompt) >= limit:
            return error(
                400,
                f"This model's maximum context length is {limit} tokens. However, "
                f"your request has {len(prompt)} input tokens. Please reduce the length "
                "of the input messages.",
            )
        if wanted is not None and len(prompt) + wanted > limit:
            return error(
                400,
                f"This model's maximum context length is {limit} tokens. However, "
                f"you requested {wanted} output tokens and your prompt contains "
                f"{len(prompt)} input tokens, for a total of {len(prompt) + wanted} "
                "tokens. Please reduce the length of the input messages or the number "
                "of requested output tokens.",
            )
        stops = (body.stop,) if isinstance(body.stop, str) else tuple(body.stop or ())
        params = SamplingParams(
            max_tokens=wanted or min(config.default_max_tokens, limit - len(prompt)),
            temperature=body.temperature,
            top_p=body.top_p,
            seed=body.seed,
            repetition_penalty=body.repetition_penalty,
            stop=stops,
        )
        loop = asyncio.get_running_loop()
        events: asyncio.Queue[Event] = asyncio.Queue()

        def emit(event: Event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        job = Job(prompt, params, emit, adapter=adapter, grammar=grammar)
        try:
            engine.submit(job)
        except EngineBusy as exc:
            return error(
                503, f"The server is busy ({exc}); try again shortly.", "ServiceUnavailableError"
            )
        reply = _Reply(body.model or name)
        if body.stream:
            usage = bool(body.stream_options and body.stream_options.include_usage)
            return StreamingResponse(reply.sse(job, events, usage), media_type="text/event-stream")
        return await reply.collect(job, events, request)

    return app


class _Reply:
    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.model = model
        self.created = int(time.time())

    def _chunk(
        self, choices: list[dict[str, Any]], usage: Any = None, with_usage: bool = False
    ) -> str:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
        }
        if with_usage:
            body["usage"] = usage
        return f"data: {json.dumps(body)}\n\n"

    async def sse(self, job: Job, events: asyncio.Queue[Event], usage: bool) -> AsyncIterator[str]:
        def choice(delta: dict[str, str], finish: str | None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        try:
            yield self._chunk(choice({"role": "assistant", "content": ""}, None), with_usage=usage)
            while True:
                event = await events.get()
                if isinstance(event, Delta):
                    yield self._chunk(choice({"content": event.text}, None), with_usage=usage)
                elif isinstance(event, Finished):
                    yield self._chunk(choice({}, event.reason), with_usage=usage)
                    if usage:
                        yield self._chunk([], _usage(event), with_usage=True)
                    break
                else:
                    body = {
                        "error": {
                            "message": event.message,
                            "type": "InternalServerError",
                            "param": None,
                            "code": 500,
                        }
                    }
                    yield f"data: {json.dumps(body)}\n\n"
                    break
            yield "data: [DONE]\n\n"
        finally:
            job.cancel()  # a client that went away stops its generation

    async def collect(self, job: Job, events: asyncio.Queue[Event], request: Request) -> Response:
        watcher = asyncio.create_task(_watch_disconnect(request, job))
        text: list[str] = []
        try:
            while True:
                event = await events.get()
                if isinstance(event, Delta):
                    text.append(event.text)
                elif isinstance(event, Failed):
                    return error(500, event.message, "InternalServerError")
                else:
                    break
        finally:
            watcher.cancel()
            job.cancel()
        return JSONResponse(
            {
                "id": self.id,
                "object": "chat.completion",
                "created": self.created,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "".join(text)},
                        "logprobs": None,
                        "finish_reason": event.reason,
                    }
                ],
                "usage": _usage(event),
            }
        )


async def _watch_disconnect(request: Request, job: Job) -> None:
    while not job.done:
        if await request.is_disconnected():
            job.cancel()
            return
        await asyncio.sleep(0.25)


def _usage(event: Finished) -> dict[str, int]:
    return {
        "prompt_tokens": event.prompt_tokens,
        "completion_tokens": event.completion_tokens,
        "total_tokens": event.prompt_tokens + event.completion_tokens,
    }


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for problem in exc.errors():
        where = ".".join(str(p) for p in problem.get("loc", ()) if p != "body")
        parts.append(f"{where}: {problem.get('msg')}" if where else str(problem.get("msg")))
    return "; ".join(parts) or "invalid request"


def make_compiler(host: ModelHost) -> GrammarCompiler | None:
    try:
        return GrammarCompiler(host.tokenizer, int(host.config.vocab_size))
    except ImportError:
        log.warning("xgrammar is not installed: structured output requests will be refused")
        return None


def serve(
    host: str,
    port: int,
    model_path: Path,
    model_name: str,
    api_key: str = "",
    lora_modules: dict[str, str] | None = None,
    max_batch: int = 8,
    max_waiting: int = 64,
    disable_any_whitespace: bool = True,
) -> None:
    import uvicorn

    model = ModelHost(model_path)
    metrics = ServerMetrics(model_name)
    engine = Engine(model, make_compiler(model), max_batch, max_waiting, metrics)
    metrics.track(lambda: engine.running, lambda: engine.waiting)
    for adapter, path in (lora_modules or {}).items():
        model.load_adapter(adapter, path)
    allow = os.environ.get(LORA_SWITCH, "").lower() in ("1", "true")
    config = ServerConfig(
        model_name,
        api_key,
        allow_lora_updates=allow,
        disable_any_whitespace=disable_any_whitespace,
    )
    engine.start()
    try:
        uvicorn.run(create_app(engine, config, metrics), host=host, port=port, log_level="warning")
    finally:
        with suppress(Exception):
            engine.stop()
