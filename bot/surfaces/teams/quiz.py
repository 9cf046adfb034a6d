"""Quizzes and progress in a Teams personal chat.

A question is a card with one `Action.Execute` button per option; the press comes back
as an `adaptiveCard/action` invoke whose answer card (right or wrong, the explanation,
the citation) replaces the question, and the next question (or the summary) follows as
a new message. Old buttons never raise: they get a gentle card and the current question."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from botbuilder.core import TurnContext

from bot.domain.conversation import Actor, friendly
from bot.domain.errors import NoMaterial, StaleQuestion
from bot.services.learning import LearningService
from bot.surfaces.teams.answers import card_activity
from bot.surfaces.teams.render import (
    QUIZ_STOP_VERB,
    Card,
    notice_card,
    progress_card,
    question_card,
    result_card,
    summary_card,
)

log = logging.getLogger(__name__)

NO_QUIZ = "There's no quiz running. Say *quiz* to start one."
QUIZ_OVER = "That quiz is over. Say *quiz* to start another one."
PERSONAL_ONLY = (
    "Quizzes and progress are personal: write *quiz* or *progress* to me in a personal chat."
)


class QuizFlow:
    """The quiz and progress turns of one learner, over the learning service."""

    def __init__(self, learning: LearningService) -> None:
        self.learning = learning

    async def start(self, ctx: TurnContext, actor: Actor, topic: str) -> None:
        """A quiz on `topic` (empty: on all the material the learner may see)."""
        try:
            question = await self.learning.start(actor, topic)
        except NoMaterial:
            log.info("quiz: no material for %s topic=%r", actor.key, topic)
            await ctx.send_activity(friendly("no_material"))
            return
        await ctx.send_activity(card_activity(question_card(question)))

    async def stop(self, ctx: TurnContext, actor: Actor) -> None:
        """The learner wrote a stop phrase: the summary so far."""
        summary = await self.learning.stop(actor)
        if summary is None:
            await ctx.send_activity(NO_QUIZ)
        else:
            await ctx.send_activity(card_activity(summary_card(summary)))

    async def progress(self, ctx: TurnContext, actor: Actor) -> None:
        progress = await self.learning.progress(actor)
        await ctx.send_activity(card_activity(progress_card(progress)))

    async def invoke(
        self, ctx: TurnContext, actor: Actor, verb: str, data: Mapping[str, Any]
    ) -> Card:
        """A quiz button: the card that replaces the pressed one (follow-ups are sent)."""
        session_id = str(data.get("session_id", ""))
        try:
            if verb == QUIZ_STOP_VERB:
                return await self._stop_button(actor, session_id)
            try:
                picked = int(data.get("picked", -1))
            except (TypeError, ValueError):
                raise StaleQuestion(f"not an option: {data.get('picked')!r}") from None
            item_id = str(data.get("item_id", ""))
            outcome = await self.learning.answer(actor, session_id, item_id, picked)
        except StaleQuestion as exc:
            log.info("quiz: stale button from %s: %s", actor.key, exc.message)
            return await self._stale(ctx, actor)
        log.info("quiz: answered session=%s correct=%s", session_id, outcome.correct)
        if outcome.next is not None:
            await ctx.send_activity(card_activity(question_card(outcome.next)))
        elif outcome.summary is not None:
            await ctx.send_activity(card_activity(summary_card(outcome.summary)))
        return result_card(outcome)

    async def _stop_button(self, actor: Actor, session_id: str) -> Card:
        current = await self.learning.current(actor)
        if current is None or current.session_id != session_id:
            raise StaleQuestion(f"session {session_id} is not running")  # an older quiz's
        summary = await self.learning.stop(actor)
        return summary_card(summary) if summary is not None else notice_card(QUIZ_OVER)

    async def _stale(self, ctx: TurnContext, actor: Actor) -> Card:
        """A gentle card in place of the old one, and where the learner is now."""
        current = await self.learning.current(actor)
        if current is None:
            return notice_card(QUIZ_OVER)
        await ctx.send_activity(card_activity(question_card(current)))
        return notice_card(friendly("stale_question"))
