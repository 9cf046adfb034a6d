"""The web console's rules: one-time sign-in links, sessions, and the admin action log.

A link is issued for a chat user (a Slack or Teams account, or the terminal's operator) and
the session it opens acts as that user in a DM of their own: the same audiences, the same
admin rights. Only hashes of tokens and session ids are stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.conversation import Actor, Place

LINK_LIFETIME = timedelta(minutes=10)
LINKS_PER_WINDOW = 5  # sign-in links one user may ask for per window
LINK_WINDOW = timedelta(minutes=10)
# the terminal's operator: whoever runs `learnloop` can already ingest and delete, so the
# CLI vouches for them as an admin (as Slack does for a workspace admin)
OPERATOR_PLATFORM = "cli"


def new_secret() -> str:
    """A URL-safe random token (256 bits)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What the store keeps of a token or session id: a leaked table opens no session."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_user(text: str) -> Actor:
    """ "slack:U123", "teams:<object id>" or "cli:alice" (a bare name is a terminal user)."""
    platform, sep, user = text.strip().partition(":")
    if not sep:
        platform, user = OPERATOR_PLATFORM, platform
    platform, user = platform.strip().lower(), user.strip()
    if not platform or not user or platform not in ("slack", "teams", OPERATOR_PLATFORM):
        raise ValueError(f"{text!r} is not a user: give slack:U123, teams:<id> or cli:NAME")
    return Actor(platform, user)


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: who it acts as, until when, and its form token."""

    platform: str
    user_id: str
    team_id: str
    csrf: str
    expires_at: datetime

    @property
    def actor(self) -> Actor:
        return Actor(
            self.platform,
            self.user_id,
            self.team_id,
            platform_admin=self.platform == OPERATOR_PLATFORM,
        )

    def place(self, conversation: str) -> Place:
        """A conversation in the console: a DM of the user's own (their audiences), its
        thread memory keyed by the conversation."""
        return Place("web", self.actor.key, conversation, direct=True)


@dataclass(frozen=True)
class AdminAction:
    """One thing an admin did in the console (who, what, when, detail)."""

    who: str
    what: str
    detail: str
    when: datetime


def rate_limited(recent_links: int) -> bool:
    return recent_links >= LINKS_PER_WINDOW


def sign_in_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/signin?token={token}"
