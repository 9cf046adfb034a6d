"""`learnloop up` with Slack and Teams credentials set serves both instead of the terminal
chat, on everything embedded (index server, worker, inference server), builds each heavy
part once per process, and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import time
from collections import Counter

import pytest
from aiohttp import ClientSession

from tests.conftest import free_port
from tests.integration.test_slack_e2e import chunks_text, spawn, wait_up
from tests.slack_server import SECRET, TOKEN, FakeSlack, event_body, mention, post

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def loads(log: str) -> tuple[Counter[str], int]:
    """Embedding-model loads per process id, and inference servers started, in `up`'s log."""
    per_pid = Counter(re.findall(r"loading the embedding model \(pid (\d+)\)", log))
    return per_pid, log.count("starting the embedded inference server")


def test_up_serves_slack_and_teams_building_each_part_once(tmp_path, generation_model):
    slack = FakeSlack(port=free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "SLACK_"))}
    env = {k: v for k, v in env.items() if not k.startswith("MICROSOFT_")}
    inference_port = free_port()
    env.update(
        LEARNLOOP_DATA_DIR=str(tmp_path / "data"),
        LEARNLOOP_GENERATION_MODEL=str(generation_model),
        LEARNLOOP_INFERENCE_PORT=str(inference_port),
        LEARNLOOP_SLACK_API_URL=slack.api_url,
        LEARNLOOP_LOG_LEVEL="INFO",
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        MICROSOFT_APP_ID="00000000-0000-0000-0000-000000000001",
        MICROSOFT_APP_PASSWORD="test-password-not-a-placeholder",  # noqa: S106 - a test value
    )
    port, teams_port = free_port(), free_port()
    log = tmp_path / "up.log"
    proc = spawn(
        env,
        log,
        "up",
        *("--slack-port", str(port), "--teams-port", str(teams_port), "--web-port", "0"),
    )
    url = f"http://127.0.0.1:{port}/slack/events"

    async def scenario() -> str:
        await slack.start()
        try:
            async with ClientSession() as http:
                await wait_up(http, url, proc)
                event = mention("<@UBOT> What is LearnLoop?", "900.1")
                assert (await post(http, url, event_body(event)))[0] == 200
                await slack.wait_for(
                    lambda: slack.named("chat.stopStream"), within=300, what="a streamed answer"
                )
                # the quotes (posted first) and the streamed, checked sentences
                quotes = " ".join(c.params.get("text", "") for c in slack.named("chat.postMessage"))
                streams = slack.named("chat.startStream", "chat.appendStream", "chat.stopStream")
                return quotes + chunks_text(streams)
        finally:
            await slack.stop()

    try:
        answer = asyncio.run(scenario())
        assert answer.strip()  # answered from the sample material, streamed into the thread
        start = slack.named("chat.startStream")[0]
        assert start.params["thread_ts"] == "900.1"
        # the Teams process (a child of up) warms its search as it starts: wait for it
        deadline = time.monotonic() + 180
        while len(loads(log.read_text())[0]) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        per_process, servers = loads(log.read_text())
        assert len(per_process) == 2, per_process  # up (serving Slack) and the Teams process
        assert set(per_process.values()) == {1}, per_process  # once each, not per service
        assert servers == 1  # one inference server for both surfaces
        proc.send_signal(signal.SIGTERM)  # a container or service stop
        assert proc.wait(timeout=60) == 0
        with socket.socket() as sock:  # the inference server it started is gone too
            assert sock.connect_ex(("127.0.0.1", inference_port)) != 0
    except BaseException:
        print(log.read_text())
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
