"""Cold starts: a chat process whose model server is still starting keeps its event loop
free. The model is a stand-in server (tests/model_stub.py) that opens its port only after
a delay, started the way the embedded server is (`EmbeddedServer.start`, a blocking poll)."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time

import pytest

from bot.adapters.model import ClientChatModel, LazyModel
from bot.runtime.inference import EmbeddedServer, healthy
from inference.client import ChatClient
from tests.conftest import free_port
from tests.loop_watch import lag_watch, no_blocking, task_stacks, thread_stacks
from tests.slack_server import mention
from tests.unit.test_slack_app import running

pytestmark = pytest.mark.integration

STREAM = ("chat.startStream", "chat.appendStream", "chat.stopStream")


def slow_model(delay: float) -> tuple[EmbeddedServer, LazyModel, threading.Event]:
    """A lazily started model whose server answers `delay` s after it is launched."""
    port = free_port()
    launched = threading.Event()
    command = [sys.executable, "-m", "tests.model_stub", "--port", str(port)]
    server = EmbeddedServer(port, on_start=launched.set, command=[*command, "--delay", str(delay)])
    model = LazyModel(lambda: ClientChatModel(ChatClient(server.start(), "stub")), "stub")
    return server, model, launched


def test_a_cold_started_slack_bot_acks_a_second_event_while_the_first_waits(make_app):
    server, model, launched = slow_model(delay=4)

    async def scenario():
        async with running(make_app, model=model) as bot:
            with no_blocking(asyncio.get_running_loop()):
                assert await bot.event(mention("How long is leave?", "400.1")) == 200
                # the first question now waits for the model
                assert await asyncio.to_thread(launched.wait, 30)
                began = time.monotonic()
                assert await bot.event(mention("And sick leave?", "400.2")) == 200
                assert time.monotonic() - began < 1.0
                # ... acknowledged while the first question still waits for the model
                assert not await asyncio.to_thread(healthy, server.url)
                assert not bot.streams()
                await bot.slack.wait_for(lambda: len(bot.streams()) == 2, within=30)
                streamed = "".join(
                    c["text"]
                    for call in bot.slack.named(*STREAM)
                    for c in call.params.get("chunks", [])
                )
                assert "25 days" in streamed  # answered by the model once it was up
                await model.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()


def test_a_cold_started_teams_bot_returns_the_first_request_within_ten_seconds(tmp_path):
    """Bot Service gives up after 10-15 s: the answer must continue after the request."""
    from bot.adapters.store import FeedbackRepository, JobRepository, database_url, open_store
    from bot.adapters.store.access import AccessRepository
    from bot.adapters.store.threads import ThreadRepository
    from bot.domain.ports import Findings
    from bot.services.answers import AnswerService
    from bot.services.chat import ChatService
    from bot.services.jobs import JobPolicy, JobService
    from tests.fakes import FakeRetriever
    from tests.unit.test_jobs_service import FakeSender
    from tests.unit.test_slack_app import SOURCES
    from tests.unit.test_teams import harness

    server, model, launched = slow_model(delay=12)
    engine, sessions = open_store(database_url("", tmp_path))
    jobs_repo = JobRepository(sessions)
    jobs = JobService(
        jobs_repo,
        FeedbackRepository(sessions),
        FakeSender(jobs_repo),
        upload_dir=tmp_path / "uploads",
        policy=JobPolicy(expires_seconds=600),
        closers=(engine.dispose,),
    )
    chat = ChatService(
        AnswerService(FakeRetriever(Findings(True, SOURCES, ())), model),
        jobs,
        AccessRepository(sessions),
        ThreadRepository(sessions),
    )
    try:
        with harness(chat, tmp_path, reply_seconds=8.0, update_seconds=0.5) as teams:
            with no_blocking(teams.loop):
                began = time.monotonic()
                status, _ = teams.post(teams.activity("How long is leave?"))
                assert status == 201 and time.monotonic() - began < 10
                assert launched.is_set()  # the model was still starting meanwhile
                final = teams.capture.wait_for(
                    lambda s: [x for x in s if x.body["type"] == "message"],
                    "the final message",
                    timeout=60,
                )
                assert "25 days" in final[-1].body["text"]  # continued proactively
            teams.run(model.aclose())
    finally:
        jobs.close()
        server.stop()


@pytest.mark.usefixtures("fresh_env")
def test_a_model_server_that_never_answers_gets_the_asker_a_sentence_within_30s(make_app, tmp_path):
    """The defaults, as a process builds them: no retry of a request the server accepted."""
    from bot.bootstrap import build_app
    from bot.domain.conversation import friendly
    from bot.settings import Settings
    from inference.settings import InferenceSettings

    accepted: list[float] = []  # when each request reached the model server
    clients: list[asyncio.StreamWriter] = []

    async def black_hole(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(time.monotonic())
        clients.append(writer)
        await reader.read()  # reads the request, answers nothing, until the client leaves
        writer.close()

    async def scenario():
        server = await asyncio.start_server(black_hole, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        isettings = InferenceSettings(inference_url=f"http://127.0.0.1:{port}/v1")
        app = build_app(Settings(data_dir=tmp_path), inference_settings=isettings)
        # a bot process opens (and migrates) its store at start, before any question: so
        # does this one, so that the clock measures the model's deadline, not a migration
        await asyncio.to_thread(app.adapter_registry.active)
        try:
            async with server, running(make_app, model=app.model) as bot, lag_watch() as lag:
                began = time.monotonic()
                await bot.event(mention("How long is leave?", "500.1"))
                try:
                    (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("C1"), within=30)
                except AssertionError as exc:  # where the 30 s went, for whoever reads CI's log
                    asked = [f"{t - began:.1f}s" for t in accepted]
                    raise AssertionError(
                        f"{exc}\nmodel asked at {asked} (first-token deadline "
                        f"{isettings.first_token_seconds:g}s); the event loop's longest stall "
                        f"{lag.longest:.1f}s; load {os.getloadavg()}\n"
                        f"{task_stacks()}\n{thread_stacks()}"
                    ) from None
                assert time.monotonic() - began < 30
                assert text == friendly("model_unavailable")
                assert len(accepted) == 1  # asked once: a timeout is not retried
        finally:
            for writer in clients:  # the black hole's connections end with the test
                writer.close()
            await app.aclose()

    asyncio.run(scenario())


def test_the_operations_readyz_reads_the_model_readiness_of_a_cold_start(make_app):
    """One readiness: the operations port's `model` check is `ModelReadiness`'s state (no
    probe or start of its own), so /readyz says "starting" until the server it started
    answers, and turns ready with it; the server is started once."""
    import json
    import urllib.error
    import urllib.request

    from bot.surfaces.readiness import ModelReadiness

    port = free_port()
    command = [sys.executable, "-m", "tests.model_stub", "--port", str(port), "--delay", "3"]
    app = make_app(
        ops_port=free_port(),
        model_endpoint=(f"http://127.0.0.1:{port}/v1", "stub"),
        model_server=lambda app: EmbeddedServer(port, on_start=app._count_server, command=command),
    )

    def readyz() -> tuple[bool, dict[str, str]]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{app.settings.ops_port}/readyz") as r:
                body = json.load(r)
        except urllib.error.HTTPError as exc:
            assert exc.code == 503
            body = json.load(exc)
        return body["ready"], body["checks"]

    async def scenario() -> None:
        readiness = ModelReadiness(app, poll_seconds=0.1)
        ops = app.ops_server(model=readiness.check)
        assert ops is not None and ops.start()
        readiness.start()
        try:
            assert await asyncio.to_thread(readyz) == (
                False,
                {"database": "ok", "broker": "ok", "model": "starting"},
            )

            deadline = time.monotonic() + 30
            while True:
                before = readiness.ready
                ready, checks = await asyncio.to_thread(readyz)
                assert checks["model"] == ("ok" if ready else "starting")
                assert not before or ready  # the operations port is never behind ...
                assert not ready or readiness.ready  # ... nor ahead of ModelReadiness
                if ready:
                    break
                assert time.monotonic() < deadline, "not ready within 30 s"
                await asyncio.sleep(0.1)
            assert app.loads["inference_server"] == 1  # started once, by ModelReadiness
        finally:
            ops.stop()
            await readiness.aclose()
            app.close()  # stops the model server it started

    asyncio.run(scenario())
