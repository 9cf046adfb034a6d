"""Job progress and summaries posted back into the Slack thread that asked for them, and
review reminders as DMs; each with the bot token of the workspace it goes to."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.adapters.notify import progress_text, summary_text
from bot.adapters.slack.tokens import Tokens
from bot.domain.jobs import Job

log = logging.getLogger(__name__)

SLACK_API = "https://slack.com/api/"


def client_for(tokens: Tokens, team: str, base_url: str) -> WebClient | None:
    """A client with `team`'s bot token; None where the app is not installed (logged)."""
    token = tokens.token(team)
    if not token:
        return None
    client = WebClient(token=token, base_url=base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=2))
    return client


class SlackNotifier:
    """`bot.adapters.notify.Notifier` over chat.postMessage (the worker is synchronous)."""

    def __init__(self, tokens: Tokens, base_url: str = SLACK_API) -> None:
        self.tokens = tokens
        self.base_url = base_url

    def progress(self, job: Job) -> None:
        self._post(job, progress_text(job))

    def finished(self, job: Job) -> None:
        self._post(job, summary_text(job))

    def _post(self, job: Job, text: str) -> None:
        reply_to = job.reply_to
        if not reply_to.channel:
            return
        client = client_for(self.tokens, reply_to.team, self.base_url)
        if client is None:  # uninstalled since: nobody left there to tell
            log.warning("job=%s slack notice skipped (team=%s)", job.id, reply_to.team)
            return
        try:
            client.chat_postMessage(
                channel=reply_to.channel, thread_ts=reply_to.thread or None, text=text
            )
        except SlackClientError as exc:  # the job's outcome stands; only the message is lost
            log.warning("job=%s slack notice not posted: %s", job.id, type(exc).__name__)


class SlackMessenger:
    """Review reminders as DMs; implements `bot.nudges.DirectMessenger`. `team_of` gives
    a user's workspace (multi-workspace mode needs it to pick the token)."""

    def __init__(
        self,
        tokens: Tokens,
        base_url: str = SLACK_API,
        team_of: Callable[[str], str] = lambda _user: "",
    ) -> None:
        self.tokens = tokens
        self.base_url = base_url
        self.team_of = team_of

    def _client(self, user_id: str) -> WebClient | None:
        return client_for(self.tokens, self.team_of(user_id), self.base_url)

    def timezone(self, user_id: str) -> str:
        client = self._client(user_id)
        if client is None:
            return ""
        try:
            user = client.users_info(user=user_id).get("user") or {}
        except SlackClientError as exc:
            log.warning("users.info failed: %s", type(exc).__name__)
            return ""
        return str(user.get("tz") or "")

    def send(self, user_id: str, text: str) -> bool:
        client = self._client(user_id)
        if client is None:
            log.warning("reminder for slack user=%s skipped: no token", user_id)
            return False
        try:
            opened = client.conversations_open(users=user_id)
            channel = (opened.get("channel") or {}).get("id")
            if not channel:
                return False
            client.chat_postMessage(channel=channel, text=text)
        except SlackClientError as exc:
            log.warning("reminder not sent: %s", type(exc).__name__)
            return False
        return True
