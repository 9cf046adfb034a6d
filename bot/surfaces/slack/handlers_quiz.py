"""Quizzes and progress in a DM: "quiz [me on <topic>]", the answer and Stop buttons,
"stop", "progress", "reminders on|off", `/learn quiz|progress` and the App Home tab."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.conversation import REMINDERS_SET, Actor, Place, friendly
from bot.domain.errors import StaleQuestion
from bot.domain.router import Intent
from bot.services.learning import LearningService, Question
from bot.surfaces.slack.context import SlackDeps, actor_of, team_of
from bot.surfaces.slack.errors import Tell, guarded
from bot.surfaces.slack.render import (
    QUIZ_ANSWER,
    QUIZ_STOP,
    home_view,
    notice_blocks,
    outcome_blocks,
    outcome_text,
    progress_blocks,
    progress_text,
    question_blocks,
    question_text,
    stopped_blocks,
    summary_blocks,
    summary_text,
)

log = logging.getLogger(__name__)

Payload = dict[str, Any]

NOTHING_TO_STOP = "There is no quiz to stop. Say *quiz* to start one."
OVER = "That question is from an earlier quiz. Say *quiz* to start a new one."
SENT_TO_DM = "Your quiz is waiting in our direct messages."
QUIZ_KINDS = ("quiz", "progress")  # the intents `/learn` brings here
KINDS = (*QUIZ_KINDS, "stop", "reminders")  # the intents a message brings here


async def open_dm(client: AsyncWebClient, user_id: str) -> str:
    response = await client.conversations_open(users=user_id)
    return str(response["channel"]["id"])


class Flows:
    """The flows over the learning service, posting with a Bolt client."""

    def __init__(self, learning: LearningService, client: AsyncWebClient) -> None:
        self.learning = learning
        self.client = client

    async def ask(self, channel: str, question: Question) -> None:
        await self.client.chat_postMessage(
            channel=channel, text=question_text(question), blocks=question_blocks(question)
        )

    async def start(self, actor: Actor, channel: str, topic: str) -> None:
        await self.ask(channel, await self.learning.start(actor, topic))

    async def stop(self, actor: Actor, channel: str) -> None:
        summary = await self.learning.stop(actor)
        if summary is None:
            await self.client.chat_postMessage(channel=channel, text=NOTHING_TO_STOP)
            return
        await self.client.chat_postMessage(
            channel=channel, text=summary_text(summary), blocks=summary_blocks(summary)
        )

    async def progress(self, actor: Actor, channel: str) -> None:
        progress = await self.learning.progress(actor)
        await self.client.chat_postMessage(
            channel=channel, text=progress_text(progress), blocks=progress_blocks(progress)
        )

    async def answer(
        self, actor: Actor, where: dict[str, str], session_id: str, item_id: str, picked: int
    ) -> None:
        """A pick: the question message shows the outcome; then the next one or the score."""
        outcome = await self.learning.answer(actor, session_id, item_id, picked)
        try:
            await self.client.chat_update(
                channel=where["channel"],
                ts=where["ts"],
                text=outcome_text(outcome),
                blocks=outcome_blocks(outcome),
            )
        except SlackApiError as exc:  # graded already: the quiz must still go on
            log.warning("quiz outcome not shown: %s", exc.response.get("error", "unknown"))
        if outcome.next is not None:
            await self.ask(where["channel"], outcome.next)
        elif outcome.summary is not None:
            summary = outcome.summary
            await self.client.chat_postMessage(
                channel=where["channel"], text=summary_text(summary), blocks=summary_blocks(summary)
            )

    async def stale(self, actor: Actor, where: dict[str, str], session_id: str) -> None:
        """An old button: a gentle word, and the current question again when it is
        another quiz's (a repeat press in this quiz has the current question just below)."""
        current = await self.learning.current(actor)
        await self.client.chat_postEphemeral(
            channel=where["channel"],
            user=actor.user_id,
            text=friendly("stale_question") if current is not None else OVER,
        )
        if current is not None and current.session_id != session_id:
            await self.ask(where["channel"], current)


