"""Slack app ack latency and time to first streamed token: N concurrent signed mention
events, each starting a real answer, against `learnloop bot slack --http` running as its
own process over the git corpus and the embedded model; Slack is a local fake.

Usage: python benchmarks/slack_bench.py [--events 50]
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
import time
from pathlib import Path

from aiohttp import ClientSession

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake Slack lives with the tests

from tests.slack_server import (  # noqa: E402
    SECRET,
    TOKEN,
    FakeSlack,
    event_body,
    mention,
    post,
)

QUESTIONS = [
    "How do I undo my last commit?",
    "How do I stash my changes?",
    "How do I delete a branch?",
    "What does git rebase do?",
    "How do I tag a release?",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def bench(slack: FakeSlack, url: str, events: int) -> None:
    await slack.start()
    async with ClientSession() as http:
        ready = '{"type": "url_verification", "challenge": "up", "token": "x"}'
        for _ in range(1800):
            try:
                if (await post(http, url, ready))[0] == 200:
                    break
            except OSError:
                await asyncio.sleep(0.1)
        # one answer first: model loaded, caches warm
        await post(http, url, event_body(mention(QUESTIONS[0], "1.1")))
        await slack.wait_for(lambda: slack.named("chat.stopStream"), within=600, what="warm-up")

        sent: dict[str, float] = {}

        async def one(i: int) -> float:
            ts = f"{2000 + i}.1"
            body = event_body(mention(QUESTIONS[i % len(QUESTIONS)], ts))
            started = time.perf_counter()
            sent[ts] = started
            status, _ = await post(http, url, body)
            assert status == 200
            return (time.perf_counter() - started) * 1000

        acks = await asyncio.gather(*(one(i) for i in range(events)))
        first: dict[str, float] = {}

        failed: set[str] = set()

        def all_started() -> bool:
            # the first streamed piece, or a message saying why there is none
            for call in slack.named("chat.startStream", "chat.postMessage"):
                ts = str(call.params.get("thread_ts"))
                if ts in sent and ts not in first:
                    first[ts] = time.perf_counter()
                    if call.method == "chat.postMessage":
                        failed.add(ts)
            return len(first) == events

        # first_token is observed when the startStream call is seen (20 ms polling)
        await slack.wait_for(all_started, within=1800, what="every first token")
    await slack.stop()
    tokens = [(first[ts] - sent[ts]) * 1000 for ts in first if ts not in failed]
    print(f"{events} concurrent signed app_mention events against the running app")
    print(f"  ack latency     p50 {pct(acks, 0.5):8.1f} ms   p99 {pct(acks, 0.99):8.1f} ms")
    print(f"  first token     p50 {pct(tokens, 0.5):8.0f} ms   p99 {pct(tokens, 0.99):8.0f} ms")
    print(f"  (mean ack {statistics.mean(acks):.1f} ms; goal p99 < 50 ms)")
    print(f"  answers that failed instead of streaming: {len(failed)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "SLACK_"))}
        env["LEARNLOOP_DATA_DIR"] = str(Path(tmp) / "data")
        cli = [sys.executable, "-m", "bot"]
        # our own interpreter and CLI, fixed arguments
        subprocess.run(  # noqa: S603
            [*cli, "ingest", str(ROOT / "tests" / "data" / "corpus")], env=env, check=True
        )
        slack, port = FakeSlack(port=free_port()), free_port()
        env.update(
            LEARNLOOP_INFERENCE_PORT=str(free_port()),  # its own embedded model server
            # 50 answers queue behind one CPU model: let the last ones wait, not time out
            LEARNLOOP_INFERENCE_TIMEOUT="900",
            LEARNLOOP_SLACK_API_URL=slack.api_url,
            SLACK_BOT_TOKEN=TOKEN,
            SLACK_SIGNING_SECRET=SECRET,
        )
        args_ = [*cli, "bot", "slack", "--http", "--port", str(port)]
        proc = subprocess.Popen(args_, env=env)  # noqa: S603
        try:
            asyncio.run(bench(slack, f"http://127.0.0.1:{port}/slack/events", args.events))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
