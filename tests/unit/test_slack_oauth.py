"""Multi-workspace install: Bolt's OAuth flow against the fake Slack, installations in
LearnLoop's own SQLite database, then events answered with the installed token."""

from __future__ import annotations

import asyncio
import base64
import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from aiohttp import ClientSession
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from sqlalchemy import Engine, inspect

from bot.adapters.slack.settings import MANIFEST_SCOPES, SlackSettings
from bot.adapters.store import (
    JobRepository,
    database_url,
    make_engine,
)
from bot.domain.answering import Source
from bot.domain.jobs import INGEST
from bot.domain.ports import Findings
from bot.surfaces.slack.app import build_slack_app
from bot.surfaces.slack.oauth import oauth_settings
from bot.surfaces.slack.once import MemoryOnce
from bot.surfaces.slack.server import start_http
from tests.fakes import FakeChatModel, FakeRetriever
from tests.slack_server import (
    SECRET,
    TOKEN,
    FakeSlack,
    event_body,
    installed_token,
    mention,
    message,
    post,
)

CLIENT_ID, CLIENT_SECRET = "111.222", "oauth-client-secret"
COOKIE = "slack-app-oauth-state"
APP_TOKEN = "xapp-1-A1-socket"  # noqa: S105
SOURCES = (Source(1, "handbook.md", "Handbook", "Handbook › Leave", "Leave is 25 days."),)
MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack" / "manifest.yml"
# slack_sdk 3.48 sends oauth.v2.access's client credentials with aiohttp's BasicAuth,
# which aiohttp 3.14 deprecates (harmless at run time; this suite makes warnings errors)
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list, float]] = []

    def send(self, name, args, *, expires):
        self.sent.append((name, args, expires))


@dataclass
class Bot:
    slack: FakeSlack
    base: str
    http: ClientSession
    oauth: AsyncOAuthSettings | None
    engine: Engine
    sender: RecordingSender
    jobs: JobRepository

    async def get(self, path: str, cookie: str = "") -> tuple[int, str, str]:
        headers = {"Cookie": f"{COOKIE}={cookie}"} if cookie else {}
        async with self.http.get(
            self.base + path, headers=headers, allow_redirects=False
        ) as response:
            return response.status, await response.text(), response.headers.get("Set-Cookie", "")

    async def event(self, event: dict, team: str) -> int:
        status, _ = await post(self.http, f"{self.base}/slack/events", event_body(event, "", team))
        return status

    async def installation(self, team: str):
        assert self.oauth is not None
        store = self.oauth.installation_store
        return await store.async_find_installation(enterprise_id=None, team_id=team)


@asynccontextmanager
async def running(make_app, *, multi: bool = True) -> AsyncIterator[Bot]:
    app = make_app(
        max_upload_mb=10_000 / 2**20,  # 10,000 bytes
        job_expires_seconds=600,
        retriever=FakeRetriever(Findings(True, SOURCES, ())),
        model=FakeChatModel("25 days [1]."),
        sender=RecordingSender(),
    )
    engine, chat = app.store[0], app.chat  # LearnLoop's own tables first
    slack = await FakeSlack().start()
    settings = SlackSettings(
        bot_token=TOKEN,  # set, yet unused once installs decide the token
        signing_secret=SECRET,
        client_id=CLIENT_ID if multi else "",
        client_secret=CLIENT_SECRET if multi else "",
        api_url=slack.api_url,
        authorize_url=f"{slack.url}/oauth/v2/authorize",
        stream_interval=0,
        update_interval=0,
    )
    oauth_engine = make_engine(database_url("", app.settings.data_dir))
    oauth = oauth_settings(settings, oauth_engine) if multi else None
    once = MemoryOnce(60)
    slack_app = build_slack_app(chat, settings, once, oauth=oauth)
    runner, port = await start_http(slack_app, "127.0.0.1", 0, signing_secret=SECRET)
    try:
        async with ClientSession() as http:
            yield Bot(
                slack, f"http://127.0.0.1:{port}", http, oauth, engine, app.sender, app.job_records
            )
    finally:
        await runner.cleanup()
        await slack.stop()
        await once.aclose()
        oauth_engine.dispose()


def run(coro):
    return asyncio.run(coro)


async def install(bot: Bot, team: str) -> tuple[int, str]:
    """A browser's walk through /slack/install and back from Slack's consent page."""
    status, page, cookie = await bot.get("/slack/install")
    assert status == 200
    state = re.search(rf"{COOKIE}=([^;]+)", cookie).group(1)
    bot.slack.grants[f"code-{team}"] = team  # the code Slack's consent page hands back
    status, page, _ = await bot.get(
        f"/slack/oauth_redirect?code=code-{team}&state={state}", cookie=state
    )
    return status, page


def test_install_link_carries_client_id_scopes_and_a_state(make_app):
    async def scenario():
        async with running(make_app) as bot:
            status, page, cookie = await bot.get("/slack/install")
            assert status == 200
            (link,) = re.findall(r'<a href="([^"]+)"', page)  # "Add to Slack"
            url = urlsplit(html.unescape(link))
            assert f"{url.scheme}://{url.netloc}{url.path}" == f"{bot.slack.url}/oauth/v2/authorize"
            query = parse_qs(url.query)
            assert query["client_id"] == [CLIENT_ID]
            assert query["scope"] == [MANIFEST_SCOPES]
            (state,) = query["state"]
            assert f"{COOKIE}={state}" in cookie  # the browser must come back with it

    run(scenario())


