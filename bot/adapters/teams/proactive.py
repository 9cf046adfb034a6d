"""Proactive messages from synchronous code (the worker): one message into a conversation
on record, through botbuilder's `continue_conversation` (imported on first use)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from bot.adapters.teams.settings import TeamsSettings

log = logging.getLogger(__name__)
T = TypeVar("T")


async def post(settings: TeamsSettings, reference: dict[str, Any], text: str) -> bool:
    """Send `text` as a new message in the conversation. False when Bot Service refused it
    (e.g. the bot was removed); `ConnectionError` when Bot Service was unreachable."""
    import aiohttp
    from botbuilder.core import TurnContext
    from botbuilder.schema import ConversationReference, ErrorResponseException
    from msrest.exceptions import ClientRequestError

    from bot.adapters.teams.auth import cloud_adapter

    adapter = cloud_adapter(settings)  # errors reach the caller: a worker task retries them
    ref = ConversationReference().deserialize(reference)
    ref.activity_id = None  # a new message in the chat, not a reply to an earlier one

    async def send(ctx: TurnContext) -> None:
        ctx.activity.id = None
        await ctx.send_activity(text)

    try:
        await adapter.continue_conversation(ref, send, settings.app_id or None)
    except ErrorResponseException as exc:
        log.warning("teams message not posted: HTTP %s", _status(exc))
        return False
    except (ClientRequestError, aiohttp.ClientError, OSError) as exc:
        raise ConnectionError(f"Bot Service unreachable: {type(exc).__name__}") from exc
    return True


def _status(exc: Exception) -> object:
    return getattr(getattr(exc, "response", None), "status_code", "?")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run to completion from sync code, also where a loop already runs in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(asyncio.run(coro))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="teams-proactive")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]
