"""Multi-workspace Slack from the worker: job notices and review reminders each go with
the bot token of the workspace they are for, found in the installation that the real
OAuth flow saved in LearnLoop's database; one SLACK_BOT_TOKEN serves all otherwise."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.adapters.slack.tokens import InstalledTokens
from bot.adapters.store import database_url, open_store
from bot.adapters.store.access import AccessRepository
from bot.adapters.store.quiz import QuizRepository
from bot.domain.conversation import Actor
from bot.domain.jobs import INGEST, JobStatus, ReplyTo
from bot.domain.reminders import reminder_text
from bot.services.learning import LearningService
from bot.services.reminders import remind_due
from bot.settings import Settings
from tests.slack_server import TOKEN, installed_token, message
from tests.unit.test_learning import visible
from tests.unit.test_reminders import NOON_UTC, due_item
from tests.unit.test_slack_oauth import CLIENT_ID, CLIENT_SECRET, install, running

# slack_sdk 3.48 sends oauth.v2.access's client credentials with aiohttp's BasicAuth,
# which aiohttp 3.14 deprecates (harmless at run time; this suite makes warnings errors)
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
DONE = {"documents": 1, "chunks": 2, "skipped": 0, "files": {}}


@pytest.fixture
def worker_env(monkeypatch, tmp_path):
    """A worker's settings on the bot's database (the same SQLite file as `running`)."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "MICROSOFT_APP_ID"):
        monkeypatch.delenv(name, raising=False)

    def context(api_url: str, *, multi: bool, cache_seconds: float = 300):
        from bot.bootstrap import build_app

        if multi:
            monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
            monkeypatch.setenv("SLACK_CLIENT_SECRET", CLIENT_SECRET)
        else:
            monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("LEARNLOOP_SLACK_API_URL", api_url)
        monkeypatch.setenv("LEARNLOOP_SLACK_TOKEN_CACHE_SECONDS", str(cache_seconds))
        return build_app(Settings(data_dir=tmp_path, database_url=""))

    return context


def test_an_upload_from_t2_gets_its_notices_with_t2s_token(make_app, tmp_path, worker_env, caplog):
    async def scenario():
        async with running(make_app) as bot:
            assert (await install(bot, "T2"))[0] == 200
            bot.slack.admins.add("UT2ADMIN")
            file = bot.slack.add_file("F1", "leave.md", b"# Leave\n\n25 days.\n")
            shared = {k: file[k] for k in ("id", "name", "size", "mimetype")}
            shared["url_private_download"] = file["url_private_download"]
            event = message("", "500.1", user="UT2ADMIN", subtype="file_share", files=[shared])
            await bot.event(event | {"team": "T2"}, "T2")
            await bot.slack.wait_for(lambda: bot.slack.texts("D1"))
            ((_, (job_id,), _),) = [s for s in bot.sender.sent if s[0] == INGEST]
            job = bot.jobs.get(job_id)
            assert job.reply_to == ReplyTo("slack", "D1", "500.1", team="T2")  # stored

            ctx = worker_env(bot.slack.api_url, multi=True, cache_seconds=0)
            notifier = ctx.notifiers["slack"]
            done = replace(job, status=JobStatus.DONE, progress_done=1, result=DONE)
            await asyncio.to_thread(notifier.finished, done)  # the worker is synchronous
            (notice,) = [
                c for c in bot.slack.named("chat.postMessage") if "Ingested" in c.params["text"]
            ]
            assert notice.headers["Authorization"] == f"Bearer {installed_token('T2')}"
            assert (notice.params["channel"], notice.params["thread_ts"]) == ("D1", "500.1")

            # a workspace that uninstalled: logged and skipped, the task does not fail
            assert await bot.event({"type": "app_uninstalled", "ts": "9.1"}, "T2") == 200
            await bot.slack.wait_for(lambda: _gone(ctx, "T2"), what="the uninstall")
            posts = len(bot.slack.named("chat.postMessage"))
            await asyncio.to_thread(notifier.finished, done)
            await asyncio.to_thread(
                notifier.progress, replace(job, reply_to=ReplyTo("slack", "D9"))
            )
            assert len(bot.slack.named("chat.postMessage")) == posts
            assert "team=T2: no installation" in caplog.text
            assert "no workspace known" in caplog.text  # a job from before teams were kept

    asyncio.run(scenario())


