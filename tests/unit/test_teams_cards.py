"""Pure Teams renderers (Adaptive Card JSON) and the streaming protocol's bookkeeping."""

from __future__ import annotations

import asyncio
import json

from botbuilder.schema import Activity
from botframework.connector.models import ErrorResponseException

from bot.domain.answering import Answer, Source
from bot.surfaces.teams.render import answer_card, feedback_card, notice_card, source_line
from bot.surfaces.teams.streaming import Stream, StreamInfo

CITED = Answer(
    "Use git stash [1].",
    refused=False,
    citations=(
        Source(1, "git-stash.html", "git-stash", "git-stash › DESCRIPTION", "...", "https://g/s"),
    ),
)


def test_the_answer_card_has_text_numbered_sources_and_three_feedback_actions():
    card = answer_card(CITED, "abc123")
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [b["text"] for b in card["body"]]
    assert texts == ["Use git stash [1].", "Sources", "[1] [git-stash › DESCRIPTION](https://g/s)"]
    up, down, correct = card["actions"]
    assert [up["title"], down["title"], correct["title"]] == ["👍", "👎", "Suggest a correction"]
    assert {a["type"] for a in (up, down)} == {"Action.Execute"}
    assert up["data"] == {"answer_id": "abc123", "rating": "up"}
    send = correct["card"]["actions"][0]
    assert send["type"] == "Action.Execute" and send["data"]["rating"] == "correction"
    assert correct["card"]["body"][0]["isRequired"] is True
    json.dumps(card)  # plain JSON all the way down


def test_without_text_and_with_only_consulted_sources():
    consulted = Answer(
        "Maybe.", refused=False, consulted=(Source(2, "a.md", "A [draft]", "", "..."),)
    )
    card = answer_card(consulted, "x", with_text=False)
    texts = [b["text"] for b in card["body"]]
    assert texts == ["Consulted (nothing cited directly)", "[2] A (draft)"]  # no link markup
    refused = Answer("The material does not cover that.", refused=True)
    assert [b["text"] for b in answer_card(refused, "y")["body"]] == [refused.text]


def test_source_lines_show_the_last_section_and_escape_link_targets():
    source = Source(3, "h.md", "Handbook", "Handbook › Leave › Part-time", "t", "https://w/a)b")
    assert source_line(source) == "[3] [Handbook › Part-time](https://w/a%29b)"


def test_the_feedback_card_thanks_and_drops_the_buttons():
    passages = [{"n": 1, "source": "git-stash.html", "section": "git-stash › DESCRIPTION"}]
    card = feedback_card("Use git stash [1].", passages, "down")
    texts = [b["text"] for b in card["body"]]
    assert texts[0] == "Use git stash [1]." and texts[2] == "[1] git-stash › DESCRIPTION"
    assert "👎" in texts[-1] and "actions" not in card
    assert notice_card("Gone.")["body"][0]["text"] == "Gone."


class FakeOutbox:
    def __init__(self, refuse_after: int | None = None) -> None:
        self.sent: list[Activity] = []
        self.refuse_after = refuse_after

    async def send(self, activity):
        if self.refuse_after is not None and len(self.sent) >= self.refuse_after:

            class Response:
                status_code = 403

            error = ErrorResponseException.__new__(ErrorResponseException)
            error.response = Response()
            raise error
        self.sent.append(activity)
        return f"id-{len(self.sent)}"


def test_a_stream_numbers_its_updates_throttles_them_and_ends_without_a_sequence():
    now = [0.0]
    outbox = FakeOutbox()
    stream = Stream(outbox, interval=1.0, clock=lambda: now[0])  # type: ignore[arg-type]

    async def run():
        await stream.inform("Looking…")
        now[0] = 0.5
        await stream.update("Use")  # too soon after the informative update: skipped
        now[0] = 1.5
        await stream.update("Use git")
        now[0] = 3.0
        await stream.update("Use git stash")
        await stream.finish(Activity(type="message", text="Use git stash."))

    asyncio.run(run())
    infos = [a.entities[-1].serialize() for a in outbox.sent]
    assert infos == [
        {"type": "streaminfo", "streamType": "informative", "streamSequence": 1},
        {"type": "streaminfo", "streamId": "id-1", "streamType": "streaming", "streamSequence": 2},
        {"type": "streaminfo", "streamId": "id-1", "streamType": "streaming", "streamSequence": 3},
        {"type": "streaminfo", "streamId": "id-1", "streamType": "final"},
    ]
    assert [a.text for a in outbox.sent[1:3]] == ["Use git", "Use git stash"]
    assert outbox.sent[-1].channel_data == {"streamType": "final", "streamId": "id-1"}
    assert isinstance(outbox.sent[0].entities[0], StreamInfo)


def test_a_stopped_stream_sends_nothing_more():
    outbox = FakeOutbox(refuse_after=1)
    stream = Stream(outbox, interval=0)  # type: ignore[arg-type]

    async def run():
        assert await stream.inform("Looking…")
        assert not await stream.update("Use")
        assert not await stream.update("Use git")
        assert not await stream.finish(Activity(type="message", text="Use git."))

    asyncio.run(run())
    assert len(outbox.sent) == 1 and stream.stopped
