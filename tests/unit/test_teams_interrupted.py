"""Marking a Teams answer a dead process left half-written, through botbuilder's
proactive turn to the local stand-in for Bot Service (tests/teams_server.py)."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from botbuilder.core import TurnContext
from botbuilder.schema import Activity

from bot.adapters.store.streams import StreamRecord
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.conversation import INTERRUPTED, INTERRUPTED_AGAIN
from bot.surfaces.teams.answers import MAX_ROUNDS
from bot.surfaces.teams.app import build_adapter
from bot.surfaces.teams.interrupted import answerable, teams_marker
from tests.teams_server import CONVERSATIONS, Capture, message_activity

KIND_OF = {"stream": "personal", "message": "channel"}  # where each kind of answer is written


def record(service_url: str, kind: str, message_id: str, text: str, **kept: object) -> StreamRecord:
    incoming = message_activity(service_url, "What is Zorp?", kind=KIND_OF[kind])
    reference = TurnContext.get_conversation_reference(Activity().deserialize(incoming))
    return StreamRecord(
        "r1",
        "teams",
        reference.conversation.id,
        message_id,
        {"kind": kind, "reference": reference.serialize(), **kept},
        text,
        1,
    )


def mark(
    capture: Capture, kind: str, text: str, again: list | None = None, **kept: object
) -> tuple[StreamRecord, list]:
    async def scenario():
        runner = web.AppRunner(capture.app())
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
            left = record(url, kind, "reply-7", text, **kept)
            adapter = build_adapter(TeamsSettings(), reply_errors=False)
            asked = None if again is None else again.append
            await teams_marker(adapter, "", asked)(left)
            return left, list(capture.sent)
        finally:
            await runner.cleanup()

    return asyncio.run(scenario())


def test_an_edited_channel_reply_is_edited_once_more_to_end_with_the_note():
    _, sent = mark(Capture(), "message", "Leave is 25")
    (edit,) = sent
    assert (edit.method, edit.activity_id) == ("PUT", "reply-7")
    assert edit.conversation == CONVERSATIONS["channel"]
    assert edit.body["text"] == f"Leave is 25\n\n{INTERRUPTED}"


@pytest.mark.parametrize("timed_out", [False, True])
def test_a_personal_stream_gets_a_final_message_or_a_reply_when_it_timed_out(timed_out):
    left, sent = mark(Capture(refuse_final=timed_out), "stream", "")
    (reply,) = sent
    assert reply.method == "POST" and reply.conversation == CONVERSATIONS["personal"]
    assert reply.activity_id == left.reference["reference"]["activityId"]  # to the question
    assert reply.body["text"] == INTERRUPTED  # nothing was written before it
    if timed_out:
        assert not reply.stream  # a plain reply: Teams no longer takes the stream
    else:
        assert reply.stream == {"type": "streaminfo", "streamId": "reply-7", "streamType": "final"}


ASKED = {"question": "What is Zorp?", "asked": {"type": "message", "text": "What is Zorp?"}}


def test_a_record_with_its_question_is_marked_as_answered_again_and_handed_over_once():
    again: list[StreamRecord] = []
    left, sent = mark(Capture(), "message", "Leave is 25", again, **ASKED, round=0)
    (edit,) = sent
    assert edit.body["text"] == f"Leave is 25\n\n{INTERRUPTED_AGAIN}"
    assert again == [left]  # answered again by the bot, once


@pytest.mark.parametrize(
    "kept",
    [
        {},  # recorded before questions were kept
        {**ASKED, "round": MAX_ROUNDS},  # answered again as often as it may be
        {**ASKED, "question": ""},
    ],
)
def test_a_record_that_cannot_or_may_not_be_answered_again_asks_the_person(kept):
    again: list[StreamRecord] = []
    left, sent = mark(Capture(), "message", "Leave is 25", again, **kept)
    (edit,) = sent
    assert edit.body["text"] == f"Leave is 25\n\n{INTERRUPTED}"
    assert again == [] and not answerable(left)
