"""`learnloop up` with Slack credentials set serves Slack instead of the terminal chat,
on everything embedded (index server, worker, inference server), and stops cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket

import pytest
from aiohttp import ClientSession

from tests.conftest import free_port
from tests.integration.test_slack_e2e import chunks_text, spawn, wait_up
from tests.slack_server import SECRET, TOKEN, FakeSlack, event_body, mention, post

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_up_serves_slack_when_its_credentials_are_set(tmp_path, generation_model):
    slack = FakeSlack(port=free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "SLACK_"))}
    env = {k: v for k, v in env.items() if not k.startswith("MICROSOFT_")}
    inference_port = free_port()
    env.update(
        LEARNLOOP_DATA_DIR=str(tmp_path / "data"),
        LEARNLOOP_GENERATION_MODEL=str(generation_model),
        LEARNLOOP_INFERENCE_PORT=str(inference_port),
        LEARNLOOP_SLACK_API_URL=slack.api_url,
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
    )
    port = free_port()
    log = tmp_path / "up.log"
    proc = spawn(env, log, "up", "--slack-port", str(port))
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
                return chunks_text(slack.named("chat.appendStream", "chat.stopStream"))
        finally:
            await slack.stop()

    try:
        answer = asyncio.run(scenario())
        assert answer.strip()  # answered from the sample material, streamed into the thread
        start = slack.named("chat.startStream")[0]
        assert start.params["thread_ts"] == "900.1"
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
