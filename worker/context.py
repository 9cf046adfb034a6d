"""What a worker process needs, built on first use (after any fork), never at import."""

from __future__ import annotations

import os
import socket
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from bot.jobs import JobPolicy, JobService
from bot.notify import LogNotifier, Notifier
from bot.queue import CelerySender, broker_config
from bot.settings import Settings
from bot.store import FeedbackRepository, JobRepository, database_url, open_store
from bot.store.access import AccessRepository
from bot.store.quiz import QuizRepository

if TYPE_CHECKING:
    from bot.bootstrap import Retrieval
    from bot.nudges import DirectMessenger


class WorkerContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lease_seconds = settings.lease_seconds
        self.expires = settings.job_expires_seconds
        # where job progress goes, and who can DM review reminders, per platform
        self.notifiers: dict[str, Notifier] = {"cli": LogNotifier()}
        self.messengers: dict[str, DirectMessenger] = {}
        from bot.slack.notifier import SlackMessenger, slack_notifier  # slack_sdk on start only

        if (slack := slack_notifier()) is not None:  # SLACK_BOT_TOKEN set
            self.notifiers["slack"] = slack
            token = slack.client.token or ""
            self.messengers["slack"] = SlackMessenger(token, slack.client.base_url)
        from bot.teams.notify import teams_notifier  # botbuilder loads on first message

        self.notifiers["teams"] = teams_notifier(settings)

    @property
    def worker_id(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    @cached_property
    def _sessions(self) -> sessionmaker[Session]:
        url = database_url(self.settings.database_url, self.settings.data_dir)
        return open_store(url)[1]

    @cached_property
    def jobs(self) -> JobRepository:
        return JobRepository(self._sessions)

    @cached_property
    def feedback(self) -> FeedbackRepository:
        return FeedbackRepository(self._sessions)

    @cached_property
    def sender(self) -> CelerySender:
        return CelerySender(broker_config(self.settings.broker_url, self.settings.data_dir))

    @cached_property
    def service(self) -> JobService:
        s = self.settings
        return JobService(
            self.jobs,
            self.feedback,
            self.sender,
            upload_dir=s.upload_dir or s.data_dir / "uploads",
            policy=JobPolicy(
                expires_seconds=s.job_expires_seconds, max_attempts=s.job_max_attempts
            ),
        )

    @cached_property
    def access(self) -> AccessRepository:
        return AccessRepository(self._sessions)

    @cached_property
    def quiz(self) -> QuizRepository:
        return QuizRepository(self._sessions)

    @cached_property
    def retrieval(self) -> Retrieval:
        from bot.bootstrap import build_retrieval
        from retrieval.settings import RetrievalSettings

        return build_retrieval(self.settings, RetrievalSettings())
