"""Answers kept on record while they stream into Slack (a real SQLite store, the local
Slack server): forgotten once finished, marked by another process once their holder
stops renewing, with the note appended to a stream still open or edited into one
Slack closed; a message that cannot be marked is tried again, then let go."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.store.streams import StreamRecord, StreamRepository
from bot.domain.conversation import INTERRUPTED
from bot.surfaces.interrupted import MAX_ATTEMPTS, StreamMarks
from bot.surfaces.slack.interrupted import slack_marker
from bot.surfaces.slack.streaming import Pace, Target, deliver
from tests.slack_server import TOKEN, FakeSlack

TARGET = Target("C1", "100.1", "U1", "T1", direct=False)
PACE = Pace(buffer_chars=1, interval=0, update_interval=0)


def marks_over(store, lease: float = 60) -> StreamMarks:
    return StreamMarks(StreamRepository(store), "slack", lease, progress_seconds=0)


async def expired(marks: StreamMarks, marker) -> int:
    """One sweep once every record's lease ran out (leases here are 0.05 s)."""
    for _ in range(100):
        if marked := await marks.sweep_once(marker):
            return marked
        await asyncio.sleep(0.02)
    return 0


def test_a_streaming_answer_is_on_record_with_its_text_until_it_finishes(store):
    release = asyncio.Event()

    async def pieces():
        yield "Leave is "
        yield "25 days."
        await release.wait()

    async def scenario():
        slack = await FakeSlack().start()
        client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
        marks = marks_over(store)
        try:
            task = asyncio.create_task(deliver(client, TARGET, pieces(), PACE, marks))
            await slack.wait_for(lambda: len(slack.named("chat.appendStream")) == 1)
            (started,) = slack.named("chat.startStream")
            for _ in range(100):  # the text is written after each append
                records = marks.repo.streaming("slack")
                if records and records[0].text == "Leave is 25 days.":
                    break
                await asyncio.sleep(0.02)
            (record,) = marks.repo.streaming("slack")
            assert (record.channel, record.message_id) == ("C1", started.result["ts"])
            # outside an inbox event (a slash command, a test): no event to answer again
            assert record.reference == {"team": "T1", "kind": "stream", "event": ""}
            assert record.text == "Leave is 25 days."
            release.set()
            assert await task is None
            assert marks.repo.streaming("slack") == []  # finished: nothing to mark
        finally:
            await slack.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("closed", [False, True])
def test_a_message_left_by_a_dead_holder_ends_with_the_note(store, closed):
    async def scenario():
        slack = await FakeSlack().start()
        if closed:  # Slack closes a stream nobody appends to: message_not_in_streaming_state
            slack.refuse.add("chat.stopStream")
        client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)
        dead, alive = marks_over(store, lease=0.05), marks_over(store)
        try:
            mark = await dead.begin("C1", "1001.000100", {"team": "T1", "kind": "stream"})
            await mark.progress("Leave is 25")
            assert await expired(alive, slack_marker(client)) == 1
            (stop,) = slack.named("chat.stopStream")
            assert stop.params["ts"] == "1001.000100"
            assert stop.params["chunks"] == [
                {"type": "markdown_text", "text": f"\n\n{INTERRUPTED}"}
            ]
            if closed:
                (update,) = slack.named("chat.update")
                assert update.params["text"] == f"Leave is 25\n\n{INTERRUPTED}"
                assert update.params["blocks"][0]["text"]["text"] == update.params["text"]
            else:
                assert not slack.named("chat.update")
            assert alive.repo.streaming("slack") == []
            assert await alive.sweep_once(slack_marker(client)) == 0  # once
        finally:
            await slack.stop()

    asyncio.run(scenario())


def test_a_message_that_cannot_be_marked_is_tried_again_then_let_go(store):
    tried: list[StreamRecord] = []

    async def refused(record: StreamRecord) -> None:
        tried.append(record)
        raise ConnectionError("Slack unreachable")

    async def scenario():
        dead, marks = marks_over(store, lease=0.05), marks_over(store, lease=0.05)
        await dead.begin("C1", "1001.000100", {"team": "T1", "kind": "message"})
        for attempt in range(1, MAX_ATTEMPTS + 1):
            while len(tried) < attempt:  # claimed again once the failed claim's lease ran out
                assert await marks.sweep_once(refused) == 0
                await asyncio.sleep(0.02)
            kept = marks.repo.streaming("slack")
            assert len(kept) == (0 if attempt == MAX_ATTEMPTS else 1)
        assert [r.attempts for r in tried] == list(range(1, MAX_ATTEMPTS + 1))

    asyncio.run(scenario())


def test_the_store_down_costs_the_record_not_the_answer(store):
    class Flaky(StreamRepository):
        down: ClassVar[set[str]] = {"begin"}

        def begin(self, *args, **kwargs):
            if "begin" in self.down:
                raise ConnectionError("database down")
            return super().begin(*args, **kwargs)

        def end(self, record_id):
            if "end" in self.down:
                raise ConnectionError("database down")
            super().end(record_id)

    marks = StreamMarks(Flaky(store), "slack", 60, progress_seconds=0)
    marked: list[StreamRecord] = []

    async def marker(record: StreamRecord) -> None:
        marked.append(record)

    async def scenario():
        mark = await marks.begin("C1", "1001.000100", {})
        await mark.progress("text")  # nothing to write to, nothing raised
        await mark.end()
        marks.repo.down = {"end"}  # the answer finishes while the store is down
        mark = await marks.begin("C1", "1002.000100", {})
        await mark.end()
        assert len(marks.repo.streaming("slack")) == 1
        marks.repo.down = set()
        assert await marks.sweep_once(marker) == 0
        assert marks.repo.streaming("slack") == []  # cleared, never marked
        assert marked == []

    asyncio.run(scenario())
