"""Block Kit rendering held to Slack's limits, and the small Slack parts (settings,
de-duplication, pacing, the worker's notifier)."""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.slack.notifier import SlackNotifier
from bot.adapters.slack.settings import SlackSettings
from bot.adapters.slack.tokens import OneToken
from bot.domain.answering import Answer, Source
from bot.domain.jobs import Job, JobStatus, ReplyTo
from bot.surfaces.slack.once import MemoryOnce
from bot.surfaces.slack.render import (
    CORRECT,
    DOWN,
    MAX_BLOCKS,
    SECTION_LIMIT,
    UP,
    VALUE_LIMIT,
    answer_blocks,
    correction_modal,
    source_line,
)
from bot.surfaces.slack.streaming import Pacer
from tests.slack_server import TOKEN, FakeSlack


def source(n: int, **kw) -> Source:
    return Source(n, f"doc{n}.md", kw.pop("title", f"Doc {n}"), kw.pop("section", ""), "t", **kw)


def test_answer_blocks_are_text_numbered_sources_and_three_buttons():
    answer = Answer(
        "Leave is 25 days [1].",
        False,
        citations=(source(1, title="Handbook", section="Handbook › Leave", url="https://h/x"),),
    )
    blocks = answer_blocks(answer, "ans-1")
    assert blocks[0]["text"]["text"] == "Leave is 25 days [1]."
    assert blocks[1]["elements"][0]["text"] == "*Sources*"
    assert blocks[2]["text"]["text"] == "[1] <https://h/x|Handbook › Leave>"
    buttons = blocks[-1]["elements"]
    assert [b["action_id"] for b in buttons] == [UP, DOWN, CORRECT]
    assert {b["value"] for b in buttons} == {"ans-1"}
    streamed = answer_blocks(answer, "ans-1", with_text=False)
    assert streamed == blocks[1:]  # on chat.stopStream the text was already streamed


def test_consulted_sources_are_labelled_and_titles_escaped():
    answer = Answer("Maybe.", False, consulted=(source(1, title="Q&A <draft>"),))
    blocks = answer_blocks(answer, "a")
    assert "Consulted" in blocks[1]["elements"][0]["text"]
    assert blocks[2]["text"]["text"] == "[1] Q&amp;A &lt;draft&gt;"
    assert source_line(source(2, title="T", section="T › A › B")) == "[2] T › B"


def test_refusal_has_no_sources_but_keeps_the_buttons():
    blocks = answer_blocks(Answer("Not covered.", True, topics=("Leave",)), "a")
    assert [b["type"] for b in blocks] == ["section", "actions"]


def test_long_answers_and_many_sources_fit_slacks_limits():
    text = ("word " * 700 + "\n") * 60  # about 210,000 characters
    sources = tuple(source(i, title="T" * 4000) for i in range(1, 80))
    blocks = answer_blocks(Answer(text, False, citations=sources), "x" * 5000)
    assert len(blocks) <= MAX_BLOCKS and blocks[-1]["type"] == "actions"
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= SECTION_LIMIT
    assert all(len(b["value"]) <= VALUE_LIMIT for b in blocks[-1]["elements"])


def test_correction_modal_carries_its_metadata():
    view = correction_modal('{"answer": "a1"}')
    assert view["callback_id"] == "learnloop_correction"
    assert view["private_metadata"] == '{"answer": "a1"}'
    assert view["blocks"][-1]["element"]["type"] == "plain_text_input"


def test_pacer_waits_for_enough_text_and_time():
    pacer = Pacer(10, 1.0)
    assert pacer.add("short ", now=0.0) == ""
    assert pacer.add("enough now", now=0.1) == "short enough now"
    assert pacer.add("more than ten chars", now=0.5) == ""  # too soon after the last
    assert pacer.add("!", now=1.2) == "more than ten chars!"


def test_memory_once_claims_each_key_once_until_it_expires():
    async def scenario():
        once = MemoryOnce(seconds=0.05)
        assert await once.claim("a") and not await once.claim("a")
        assert await once.claim("b")
        await asyncio.sleep(0.06)  # the window itself is what is tested
        assert await once.claim("a")

    asyncio.run(scenario())


def test_settings_keep_slacks_names_and_refuse_placeholders_outside_development(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-placeholder")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "changeme")
    monkeypatch.setenv("LEARNLOOP_SLACK_API_URL", "http://127.0.0.1:1/api/")
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    settings = SlackSettings()
    assert settings.api_url == "http://127.0.0.1:1/api/" and not settings.socket_mode
    assert "changeme" not in repr(settings)  # secrets never printed
    settings.check("development", http=True)
    with pytest.raises(ValueError, match="SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET"):
        settings.check("production", http=True)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    with pytest.raises(ValueError, match="set SLACK_SIGNING_SECRET"):
        SlackSettings().check("development", http=True)


def test_notifier_posts_progress_and_summary_in_the_uploads_thread():
    async def scenario():
        slack = await FakeSlack().start()
        try:
            notifier = SlackNotifier(OneToken(TOKEN), slack.api_url)
            job = Job(
                "job1",
                "ingest",
                JobStatus.DONE,
                progress_done=1,
                progress_total=1,
                reply_to=ReplyTo("slack", "D1", "500.1"),
                result={"documents": 1, "chunks": 7, "skipped": 0},
            )
            await asyncio.to_thread(notifier.progress, job)  # the worker is synchronous
            await asyncio.to_thread(notifier.finished, job)
            progress, summary = slack.named("chat.postMessage")
            assert progress.params["channel"] == "D1" and progress.params["thread_ts"] == "500.1"
            assert "1 of 1" in progress.params["text"]
            assert "7 chunk(s)" in summary.params["text"]
            assert summary.headers["Authorization"] == f"Bearer {TOKEN}"
        finally:
            await slack.stop()

    asyncio.run(scenario())


def test_socket_mode_handler_is_built_from_the_app_token(tmp_path):
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.surfaces.slack.app import build_slack_app

    async def scenario():
        app_token = "xapp-" + "1-test"
        settings = SlackSettings(bot_token=TOKEN, app_token=app_token, api_url="http://x/")
        assert settings.socket_mode
        app = build_slack_app(None, settings, MemoryOnce(1))  # type: ignore[arg-type]
        handler = AsyncSocketModeHandler(app, settings.app_token.get_secret_value())
        assert handler.client.app_token == app_token
        await handler.close_async()  # never connected: nothing reaches Slack

    asyncio.run(scenario())


def test_the_slack_messenger_dms_reminders_and_reads_time_zones():
    from bot.adapters.slack.notifier import SlackMessenger

    async def scenario():
        slack = await FakeSlack(timezones={"U1": "Europe/Berlin"}).start()
        try:
            messenger = SlackMessenger(OneToken(TOKEN), slack.api_url)
            assert await asyncio.to_thread(messenger.timezone, "U1") == "Europe/Berlin"
            assert await asyncio.to_thread(messenger.send, "U1", "2 reviews are due")
            (post,) = slack.named("chat.postMessage")
            assert post.params["channel"] == "D1" and post.params["text"] == "2 reviews are due"
            slack.refuse.add("chat.postMessage")
            assert not await asyncio.to_thread(messenger.send, "U1", "again")
        finally:
            await slack.stop()

    asyncio.run(scenario())
