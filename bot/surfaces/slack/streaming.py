"""Deliver an answer stream into a Slack thread: chat.startStream / appendStream /
stopStream with the final Block Kit on stopStream; chat.postMessage + chat.update
(about once a second) where streaming is refused. While it streams, the message is on
record (`StreamMarks`), so a process that dies mid-answer has it marked interrupted."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.answering import message_text
from bot.domain.grounded import Quoted
from bot.services.chat import Answered
from bot.surfaces.interrupted import Mark, StreamMarks
from bot.surfaces.slack.inbox import current_event
from bot.surfaces.slack.quotes import quote_blocks, quote_fallback_text
from bot.surfaces.slack.render import answer_blocks, clip

log = logging.getLogger(__name__)

FALLBACK_TEXT_LIMIT = 3000  # chat.update's text while it is still being written


class Pacer:
    """Batches pieces: ready once `min_chars` wait and `interval` s passed since the last."""

    def __init__(self, min_chars: int, interval: float) -> None:
        self.min_chars = min_chars
        self.interval = interval
        self.pending = ""
        self._last = float("-inf")

    def add(self, piece: str, now: float) -> str:
        """The text to send now ("" to keep waiting)."""
        self.pending += piece
        if len(self.pending) >= self.min_chars and now - self._last >= self.interval:
            return self.take(now)
        return ""

    def take(self, now: float) -> str:
        text, self.pending, self._last = self.pending, "", now
        return text


@dataclass(frozen=True)
class Target:
    """Where an answer goes: a channel's thread, and who it is for."""

    channel: str
    thread_ts: str
    user_id: str
    team_id: str
    direct: bool


@dataclass(frozen=True)
class Pace:
    buffer_chars: int = 40
    interval: float = 0.5
    update_interval: float = 1.0


class Recorded:
    """The answer's message on record from its first words until it is finished."""

    def __init__(self, marks: StreamMarks | None, target: Target) -> None:
        self.marks = marks
        self.target = target
        self.mark: Mark | None = None

    async def shown(self, ts: str | None, kind: str, text: str) -> None:
        """`text` (all so far) is in message `ts`: a stream, or a posted "message"."""
        if self.marks is None or not ts:
            return
        if self.mark is None:
            # the inbox event it answers: it is answered again if its process dies
            reference = {"team": self.target.team_id, "kind": kind, "event": current_event()}
            self.mark = await self.marks.begin(self.target.channel, ts, reference)
        await self.mark.progress(text)

    async def end(self) -> None:
        if self.mark is not None:
            await self.mark.end()


async def deliver(
    client: AsyncWebClient,
    target: Target,
    events: AsyncIterator[str | Quoted | Answered],
    pace: Pace,
    marks: StreamMarks | None = None,
) -> Answered | None:
    """Stream `events` into the thread; the final blocks ride on chat.stopStream."""
    stream: AsyncChatStream | None = await client.chat_stream(
        channel=target.channel,
        thread_ts=target.thread_ts,
        # Slack requires the recipient when streaming outside a DM
        recipient_user_id=None if target.direct else target.user_id,
        recipient_team_id=None if target.direct else target.team_id,
        buffer_size=1,  # the Pacer decides when to send
    )
    recorded = Recorded(marks, target)
    try:
        return await _deliver(client, target, events, pace, stream, recorded)
    except BaseException:
        if stream is not None and stream.ts:  # close what was started; the error is told
            with contextlib.suppress(SlackClientError):  # refused, or already stopped
                await stream.stop()
        raise
    finally:
        await recorded.end()


async def _deliver(
    client: AsyncWebClient,
    target: Target,
    events: AsyncIterator[str | Quoted | Answered],
    pace: Pace,
    stream: AsyncChatStream | None,
    recorded: Recorded,
) -> Answered | None:
    fallback: Fallback | None = None
    pacer = Pacer(pace.buffer_chars, pace.interval)
    sofar = ""
    async for event in events:
        if isinstance(event, Answered):
            blocks = answer_blocks(event.answer, event.answer_id, with_text=False)
            if stream is not None:
                try:
                    await stream.stop(markdown_text=pacer.take(time.monotonic()), blocks=blocks)
                    return event
                except SlackApiError as exc:
                    fallback = Fallback(client, target, pace.update_interval, stream.ts, sofar)
                    stream = None
                    log.warning("stopStream refused (%s): updating instead", _error(exc))
            fallback = fallback or Fallback(client, target, pace.update_interval, None, sofar)
            await fallback.finish(event)
            return event
        if isinstance(event, Quoted):
            if event.quotes:  # its own message, before the stream's first text
                await client.chat_postMessage(
                    channel=target.channel,
                    thread_ts=target.thread_ts,
                    text=quote_fallback_text(event),
                    blocks=quote_blocks(event),
                )
            continue
        sofar += event
        if fallback is not None:
            await fallback.add(event)
            await recorded.shown(fallback.ts, "message", fallback.text)
            continue
        text = pacer.add(event, time.monotonic())
        if text and stream is not None:
            try:
                await stream.append(markdown_text=text)
                await recorded.shown(stream.ts, "stream", sofar)
            except SlackApiError as exc:
                log.warning("streaming refused (%s): posting and updating", _error(exc))
                fallback = Fallback(
                    client, target, pace.update_interval, stream.ts, sofar[: -len(text)]
                )
                stream = None
                await fallback.add(text)
                await recorded.shown(fallback.ts, "message", fallback.text)
    return None


class Fallback:
    """chat.postMessage, then chat.update no faster than `interval`; final blocks last."""

    def __init__(
        self,
        client: AsyncWebClient,
        target: Target,
        interval: float,
        ts: str | None,
        text: str = "",
    ) -> None:
        self.client = client
        self.target = target
        self.pacer = Pacer(1, interval)
        self.ts = ts
        self.text = text

    async def add(self, piece: str) -> None:
        self.text += piece
        if self.pacer.add(piece, time.monotonic()):
            await self._show(clip(self.text, FALLBACK_TEXT_LIMIT) + " …")

    async def finish(self, answered: Answered) -> None:
        blocks = answer_blocks(answered.answer, answered.answer_id)
        await self._show(clip(message_text(answered.answer), FALLBACK_TEXT_LIMIT), blocks)

    async def _show(self, text: str, blocks: list[dict] | None = None) -> None:
        if self.ts is None:
            response = await self.client.chat_postMessage(
                channel=self.target.channel,
                thread_ts=self.target.thread_ts,
                text=text,
                blocks=blocks,
            )
            self.ts = str(response["ts"])
        else:
            await self.client.chat_update(
                channel=self.target.channel, ts=self.ts, text=text, blocks=blocks
            )


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error", "unknown")) if exc.response is not None else "unknown"
