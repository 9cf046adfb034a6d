"""The audience canary: a restricted document full of words found nowhere else, and every
learner-facing flow driven as someone in no group — through the real Slack and Teams
endpoints (local fakes of their platform servers), the review reminder job and the CLI
learner commands — after an hr learner has used the same question bank. Any canary word in
any output fails the test.

The chat stack is the one the bot processes build (`build_app`) over real Chroma, the
packaged embedding model and the real embedded inference server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import ClientSession

from tests.conftest import run_cli
from tests.slack_server import SECRET, TOKEN, FakeSlack, action_body, event_body, mention, message
from tests.slack_server import post as slack_post
from tests.teams_server import TeamsHarness

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PUBLIC = """# Deploy guide

## Preview

Run the deploy with --dry-run first to preview every change it would make.
Use --keep-going to continue past a failed host, and --no-cache to rebuild images.

## Rollback

To undo a release, run the deploy again with --rollback and the release number.
Payroll and other internal services are deployed by the platform team.
"""

# Every word here that is not plain English is a canary: it exists nowhere else.
HR = """# Payroll exports

## Export formats

Payroll exports take --dry-zorblax, --dry-quindle or --dry-vexmoor as the format.
The Krumplewood ledger keeps every Snibbleton salary band for the Wuxtrap review.

## Bonus rules

