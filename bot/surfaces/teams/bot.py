"""The Teams activity handler: activity -> core types -> chat service -> cards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp
from botbuilder.core import ActivityHandler, BotAdapter, TurnContext
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    AdaptiveCardInvokeResponse,
    AdaptiveCardInvokeValue,
    ConversationReference,
    InvokeResponse,
)

from bot.adapters.store.streams import StreamRecord
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.conversation import (
    HELP,
    REMINDERS_SET,
    REPORTS_IN_TERMINAL,
    WEB_IN_DM,
    WEB_LINK,
    WEB_NOT_SET_UP,
    Actor,
    Place,
    friendly,
)
from bot.domain.errors import LearnLoopError
from bot.domain.router import Intent, route
from bot.services.chat import ChatService
from bot.services.learning import LearningService
from bot.services.reports import ReportService, days_of
from bot.services.web import WebSignIn
from bot.surfaces.interrupted import StreamMarks
from bot.surfaces.teams.activities import (
    SharedFile,
    actor_of,
    mentions_bot,
    place_of,
    question_text,
    shared_files,
)
from bot.surfaces.teams.answers import edit_answer, stream_answer
from bot.surfaces.teams.outbox import Outbox
from bot.surfaces.teams.quiz import PERSONAL_ONLY, QuizFlow
from bot.surfaces.teams.reminders import keep_chat
from bot.surfaces.teams.render import (
    CARD_TYPE,
    FEEDBACK_VERB,
    QUIZ_VERBS,
    Card,
    feedback_card,
    notice_card,
)
from bot.surfaces.teams.report import REPORT_PERSONAL, report_activity
from bot.surfaces.teams.uploads import receive

log = logging.getLogger(__name__)

UPLOAD_HINT = "To add material, attach the file to a message in this chat (admins only)."
FILES_HERE = "Share files with me in a personal chat to add them to the material."
Work = Callable[[Outbox], Awaitable[None]]


def markdown(text: str) -> str:
    """Teams joins single line breaks in message text; the domain's texts use them."""
    return text.replace("\n", "\n\n")


def card_response(card: Card) -> AdaptiveCardInvokeResponse:
    return AdaptiveCardInvokeResponse(status_code=200, type=CARD_TYPE, value=card)


