"""Multi-workspace install: Bolt's OAuth flow over installations kept in LearnLoop's own
database (SQLite embedded, PostgreSQL in production).

slack_sdk's SQLAlchemy stores are synchronous; the async app reaches them through
`asyncio.to_thread`, so a slow database never blocks the event loop."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from bot.adapters.slack.settings import SlackSettings
from bot.adapters.slack.tokens import installations

log = logging.getLogger(__name__)

STATE_SECONDS = 600  # an install link is good for ten minutes


class InstallationStore(AsyncInstallationStore):
    """`AsyncInstallationStore` over slack_sdk's synchronous SQLAlchemy store."""

    def __init__(self, sync: SQLAlchemyInstallationStore) -> None:
        self.sync = sync

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.sync.save, installation)

    async def async_save_bot(self, bot: Bot) -> None:
        await asyncio.to_thread(self.sync.save_bot, bot)

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        return await asyncio.to_thread(
            self.sync.find_bot,
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        return await asyncio.to_thread(
            self.sync.find_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await asyncio.to_thread(self.sync.delete_bot, enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await asyncio.to_thread(
            self.sync.delete_installation,
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
        )


class StateStore(AsyncOAuthStateStore):
    """`AsyncOAuthStateStore` over slack_sdk's synchronous SQLAlchemy store: the state
    of each install link, consumed once by the redirect."""

    def __init__(self, sync: SQLAlchemyOAuthStateStore) -> None:
        self.sync = sync

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.sync.issue)

    async def async_consume(self, state: str) -> bool:
        return await asyncio.to_thread(self.sync.consume, state)


def installation_store(settings: SlackSettings, engine: Engine) -> InstallationStore:
    """The store of installs, its tables created if missing (in LearnLoop's database)."""
    return InstallationStore(installations(settings, engine))


def oauth_settings(settings: SlackSettings, engine: Engine) -> AsyncOAuthSettings:
    """Bolt's OAuth flow on /slack/install and /slack/oauth_redirect."""
    state = SQLAlchemyOAuthStateStore(expiration_seconds=STATE_SECONDS, engine=engine, logger=log)
    state.create_tables()
    return AsyncOAuthSettings(
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
        scopes=settings.scope_list,
        user_scopes=[],
        redirect_uri=settings.redirect_uri or None,
        authorization_url=settings.authorize_url,
        installation_store=installation_store(settings, engine),
        state_store=StateStore(state),
        state_expiration_seconds=STATE_SECONDS,
    )
