"""The one message router: its rules on their own, and the same table of phrases fed
through Slack's and Teams' real endpoints (signed Slack requests, Teams activities, local
stand-ins for both platforms), each read as the router reads it."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest
from aiohttp import ClientSession

from bot.adapters.charts import report_chart
from bot.adapters.slack.settings import SlackSettings
from bot.adapters.store.analytics import SqlAnalytics
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.answering import Source
from bot.domain.conversation import HELP, Place
from bot.domain.ports import Findings
from bot.domain.router import Intent, route, topic_of
from bot.services.learning import LearningService
from bot.services.reports import ReportService, days_of
from bot.surfaces.slack.app import build_slack_app as build_slack
from bot.surfaces.slack.handlers_ask import UPLOAD_HOWTO
from bot.surfaces.slack.once import MemoryOnce
from bot.surfaces.slack.server import start_http
from bot.surfaces.teams.app import build_teams_app as build_teams
from bot.surfaces.teams.bot import UPLOAD_HINT, markdown
from tests.fakes import FakeChatModel, FakeRetriever
from tests.slack_server import SECRET, TOKEN, FakeSlack, event_body, message, post
from tests.teams_server import TeamsHarness
from tests.unit.test_learning import Clock, visible

DM = Place("slack", "D1", "1.0", direct=True)
CHANNEL = Place("slack", "C1", "1.0")

# DM phrases, in this order (a quiz runs between "quiz" and the stop after it)
TABLE = [
    ("help", Intent("help")),
    ("quiz", Intent("quiz")),
    ("stop the quiz", Intent("stop")),
    ("Quiz me on git-stash", Intent("quiz", "git-stash")),
    ("Stop!", Intent("stop")),
    ("stop  quiz", Intent("stop")),  # no quiz running: still a stop ("nothing to stop")
    ("quit", Intent("stop")),
    ("end quiz.", Intent("stop")),
    ("progress", Intent("progress")),
    ("reminders off", Intent("reminders", on=False)),
    ("Start reminders!", Intent("reminders", on=True)),
    ("report", Intent("report")),
    ("report for the last 7 days", Intent("report", "for the last 7 days")),
    ("upload", Intent("upload")),
    ("How long is leave?", Intent("ask", "How long is leave?")),
    ("ask what is leave?", Intent("ask", "what is leave?")),
    ("report a phishing email?", Intent("ask", "report a phishing email?")),
    ("quizzes are hard?", Intent("ask", "quizzes are hard?")),
    ("stop the build", Intent("ask", "stop the build")),
]
SOURCES = (Source(1, "handbook.md", "Handbook", "Handbook › Leave", "Leave is 25 days."),)


# --- the rules ------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "intent"), TABLE)
def test_a_dm_phrase_routes_to_its_intent(text, intent):
    assert route(text, DM) == intent


def test_in_a_channel_stop_and_reminder_phrases_are_questions():
    assert route("stop the quiz", CHANNEL) == Intent("ask", "stop the quiz")
    assert route("reminders off", CHANNEL) == Intent("ask", "reminders off")
    assert route("quiz me on git", CHANNEL) == Intent("quiz", "git")
    assert route("", CHANNEL) == route("   ", DM) == route("ask", DM) == Intent("help")


@pytest.mark.parametrize(
    ("text", "kind", "rest"),
    [
        ("help", "help", ""),
        ("Quiz me on git", "quiz", "git"),
        ("progress", "progress", ""),
        ("ask what is leave?", "ask", "what is leave?"),
        ("What is leave?", "ask", "What is leave?"),
        ("   ", "help", ""),
        ("quizzes are hard?", "ask", "quizzes are hard?"),
    ],
)
def test_commands_are_a_leading_word_else_a_question(text, kind, rest):
    intent = route(text, DM)
    assert (intent.kind, intent.text) == (kind, rest)


def test_topics_and_stop_words():
    assert topic_of("me on git branches") == "git branches"
    assert topic_of("on stash") == "stash" and topic_of("about rebase") == "rebase"
    assert topic_of("on Git") == "Git" and topic_of("about leave") == "leave"
    assert topic_of("") == "" and topic_of("me") == "" and topic_of("me on") == ""
    assert topic_of("online docs") == "online docs" and topic_of("meetings") == "meetings"
    for stop in ("Stop!", "stop quiz", "stop  quiz", "stop the quiz", "Stop the quiz."):
        assert route(stop, DM) == Intent("stop")
    for question in ("stop words in git?", "stop the build"):
        assert route(question, DM).kind == "ask"


# --- the same table through both surfaces -----------------------------------------------


def seen_as(intent: Intent) -> tuple:
    """What the services behind a surface should hear for an intent."""
    if intent.kind == "reminders":
        return ("reminders", intent.on)
    if intent.kind == "report":
        return ("report", days_of(intent.text))
    if intent.kind in ("ask", "quiz"):
        return (intent.kind, intent.text)
    return (intent.kind,)


class HeardLearning(LearningService):
    """The real learning service, noting each call a surface makes (in `heard`)."""

    heard: list[tuple]

    async def start(self, actor, topic=""):
        self.heard.append(("quiz", topic))
        return await super().start(actor, topic)

    async def stop(self, actor):
        self.heard.append(("stop",))
        return await super().stop(actor)

    async def progress(self, actor):
        self.heard.append(("progress",))
        return await super().progress(actor)

    async def set_reminders(self, actor, on):
        self.heard.append(("reminders", on))
        await super().set_reminders(actor, on)


class HeardReports(ReportService):
    heard: list[tuple]

    async def report(self, actor, days=30):
        self.heard.append(("report", days))
        return await super().report(actor, days)


class HeardRetriever(FakeRetriever):
    def __init__(self, heard: list[tuple]) -> None:
        super().__init__(Findings(True, SOURCES, ()))
        self.heard = heard

    async def find(self, question, audiences, k):
        self.heard.append(("ask", question))
        return await super().find(question, audiences, k)


def services(make_app, heard: list[tuple], admin: str):
    """The chat, learning and report services of one app over a SQLite store, all noting
    to `heard` (`admin` may see reports; nobody is an admin of the chat)."""
    app = make_app(
        max_upload_mb=10_000 / 2**20,  # 10,000 bytes
        job_expires_seconds=600,
        retriever=HeardRetriever(heard),
        model=FakeChatModel("Leave is 25 days [1]."),
        sender=None,  # nothing is queued in these tests
        learning=lambda app: HeardLearning(
            app.quiz_items, app.access, visible, questions=3, clock=Clock()
        ),
        reports=lambda app: HeardReports(SqlAnalytics(app.sessions), report_chart, admins={admin}),
    )
    app.learning.heard = app.reports.heard = heard
    return app.chat, app.learning, app.reports


def heard_or_told(heard: list[tuple], told: list[str], help_text: str, upload: str) -> list:
    """What one phrase came to: the service calls it made, else the reply it got."""
    if heard:
        return heard
    return [("help",) if t == help_text else ("upload",) if t == upload else ("?", t) for t in told]


@asynccontextmanager
async def slack_running(make_app, heard):
    chat, learning, reports = services(make_app, heard, "slack:U1")
    slack = await FakeSlack().start()
    settings = SlackSettings(bot_token=TOKEN, signing_secret=SECRET, api_url=slack.api_url)
    once = MemoryOnce(60)
    app = build_slack(chat, settings, once, learning=learning, reports=reports)
    runner, port = await start_http(app, "127.0.0.1", 0, signing_secret=SECRET)
    try:
        async with ClientSession() as http:
            yield slack, http, f"http://127.0.0.1:{port}/slack/events"
    finally:
        await runner.cleanup()
        await slack.stop()
        await once.aclose()


def test_slack_reads_the_table_as_the_router_does(make_app):
    heard: list[tuple] = []

    async def scenario() -> list:
        observed = []
        async with slack_running(make_app, heard) as (slack, http, url):
            for n, (text, _) in enumerate(TABLE, start=1):
                calls, texts = len(heard), len(slack.texts("D1"))
                streams = len(slack.named("chat.stopStream"))
                status, _ = await post(http, url, event_body(message(text, f"10.{n}")))
                assert status == 200

                def replied(texts=texts, streams=streams):
                    # one phrase at a time: the next goes once this one is answered
                    return slack.texts("D1")[texts:] or slack.named("chat.stopStream")[streams:]

                await slack.wait_for(replied, what=repr(text))
                told = slack.texts("D1")[texts:]
                observed.append((text, heard_or_told(heard[calls:], told, HELP, UPLOAD_HOWTO)))
        return observed

    observed = asyncio.run(scenario())
    assert observed == [(text, [seen_as(intent)]) for text, intent in TABLE]


def test_teams_reads_the_table_as_the_router_does(make_app, tmp_path):
    heard: list[tuple] = []
    chat, learning, reports = services(make_app, heard, "teams:aad-alice")
    settings = TeamsSettings(update_seconds=0.0, reply_seconds=10.0)
    conversations = ConversationStore(tmp_path / "conversations")
    observed = []
    with TeamsHarness(
        lambda: build_teams(chat, settings, conversations, learning, reports)
    ) as teams:
        for text, _ in TABLE:
            calls, sent = len(heard), len(teams.capture.sent)
            status, _ = teams.post(teams.activity(text))
            assert status == 201  # the turn is over: all it sent is captured
            told = [str(s.body.get("text") or "") for s in teams.capture.sent[sent:]]
            observed.append((text, heard_or_told(heard[calls:], told, markdown(HELP), UPLOAD_HINT)))
    assert observed == [(text, [seen_as(intent)]) for text, intent in TABLE]
    assert observed[2] == ("stop the quiz", [("stop",)])  # in Teams too
