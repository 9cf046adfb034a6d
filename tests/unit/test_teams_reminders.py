"""Review reminders in Teams: a personal message over real HTTP leaves the person's 1:1
chat and time zone on record; the worker's `TeamsMessenger` then DMs them there through
`continue_conversation`, captured by the stand-in Bot Connector (tests/teams_server.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.adapters.slack.notifier import SlackMessenger
from bot.adapters.slack.tokens import OneToken
from bot.adapters.store import database_url, open_store
from bot.adapters.store.access import AccessRepository
from bot.adapters.store.quiz import QuizRepository
from bot.adapters.teams.conversations import ConversationStore, PersonalChat
from bot.adapters.teams.notify import TeamsMessenger
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.reminders import reminder_text
from bot.services.reminders import remind_due
from bot.settings import Settings
from tests.conftest import free_port
from tests.slack_server import TOKEN, FakeSlack
from tests.teams_server import CONVERSATIONS, TeamsHarness
from tests.unit.test_reminders import due_item
from tests.unit.test_teams import harness, stack  # noqa: F401 (the fixture)

BERLIN = "Europe/Berlin"  # UTC+1 in November
EVENING = datetime(2026, 11, 2, 19, 30, tzinfo=UTC)  # 20:30 in Berlin: quiet hours
MORNING = datetime(2026, 11, 3, 8, 30, tzinfo=UTC)  # 09:30 in Berlin (still quiet in UTC)
PERSONAL = CONVERSATIONS["personal"]


@pytest.fixture
def repos(tmp_path):
    engine, sessions = open_store(database_url("", tmp_path))  # the stack's database
    yield sessions, AccessRepository(sessions), QuizRepository(sessions)
    engine.dispose()


@pytest.fixture
def teams(stack, tmp_path):  # noqa: F811
    with harness(stack[0], tmp_path) as running:
        yield running


def store_of(tmp_path) -> ConversationStore:
    return ConversationStore(tmp_path / "conversations")  # the harness's


def say(teams: TeamsHarness, text: str, user: str, zone: str = BERLIN, **extra) -> None:
    """A message from `user`, and its reply (so the turn, and the saving, is over)."""
    before = len(teams.capture.sent)
    status, _ = teams.post(teams.activity(text, user=user, localTimezone=zone, **extra))
    assert status == 201
    teams.capture.wait_for(lambda sent: len(sent) > before, "the reply")


def reminders_in(teams: TeamsHarness) -> list[str]:
    """Proactive messages (new ones, replying to nothing) in the personal chat; each was
    posted before `send` returned."""
    return [
        s.body["text"]
        for s in teams.capture.sent
        if s.conversation == PERSONAL and s.activity_id == "" and s.body["type"] == "message"
    ]


def test_a_personal_message_keeps_the_chat_and_time_zone_written_once(teams, tmp_path, caplog):
    caplog.set_level("INFO", logger="bot.surfaces.teams.reminders")
    store = store_of(tmp_path)
    say(teams, "help", "aad-berlin")
    chat = store.personal("aad-berlin")
    assert chat is not None and chat.timezone == BERLIN
    reference = chat.reference
    assert reference["conversation"]["id"] == PERSONAL
    assert reference["serviceUrl"] == teams.capture_url
    assert reference["user"]["aadObjectId"] == "aad-berlin"
    assert "activityId" not in reference  # per message: it would make every message differ
    assert caplog.text.count("personal chat kept") == 1  # logged when written

    say(teams, "help", "aad-berlin")  # the same chat again: nothing written
    assert caplog.text.count("personal chat kept") == 1
    assert len(list((tmp_path / "conversations").glob("*.json"))) == 1
    say(teams, "help", "aad-berlin", zone="America/New_York")  # travelled: written again
    assert store.personal("aad-berlin").timezone == "America/New_York"

    teams.post(teams.activity("help", kind="groupChat", user="aad-group", mention=True))
    teams.capture.wait_for(lambda sent: len(sent) >= 4, "the group reply")
    assert store.personal("aad-group") is None  # only 1:1 chats are DM targets


def test_reminders_reach_the_teams_chat_in_the_learners_daytime(teams, tmp_path, repos):
    sessions, access, quiz = repos
    say(teams, "help", "aad-berlin")
    learner = access.learner_id("teams", "aad-berlin")
    due_item(sessions, quiz, learner, "i1", EVENING.replace(day=1))
    due_item(sessions, quiz, learner, "i2", EVENING.replace(hour=1))
    messengers = {"teams": TeamsMessenger(TeamsSettings(), store_of(tmp_path))}

    assert remind_due(quiz, access, messengers, clock=lambda: EVENING) == []  # 20:30 there
    assert access.reminder_state(learner)[1] == BERLIN  # learned from the Teams message
    assert reminders_in(teams) == []

    (sent,) = remind_due(quiz, access, messengers, clock=lambda: MORNING)
    assert (sent.account, sent.due) == ("teams:aad-berlin", 2)
    assert reminders_in(teams) == [reminder_text(2)]
    assert access.reminder_state(learner)[2] is not None
    assert remind_due(quiz, access, messengers, clock=lambda: MORNING.replace(hour=12)) == []


def test_a_learner_on_slack_and_teams_gets_one_reminder(teams, tmp_path, repos):
    sessions, access, quiz = repos
    slack = teams.run(FakeSlack(timezones={"U2": BERLIN}).start())
    try:
        say(teams, "help", "aad-ana")  # Ana wrote to the bot in Teams ...
        ana = access.learner_id("slack", "U1", email="ana@example.com")  # ... and uses Slack
        assert access.learner_id("teams", "aad-ana", email="ana@example.com") == ana
        bob = access.learner_id("slack", "U2")  # Bob never wrote in Teams: Slack it is
        assert access.link(("slack", "U2"), ("teams", "aad-bob")) == bob
        for learner in (ana, bob):
            due_item(sessions, quiz, learner, "i1", EVENING)
        messengers = {
            "slack": SlackMessenger(OneToken(TOKEN), slack.api_url),
            "teams": TeamsMessenger(TeamsSettings(), store_of(tmp_path)),
        }

        sent = remind_due(quiz, access, messengers, clock=lambda: MORNING)
        assert sorted(r.learner_id for r in sent) == sorted([ana, bob])
        assert access.reminder_state(ana)[1] == BERLIN  # Slack knew no zone; Teams did
        by_ana = [r.account for r in sent if r.learner_id == ana]
        assert by_ana in (["slack:U1"], ["teams:aad-ana"])
        slack_dms = [c.params["channel"] for c in slack.named("chat.postMessage")]
        if by_ana == ["teams:aad-ana"]:
            assert reminders_in(teams) == [reminder_text(1)]
            assert slack_dms == ["DU2"]  # Bob's only
        else:
            assert reminders_in(teams) == [] and sorted(slack_dms) == ["D1", "DU2"]
        assert remind_due(quiz, access, messengers, clock=lambda: MORNING.replace(hour=11)) == []
        assert len(reminders_in(teams)) + len(slack.named("chat.postMessage")) == 2
    finally:
        teams.run(slack.stop())


@pytest.mark.slow  # botbuilder retries the refused connection for a few seconds
def test_no_chat_on_record_or_bot_service_unreachable_is_not_a_reminder(tmp_path, repos, caplog):
    caplog.set_level("INFO", logger="bot.adapters.teams.notify")
    _, access, quiz = repos
    store = ConversationStore(tmp_path / "conversations")
    messenger = TeamsMessenger(TeamsSettings(), store)
    assert messenger.timezone("aad-nobody") == ""
    assert not messenger.send("aad-nobody", "1 review is due")
    assert "never wrote to the bot" in caplog.text

    gone = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    reference = {
        "user": {"id": "29:aad-x", "aadObjectId": "aad-x"},
        "bot": {"id": "28:learnloop-bot"},
        "conversation": {"id": PERSONAL, "conversationType": "personal"},
        "channelId": "msteams",
        "serviceUrl": gone,
    }
    store.save_personal("aad-x", PersonalChat(reference, BERLIN))
    learner = access.learner_id("teams", "aad-x")
    due_item(repos[0], quiz, learner, "i1", EVENING)
    assert remind_due(quiz, access, {"teams": messenger}, clock=lambda: MORNING) == []
    assert access.reminder_state(learner)[2] is None  # not marked: the next pass tries again
    assert "Bot Service unreachable" in caplog.text


def test_the_worker_dms_in_teams_only_with_the_bots_credentials(tmp_path, monkeypatch):
    from bot.bootstrap import build_app

    for name in ("MICROSOFT_APP_ID", "SLACK_BOT_TOKEN", "SLACK_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path)
    assert "teams" not in build_app(settings).messengers
    monkeypatch.setenv("MICROSOFT_APP_ID", "app-id")
    assert isinstance(build_app(settings).messengers["teams"], TeamsMessenger)