def _gone(ctx, team: str) -> bool:
    from bot.adapters.slack.settings import SlackSettings
    from bot.adapters.slack.tokens import installations

    store = installations(SlackSettings(), ctx.store[0])
    return store.find_bot(enterprise_id=None, team_id=team) is None


def test_a_reminder_to_a_t2_learner_goes_with_t2s_token(make_app, tmp_path, worker_env):
    engine, sessions = open_store(database_url("", tmp_path))
    access, quiz = AccessRepository(sessions), QuizRepository(sessions)
    learning = LearningService(quiz, access, visible, questions=3)

    async def scenario():
        async with running(make_app) as bot:
            assert (await install(bot, "T2"))[0] == 200
            # the learner's workspace is kept with their account when they use the bot
            await learning.progress(Actor("slack", "UT2", "T2"))
            assert access.account_team("slack", "UT2") == "T2"
            learner = access.learner_id("slack", "UT2")
            due_item(sessions, quiz, learner, "i1", NOON_UTC - timedelta(hours=1))
            bot.slack.timezones["UT2"] = "Europe/Berlin"

            ctx = worker_env(bot.slack.api_url, multi=True)
            now = NOON_UTC
            sent = await asyncio.to_thread(
                remind_due, ctx.quiz_items, ctx.access, ctx.messengers, lambda: now
            )
            assert [r.account for r in sent] == ["slack:UT2"]
            calls = bot.slack.named("users.info", "conversations.open", "chat.postMessage")
            assert [c.method for c in calls] == [
                "users.info",
                "conversations.open",
                "chat.postMessage",
            ]
            assert all(
                c.headers["Authorization"] == f"Bearer {installed_token('T2')}" for c in calls
            )
            assert calls[-1].params["text"] == reminder_text(1)
            assert access.reminder_state(learner)[1] == "Europe/Berlin"

    try:
        asyncio.run(scenario())
    finally:
        engine.dispose()


def test_single_workspace_mode_uses_the_one_bot_token(make_app, tmp_path, worker_env):
    async def scenario():
        async with running(make_app, multi=False) as bot:
            ctx = worker_env(bot.slack.api_url, multi=False)
            job = replace(
                bot.jobs.create("ingest", {}, total=1, reply_to=ReplyTo("slack", "D1", "1.1")),
                status=JobStatus.DONE,
                result=DONE,
            )
            await asyncio.to_thread(ctx.notifiers["slack"].finished, job)
            assert await asyncio.to_thread(ctx.messengers["slack"].send, "U1", "1 review is due")
            notice, dm = bot.slack.named("chat.postMessage")
            assert notice.params["channel"] == "D1" and dm.params["channel"] == "D1"
            for call in (notice, dm):
                assert call.headers["Authorization"] == f"Bearer {TOKEN}"

    asyncio.run(scenario())


def test_installed_tokens_are_cached_briefly_and_misses_too():
    looked_up: list[str] = []
    installed = {"T2": "xoxb-t2"}
    now = [0.0]

    def find(team: str) -> str:
        looked_up.append(team)
        return installed.get(team, "")

    tokens = InstalledTokens(find, ttl=60, clock=lambda: now[0])
    assert [tokens.token("T2"), tokens.token("T2"), tokens.token("T9")] == [
        "xoxb-t2",
        "xoxb-t2",
        "",
    ]
    assert tokens.token("T9") == "" and looked_up == ["T2", "T9"]
    del installed["T2"]  # uninstalled: noticed once the cached token expires
    now[0] = 61
    assert tokens.token("T2") == "" and looked_up == ["T2", "T9", "T2"]
    assert tokens.token("") == "" and looked_up[-1] == "T2"  # no team: nothing to look up
