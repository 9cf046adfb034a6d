"""The admin report in Teams over real HTTP (tests/teams_server.py): the summary as text
and the chart as an inline image/png attachment (a base64 data URI)."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

import pytest

from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.conversation import friendly
from bot.services.reports import CHART_NAME
from bot.surfaces.teams.app import build_teams_app
from bot.surfaces.teams.report import REPORT_PERSONAL
from tests.teams_server import CONVERSATIONS, TeamsHarness
from tests.unit.test_report_chart import GAP, PNG, seed
from tests.unit.test_teams import ADMIN, stack  # noqa: F401 (the fixture)

DATA_URI = "data:image/png;base64,"


@pytest.fixture
def teams(stack, make_app, tmp_path):  # noqa: F811 (the fixture)
    chat = stack[0]
    asyncio.run(seed(make_app, datetime.now(UTC)))  # into the stack's database
    reports = make_app(admins=f"teams:{ADMIN}").reports  # the stack's admin
    settings = TeamsSettings(update_seconds=0.0, reply_seconds=10.0)
    store = ConversationStore(tmp_path / "conversations")
    with TeamsHarness(lambda: build_teams_app(chat, settings, store, None, reports)) as running:
        yield running


def reply_to(teams: TeamsHarness, activity: dict):
    status, _ = teams.post(activity)
    assert status == 201
    (sent,) = teams.capture.wait_for(lambda s: s or None, "the reply")
    return sent


def test_an_admin_gets_the_summary_and_the_chart_inline(teams):
    sent = reply_to(teams, teams.activity("report", user=ADMIN))
    assert sent.conversation == CONVERSATIONS["personal"]
    assert sent.body["text"].startswith("LearnLoop report, last 30 days: 12 quiz answers")
    assert "\n\n• Weakest topics: " in sent.body["text"] and GAP in sent.body["text"]
    (image,) = sent.body["attachments"]
    assert image["contentType"] == "image/png" and image["name"] == CHART_NAME
    assert image["contentUrl"].startswith(DATA_URI)
    png = base64.b64decode(image["contentUrl"].removeprefix(DATA_URI), validate=True)
    assert png.startswith(PNG) and len(png) > 5_000


def test_anyone_else_is_refused_without_an_image(teams):
    sent = reply_to(teams, teams.activity("report 7", user="aad-learner"))
    assert sent.body["text"] == friendly("not_allowed")
    assert not sent.body.get("attachments")


def test_in_a_channel_the_report_is_only_offered_in_a_personal_chat(teams):
    sent = reply_to(teams, teams.activity("report", kind="channel", user=ADMIN, mention=True))
    assert sent.body["text"] == REPORT_PERSONAL and not sent.body.get("attachments")
