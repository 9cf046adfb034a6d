"""Job progress and summaries posted back into the Slack thread that asked for them."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.core.jobs import Job
from bot.notify import progress_text, summary_text

log = logging.getLogger(__name__)


class SlackNotifier:
    """Implements `bot.notify.Notifier` with chat.postMessage (the worker is synchronous)."""

    def __init__(self, token: str, base_url: str = "https://slack.com/api/") -> None:
        self.client = WebClient(token=token, base_url=base_url)
        self.client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))

    def progress(self, job: Job) -> None:
        self._post(job, progress_text(job))

    def finished(self, job: Job) -> None:
        self._post(job, summary_text(job))

    def _post(self, job: Job, text: str) -> None:
        reply_to = job.reply_to
        if not reply_to.channel:
            return
        try:
            self.client.chat_postMessage(
                channel=reply_to.channel, thread_ts=reply_to.thread or None, text=text
            )
        except SlackClientError as exc:  # the job's outcome stands; only the message is lost
            log.warning("job=%s slack notice not posted: %s", job.id, type(exc).__name__)


def slack_notifier() -> SlackNotifier | None:
    """The notifier when SLACK_BOT_TOKEN is set (the worker's bootstrap asks)."""
    from bot.slack.settings import SlackSettings

    settings = SlackSettings()
    token = settings.bot_token.get_secret_value()
    return SlackNotifier(token, settings.api_url) if token else None


class SlackMessenger:
    """Review reminders as DMs; implements `bot.nudges.DirectMessenger`."""

    def __init__(self, token: str, base_url: str = "https://slack.com/api/") -> None:
        self.client = WebClient(token=token, base_url=base_url)
        self.client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))

    def timezone(self, user_id: str) -> str:
        try:
            user = self.client.users_info(user=user_id).get("user") or {}
        except SlackClientError as exc:
            log.warning("users.info failed: %s", type(exc).__name__)
            return ""
        return str(user.get("tz") or "")

    def send(self, user_id: str, text: str) -> bool:
        try:
            opened = self.client.conversations_open(users=user_id)
            channel = (opened.get("channel") or {}).get("id")
            if not channel:
                return False
            self.client.chat_postMessage(channel=channel, text=text)
        except SlackClientError as exc:
            log.warning("reminder not sent: %s", type(exc).__name__)
            return False
        return True
