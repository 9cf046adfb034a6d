"""Which bot token reaches a workspace: SLACK_BOT_TOKEN in single-workspace mode, else
the workspace's installation (multi-workspace OAuth), looked up by team and cached."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import Engine

from bot.adapters.slack.settings import SlackSettings

log = logging.getLogger(__name__)


class Tokens(Protocol):
    def token(self, team: str) -> str:
        """The bot token for workspace `team`; "" when the app is not installed there."""
        ...


@dataclass(frozen=True)
class OneToken:
    """Single-workspace mode: one token, whatever the team."""

    value: str

    def token(self, team: str) -> str:
        return self.value


class InstalledTokens:
    """Each workspace's token from its installation, kept `ttl` seconds (a workspace that
    uninstalled is noticed within that time; Slack refuses its revoked token meanwhile)."""

    def __init__(
        self,
        find: Callable[[str], str],
        ttl: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.find = find
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, team: str) -> str:
        if not team:
            log.warning("slack: no workspace known for this message; not sent")
            return ""
        with self._lock:  # also makes the first lookup create the store only once
            now = self.clock()
            cached = self._cache.get(team)
            if cached is not None and cached[1] > now:
                return cached[0]
            found = self.find(team)
            self._cache[team] = (found, now + self.ttl)
        if not found:
            log.warning("slack team=%s: no installation (uninstalled?); not sent", team)
        return found


def installations(settings: SlackSettings, engine: Engine) -> SQLAlchemyInstallationStore:
    """slack_sdk's store of installs in LearnLoop's database, its tables created if missing."""
    store = SQLAlchemyInstallationStore(client_id=settings.client_id, engine=engine, logger=log)
    store.create_tables()
    return store


def slack_tokens(settings: SlackSettings, engine: Callable[[], Engine]) -> Tokens | None:
    """The worker's token source: None when Slack is not configured. `engine` is called on
    the first multi-workspace lookup (never at start, so a worker forks before connecting)."""
    if settings.multi_workspace:
        store: SQLAlchemyInstallationStore | None = None

        def find(team: str) -> str:
            nonlocal store
            if store is None:
                store = installations(settings, engine())
            bot = store.find_bot(enterprise_id=None, team_id=team)
            return (bot.bot_token or "") if bot is not None else ""

        return InstalledTokens(find, settings.token_cache_seconds)
    token = settings.bot_token.get_secret_value()
    return OneToken(token) if token else None
