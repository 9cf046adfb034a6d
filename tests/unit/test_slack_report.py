"""The admin report in Slack: real signed requests into the running app; the chart goes
through slack-sdk's `files_upload_v2` (files.getUploadURLExternal, the bytes POSTed to
the upload URL, files.completeUploadExternal) against the fake Web API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from aiohttp import ClientSession

from bot.adapters.charts import report_chart
from bot.adapters.slack.settings import SlackSettings
from bot.adapters.store.analytics import SqlAnalytics
from bot.bootstrap import App
from bot.domain.conversation import REPORTS_IN_TERMINAL, friendly
from bot.domain.ports import Findings
from bot.services.reports import CHART_NAME, ReportService
from bot.surfaces.slack.app import build_slack_app
from bot.surfaces.slack.handlers_report import SENT_TO_DM
from bot.surfaces.slack.once import MemoryOnce
from bot.surfaces.slack.server import start_http
from tests.fakes import FakeChatModel, FakeRetriever
from tests.slack_server import (
    SECRET,
    TOKEN,
    FakeSlack,
    command_body,
    event_body,
    mention,
    message,
    post,
)
from tests.unit.test_report_chart import GAP, PNG, seed

ADMIN, OWNER, LEARNER = "U1", "U3", "U2"  # LEARNLOOP_ADMINS, a workspace owner, neither


@dataclass
class Bot:
    slack: FakeSlack
    url: str
    http: ClientSession

    async def send(self, body: str, form: bool = False) -> None:
        status, _ = await post(self.http, self.url, body, form=form)
        assert status == 200

    async def dm(self, text: str, user: str, channel: str, ts: str = "10.1") -> None:
        await self.send(event_body(message(text, ts, channel=channel, user=user)))

    async def uploaded(self) -> tuple[dict, bytes]:
        """The completed upload's parameters and the bytes posted to its upload URL."""
        done = await self.slack.wait_for(
            lambda: self.slack.named("files.completeUploadExternal"), what="an upload"
        )
        (shared,) = done[0].params["files"]
        return done[0].params, self.slack.uploads[shared["id"]]


@pytest.fixture
def app(make_app) -> App:
    """The app these tests run: one admin by setting; nothing is recorded or queued."""
    return make_app(
        admins=f"slack:{ADMIN}",
        retriever=FakeRetriever(Findings(True, (), ())),
        model=FakeChatModel("unused"),
        jobs=None,
    )


@asynccontextmanager
async def running(app: App, *, reports: bool = True, model_status=None) -> AsyncIterator[Bot]:
    service = app.reports if reports else None
    if model_status is not None:  # an admin's "model status" reads the learning loop's registry
        service = ReportService(
            SqlAnalytics(app.sessions),
            report_chart,
            admins=app.chat.admins,
            model_status=model_status,
        )
    slack = await FakeSlack(dms={ADMIN: "D1", LEARNER: "D2", OWNER: "D3"}).start()
    slack.owners.add(OWNER)
    settings = SlackSettings(bot_token=TOKEN, signing_secret=SECRET, api_url=slack.api_url)
    once = MemoryOnce(60)
    slack_app = build_slack_app(app.chat, settings, once, reports=service)
    runner, port = await start_http(slack_app, "127.0.0.1", 0, signing_secret=SECRET)
    try:
        async with ClientSession() as http:
            yield Bot(slack, f"http://127.0.0.1:{port}/slack/events", http)
    finally:
        await runner.cleanup()
        await slack.stop()
        await once.aclose()


def test_an_admin_gets_the_summary_and_the_chart_in_the_dm(make_app, app):
    asyncio.run(seed(make_app, datetime.now(UTC)))

    async def scenario():
        async with running(app) as bot:
            await bot.dm("report", ADMIN, "D1")
            done, data = await bot.uploaded()
            (asked,) = bot.slack.named("files.getUploadURLExternal")
            assert asked.params["filename"] == CHART_NAME
            assert int(asked.params["length"]) == len(data)
            assert data.startswith(PNG) and len(data) > 5_000
            assert done["channel_id"] == "D1"
            comment = done["initial_comment"]
            assert comment.startswith("LearnLoop report, last 30 days: 12 quiz answers")
            assert "Weakest topics" in comment and GAP in comment
            assert not bot.slack.texts("D1")  # the summary rides on the upload
            assert not bot.slack.named("users.info")  # LEARNLOOP_ADMINS needs no lookup

    asyncio.run(scenario())


def test_anyone_else_is_refused_and_nothing_is_uploaded(make_app, app):
    asyncio.run(seed(make_app, datetime.now(UTC)))

    async def scenario():
        async with running(app) as bot:
            await bot.dm("report", LEARNER, "D2")
            refused = friendly("not_allowed")
            await bot.slack.wait_for(lambda: refused in bot.slack.texts("D2"), what="refusal")
            assert bot.slack.named("users.info")  # asked whether they run the workspace
            assert not bot.slack.named("files.getUploadURLExternal", "files.completeUploadExternal")
            assert not bot.slack.uploads

    asyncio.run(scenario())


def test_a_workspace_owner_gets_it_in_the_dm_via_learn_and_a_mention(make_app, app):
    asyncio.run(seed(make_app, datetime.now(UTC)))

    async def scenario():
        async with running(app) as bot:
            hook = f"{bot.slack.url}/response/report"
            await bot.send(command_body("report 7", hook, user=OWNER, channel="C1"), form=True)
            done, data = await bot.uploaded()
            assert done["channel_id"] == "D3" and data.startswith(PNG)
            assert "last 7 days" in done["initial_comment"]
            await bot.slack.wait_for(lambda: SENT_TO_DM in bot.slack.texts(), what="pointer")
            # a mention in a channel: the chart goes to the DM, a pointer to the thread
            await bot.send(event_body(mention("report", "20.1", channel="C1", user=OWNER)))
            await bot.slack.wait_for(
                lambda: len(bot.slack.named("files.completeUploadExternal")) == 2, what="2nd"
            )
            second = bot.slack.named("files.completeUploadExternal")[1]
            assert second.params["channel_id"] == "D3"
            pointer = await bot.slack.wait_for(
                lambda: [
                    c for c in bot.slack.named("chat.postMessage") if c.params["channel"] == "C1"
                ],
                what="pointer in the thread",
            )
            assert pointer[0].params["text"] == SENT_TO_DM
            assert pointer[0].params["thread_ts"] == "20.1"

    asyncio.run(scenario())


def test_with_no_history_the_admin_is_told_there_is_nothing_to_chart(app):
    async def scenario():
        async with running(app) as bot:
            await bot.dm("report", ADMIN, "D1")
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("D1"), what="summary")
            assert "no chart" in text and "0 quiz answers" in text
            assert not bot.slack.named("files.getUploadURLExternal")

    asyncio.run(scenario())


def test_without_the_report_service_report_points_to_the_cli(app):
    async def scenario():
        async with running(app, reports=False) as bot:
            await bot.dm("report", ADMIN, "D1")
            await bot.slack.wait_for(
                lambda: REPORTS_IN_TERMINAL in bot.slack.texts("D1"), what="pointer"
            )

    asyncio.run(scenario())
