"""A stand-in OpenAI-compatible model server for start-up and outage tests: it binds its
port only after `--delay` seconds (a server still loading its model), then streams a fixed
reply; `--black-hole` accepts requests and never answers them."""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from aiohttp import web

REPLY = "Leave is 25 days a year [1]."


async def health(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def models(_: web.Request) -> web.Response:
    return web.json_response({"object": "list", "data": [{"id": "stub", "object": "model"}]})


def chunk(delta: dict, finish: str | None = None) -> bytes:
    body = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "stub",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


async def completions(request: web.Request) -> web.StreamResponse:
    if request.app["black_hole"]:
        await asyncio.Event().wait()  # accepted, never answered
    body = await request.json()
    if not body.get("stream"):
        message = {"role": "assistant", "content": REPLY}
        return web.json_response(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": "stub",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    await response.write(chunk({"role": "assistant", "content": ""}))
    for word in REPLY.split(" "):
        await response.write(chunk({"content": word + " "}))
    await response.write(chunk({}, "stop"))
    await response.write(b"data: [DONE]\n\n")
    return response


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--black-hole", action="store_true")
    args = parser.parse_args()
    time.sleep(args.delay)  # "loading the model": the port is closed meanwhile
    app = web.Application()
    app["black_hole"] = args.black_hole
    app.router.add_get("/health", health)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", completions)
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