Bonuses above the Flaxomir threshold need the Grobbletine form signed by Ostrevaine.
Deploy payroll changes with --keep-zorblax so the Quandrelle audit sees them.
"""
CANARIES = (
    "zorblax",
    "quindle",
    "vexmoor",
    "krumplewood",
    "snibbleton",
    "wuxtrap",
    "flaxomir",
    "grobbletine",
    "ostrevaine",
    "quandrelle",
)
# Questions in plain words only, so a canary in an output came from the material.
QUESTIONS = ("Which export formats do payroll exports take?", "How do I preview a deploy?")


def canaries_in(text: str) -> list[str]:
    return sorted({c for c in CANARIES if re.search(c, text, re.IGNORECASE)})


@pytest.fixture
def world(tmp_path, inference_server, monkeypatch):
    """Public and hr material ingested; `UHR` (Slack) and `aad-hr` (Teams) are in hr."""
    env = {
        "LEARNLOOP_DATA_DIR": str(tmp_path / "data"),
        "LEARNLOOP_INFERENCE_URL": inference_server,
        "LEARNLOOP_QUIZ_WRITER": "cloze",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    cli_env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    for name, text, audience in (("deploy", PUBLIC, ()), ("payroll", HR, ("--audience", "hr"))):
        folder = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.md").write_text(text)
        run_cli(cli_env, "ingest", str(folder), *audience, "--json")
    from bot.bootstrap import build_app

    stack = build_app()
    # what is cited and which passages the model saw matter here, not the prose: keep the
    # packaged model's answers short
    stack.chat.answers.max_answer_tokens = 24
    stack.chat.access.grant("slack", "UHR", "hr")
    yield stack, cli_env
    stack.close()  # the model client is closed on the loop that used it (the test's)


# -- Slack -----------------------------------------------------------------------------------
class SlackUser:
    def __init__(self, slack: FakeSlack, http: ClientSession, url: str, user: str, dm: str):
        self.slack, self.http, self.url, self.user, self.dm = slack, http, url, user, dm
        self.ts = 0

    def next_ts(self) -> str:
        self.ts += 1
        return f"{1000 + self.ts}.{self.user}"

    async def send(self, event: dict) -> None:
        status, _ = await slack_post(self.http, self.url, event_body(event))
        assert status == 200

    async def dm_says(self, text: str) -> None:
        await self.send(message(text, self.next_ts(), channel=self.dm, user=self.user))

    def posts(self) -> list:
        return [c for c in self.slack.named("chat.postMessage") if c.params["channel"] == self.dm]

    def questions(self) -> list:
        return [c for c in self.posts() if _quiz_buttons(c)]

    async def take_quiz(self, text: str) -> None:
        """Start a quiz with `text` and press the first option of each question until it ends
        (or the bot says there is nothing to ask)."""
        asked, said = len(self.questions()), len(self.posts())
        await self.dm_says(text)
        await self.slack.wait_for(lambda: len(self.posts()) > said, within=60, what="a reply")
        while len(self.questions()) > asked:
            call = self.questions()[asked]
            asked += 1
            buttons = _quiz_buttons(call)
            first = next(k for k in buttons if k.endswith("0"))
            updates = len(self.slack.named("chat.update"))
            body = action_body(
                first,
                buttons[first],
                user=self.user,
                channel=self.dm,
                block_id="quiz",
                message_ts=str(call.result["ts"]),
                blocks=call.params.get("blocks"),
            )
            status, _ = await slack_post(self.http, self.url, body, form=True)
            assert status == 200
            await self.slack.wait_for(
                lambda n=updates: len(self.slack.named("chat.update")) > n,
                within=30,
                what="the graded question",
            )
            await asyncio.sleep(0.3)  # the next question or the summary follows the update

    async def reply_after(self, count_before: int, what: str) -> None:
        await self.slack.wait_for(
            lambda: len(self.slack.named("chat.postMessage", "chat.stopStream")) > count_before,
            within=120,
            what=what,
        )


def _quiz_buttons(call) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for b in call.params.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
        if "answer" in e["action_id"]
    }


async def slack_flows(stack, later) -> str:
    """Everything the outsider can do in Slack, after the hr learner quizzed; all the
    outsider received, as text."""
    from bot.adapters.slack.settings import SlackSettings
    from bot.surfaces.slack.app import build_slack_app
    from bot.surfaces.slack.once import MemoryOnce
    from bot.surfaces.slack.server import start_http

    slack = await FakeSlack(dms={"UHR": "D8", "UOUT": "D9"}).start()
    settings = SlackSettings(bot_token=TOKEN, signing_secret=SECRET, api_url=slack.api_url)
    once = MemoryOnce(60)
    app = build_slack_app(
        stack.chat, settings, once, learning=stack.learning, reports=stack.reports
    )
    runner, port = await start_http(app, "127.0.0.1", 0, signing_secret=SECRET)
    try:
        async with ClientSession() as http:
            url = f"http://127.0.0.1:{port}/slack/events"
            hr = SlackUser(slack, http, url, "UHR", "D8")
            await hr.take_quiz("quiz")
            await hr.take_quiz("quiz payroll exports")
            await hr.take_quiz("quiz bonus")
            hr_saw = json.dumps([c.params for c in slack.calls], ensure_ascii=False)
            assert canaries_in(hr_saw), "the hr learner should be quizzed on hr material"
            seen_before = len(slack.calls)

            out = SlackUser(slack, http, url, "UOUT", "D9")
            for question in QUESTIONS:  # channel answers, then a thread follow-up
                n = len(slack.named("chat.postMessage", "chat.stopStream"))
                ts = out.next_ts()
                await out.send(mention(question, ts, channel="C1", user="UOUT"))
                await out.reply_after(n, "a channel answer")
            n = len(slack.named("chat.postMessage", "chat.stopStream"))
            await out.send(
                message("And the bonus form?", out.next_ts(), channel="C1", user="UOUT", thread=ts)
            )
            await out.reply_after(n, "a thread follow-up")
            for question in (QUESTIONS[0], "Where is the coffee machine kept?"):  # DM answers
                n = len(slack.named("chat.postMessage", "chat.stopStream"))
                await out.dm_says(question)
                await out.reply_after(n, "a DM answer")
            await out.take_quiz("quiz")
            await out.take_quiz("quiz payroll exports")
            await out.take_quiz("quiz bonus")
            stack.learning.clock = later  # the missed items fall due
            await out.take_quiz("quiz")
            for text in ("progress", "help"):
                n = len(out.posts())
                await out.dm_says(text)
                await slack.wait_for(lambda n=n: len(out.posts()) > n, within=30, what=text)
            await out.send({"type": "app_home_opened", "user": "UOUT", "tab": "home"})
            await slack.wait_for(lambda: slack.named("views.publish"), within=30, what="home")
            await asyncio.sleep(1)
            return json.dumps([c.params for c in slack.calls[seen_before:]], ensure_ascii=False)
    finally:
        await runner.cleanup()
        await slack.stop()
        await once.aclose()


# -- Teams -----------------------------------------------------------------------------------
def teams_app(stack, tmp_path) -> TeamsHarness:
    from bot.adapters.teams.conversations import ConversationStore
    from bot.adapters.teams.settings import TeamsSettings
    from bot.surfaces.teams.app import build_teams_app

    settings = TeamsSettings(update_seconds=0.0, reply_seconds=10.0)
    store = ConversationStore(tmp_path / "conversations")
    return TeamsHarness(lambda: build_teams_app(stack.chat, settings, store, stack.learning))


def teams_flows(teams: TeamsHarness) -> str:
    """The outsider in a Teams personal chat and a channel; all they received, as text."""
    received: list[object] = []

    def say(text: str, **how) -> None:
        before = len(teams.capture.sent)
        status, body = teams.post(teams.activity(text, user="aad-out", **how))
        assert status in (200, 201)
        received.append(body)
        teams.capture.wait_for(lambda s: len(s) > before, f"a reply to {text!r}", timeout=120)

    def quiz(text: str) -> None:
        say(text)
        while True:
            latest = teams.capture.sent[-1]
            picks = [
                a
                for card in latest.cards
                for block in card.get("body", [])
                if block.get("type") == "ActionSet"
                for a in block["actions"]
                if a.get("verb") == "quizAnswer"
            ]
            if not picks:
                return
            before = len(teams.capture.sent)
            status, body = teams.post(
                teams.invoke(picks[0]["data"], kind="personal", user="aad-out", verb="quizAnswer")
            )
            assert status == 200
            received.append(body)
            try:
                teams.capture.wait_for(lambda s, b=before: len(s) > b, "the next", timeout=5)
            except TimeoutError:
                return

    def settle() -> None:
        """Wait until the bot has sent nothing for 2 s (answers continue after the request)."""
        deadline, count, quiet_since = time.monotonic() + 180, -1, time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - quiet_since < 2:
            if len(teams.capture.sent) != count:
                count, quiet_since = len(teams.capture.sent), time.monotonic()
            time.sleep(0.1)

    say(QUESTIONS[0])
    say(QUESTIONS[0], kind="channel", mention=True)
    settle()
    quiz("quiz")
    quiz("quiz payroll exports")
    say("progress")
    settle()
    received.extend(s.body for s in teams.capture.sent)
    return json.dumps(received, ensure_ascii=False, default=str)


# -- the audit -------------------------------------------------------------------------------
def test_restricted_material_reaches_no_one_outside_its_audience(world, tmp_path):
    stack, cli_env = world
    later = lambda: datetime.now(UTC) + timedelta(hours=2)  # noqa: E731
    # one event loop for both surfaces (the Teams harness's), as the chat stack's model
    # client belongs to the loop that first used it
    with teams_app(stack, tmp_path) as teams:
        outputs = {"slack": teams.run(slack_flows(stack, later), timeout=900)}
        outputs["teams"] = teams_flows(teams)
        teams.run(stack.chat.answers.aclose())

    from bot.adapters.store import database_url, open_store
    from bot.adapters.store.access import AccessRepository
    from bot.adapters.store.quiz import QuizRepository
    from bot.services.reminders import remind_due
    from bot.settings import Settings

    settings = Settings()
    engine, sessions = open_store(database_url(settings.database_url, settings.data_dir))
    try:
        messenger = Messenger()
        noon = datetime.now(UTC).replace(hour=12) + timedelta(days=2)
        remind_due(
            QuizRepository(sessions),
            AccessRepository(sessions),
            {"slack": messenger},
            clock=lambda: noon,
        )
        assert messenger.sent, "the outsider has reviews due: a reminder goes out"
        outputs["reminders"] = json.dumps(messenger.sent)
    finally:
        engine.dispose()

    cli = [run_cli(cli_env, "ask", QUESTIONS[0], "--json")]
    cli += [run_cli(cli_env, "progress", "slack:UOUT", "--json")]
    # the knowledge graph (on by default) as everyone sees it: concepts, descriptions, edges
    cli += [run_cli(cli_env, "kg", "stats", "--json")]
    cli += [run_cli(cli_env, "kg", "export", "--format", "graphml")]
    cli += [run_cli(cli_env, "kg", "export", "--format", "json")]
    assert json.loads(cli[-3].stdout)["concepts"] > 0 and "<graphml" in cli[-2].stdout, cli[-3:]
    outputs["cli"] = "\n".join(p.stdout + p.stderr for p in cli)

    leaks = {where: canaries_in(text) for where, text in outputs.items()}
    assert leaks == {where: [] for where in outputs}


class Messenger:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def timezone(self, user_id: str) -> str:
        return "UTC"

    def send(self, user_id: str, text: str) -> bool:
        self.sent.append((user_id, text))
        return True
