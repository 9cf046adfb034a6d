"""Job progress and summaries as proactive messages to the Teams chat that asked."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any

from bot.core.jobs import Job
from bot.notify import progress_text, summary_text
from bot.settings import Settings
from bot.teams.conversations import ConversationStore, conversation_store
from bot.teams.settings import TeamsSettings

log = logging.getLogger(__name__)


class TeamsNotifier:
    """A worker-side `Notifier` (synchronous, as tasks are); botbuilder is imported on
    first use so a worker that never serves Teams does not load it."""

    def __init__(self, settings: TeamsSettings, conversations: ConversationStore) -> None:
        self.settings = settings
        self.conversations = conversations

    def progress(self, job: Job) -> None:
        self._send(job, progress_text(job))

    def finished(self, job: Job) -> None:
        self._send(job, summary_text(job))

    def _send(self, job: Job, text: str) -> None:
        reference = self.conversations.load(job.reply_to.channel)
        if reference is None:
            log.warning("job=%s: no Teams conversation on record; not notified", job.id)
            return
        _run(
            self._post(reference, text.replace("\n", "\n\n"))
        )  # unreachable: ConnectionError, retried by the task

    async def _post(self, reference: dict[str, Any], text: str) -> None:
        import aiohttp
        from botbuilder.core import TurnContext
        from botbuilder.schema import ConversationReference, ErrorResponseException
        from msrest.exceptions import ClientRequestError

        from bot.teams.app import build_adapter

        adapter = build_adapter(self.settings, reply_errors=False)
        ref = ConversationReference().deserialize(reference)
        ref.activity_id = None  # a new message in the chat, not a reply to the upload

        async def send(ctx: TurnContext) -> None:
            ctx.activity.id = None
            await ctx.send_activity(text)

        try:
            await adapter.continue_conversation(ref, send, self.settings.app_id or None)
        except ErrorResponseException as exc:  # refused (e.g. the bot was removed): the
            # job's outcome stands, only the message is lost
            log.warning("teams notice not posted: HTTP %s", _status(exc))
        except (ClientRequestError, aiohttp.ClientError, OSError) as exc:
            raise ConnectionError(f"Bot Service unreachable: {type(exc).__name__}") from exc


def _status(exc: Exception) -> object:
    return getattr(getattr(exc, "response", None), "status_code", "?")


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run to completion from sync code, also where a loop already runs in this thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="teams-notify")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def teams_notifier(settings: Settings) -> TeamsNotifier:
    """The worker's notifier for jobs asked for in Teams (reads the TeamsSettings)."""
    return TeamsNotifier(TeamsSettings(), conversation_store(settings))
