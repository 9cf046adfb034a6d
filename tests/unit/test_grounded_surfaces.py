"""Grounded answers as Slack and Teams show them, through the fake platform servers:
the quotes arrive before the model's first sentence, then only backed sentences."""

from __future__ import annotations

import json

from bot.domain.grounded import QUOTES_STAND
from bot.domain.ports import Findings
from bot.services.answers import AnswerService
from bot.services.chat import ChatService
from bot.services.grounding import Grounder
from tests.fakes import FakeChatModel, FakeEmbedder, FakeRetriever
from tests.slack_server import mention
from tests.unit.test_slack_app import run, running
from tests.unit.test_teams import SOURCES as TEAMS_SOURCES
from tests.unit.test_teams import harness, stack, texts  # noqa: F401 (stack: a fixture)

SLACK_REPLY = "Leave is 25 days [1]. Leave is 90 days [1]. Public holidays are extra [2]."
SLACK_SHOWN = "Leave is 25 days. [1] Public holidays are extra. [2]"


def test_slack_posts_the_quotes_as_block_kit_before_the_streamed_checked_sentences(make_app):
    async def scenario():
        model = FakeChatModel(SLACK_REPLY)
        async with running(make_app, model=model, grounder=Grounder(FakeEmbedder())) as bot:
            assert await bot.event(mention("How long is leave?", "100.1")) == 200
            (stop,) = await bot.slack.wait_for(lambda: bot.streams())
            methods = [c.method for c in bot.slack.calls]
            (quotes,) = bot.slack.named("chat.postMessage")
            assert methods.index("chat.postMessage") < methods.index("chat.startStream")
            assert quotes.params["thread_ts"] == "100.1"
            blocks = quotes.params["blocks"]
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            quoted = [
                e["elements"][0]["text"]
                for b in blocks
                if b["type"] == "rich_text"
                for e in b["elements"]
            ]
            assert "Leave is 25 days." in quoted
            links = json.dumps(blocks, ensure_ascii=False)
            assert "[1] <https://x/h|Handbook › Leave>" in links  # each quote's source, linked
            calls = (*bot.streams("chat.startStream"), *bot.streams("chat.appendStream"), stop)
            streamed = "".join(c["text"] for call in calls for c in call.params.get("chunks", []))
            assert streamed.strip() == SLACK_SHOWN  # the changed number never reached Slack
            final = json.dumps(stop.params["blocks"], ensure_ascii=False)
            assert "*Sources*" in final and "[2] FAQ › Holidays" in final
            bot.chat.answers.grounder.close()

    run(scenario())


def teams_answer(chat: ChatService, reply: str, tmp_path) -> list:
    """What Teams received for "How long is leave?" from a grounded chat whose model
    replies `reply`, up to the final message."""
    grounded = ChatService(
        AnswerService(
            FakeRetriever(Findings(True, TEAMS_SOURCES, ())),
            FakeChatModel(reply),
            grounder=Grounder(FakeEmbedder()),
        ),
        chat.jobs,
        chat.access,
        chat.threads,
    )
    with harness(grounded, tmp_path) as teams:
        assert teams.post(teams.activity("How long is leave?"))[0] == 201
        sent = teams.capture.wait_for(
            lambda s: s if any(x.body["type"] == "message" for x in s) else None, "final"
        )
        teams.run(grounded.answers.aclose())
    return sent


def test_teams_streams_the_quotes_first_and_puts_them_on_the_final_card(stack, tmp_path):  # noqa: F811
    chat = stack[0]
    reply = "Leave is 25 days a year [1]. Leave is 90 days a year. Public holidays are extra [2]."
    sent = teams_answer(chat, reply, tmp_path)
    updates = [s.body["text"] for s in sent if s.stream.get("streamType") == "streaming"]
    assert updates[0].startswith("**From the training material:**")
    assert "> Leave is 25 days" in updates[0] and "extra. [2]" not in updates[0]
    assert "extra. [2]" in updates[-1] and "90 days" not in updates[-1]
    final = sent[-1]
    assert "90 days" not in final.body["text"] and "extra. [2]" in final.body["text"]
    (card,) = final.cards
    containers = [b for b in card["body"] if b["type"] == "Container"]
    assert containers and any(
        "Leave is 25 days" in item["text"] for c in containers for item in c["items"]
    )
    assert "[2] Policy › Holidays" in texts(card)


def _occurrences(payloads: object, text: str) -> int:
    return json.dumps(payloads, ensure_ascii=False).count(text)


def test_slack_shows_the_quotes_once_when_they_are_the_answer(make_app):
    async def scenario():
        model = FakeChatModel("Leave is whatever your manager says.")  # nothing backs it
        async with running(make_app, model=model, grounder=Grounder(FakeEmbedder())) as bot:
            assert await bot.event(mention("How long is leave?", "100.2")) == 200
            (stop,) = await bot.slack.wait_for(lambda: bot.streams())
            sent = [c.params for c in bot.slack.calls if c.method.startswith("chat.")]
            shown = [(p.get("blocks"), p.get("chunks")) for p in sent]  # text: notifications
            assert _occurrences(shown, "Leave is 25 days") == 1  # the quotes message alone
            calls = (*bot.streams("chat.startStream"), *bot.streams("chat.appendStream"), stop)
            streamed = "".join(c["text"] for call in calls for c in call.params.get("chunks", []))
            assert streamed.strip() == QUOTES_STAND
            assert "manager" not in json.dumps(sent)
            bot.chat.answers.grounder.close()

    run(scenario())


def test_teams_shows_the_quotes_once_when_they_are_the_answer(stack, tmp_path):  # noqa: F811
    chat = stack[0]
    sent = teams_answer(chat, "Leave is whatever your manager says.", tmp_path)
    updates = [s.body["text"] for s in sent if s.stream.get("streamType") == "streaming"]
    assert updates[-1].count("Leave is 25 days") == 1 and QUOTES_STAND in updates[-1]
    final = sent[-1]
    assert final.body["text"] == QUOTES_STAND  # the card below carries the quotes, once
    assert _occurrences(final.cards, "Leave is 25 days") == 1


def test_slack_slash_command_reply_leads_with_the_quotes_and_shows_them_once(make_app):
    from tests.slack_server import command_body
    from tests.unit.test_slack_app import post

    async def scenario():
        model = FakeChatModel(SLACK_REPLY)
        async with running(make_app, model=model, grounder=Grounder(FakeEmbedder())) as bot:
            hook = f"{bot.slack.url}/response/abc"
            body = command_body("ask How long is leave?", hook)
            status, _ = await post(bot.http, bot.url, body, form=True)
            assert status == 200
            (reply,) = await bot.slack.wait_for(lambda: bot.slack.named("response_url"))
            blocks = reply.params["blocks"]
            assert blocks[0]["type"] == "context" and "From the training material" in str(blocks[0])
            assert _occurrences(blocks, "Leave is 25 days.") == 2  # the quote, the checked sentence
            assert _occurrences(blocks, "Leave is 25 days. [1]") == 1
            bot.chat.answers.grounder.close()

    run(scenario())
