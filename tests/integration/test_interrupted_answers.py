"""Answers cut off by a dead process: `learnloop bot slack|teams` killed (SIGKILL) while an
answer's message is half-written (its last call held by the local platform server); the
restarted process edits that message to end with the "interrupted" note, once, and answers
the question again, once (Slack through its inbox, Teams from the message's record)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import pytest
from aiohttp import ClientSession, web

from bot.adapters.store import database_url, make_engine, sessions
from bot.adapters.store.streams import StreamRepository
from bot.domain.conversation import INTERRUPTED, INTERRUPTED_AGAIN
from bot.surfaces.teams.answers import WORKING
from tests.conftest import free_port
from tests.integration.test_slack_e2e import spawn, wait_up
from tests.services import run_killed_and_restarted
from tests.slack_server import SECRET, TOKEN, FakeSlack, event_body, mention, post
from tests.teams_server import Capture, message_activity

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def bot_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LEARNLOOP_", "SLACK_"))}
    env = {k: v for k, v in env.items() if not k.startswith("MICROSOFT_")}
    env.update(
        LEARNLOOP_DATA_DIR=str(tmp_path / "data"),  # an empty index: the answer is a refusal
        LEARNLOOP_INFERENCE_URL=f"http://127.0.0.1:{free_port()}/v1",
        LEARNLOOP_STREAM_LEASE_SECONDS="2",
        LEARNLOOP_OPS_PORT="0",
        LEARNLOOP_LOG_LEVEL="INFO",
        **extra,
    )
    return env


def on_record(tmp_path: Path, platform: str) -> int:
    """How many of `platform`'s messages the bots' store still holds as streaming."""
    engine = make_engine(database_url("", tmp_path / "data"))
    try:
        return len(StreamRepository(sessions(engine)).streaming(platform))
    finally:
        engine.dispose()


def test_a_slack_answer_cut_off_by_sigkill_is_marked_interrupted_after_restart(tmp_path):
    slack = FakeSlack(port=free_port())
    env = bot_env(
        tmp_path,
        LEARNLOOP_SLACK_API_URL=slack.api_url,
        LEARNLOOP_SLACK_STREAM_BUFFER_CHARS="1",  # the first words start the stream
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
                held = slack.hold["chat.stopStream"] = asyncio.Event()  # never finished
                status, _ = await post(http, url, event_body(mention("What is Zorp?", "100.1")))
                assert status == 200
                await slack.wait_for(lambda: slack.named("chat.stopStream"), within=120)
                (started,) = slack.named("chat.startStream")
                ts = started.result["ts"]
                written = "".join(c["text"] for c in started.params["chunks"])
                assert written.strip()
                procs[0].send_signal(signal.SIGKILL)  # half-written: started, never stopped
                procs[0].wait()
                assert on_record(tmp_path, "slack") == 1
                slack.refuse.add("chat.stopStream")  # Slack closed the abandoned stream
                held.set()
                port = free_port()
                url = f"http://127.0.0.1:{port}/slack/events"
                procs.append(spawn(env, logs[1], "bot", "slack", "--http", "--port", str(port)))
                await wait_up(http, url, procs[1])

                def marked():
                    return [c for c in slack.named("chat.update") if c.params["ts"] == ts]

                (update,) = await slack.wait_for(marked, within=60, what="the message marked")
                assert update.params["channel"] == "C1"
                # its event is still in the inbox, so it is answered again: the note says so
                assert update.params["text"] == f"{written.strip()}\n\n{INTERRUPTED_AGAIN}"
                shown = "".join(b["text"]["text"] for b in update.params["blocks"])
                assert shown.endswith(INTERRUPTED_AGAIN)  # the blocks say it too (shown)
                await slack.wait_for(
                    lambda: on_record(tmp_path, "slack") == 0, within=30, what="forgotten"
                )
                assert len(marked()) == 1
        finally:
            await slack.stop()

    run_killed_and_restarted(logs, scenario)


def test_a_teams_answer_continuing_after_its_request_is_marked_and_answered_again(tmp_path):
    capture = Capture()
    port = free_port()
    env = bot_env(tmp_path, LEARNLOOP_ENV="development", LEARNLOOP_TEAMS_REPLY_SECONDS="0.2")
    logs = [tmp_path / "first.log", tmp_path / "second.log"]

    async def scenario(procs: list[subprocess.Popen[bytes]]) -> None:
        runner = web.AppRunner(capture.app())
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        service_url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        # a personal question, as Bot Service sends it: replies go to the capture server
        activity = message_activity(service_url, "What is Zorp?")
        capture.hold_final = asyncio.Event()
        try:
            async with ClientSession() as http:
                procs.append(spawn(env, logs[0], "bot", "teams", "--port", str(port)))
                await wait_alive(http, port, procs[0])
                async with http.post(f"http://127.0.0.1:{port}/api/messages", json=activity) as r:
                    assert r.status == 201  # the answer goes on after the request
                await wait_sent(capture, lambda s: s.stream.get("streamType") == "final")
                (first,) = [s for s in capture.sent if s.stream.get("streamType") == "informative"]
                stream_id = "reply-1"  # the capture server's id for the first update
                assert first.activity_id == activity["id"]
                procs[0].send_signal(signal.SIGKILL)  # the final message never got through
                procs[0].wait()
                assert on_record(tmp_path, "teams") == 1
                capture.hold_final.set()
                procs.append(spawn(env, logs[1], "bot", "teams", "--port", str(port)))
                await wait_alive(http, port, procs[1])

                def marked(sent) -> bool:
                    return sent.stream.get("streamType") == "final" and sent.body.get(
                        "text", ""
                    ).endswith(INTERRUPTED_AGAIN)

                def working(sent) -> bool:  # the answer given again: sent, then edited
                    return sent.method == "POST" and sent.body.get("text") == WORKING

                def card(sent) -> bool:
                    return sent.method == "PUT" and bool(sent.cards)

                note = await wait_sent(capture, marked)
                assert note.stream["streamId"] == stream_id
                assert note.activity_id == activity["id"]  # in reply to the question
                assert note.conversation == activity["conversation"]["id"]
                answer = await wait_sent(capture, card)
                (again,) = [s for s in capture.sent if working(s) and not s.stream]
                assert again.activity_id == activity["id"]  # in reply to the question too
                assert answer.conversation == activity["conversation"]["id"]
                assert capture.sent.index(note) < capture.sent.index(again)
                await wait_for(lambda: on_record(tmp_path, "teams") == 0, "forgotten")
                await asyncio.sleep(3)  # past a lease: nothing is marked or answered twice
                assert len([s for s in capture.sent if marked(s)]) == 1
                assert len([s for s in capture.sent if card(s)]) == 1
                assert not [s for s in capture.sent if INTERRUPTED in s.body.get("text", "")]
        finally:
            await runner.cleanup()

    run_killed_and_restarted(logs, scenario)


async def wait_alive(http: ClientSession, port: int, proc: subprocess.Popen[bytes]) -> None:
    async def alive() -> bool:
        assert proc.poll() is None, "the Teams app exited"
        try:  # any answer (a GET is 405) means it listens; its probes are on the ops port
            async with http.get(f"http://127.0.0.1:{port}/api/messages"):
                return True
        except OSError:
            return False

    for _ in range(1200):
        if await alive():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the Teams app did not start")


async def wait_for(check, what: str, within: float = 60.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if result := check():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not seen in {within}s")


async def wait_sent(capture: Capture, match):
    found = await wait_for(
        lambda: [s for s in capture.sent if match(s)], "the Teams reply", within=120
    )
    return found[0]
