""" "web" in a Slack or Teams DM answers with a one-time sign-in link for that user; in a
channel, where others would see it, it points to the DM instead (real endpoints, local
stand-ins for both platforms)."""

from __future__ import annotations

import asyncio
import re

from aiohttp import ClientSession

from bot.adapters.slack.settings import SlackSettings
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.conversation import WEB_IN_DM
from bot.domain.ports import Findings
from bot.domain.router import Intent, route
from bot.surfaces.slack.app import build_slack_app
from bot.surfaces.slack.once import MemoryOnce
from bot.surfaces.slack.server import start_http
from bot.surfaces.teams.app import build_teams_app
from bot.surfaces.teams.bot import markdown
from tests.fakes import FakeChatModel, FakeRetriever
from tests.slack_server import SECRET, TOKEN, FakeSlack, event_body, mention, message, post
from tests.teams_server import TeamsHarness
from tests.unit.test_router import CHANNEL, DM

LINK = re.compile(r"https://learn\.example\.com/signin\?token=([\w-]{20,})")


def test_web_is_a_command_only_on_its_own():
    assert route("web", DM) == route("Web!", CHANNEL) == Intent("web")
    assert route("web pages load slowly?", DM).kind == "ask"


def quiet_app(make_app):
    """An app whose chat needs no model or index (nothing here is a question)."""
    return make_app(
        web_url="https://learn.example.com",
        sender=None,
        retriever=FakeRetriever(Findings(False, (), ())),
        model=FakeChatModel(""),
    )


def redeemable(parts, text: str) -> str:
    """The link's user, signing in with it."""
    found = LINK.search(text)
    assert found, text
    _, session = asyncio.run(parts.web_signin.redeem(found.group(1)))
    return session.actor.key


def test_slack_sends_a_link_in_a_dm_and_not_in_a_channel(make_app):
    parts = quiet_app(make_app)

    async def scenario() -> tuple[list[str], list[str]]:
        slack = await FakeSlack().start()
        settings = SlackSettings(bot_token=TOKEN, signing_secret=SECRET, api_url=slack.api_url)
        once = MemoryOnce(60)
        app = build_slack_app(parts.chat, settings, once, web=parts.web_signin)
        runner, port = await start_http(app, "127.0.0.1", 0, signing_secret=SECRET)
        url = f"http://127.0.0.1:{port}/slack/events"
        try:
            async with ClientSession() as http:
                assert (await post(http, url, event_body(message("web", "10.1"))))[0] == 200
                await slack.wait_for(lambda: slack.texts("D1"), what="the DM reply")
                assert (await post(http, url, event_body(mention("web", "10.2"))))[0] == 200
                await slack.wait_for(lambda: slack.texts("C1"), what="the channel reply")
                return slack.texts("D1"), slack.texts("C1")
        finally:
            await runner.cleanup()
            await slack.stop()
            await once.aclose()

    dm, channel = asyncio.run(scenario())
    assert redeemable(parts, dm[0]) == "slack:U1"
    assert channel == [WEB_IN_DM] and not LINK.search(channel[0])


def test_teams_sends_a_link_in_a_personal_chat(make_app, tmp_path):
    parts = quiet_app(make_app)
    settings = TeamsSettings(update_seconds=0.0, reply_seconds=10.0)
    conversations = ConversationStore(tmp_path / "conversations")
    with TeamsHarness(
        lambda: build_teams_app(parts.chat, settings, conversations, signin=parts.web_signin)
    ) as teams:
        assert teams.post(teams.activity("web"))[0] == 201
        assert teams.post(teams.activity("web", kind="channel", mention=True))[0] == 201
        told = [str(s.body.get("text") or "") for s in teams.capture.sent]
    assert redeemable(parts, told[0]) == "teams:aad-alice"
    assert told[1] == markdown(WEB_IN_DM)
