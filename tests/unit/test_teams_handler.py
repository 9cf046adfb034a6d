"""The Teams activity handler through botbuilder's TestAdapter (no HTTP, no
serialisation), and the translation of activities into LearnLoop's core types."""

from __future__ import annotations

import asyncio
import json

import pytest
from botbuilder.core import TurnContext
from botbuilder.core.adapters import TestAdapter
from botbuilder.schema import Activity, ChannelAccount

from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsConfigError, TeamsSettings
from bot.domain.conversation import Actor, Place
from bot.domain.errors import ModelUnavailable
from bot.surfaces.teams.activities import (
    actor_of,
    mentions_bot,
    place_of,
    question_text,
    shared_files,
)
from bot.surfaces.teams.bot import LearnLoopBot, on_turn_error
from tests.conftest import ROOT
from tests.fakes import FakeChatModel
from tests.unit.test_teams import stack  # noqa: F401 (the fixture)

BOT = ChannelAccount(id="28:bot", name="LearnLoop")


def incoming(text: str, conversation: dict, **extra) -> Activity:
    return Activity().deserialize(
        {
            "type": "message",
            "id": "1700000000009",
            "text": text,
            "from": {"id": "29:u", "name": "Ana", "aadObjectId": "aad-ana"},
            "recipient": {"id": BOT.id, "name": BOT.name},
            "conversation": conversation,
            "channelData": {"tenant": {"id": "t-1"}},
            **extra,
        }
    )


def test_activities_become_actors_and_places():
    channel = incoming(
        "x", {"id": "19:gen@thread.tacv2;messageid=1700000000001", "conversationType": "channel"}
    )
    assert actor_of(channel) == Actor("teams", "aad-ana", "t-1", "Ana")
    assert place_of(channel) == Place("teams", "19:gen@thread.tacv2", "1700000000001")
    personal = incoming(
        "x", {"id": "a:1xyz", "conversationType": "personal", "tenantId": "t-2"}, channelData={}
    )
    assert place_of(personal) == Place("teams", "a:1xyz", direct=True)
    assert actor_of(personal).team_id == "t-2"
    group = incoming("x", {"id": "19:g@thread.v2", "conversationType": "groupChat"})
    assert place_of(group) == Place("teams", "19:g@thread.v2")


def test_the_bots_mention_is_stripped_and_other_mentions_keep_their_names():
    mention = {"type": "mention", "mentioned": {"id": BOT.id, "name": "LearnLoop"},
               "text": "<at>LearnLoop</at>"}  # fmt: skip
    bob = {"type": "mention", "mentioned": {"id": "29:bob", "name": "Bob"}, "text": "<at>Bob</at>"}
    activity = incoming(
        "<at>LearnLoop</at> what did <at>Bob</at> say about leave?&nbsp;",
        {"id": "19:c;messageid=1", "conversationType": "channel"},
        entities=[mention, bob],
    )
    assert mentions_bot(activity)
    assert question_text(activity) == "what did Bob say about leave?"
    assert not mentions_bot(incoming("hi <at>Bob</at>", {"id": "c"}, entities=[bob]))


def test_only_file_download_info_attachments_are_shared_files():
    activity = incoming(
        "",
        {"id": "a:1"},
        attachments=[
            {"contentType": "text/html", "content": "<p>hi</p>"},
            {
                "contentType": "application/vnd.microsoft.teams.file.download.info",
                "name": "guide.pdf",
                "content": {"downloadUrl": "https://x/guide.pdf", "fileType": "pdf"},
            },
        ],
    )
    ((shared),) = shared_files(activity)
    assert (shared.name, shared.download_url) == ("guide.pdf", "https://x/guide.pdf")


@pytest.fixture
def adapter(stack, tmp_path):  # noqa: F811
    bot = LearnLoopBot(stack[0], TeamsSettings(update_seconds=0), ConversationStore(tmp_path / "c"))
    test_adapter = TestAdapter(bot.on_turn)
    test_adapter.on_turn_error = on_turn_error
    return test_adapter, stack[0]