def test_install_stores_the_workspace_and_its_events_use_the_installed_token(make_app):
    async def scenario():
        async with running(make_app) as bot:
            status, page = await install(bot, "T2")
            assert status == 200 and "slack://app?team=T2" in page
            (access,) = bot.slack.named("oauth.v2.access")
            assert access.params["code"] == "code-T2"
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            assert access.headers["Authorization"] == f"Basic {basic}"
            stored = await bot.installation("T2")
            assert stored.bot_token == installed_token("T2") and stored.bot_user_id == "UBOT"
            # the installation lives in LearnLoop's own database, beside its tables
            tables = set(inspect(bot.engine).get_table_names())
            assert {"slack_installations", "slack_bots", "slack_oauth_states"} <= tables
            assert "jobs" in tables

            assert await bot.event(mention("How long is leave?", "100.1", team="T2"), "T2") == 200
            (stop,) = await bot.slack.wait_for(lambda: bot.slack.named("chat.stopStream"))
            (start,) = bot.slack.named("chat.startStream")
            assert start.params["recipient_team_id"] == "T2"
            for call in (start, stop):
                assert call.headers["Authorization"] == f"Bearer {installed_token('T2')}"
            assert all(c.headers.get("Authorization") != f"Bearer {TOKEN}" for c in bot.slack.calls)

    run(scenario())


def test_uninstalling_forgets_the_workspace(make_app):
    async def scenario():
        async with running(make_app) as bot:
            assert (await install(bot, "T2"))[0] == 200
            assert await bot.installation("T2") is not None
            assert await bot.event({"type": "app_uninstalled", "ts": "9.1"}, "T2") == 200
            for _ in range(250):  # handled after the ack
                if await bot.installation("T2") is None:
                    break
                await asyncio.sleep(0.02)
            assert await bot.installation("T2") is None

    run(scenario())


def test_unknown_or_reused_state_gets_a_failure_page_and_nothing_is_stored(make_app):
    async def scenario():
        async with running(make_app) as bot:
            bot.slack.grants["code-T3"] = "T3"
            status, page, _ = await bot.get(
                "/slack/oauth_redirect?code=code-T3&state=forged", cookie="forged"
            )
            assert status == 401 and "reason: invalid_state" in page
            _, _, cookie = await bot.get("/slack/install")
            state = re.search(rf"{COOKIE}=([^;]+)", cookie).group(1)
            status, _, _ = await bot.get(f"/slack/oauth_redirect?code=code-T3&state={state}")
            assert status == 400  # a state without the browser that asked for it
            assert bot.slack.named("oauth.v2.access") == []
            assert await bot.installation("T3") is None

            # a state is good for one install: the redirect replayed is refused
            _, _, cookie = await bot.get("/slack/install")
            state = re.search(rf"{COOKIE}=([^;]+)", cookie).group(1)
            bot.slack.grants["code-T4"] = "T4"
            redirect = f"/slack/oauth_redirect?code=code-T4&state={state}"
            assert (await bot.get(redirect, cookie=state))[0] == 200
            bot.slack.grants["code-T4"] = "T4"
            assert (await bot.get(redirect, cookie=state))[0] == 401
            assert len(bot.slack.named("oauth.v2.access")) == 1

    run(scenario())


def test_uploads_in_an_installed_workspace_use_its_token_and_its_admins(make_app):
    async def scenario():
        async with running(make_app) as bot:
            assert (await install(bot, "T2"))[0] == 200
            bot.slack.admins.add("UT2ADMIN")  # a workspace admin of T2, not in LEARNLOOP_ADMINS
            file = bot.slack.add_file("F1", "leave.md", b"# Leave\n\n25 days.\n")
            shared = {k: file[k] for k in ("id", "name", "size", "mimetype")}
            shared["url_private_download"] = file["url_private_download"]
            event = message("", "500.1", user="UT2ADMIN", subtype="file_share", files=[shared])
            await bot.event(event | {"team": "T2"}, "T2")
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("D1"))
            assert "queued" in text
            token = f"Bearer {installed_token('T2')}"
            (lookup,) = bot.slack.named("users.info")
            (download,) = bot.slack.named("download")
            assert lookup.headers["Authorization"] == token
            assert download.headers["Authorization"] == token
            ((_, (job_id,), _),) = [s for s in bot.sender.sent if s[0] == INGEST]
            assert bot.jobs.get(job_id).requested_by == "slack:UT2ADMIN"

    run(scenario())


def test_single_workspace_mode_serves_no_install_pages(make_app):
    async def scenario():
        async with running(make_app, multi=False) as bot:
            status, _, _ = await bot.get("/slack/install")
            assert status == 404
            assert await bot.event(mention("How long is leave?", "1.1"), "T1") == 200
            (stop,) = await bot.slack.wait_for(lambda: bot.slack.named("chat.stopStream"))
            assert stop.headers["Authorization"] == f"Bearer {TOKEN}"

    run(scenario())


def test_settings_multi_workspace_needs_the_client_secret_not_a_bot_token():
    multi = SlackSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, signing_secret=SECRET)
    multi.check("production", http=True)
    assert multi.multi_workspace and multi.scope_list[0] == "app_mentions:read"
    with pytest.raises(ValueError, match="SLACK_CLIENT_SECRET"):
        SlackSettings(client_id=CLIENT_ID, signing_secret=SECRET).check("development", http=True)
    socket = SlackSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, app_token=APP_TOKEN)
    with pytest.raises(ValueError, match="HTTP mode"):
        socket.check("development", http=False)
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN"):
        SlackSettings(signing_secret=SECRET).check("development", http=True)


def test_default_scopes_are_the_manifests_and_it_names_the_redirect_url():
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert MANIFEST_SCOPES.split(",") == manifest["oauth_config"]["scopes"]["bot"]
    redirects = manifest["oauth_config"]["redirect_urls"]
    assert [urlsplit(url).path for url in redirects] == ["/slack/oauth_redirect"]