class LearnLoopBot(ActivityHandler):
    def __init__(
        self,
        chat: ChatService,
        settings: TeamsSettings,
        conversations: ConversationStore,
        learning: LearningService | None = None,
        reports: ReportService | None = None,
        signin: WebSignIn | None = None,
        marks: StreamMarks | None = None,
    ) -> None:
        self.chat = chat
        self.signin = signin
        self.marks = marks  # answers on record while written (None: not kept)
        self.quiz = QuizFlow(learning) if learning is not None else None
        self.reports = reports
        self.settings = settings
        self.conversations = conversations
        self.http: aiohttp.ClientSession | None = None  # opened by the app's lifespan
        self._tasks: set[asyncio.Task[Any]] = set()

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        actor, place = actor_of(activity), place_of(activity)
        if place.direct:  # where the worker's review reminders reach them
            await keep_chat(self.conversations, actor, activity)
        files = shared_files(activity)
        if files:
            if place.direct:
                await self._receive(turn_context, actor, place, files)
            elif mentions_bot(activity):
                await turn_context.send_activity(FILES_HERE)
            return
        if not place.direct and not (mentions_bot(activity) or await self.chat.follows_up(place)):
            return  # a thread reply meant for people (with RSC the bot sees them all)
        intent = route(question_text(activity), place)
        if self.quiz is not None and intent.kind in ("quiz", "progress"):
            await self._learn(turn_context, actor, place, intent)
        elif self.quiz is not None and intent.kind == "stop":
            await self.quiz.stop(turn_context, actor)
        elif self.quiz is not None and intent.kind == "reminders":
            await self.quiz.learning.set_reminders(actor, intent.on)
            await turn_context.send_activity(REMINDERS_SET[intent.on])
        elif self.reports is not None and intent.kind == "report":
            await self._report(turn_context, actor, place, intent.text)
        elif intent.kind == "report":
            await turn_context.send_activity(REPORTS_IN_TERMINAL)
        elif self.reports is not None and intent.kind == "model":
            await turn_context.send_activity(markdown(await self.reports.model_status(actor)))
        elif intent.kind == "upload":
            await turn_context.send_activity(UPLOAD_HINT if place.direct else FILES_HERE)
        elif intent.kind == "web":
            await turn_context.send_activity(markdown(await self._web_link(actor, place)))
        elif intent.kind == "ask":
            await self._answer(turn_context, actor, place, intent.text)
        else:  # help, and the learning words where no learning service is wired (tests)
            await turn_context.send_activity(markdown(HELP))

    async def _web_link(self, actor: Actor, place: Place) -> str:
        if self.signin is None:
            return WEB_NOT_SET_UP
        if not place.direct:
            return WEB_IN_DM
        return WEB_LINK.format(url=await self.signin.link(actor))

    async def _learn(self, ctx: TurnContext, actor: Actor, place: Place, intent: Intent) -> None:
        assert self.quiz is not None  # noqa: S101 - checked by the caller
        if not place.direct:
            await ctx.send_activity(PERSONAL_ONLY)
        elif intent.kind == "quiz":
            await self.quiz.start(ctx, actor, intent.text)
        else:
            await self.quiz.progress(ctx, actor)

    async def _report(self, ctx: TurnContext, actor: Actor, place: Place, text: str) -> None:
        """An admin's report with its chart; `NotAllowed` for others (on_turn_error)."""
        assert self.reports is not None  # noqa: S101 - checked by the caller
        if not place.direct:
            await ctx.send_activity(REPORT_PERSONAL)
            return
        await ctx.send_activity(report_activity(await self.reports.report(actor, days_of(text))))

    async def _answer(self, ctx: TurnContext, actor: Actor, place: Place, question: str) -> None:
        interval = self.settings.update_seconds
        write = stream_answer if place.direct else edit_answer
        await self._within_request(
            ctx,
            lambda outbox: write(
                self.chat, outbox, actor, place, question, interval, marks=self.marks
            ),
        )

    async def _within_request(self, ctx: TurnContext, work: Work) -> None:
        """Run `work` inside the request for up to `reply_seconds` (it has posted its
        "working on it" by then); if it is not done, let the request go (Bot Service
        would time it out) and finish in a proactive turn on the same conversation."""
        outbox = Outbox(ctx)
        task = asyncio.ensure_future(work(outbox))
        done, _ = await asyncio.wait({task}, timeout=self.settings.reply_seconds)
        if task in done:
            task.result()  # errors go to on_turn_error
            return
        reference = TurnContext.get_conversation_reference(ctx.activity)

        async def finish(proactive: TurnContext) -> None:
            # keep replying to the question (a continuation activity has an id of its own)
            proactive.activity.id = reference.activity_id
            outbox.ctx = proactive
            await task

        log.info("answer continues proactively activity=%s", reference.activity_id)
        self.spawn(
            ctx.adapter.continue_conversation(reference, finish, self.settings.app_id or None)
        )

    def answer_again(self, adapter: BotAdapter, record: StreamRecord) -> None:
        """Answer once more the question of a message a dead process left half-written
        (its note says so), in a proactive turn in reply to the question: sent and
        edited, which Teams takes in every conversation, also where a stream that long
        after the question could no longer start."""
        reference = ConversationReference().deserialize(record.reference["reference"])
        asked = Activity().deserialize(record.reference["asked"])
        question = str(record.reference["question"])
        round_ = int(record.reference.get("round", 0)) + 1

        async def turn(ctx: TurnContext) -> None:
            ctx.activity.id = reference.activity_id  # in reply to the question
            try:
                await edit_answer(
                    self.chat,
                    Outbox(ctx),
                    actor_of(asked),
                    place_of(asked),
                    question,
                    self.settings.update_seconds,
                    marks=self.marks,
                    asked=asked,
                    round_=round_,
                )
            except Exception as exc:  # the person hears it, as in a turn of their own
                await on_turn_error(ctx, exc)

        log.info("answering again activity=%s round=%d", reference.activity_id, round_)
        self.spawn(adapter.continue_conversation(reference, turn, self.settings.app_id or None))

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def drain(self, grace: float = 30.0) -> None:
        """Let answers continuing in the background finish (at shutdown)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)

    async def _receive(
        self, ctx: TurnContext, actor: Actor, place: Place, files: list[SharedFile]
    ) -> None:
        if self.http is None:
            raise RuntimeError("the Teams bot's HTTP session is not open")
        reference = TurnContext.get_conversation_reference(ctx.activity)
        await asyncio.to_thread(self.conversations.save, place.channel, reference.serialize())
        for shared in files:
            job = await receive(
                self.chat, self.http, actor, place, shared, self.settings.download_timeout
            )
            await ctx.send_activity(
                f"Thanks: I'm adding {shared.name} to the material (job {job.id}). "
                "I'll tell you here how it goes."
            )

    async def on_adaptive_card_invoke(
        self, turn_context: TurnContext, invoke_value: AdaptiveCardInvokeValue
    ) -> AdaptiveCardInvokeResponse:
        action = invoke_value.action or {}
        data = action.get("data") or {}
        if self.quiz is not None and action.get("verb") in QUIZ_VERBS:
            actor = actor_of(turn_context.activity)
            verb = str(action["verb"])
            return card_response(await self.quiz.invoke(turn_context, actor, verb, data))
        if action.get("verb") != FEEDBACK_VERB:
            return card_response(notice_card("That button is no longer supported; ask again."))
        rating = str(data.get("rating", ""))
        correction = str(data.get("correction") or "").strip()
        if rating == "correction" and not correction:
            return card_response(notice_card("Write the correction in the box, then send it."))
        actor = actor_of(turn_context.activity)
        try:
            event = await self.chat.feedback(
                actor, str(data.get("answer_id", "")), rating, correction
            )
        except LearnLoopError as exc:  # e.g. an answer no longer on record
            log.info("feedback refused code=%s", exc.code)
            return card_response(notice_card(friendly(exc.code, exc.message)))
        log.info("feedback answer=%s rating=%s", event.answer_id, rating)
        return card_response(feedback_card(event.answer, event.passages, rating))


async def on_turn_error(turn_context: TurnContext, error: Exception) -> None:
    """The one place errors become words: domain codes via `friendly`, anything else a
    generic apology. Never silent: the person always gets a reply."""
    if isinstance(error, LearnLoopError):
        log.warning("turn failed code=%s: %s", error.code, error.message)
        text = friendly(error.code, error.message)
    else:
        log.error("turn failed", exc_info=error)
        text = friendly("error")
    activity = turn_context.activity
    try:
        if activity.type == ActivityTypes.invoke:
            body = {"statusCode": 200, "type": CARD_TYPE, "value": notice_card(text)}
            await turn_context.send_activity(
                Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(200, body))
            )
        else:
            await turn_context.send_activity(text)
    except Exception:
        log.exception("could not send the error message")


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background answer failed", exc_info=task.exception())
