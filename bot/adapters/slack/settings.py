"""Slack settings: the platform's own credential names, LEARNLOOP_SLACK_* for the rest."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MANIFEST_SCOPES = (
    "app_mentions:read,chat:write,im:history,im:read,im:write,files:read,files:write,"
    "commands,users:read,channels:history,groups:history"
)
PLACEHOLDERS = ("", "changeme", "change-me", "placeholder", "secret", "xoxb-", "xapp-", "test")


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LEARNLOOP_SLACK_", extra="ignore", populate_by_name=True
    )

    bot_token: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("SLACK_BOT_TOKEN", "bot_token")
    )
    signing_secret: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "signing_secret"),
    )
    app_token: SecretStr = Field(
        default=SecretStr(""), validation_alias=AliasChoices("SLACK_APP_TOKEN", "app_token")
    )
    # Multi-workspace: the OAuth install flow (/slack/install, /slack/oauth_redirect)
    # and installations kept in LearnLoop's database, instead of one SLACK_BOT_TOKEN
    client_id: str = Field(
        default="", validation_alias=AliasChoices("SLACK_CLIENT_ID", "client_id")
    )
    client_secret: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("SLACK_CLIENT_SECRET", "client_secret"),
    )
    # the bot scopes an install asks for: deploy/slack/manifest.yml's
    scopes: str = Field(
        default=MANIFEST_SCOPES, validation_alias=AliasChoices("SLACK_SCOPES", "scopes")
    )
    # where Slack sends the installer back; empty: the app's one configured redirect URL
    redirect_uri: str = Field(
        default="", validation_alias=AliasChoices("SLACK_REDIRECT_URI", "redirect_uri")
    )
    # Slack's Web API; tests and egress proxies point it elsewhere
    api_url: str = "https://slack.com/api/"
    # Slack's OAuth consent page (the install link); tests point it elsewhere
    authorize_url: str = "https://slack.com/oauth/v2/authorize"
    # how long a users.info "workspace admin" answer is trusted
    admin_cache_seconds: float = Field(default=300.0, ge=0)
    # multi-workspace: how long the worker keeps a workspace's bot token from the database
    token_cache_seconds: float = Field(default=300.0, ge=0)
    # HTTP mode's bind address (a container publishes the port)
    host: str = "0.0.0.0"  # noqa: S104
    # Streaming: an appendStream call once this many characters wait, and no more often
    # than every `stream_interval` seconds. The embedded CPU model writes about 40-80
    # characters a second and vLLM several hundred: this keeps appends near one or two a
    # second either way, well inside chat.appendStream's Tier 4 limit, yet visibly live.
    stream_buffer_chars: int = Field(default=40, ge=1)
    stream_interval: float = Field(default=0.5, ge=0)
    # the fallback (chat.postMessage, then chat.update) at most about once a second
    update_interval: float = Field(default=1.0, ge=0)
    # how long a delivered event id / message is remembered to drop Slack's retries
    dedupe_seconds: int = Field(default=3600, ge=1)
    # an acknowledged event not answered by its process within this is answered by another
    inbox_lease_seconds: float = 60.0

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token.get_secret_value())

    @property
    def multi_workspace(self) -> bool:
        return bool(self.client_id)

    @property
    def scope_list(self) -> list[str]:
        return [scope.strip() for scope in self.scopes.split(",") if scope.strip()]

    def check(self, env: str, *, http: bool) -> None:
        """Refuse missing or placeholder secrets outside development."""
        needed: dict[str, SecretStr]
        if self.multi_workspace:
            if self.socket_mode and not http:
                raise ValueError(
                    "SLACK_CLIENT_ID (multi-workspace install) needs HTTP mode for "
                    "/slack/install: unset SLACK_APP_TOKEN or pass --http"
                )
            needed = {"SLACK_CLIENT_SECRET": self.client_secret}
        else:
            needed = {"SLACK_BOT_TOKEN": self.bot_token}
        if http or not self.socket_mode:
            needed["SLACK_SIGNING_SECRET"] = self.signing_secret
        else:
            needed["SLACK_APP_TOKEN"] = self.app_token
        missing = [name for name, value in needed.items() if not value.get_secret_value()]
        if missing:
            raise ValueError(f"set {', '.join(missing)} (see README: Slack)")
        if env == "development":
            return
        fake = [
            name
            for name, value in needed.items()
            if value.get_secret_value().strip().lower() in PLACEHOLDERS
            or "placeholder" in value.get_secret_value().lower()
        ]
        if fake:
            raise ValueError(f"placeholder values for {', '.join(fake)} outside development")
