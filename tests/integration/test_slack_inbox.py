"""Durable acknowledgement: `learnloop bot slack --http` killed (SIGKILL) after it
acknowledged an event and before it answered; the restarted process answers it, once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess

import pytest
from aiohttp import ClientSession

from bot.adapters.store import database_url, make_engine, sessions
from bot.adapters.store.inbox import InboxRepository
from tests.conftest import free_port
from tests.integration.test_slack_e2e import spawn, wait_up
from tests.services import run_killed_and_restarted
from tests.slack_server import SECRET, TOKEN, FakeSlack, event_body, mention, post

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ANSWERS = ("chat.postMessage", "chat.startStream")


def unanswered(tmp_path) -> int:
    """Events the bots' inbox still holds unanswered."""
    engine = make_engine(database_url("", tmp_path / "data"))
    try:
        return InboxRepository(sessions(engine)).pending()
    finally:
        engine.dispose()


def test_an_event_acknowledged_by_a_killed_process_is_answered_once_after_restart(tmp_path):
    slack = FakeSlack(port=free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "SLACK_"))}
    env.update(
        LEARNLOOP_DATA_DIR=str(tmp_path / "data"),  # an empty index: the answer is a refusal
        LEARNLOOP_INFERENCE_URL=f"http://127.0.0.1:{free_port()}/v1",
        LEARNLOOP_SLACK_INBOX_LEASE_SECONDS="4",
        LEARNLOOP_SLACK_API_URL=slack.api_url,
        LEARNLOOP_LOG_LEVEL="INFO",
        LEARNLOOP_OPS_PORT="0",  # no operations port to collide with other processes
        SLACK_BOT_TOKEN=TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
    )
    logs = [tmp_path / "first.log", tmp_path / "second.log"]

    async def scenario(procs: list[subprocess.Popen[bytes]]) -> None:
        await slack.start()
        try:
            async with ClientSession() as http:
                port = free_port()
                url = f"http://127.0.0.1:{port}/slack/events"
                procs.append(spawn(env, logs[0], "bot", "slack", "--http", "--port", str(port)))
                await wait_up(http, url, procs[0])
                held = slack.hold["auth.test"] = asyncio.Event()  # Bolt waits there
                status, _ = await post(http, url, event_body(mention("What is Zorp?", "100.1")))
                assert status == 200
                await slack.wait_for(lambda: slack.named("auth.test"), within=60)
                procs[0].send_signal(signal.SIGKILL)  # acknowledged, not answered
                procs[0].wait()
                held.set()
                assert not slack.named(*ANSWERS)
                port = free_port()
                url = f"http://127.0.0.1:{port}/slack/events"
                procs.append(spawn(env, logs[1], "bot", "slack", "--http", "--port", str(port)))
                await wait_up(http, url, procs[1])
                await slack.wait_for(lambda: slack.named(*ANSWERS), within=120, what="answer")
                # marked answered (after its listeners finished): no process claims it again
                await slack.wait_for(lambda: unanswered(tmp_path) == 0, within=30, what="done")
                answers = [c for c in slack.named(*ANSWERS) if c.params["thread_ts"] == "100.1"]
                assert len(answers) == 1
        finally:
            await slack.stop()

    run_killed_and_restarted(logs, scenario)
