"""Bot Framework credentials and the CloudAdapter that uses them: JWT validation of every
incoming request when an app id is set, and tokens for proactive messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botbuilder.integration.aiohttp import CloudAdapter

    from bot.adapters.teams.settings import TeamsSettings


@dataclass(frozen=True)
class BotConfig:
    """The attribute names botbuilder's configuration classes read."""

    APP_ID: str
    APP_PASSWORD: str
    APP_TYPE: str
    APP_TENANTID: str | None


def bot_config(settings: TeamsSettings) -> BotConfig:
    return BotConfig(
        APP_ID=settings.app_id,
        APP_PASSWORD=settings.app_password.get_secret_value(),
        APP_TYPE=settings.app_type,
        APP_TENANTID=settings.tenant_id or None,
    )


def cloud_adapter(settings: TeamsSettings) -> CloudAdapter:
    """The adapter for these credentials (botbuilder is imported on first use)."""
    from botbuilder.integration.aiohttp import (
        CloudAdapter,
        ConfigurationBotFrameworkAuthentication,
    )

    return CloudAdapter(ConfigurationBotFrameworkAuthentication(bot_config(settings)))
