"""Marking a Slack answer its process left half-written: a stream still open on Slack's
side is stopped with the note appended; one Slack already closed (streams expire once
appends stop), or a posted-and-updated message, is edited to the text on record plus
the note (chat.update). The note says the answer follows when the inbox will answer the
message's event again, else it asks the person to ask again."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack.tokens import Tokens
from bot.adapters.store.inbox import InboxRepository
from bot.adapters.store.streams import StreamRecord
from bot.domain.conversation import INTERRUPTED, INTERRUPTED_AGAIN
from bot.surfaces.interrupted import Marker
from bot.surfaces.slack.render import clip, text_sections
from bot.surfaces.slack.streaming import FALLBACK_TEXT_LIMIT

log = logging.getLogger(__name__)


def slack_marker(
    client: AsyncWebClient, tokens: Tokens | None = None, inbox: InboxRepository | None = None
) -> Marker:
    """`tokens`: each workspace's bot token (multi-workspace); None: the client's own.
    `inbox`: where to read whether the message's event will be answered again."""

    async def note_for(record: StreamRecord) -> str:
        event = str(record.reference.get("event") or "")
        if inbox is None or not event:
            return INTERRUPTED
        again = await asyncio.to_thread(inbox.answers_again, event)
        return INTERRUPTED_AGAIN if again else INTERRUPTED

    async def mark(record: StreamRecord) -> None:
        note = await note_for(record)
        token: str | None = None
        if tokens is not None:
            token = await asyncio.to_thread(tokens.token, str(record.reference.get("team", "")))
            if not token:
                raise LookupError("no bot token for the message's workspace")
        if record.reference.get("kind") == "stream":
            try:
                await client.chat_stopStream(
                    channel=record.channel,
                    ts=record.message_id,
                    chunks=[{"type": "markdown_text", "text": f"\n\n{note}"}],
                    token=token,
                )
                return
            except SlackApiError as exc:  # e.g. message_not_in_streaming_state
                log.info("slack message=%s: stream closed (%s); editing", record.message_id, exc)
        text = clip(record.text.strip(), FALLBACK_TEXT_LIMIT)
        shown = f"{text}\n\n{note}" if text else note
        await client.chat_update(
            channel=record.channel,
            ts=record.message_id,
            text=shown,
            blocks=text_sections(shown),  # without blocks, Slack keeps the message's old ones
            token=token,
        )

    return mark
