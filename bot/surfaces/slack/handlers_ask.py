"""Mentions in channels, thread follow-ups, DMs and `/learn`: each text routed
(`bot.domain.router`) to a question, the quiz flows, the report or the help."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.conversation import (
    HELP,
    REPORTS_IN_TERMINAL,
    WEB_IN_DM,
    WEB_LINK,
    WEB_NOT_SET_UP,
    Actor,
    Place,
)
from bot.domain.grounded import Quoted
from bot.domain.router import route
from bot.services.chat import Answered
from bot.surfaces.slack import handlers_quiz, handlers_report
from bot.surfaces.slack.context import (
    SlackDeps,
    actor_of,
    mentions,
    place_of,
    target_of,
    team_of,
    without_mentions,
)
from bot.surfaces.slack.errors import guarded
from bot.surfaces.slack.quotes import quote_blocks
from bot.surfaces.slack.render import answer_blocks, escape, notice_blocks
from bot.surfaces.slack.streaming import deliver

log = logging.getLogger(__name__)

UPLOAD_HOWTO = "Admins: share a file with me in a direct message and I'll add it to the material."


def register(app: AsyncApp, deps: SlackDeps) -> None:
    async def tell_in_thread(client: AsyncWebClient, place: Place, text: str) -> None:
        await client.chat_postMessage(
            channel=place.channel, thread_ts=place.thread or None, text=text
        )

    async def answer(client: AsyncWebClient, actor: Actor, place: Place, question: str) -> None:
        events = deps.chat.ask(actor, place, question)
        await deliver(client, target_of(place, actor), events, deps.pace, deps.marks)

    async def converse(client: AsyncWebClient, actor: Actor, place: Place, text: str) -> None:
        """Whatever the router reads in the text (an empty mention asks for help)."""
        intent = route(text, place)
        if deps.learning is not None and intent.kind in handlers_quiz.KINDS:
            await handlers_quiz.converse(deps.learning, client, actor, place, intent)
        elif deps.reports is not None and intent.kind == "report":
            admins = deps.workspace_admins
            await handlers_report.converse(deps.reports, admins, client, actor, place, intent)
        elif intent.kind == "report":
            await tell_in_thread(client, place, REPORTS_IN_TERMINAL)
        elif deps.reports is not None and intent.kind == "model":
            actor = await deps.workspace_admins.vouch(client, actor, deps.reports.admins)
            await tell_in_thread(client, place, escape(await deps.reports.model_status(actor)))
        elif intent.kind == "ask":
            await answer(client, actor, place, intent.text)
        elif intent.kind == "upload":
            await tell_in_thread(client, place, UPLOAD_HOWTO)
        elif intent.kind == "web":
            await tell_in_thread(client, place, await web_link(actor, place))
        else:  # help, and the learning words where no learning service is wired (tests)
            await tell_in_thread(client, place, HELP)

    async def web_link(actor: Actor, place: Place) -> str:
        if deps.web is None:
            return WEB_NOT_SET_UP
        if not place.direct:
            return WEB_IN_DM
        return WEB_LINK.format(url=await deps.web.link(actor))

    async def handle(client: AsyncWebClient, actor: Actor, place: Place, text: str) -> None:
        async def tell(message: str) -> None:
            await tell_in_thread(client, place, message)

        await guarded(converse(client, actor, place, text), tell, "slack message")

    @app.event("app_mention")
    async def on_mention(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        if event.get("bot_id"):  # bots mentioning us would talk to us forever
            return
        if not await deps.once.claim(f"msg:{event['channel']}:{event['ts']}"):
            return
        place = place_of(event)
        actor = actor_of(str(event.get("user", "")), team_of(body, event))
        await handle(client, actor, place, without_mentions(str(event.get("text", ""))))

    @app.event({"type": "message", "subtype": None})
    async def on_message(
        event: dict[str, Any],
        body: dict[str, Any],
        context: AsyncBoltContext,
        client: AsyncWebClient,
    ) -> None:
        if event.get("bot_id"):  # other bots (our own are dropped by Bolt)
            return
        place = place_of(event)
        text = str(event.get("text", ""))
        if not place.direct:
            # a channel message is ours only as a reply in a thread we answered; a
            # mention there is also delivered as app_mention, which answers it
            if not event.get("thread_ts") or mentions(text, context.bot_user_id or ""):
                return
            if not await deps.chat.follows_up(place):
                return
        if not await deps.once.claim(f"msg:{event['channel']}:{event['ts']}"):
            return
        actor = actor_of(str(event.get("user", "")), team_of(body, event))
        await handle(client, actor, place, without_mentions(text))

    @app.command("/learn")
    async def on_learn(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        # typed anywhere, answered privately: only command words route (a "stop" is a question)
        typed_in = Place("slack", str(command.get("channel_id", "")))
        intent = route(str(command.get("text", "")), typed_in)
        if deps.learning is not None and intent.kind in handlers_quiz.QUIZ_KINDS:
            await handlers_quiz.slash(deps.learning, ack, respond, client, command, intent)
            return
        if deps.reports is not None and intent.kind == "report":
            admins = deps.workspace_admins
            await handlers_report.slash(deps.reports, admins, ack, respond, client, command, intent)
            return
        if intent.kind == "report":
            await ack(text=REPORTS_IN_TERMINAL, response_type="ephemeral")
            return
        if intent.kind == "upload":
            await ack(text=UPLOAD_HOWTO, response_type="ephemeral")
            return
        if intent.kind != "ask":
            await ack(text=HELP, response_type="ephemeral")
            return
        await ack()
        actor = actor_of(str(command["user_id"]), str(command.get("team_id", "")))
        # the reply is ephemeral (only the asker sees it), so the asker's audiences apply
        place = Place("slack", str(command["channel_id"]), direct=True)

        async def work() -> None:
            answered: Answered | None = None
            async for event in deps.chat.ask(actor, place, intent.text):
                if isinstance(event, Answered):
                    answered = event
            if answered is not None:  # one message: the quotes lead it
                answer = answered.answer
                quotes = Quoted(answer.quotes, answer.quoted_sources)
                lead = quote_blocks(quotes) if answer.quotes else []
                blocks = answer_blocks(answer, answered.answer_id, before=lead)
                await respond(text=answer.text, blocks=blocks, response_type="ephemeral")

        async def tell(message: str) -> None:
            await respond(text=message, blocks=notice_blocks(message), response_type="ephemeral")

        await guarded(work(), tell, "slack /learn")
