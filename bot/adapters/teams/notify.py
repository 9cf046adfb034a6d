"""Worker-side Teams messages, proactive into a conversation on record: job progress and
summaries to the chat that asked, review reminders to a person's 1:1 chat."""

from __future__ import annotations

import logging

from bot.adapters.notify import progress_text, summary_text
from bot.adapters.teams.conversations import ConversationStore, conversation_store
from bot.adapters.teams.proactive import post, run_sync
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.jobs import Job
from bot.settings import Settings

log = logging.getLogger(__name__)


def markdown(text: str) -> str:
    """Teams joins single line breaks in message text."""
    return text.replace("\n", "\n\n")


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
        # refused: the job's outcome stands, only the message is lost; unreachable:
        # ConnectionError, and the task retries this one notice
        run_sync(post(self.settings, reference, markdown(text)))


class TeamsMessenger:
    """Review reminders in the person's 1:1 chat with the bot, which the bot keeps when
    they write to it; implements `bot.nudges.DirectMessenger`."""

    def __init__(self, settings: TeamsSettings, conversations: ConversationStore) -> None:
        self.settings = settings
        self.conversations = conversations

    def timezone(self, user_id: str) -> str:
        chat = self.conversations.personal(user_id)
        return chat.timezone if chat is not None else ""

    def send(self, user_id: str, text: str) -> bool:
        chat = self.conversations.personal(user_id)
        if chat is None:
            log.info("teams user=%s never wrote to the bot; no reminder", user_id)
            return False
        try:
            return run_sync(post(self.settings, chat.reference, markdown(text)))
        except ConnectionError as exc:
            # not marked reminded: the hourly pass tries again, and one unreachable
            # platform does not hold up everyone else's reminders meanwhile
            log.warning("teams reminder for user=%s not sent: %s", user_id, exc)
            return False


def teams_notifier(settings: Settings) -> TeamsNotifier:
    """The worker's notifier for jobs asked for in Teams (reads the TeamsSettings)."""
    return TeamsNotifier(TeamsSettings(), conversation_store(settings))


def teams_messenger(settings: Settings) -> TeamsMessenger | None:
    """The worker's reminder DMs in Teams, when the bot's credentials (MICROSOFT_APP_ID)
    are set, as `learnloop up` decides whether to serve Teams."""
    teams = TeamsSettings()
    return TeamsMessenger(teams, conversation_store(settings)) if teams.auth else None
