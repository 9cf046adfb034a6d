"""The bot's side of review reminders in Teams: keep each person's 1:1 chat on record,
so the worker's `TeamsMessenger` can write to them there later."""

from __future__ import annotations

import asyncio
import logging

from botbuilder.schema import Activity

from bot.adapters.teams.conversations import ConversationStore
from bot.domain.conversation import Actor
from bot.surfaces.teams.activities import personal_chat

log = logging.getLogger(__name__)


async def keep_chat(store: ConversationStore, actor: Actor, activity: Activity) -> None:
    """Record the chat (written only when it changed); a failure costs a reminder, never
    the reply."""
    try:
        if await asyncio.to_thread(store.save_personal, actor.user_id, personal_chat(activity)):
            log.info("teams personal chat kept user=%s", actor.user_id)
    except OSError as exc:
        log.warning("teams personal chat of user=%s not kept: %s", actor.user_id, exc)
