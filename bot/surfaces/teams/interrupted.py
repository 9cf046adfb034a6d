"""Marking a Teams answer its process left half-written, in a proactive turn on its
conversation: a 1:1 stream gets its final message (the text on record plus the note), or
a new reply with them when Teams no longer takes the stream; an edited channel reply is
edited once more to end with the note. Then, where `again` is given and the record holds
its question, the question is answered once more (as Slack's inbox does for Slack)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from botbuilder.core import BotAdapter, TurnContext
from botbuilder.schema import Activity, ActivityTypes, ConversationReference
from botframework.connector.models import ErrorResponseException

from bot.adapters.store.streams import StreamRecord
from bot.domain.conversation import INTERRUPTED, INTERRUPTED_AGAIN
from bot.surfaces.interrupted import Marker
from bot.surfaces.teams.answers import MAX_ROUNDS
from bot.surfaces.teams.outbox import Outbox
from bot.surfaces.teams.streaming import Stream

log = logging.getLogger(__name__)


def answerable(record: StreamRecord) -> bool:
    """The record holds its question and has not been answered again too often."""
    kept = record.reference
    return bool(kept.get("question")) and "asked" in kept and kept.get("round", 0) < MAX_ROUNDS


def teams_marker(
    adapter: BotAdapter,
    app_id: str = "",
    again: Callable[[StreamRecord], None] | None = None,
) -> Marker:
    """`again(record)` starts answering the record's question anew (it must not wait for
    the answer: the sweep that calls this renews this process's own leases)."""

    async def mark(record: StreamRecord) -> None:
        reference = ConversationReference().deserialize(record.reference["reference"])
        answering = again is not None and answerable(record)
        note = INTERRUPTED_AGAIN if answering else INTERRUPTED
        text = record.text.strip()
        shown = f"{text}\n\n{note}" if text else note

        async def edit(ctx: TurnContext) -> None:
            ctx.activity.id = reference.activity_id  # in reply to the question
            outbox = Outbox(ctx)
            final = Activity(type=ActivityTypes.message, text=shown)
            if record.reference.get("kind") != "stream":
                await outbox.update(record.message_id, final)
                return
            stream = Stream(outbox)
            stream.stream_id = record.message_id
            try:
                if await stream.finish(final):
                    return
            except ErrorResponseException as exc:  # the stream ended on Teams' side
                log.info("teams stream=%s closed (%s): replying", record.message_id, exc)
            await outbox.send(shown)

        await adapter.continue_conversation(reference, edit, app_id or None)
        if answering and again is not None:
            again(record)

    return mark