def test_commands_reply_through_the_handler(adapter):
    test_adapter, _ = adapter

    async def flow():
        step = await test_adapter.send("help")
        step = await step.assert_reply(lambda reply, _: reply.text.startswith("I answer questions"))
        step = await step.send("quiz")  # no learning service in this bot: the help
        step = await step.assert_reply(lambda reply, _: reply.text.startswith("I answer questions"))
        await step.test(
            "upload", "To add material, attach the file to a message in this chat (admins only)."
        )

    asyncio.run(flow())


def test_a_question_streams_through_the_handler_and_errors_become_words(adapter):
    test_adapter, chat = adapter
    asyncio.run(test_adapter.send("How long is leave?"))
    sent = list(test_adapter.activity_buffer)
    assert [a.type for a in sent[:1]] == ["typing"] and sent[-1].type == "message"
    assert sent[-1].text.startswith("Leave is 25 days") and sent[-1].attachments

    test_adapter.activity_buffer.clear()
    chat.answers.model = FakeChatModel(error=ModelUnavailable("refused"))
    asyncio.run(test_adapter.send("How long is leave?"))
    last = test_adapter.activity_buffer[-1]
    assert last.text == "I can't reach my language model right now. Please try again soon."


def test_unexpected_errors_get_a_generic_apology():
    sent: list[Activity] = []

    class Context:
        activity = Activity(type="message")

        async def send_activity(self, activity):
            sent.append(activity)

    asyncio.run(on_turn_error(Context(), RuntimeError("boom")))  # type: ignore[arg-type]
    assert sent == ["Something went wrong on my side. Please try again."]
    assert TurnContext  # botbuilder stays importable from tests


def test_settings_refuse_no_auth_and_placeholder_secrets_outside_development():
    TeamsSettings().check("development")  # the emulator: no credentials needed
    with pytest.raises(TeamsConfigError, match="MICROSOFT_APP_ID"):
        TeamsSettings().check("production")
    placeholder = {"MICROSOFT_APP_ID": "a", "MICROSOFT_APP_PASSWORD": "changeme"}
    with pytest.raises(TeamsConfigError, match="placeholder"):
        TeamsSettings(**placeholder).check("production")
    real = {"MICROSOFT_APP_ID": "a", "MICROSOFT_APP_PASSWORD": "real-secret"}
    with pytest.raises(TeamsConfigError, match="TENANT"):
        TeamsSettings(**real, MICROSOFT_APP_TYPE="SingleTenant").check("production")
    settings = TeamsSettings(**real)
    settings.check("production")
    assert "real-secret" not in repr(settings)


def test_the_app_manifest_declares_the_bot_scopes_files_and_commands():
    manifest = json.loads((ROOT / "deploy" / "teams" / "manifest.json").read_text())
    (bot,) = manifest["bots"]
    assert bot["scopes"] == ["personal", "team", "groupChat"] and bot["supportsFiles"] is True
    personal = next(c for c in bot["commandLists"] if c["scopes"] == ["personal"])
    assert [c["title"] for c in personal["commands"]] == ["help", "quiz", "progress"]
    for icon in manifest["icons"].values():
        assert (ROOT / "deploy" / "teams" / icon).is_file()


def test_the_notifier_skips_jobs_whose_conversation_it_does_not_know(tmp_path, caplog):
    from bot.adapters.teams.notify import TeamsNotifier
    from bot.domain.jobs import Job, JobStatus, ReplyTo

    notifier = TeamsNotifier(TeamsSettings(), ConversationStore(tmp_path / "none"))
    notifier.finished(Job("j1", "ingest", JobStatus.DONE, reply_to=ReplyTo("teams", "a:1")))
    assert "no Teams conversation on record" in caplog.text
