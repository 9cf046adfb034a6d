"""Embedded server throughput against raw in-process `model.generate`, on the same prompts.

Prints, in one run: raw single-stream tok/s and time to first token; the server's tok/s and
TTFT with 1 stream and with N concurrent streams (streaming through the openai client); the
ratios against raw (goals: >= 0.9x at 1 stream, >= 3x aggregate at 8); the server's peak RSS.

Usage: python benchmarks/inference_bench.py [--tokens 64] [--streams 8] [--model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

PROMPTS = [
    "Explain what a git branch is to a new colleague.",
    "Write a short story about a lighthouse keeper.",
    "List ten tips for writing clear commit messages.",
    "Describe how to prepare for a job interview.",
    "What are the benefits of code review? Explain in detail.",
    "Write a poem about autumn leaves and rain.",
    "Explain how a bicycle works, part by part.",
    "Give advice to someone learning to cook at home.",
]


def raw_generate(model_path: Path, tokens: int) -> tuple[float, float]:
    """Single-stream greedy `model.generate` in this process: (tok/s, median TTFT s)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    device = "cuda" if torch.cuda.is_available() else "cpu"  # as the server chooses
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    model = AutoModelForCausalLM.from_pretrained(str(model_path), dtype=dtype).to(device).eval()
    total_tokens, total_time, ttfts = 0, 0.0, []
    for prompt in PROMPTS:
        inputs = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}],
            add_generation_prompt=True,
            return_tensors="pt",
            return_dict=True,
        ).to(device)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True)
        out: dict[str, object] = {}

        def run(inputs=inputs, streamer=streamer, out=out) -> None:
            with torch.inference_mode():
                out["ids"] = model.generate(
                    **inputs, max_new_tokens=tokens, do_sample=False, streamer=streamer
                )

        start = time.perf_counter()
        worker = threading.Thread(target=run)
        worker.start()
        first = None
        for piece in streamer:
            if first is None and piece:
                first = time.perf_counter() - start
        worker.join()
        total_time += time.perf_counter() - start
        ids = out["ids"]
        total_tokens += int(ids.shape[1]) - int(inputs["input_ids"].shape[1])  # type: ignore[attr-defined]
        ttfts.append(first or 0.0)
    return total_tokens / total_time, statistics.median(ttfts)


async def server_streams(url: str, model: str, tokens: int, streams: int) -> tuple[float, float]:
    """`streams` concurrent streaming requests, repeated over the prompts: (tok/s, TTFT s)."""
    import openai

    client = openai.AsyncOpenAI(base_url=url, api_key="unused", timeout=600)
    ttfts: list[float] = []

    async def one(prompt: str) -> int:
        start = time.perf_counter()
        stream = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=tokens,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
        )
        used, first = 0, True
        async for chunk in stream:
            if first and chunk.choices and chunk.choices[0].delta.content:
                ttfts.append(time.perf_counter() - start)
                first = False
            if chunk.usage:
                used = chunk.usage.completion_tokens
        return used

    try:
        begin = time.perf_counter()
        produced = 0
        for i in range(0, len(PROMPTS), streams):
            batch = PROMPTS[i : i + streams]
            produced += sum(await asyncio.gather(*(one(p) for p in batch)))
        return produced / (time.perf_counter() - begin), statistics.median(ttfts)
    finally:
        await client.close()


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64, help="max tokens per request")
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--model", type=Path, help="HF model folder (default: packaged)")
    args = parser.parse_args()

    from bot.settings import Settings
    from inference.models import generation_model_path, served_name

    path = args.model or generation_model_path("", Settings().data_dir)
    name = served_name(str(args.model or ""))
    print(f"model {path}, {args.tokens} tokens per request, {len(PROMPTS)} prompts", flush=True)

    raw_tps, raw_ttft = raw_generate(path, args.tokens)
    print(f"raw model.generate, 1 stream: {raw_tps:6.1f} tok/s  TTFT {raw_ttft * 1000:6.0f} ms")

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "LEARNLOOP_GENERATION_MODEL": str(path)}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [
                sys.executable,
                "-m",
                "bot",
                "serve-inference",
                "--port",
                str(port),
                "--max-batch",
                str(args.streams),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    urllib.request.urlopen(f"{url}/health", timeout=1)  # noqa: S310
                    break
                except OSError:
                    time.sleep(0.25)
            asyncio.run(server_streams(f"{url}/v1", name, 8, 1))  # warm-up
            one_tps, one_ttft = asyncio.run(server_streams(f"{url}/v1", name, args.tokens, 1))
            many_tps, many_ttft = asyncio.run(
                server_streams(f"{url}/v1", name, args.tokens, args.streams)
            )
            rss = peak_rss_mib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"server, 1 stream:           {one_tps:6.1f} tok/s  TTFT {one_ttft * 1000:6.0f} ms"
        f"  ratio {one_tps / raw_tps:4.2f}x (goal >= 0.9x)"
    )
    print(
        f"server, {args.streams} streams (aggregate): {many_tps:6.1f} tok/s"
        f"  TTFT {many_ttft * 1000:6.0f} ms"
        f"  ratio {many_tps / raw_tps:4.2f}x (goal >= 3x)"
    )
    print(f"server peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
