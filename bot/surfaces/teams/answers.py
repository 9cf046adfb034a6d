"""Writing one answer into Teams: streamed in a 1:1 chat, sent then edited elsewhere; on
record while it is written (`StreamMarks`) with the question and the activity that asked
it, so when a process dies mid-answer, also one answering after its request returned,
a live one marks the message interrupted and answers the question again."""

from __future__ import annotations

import time
from collections.abc import Callable

from botbuilder.core import TurnContext
from botbuilder.schema import Activity, ActivityTypes, Attachment

from bot.domain.answering import message_text
from bot.domain.conversation import ANSWERED_AGAIN_AT_MOST, Actor, Place
from bot.domain.grounded import Quoted
from bot.services.chat import Answered, ChatService
from bot.surfaces.interrupted import Mark, StreamMarks
from bot.surfaces.teams.outbox import Outbox
from bot.surfaces.teams.quotes import quotes_markdown
from bot.surfaces.teams.render import CARD_TYPE, Card, answer_card
from bot.surfaces.teams.streaming import Stream

WORKING = "Looking through the training material…"
MAX_ROUNDS = ANSWERED_AGAIN_AT_MOST


class Recorded:
    """The answer's message on record from its first update until it is finished."""

    def __init__(
        self,
        marks: StreamMarks | None,
        outbox: Outbox,
        kind: str,
        question: str,
        asked: Activity,
        round_: int = 0,
    ) -> None:
        self.marks = marks
        self.outbox = outbox
        self.kind = kind  # "stream" (1:1 streaming) or "message" (sent, then edited)
        self.question = question
        self.asked = asked  # the person's message (who asked, where), kept to answer again
        self.round = round_  # 0: first asked; n: the n-th answer after an interruption
        self.mark: Mark | None = None

    async def begin(self, message_id: str | None) -> None:
        if self.marks is None or not message_id:
            return
        reference = TurnContext.get_conversation_reference(self.outbox.ctx.activity)
        conversation = reference.conversation.id if reference.conversation else ""
        kept = {
            "kind": self.kind,
            "reference": reference.serialize(),
            "question": self.question,
            "asked": self.asked.serialize(),
            "round": self.round,
        }
        self.mark = await self.marks.begin(conversation, message_id, kept)

    async def shown(self, text: str) -> None:
        if self.mark is not None:
            await self.mark.progress(text)

    async def end(self) -> None:
        if self.mark is not None:
            await self.mark.end()


def card_activity(card: Card, text: str | None = None) -> Activity:
    return Activity(
        type=ActivityTypes.message,
        text=text,
        attachments=[Attachment(content_type=CARD_TYPE, content=card)],
    )


async def stream_answer(
    chat: ChatService,
    outbox: Outbox,
    actor: Actor,
    place: Place,
    question: str,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    marks: StreamMarks | None = None,
) -> None:
    """Teams streaming: a status line, the text as it grows, then the final message
    with the answer as text and a card of sources and feedback actions."""
    asking = outbox.ctx.activity  # before the request may end and the turn be swapped
    stream = Stream(outbox, interval, clock)
    if not await stream.inform(WORKING):
        return
    recorded = Recorded(marks, outbox, "stream", question, asking)
    await recorded.begin(stream.stream_id)
    try:
        text = ""
        async for event in chat.ask(actor, place, question):
            if isinstance(event, Answered):
                card = answer_card(event.answer, event.answer_id, with_text=False)
                await stream.finish(card_activity(card, message_text(event.answer)))
                return
            text += quotes_markdown(event) if isinstance(event, Quoted) else event
            if text.strip() and not await stream.update(text):
                return  # stopped: the answer is not finished, so it is not recorded either
            await recorded.shown(text)
    finally:
        await recorded.end()


async def edit_answer(
    chat: ChatService,
    outbox: Outbox,
    actor: Actor,
    place: Place,
    question: str,
    interval: float,
    clock: Callable[[], float] = time.monotonic,
    marks: StreamMarks | None = None,
    *,
    asked: Activity | None = None,
    round_: int = 0,
) -> None:
    """Channels and group chats (no streaming there), and an answer given again after an
    interruption: post a status reply in the thread, edit it as the text grows, and
    finally replace it with the answer card. `asked`: the person's message when this
    turn's activity is not it (a proactive turn)."""
    asking = asked or outbox.ctx.activity  # before the request may end and the turn be swapped
    reply_id = await outbox.send(WORKING)
    recorded = Recorded(marks, outbox, "message", question, asking, round_)
    await recorded.begin(reply_id)
    try:
        last, text = clock(), ""
        async for event in chat.ask(actor, place, question):
            if isinstance(event, Answered):
                card = card_activity(answer_card(event.answer, event.answer_id))
                if reply_id:
                    await outbox.update(reply_id, card)
                else:  # a channel that returned no id cannot be edited: post the card
                    await outbox.send(card)
                return
            text += quotes_markdown(event) if isinstance(event, Quoted) else event
            if reply_id and text.strip() and clock() - last >= interval:
                await outbox.update(
                    reply_id, Activity(type=ActivityTypes.message, text=text + " …")
                )
                last = clock()
                await recorded.shown(text)
    finally:
        await recorded.end()
