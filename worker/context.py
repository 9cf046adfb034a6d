"""What a worker process needs, built on first use (after any fork), never at import."""

from __future__ import annotations

import os
import socket
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.notify import LogNotifier, Notifier
from bot.adapters.queue import CelerySender, broker_config
from bot.adapters.store import FeedbackRepository, JobRepository, database_url, open_store
from bot.adapters.store.access import AccessRepository
from bot.adapters.store.quiz import QuizRepository
from bot.adapters.store.threads import ThreadRepository
from bot.services.jobs import JobPolicy, JobService
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.adapters.store.training import TrainingRecords
    from bot.bootstrap import Retrieval
    from bot.services.reminders import DirectMessenger
    from bot.services.training import TrainingService
    from training.settings import TrainingSettings
    from worker.training import Endpoint


class WorkerContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lease_seconds = settings.lease_seconds
        self.expires = settings.job_expires_seconds
        # where job progress goes, and who can DM review reminders, per platform
        self.notifiers: dict[str, Notifier] = {"cli": LogNotifier()}
        self.messengers: dict[str, DirectMessenger] = {}
        from bot.adapters.slack.notifier import (  # slack_sdk on start only
            SlackMessenger,
            SlackNotifier,
        )
        from bot.adapters.slack.settings import SlackSettings
        from bot.adapters.slack.tokens import slack_tokens

        slack = SlackSettings()
        # SLACK_BOT_TOKEN, or each workspace's installation (SLACK_CLIENT_ID)
        if (tokens := slack_tokens(slack, lambda: self._store[0])) is not None:
            self.notifiers["slack"] = SlackNotifier(tokens, slack.api_url)
            self.messengers["slack"] = SlackMessenger(tokens, slack.api_url, self._slack_team)
        from bot.adapters.teams.notify import (  # botbuilder: on first use
            teams_messenger,
            teams_notifier,
        )

        self.notifiers["teams"] = teams_notifier(settings)
        if (teams := teams_messenger(settings)) is not None:  # MICROSOFT_APP_ID set
            self.messengers["teams"] = teams

    @property
    def worker_id(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    @cached_property
    def _store(self) -> tuple[Engine, sessionmaker[Session]]:
        return open_store(
            database_url(self.settings.database_url, self.settings.data_dir),
            migrate=self.settings.migrate_on_start,
        )

    @property
    def _sessions(self) -> sessionmaker[Session]:
        return self._store[1]

    def _slack_team(self, user_id: str) -> str:
        """A learner's Slack workspace (recorded with their account)."""
        return self.access.account_team("slack", user_id)

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
    def threads(self) -> ThreadRepository:
        return ThreadRepository(self._sessions)

    @cached_property
    def training_settings(self) -> TrainingSettings:
        from training.settings import TrainingSettings

        return TrainingSettings()

    @cached_property
    def endpoint(self) -> Endpoint:
        """The inference server(s) training evaluates on and serves adapters from."""
        from worker.training import endpoint_from

        return endpoint_from(self.training_settings, self.settings.data_dir)

    @cached_property
    def training_records(self) -> TrainingRecords:
        from bot.adapters.store.training import TrainingRecords

        return TrainingRecords(self._sessions)

    @cached_property
    def training(self) -> TrainingService:
        from bot.services.training import TrainingService

        ts = self.training_settings
        return TrainingService(
            self.service,
            self.training_records,
            threshold=ts.train_new_examples,
            steps=ts.train_max_steps,
            allowed=ts.allowed_audiences(),
        )

    @cached_property
    def retrieval(self) -> Retrieval:
        from bot.bootstrap import build_retrieval
        from retrieval.settings import RetrievalSettings

        return build_retrieval(self.settings, RetrievalSettings())
