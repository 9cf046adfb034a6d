"""Teams settings: Microsoft's own credential names, LEARNLOOP_TEAMS_* for the rest."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDERS = frozenset(
    {"", "changeme", "change-me", "change_me", "placeholder", "secret", "password", "xxx", "todo"}
)


class TeamsConfigError(ValueError):
    """The Teams settings cannot run here (e.g. auth off or a placeholder in production)."""


class TeamsSettings(BaseSettings):
    # credentials keep Microsoft's names; everything else is LEARNLOOP_TEAMS_*
    model_config = SettingsConfigDict(env_prefix="LEARNLOOP_TEAMS_", extra="ignore")

    # empty app id: no JWT check at all (the Bot Framework Emulator, local tests)
    app_id: str = Field(default="", validation_alias="MICROSOFT_APP_ID")
    app_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="MICROSOFT_APP_PASSWORD"
    )
    # required for SingleTenant and UserAssignedMSI apps
    tenant_id: str = Field(default="", validation_alias="MICROSOFT_APP_TENANT_ID")
    app_type: Literal["MultiTenant", "SingleTenant", "UserAssignedMSI"] = Field(
        default="MultiTenant", validation_alias="MICROSOFT_APP_TYPE"
    )
    host: str = "0.0.0.0"  # noqa: S104 (Bot Service must reach the endpoint)
    # least seconds between two updates of a streamed or edited answer (Teams: ~1/s)
    update_seconds: float = Field(default=1.0, ge=0)
    # how long an answer is written inside the incoming request before it continues as
    # a proactive turn (Bot Service gives up on a request after 10-15 s)
    reply_seconds: float = Field(default=8.0, ge=0)
    download_timeout: float = Field(default=60.0, gt=0)

    @property
    def auth(self) -> bool:
        return bool(self.app_id)

    def check(self, env: str) -> None:
        """Refuse what only development may run: no auth, or a placeholder secret."""
        if env == "development":
            return
        if not self.auth:
            raise TeamsConfigError(
                "MICROSOFT_APP_ID is empty: request authentication would be off. "
                "Set the bot's credentials (or LEARNLOOP_ENV=development for the emulator)."
            )
        secret = self.app_password.get_secret_value().strip()
        if self.app_type != "UserAssignedMSI" and (
            secret.lower() in PLACEHOLDERS or secret.startswith("<")
        ):
            raise TeamsConfigError("MICROSOFT_APP_PASSWORD is empty or a placeholder.")
        if self.app_type != "MultiTenant" and not self.tenant_id:
            raise TeamsConfigError(f"MICROSOFT_APP_TENANT_ID is required for {self.app_type} apps.")