def _where(body: Payload) -> dict[str, str]:
    """The channel and ts of the message whose button was pressed."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    return {
        "channel": str((body.get("channel") or {}).get("id") or container.get("channel_id", "")),
        "ts": str(container.get("message_ts") or message.get("ts") or ""),
    }


async def converse(
    learning: LearningService,
    client: AsyncWebClient,
    actor: Actor,
    place: Place,
    intent: Intent,
) -> None:
    """A message for these flows (`KINDS`); quizzes always run in the DM."""
    flows = Flows(learning, client)
    if intent.kind == "progress":
        if place.direct:
            await flows.progress(actor, place.channel)
            return
        progress = await learning.progress(actor)  # only the asker sees it
        await client.chat_postEphemeral(
            channel=place.channel,
            user=actor.user_id,
            thread_ts=place.thread or None,
            text=progress_text(progress),
            blocks=progress_blocks(progress),
        )
    elif intent.kind == "quiz":
        channel = place.channel if place.direct else await open_dm(client, actor.user_id)
        await flows.start(actor, channel, intent.text)
        if not place.direct:
            await client.chat_postMessage(
                channel=place.channel, thread_ts=place.thread or None, text=SENT_TO_DM
            )
    elif intent.kind == "reminders":
        await learning.set_reminders(actor, intent.on)
        await client.chat_postMessage(channel=place.channel, text=REMINDERS_SET[intent.on])
    else:
        await flows.stop(actor, place.channel)


async def slash(
    learning: LearningService,
    ack: AsyncAck,
    respond: AsyncRespond,
    client: AsyncWebClient,
    command: Payload,
    intent: Intent,
) -> None:
    """`/learn quiz [topic]` starts the quiz in the DM; `/learn progress` answers privately."""
    await ack()
    actor = actor_of(str(command["user_id"]), str(command.get("team_id", "")))
    flows = Flows(learning, client)

    async def tell(message: str) -> None:
        await respond(text=message, blocks=notice_blocks(message), response_type="ephemeral")

    async def work() -> None:
        if intent.kind == "progress":
            progress = await learning.progress(actor)
            await respond(
                text=progress_text(progress),
                blocks=progress_blocks(progress),
                response_type="ephemeral",
            )
            return
        channel = await open_dm(client, actor.user_id)
        await flows.start(actor, channel, intent.text)
        if channel != str(command.get("channel_id", "")):
            await tell(SENT_TO_DM)

    await guarded(work(), tell, f"slack /learn {intent.kind}")


def register(app: AsyncApp, deps: SlackDeps) -> None:
    learning = deps.learning
    if learning is None:
        return

    def teller(client: AsyncWebClient, user: str, where: dict[str, str]) -> Tell:
        async def tell(text: str) -> None:
            await client.chat_postEphemeral(channel=where["channel"], user=user, text=text)

        return tell

    @app.action(re.compile(rf"^{QUIZ_ANSWER}\d+$"))
    async def on_answer(
        ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        actor = actor_of(user, team_of(body))
        where = _where(body)
        flows = Flows(learning, client)

        try:
            value = json.loads(str(action.get("value") or "{}"))
            session_id, item_id = str(value["session_id"]), str(value["item_id"])
            picked = int(value["picked"])
        except (ValueError, KeyError, TypeError):  # not a button we rendered
            session_id, item_id, picked = "", "", -1

        async def work() -> None:
            try:
                await flows.answer(actor, where, session_id, item_id, picked)
            except StaleQuestion:
                log.info("stale quiz button session=%s", session_id)
                await flows.stale(actor, where, session_id)

        await guarded(work(), teller(client, user, where), "slack quiz answer")

    @app.action(QUIZ_STOP)
    async def on_stop(
        ack: AsyncAck, body: Payload, action: Payload, client: AsyncWebClient
    ) -> None:
        await ack()
        user = str(body["user"]["id"])
        actor = actor_of(user, team_of(body))
        where = _where(body)
        flows = Flows(learning, client)
        session_id = str(action.get("value", ""))

        async def work() -> None:
            current = await learning.current(actor)
            if current is None or current.session_id != session_id:
                await flows.stale(actor, where, session_id)
                return
            blocks = (body.get("message") or {}).get("blocks") or []
            await client.chat_update(
                channel=where["channel"],
                ts=where["ts"],
                text=question_text(current),
                blocks=stopped_blocks(blocks),
            )
            await flows.stop(actor, where["channel"])

        await guarded(work(), teller(client, user, where), "slack quiz stop")

    @app.event("app_home_opened")
    async def on_home(event: Payload, body: Payload, client: AsyncWebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        try:
            progress = await learning.progress(actor_of(user, team_of(body, event)))
            await client.views_publish(user_id=user, view=home_view(progress))
        except Exception:  # nobody to tell: the tab keeps its last view
            log.exception("slack home tab not published")
