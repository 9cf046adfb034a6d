"""Workspace admins and owners, per `users.info`, remembered for a few minutes."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Collection
from dataclasses import replace

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.conversation import Actor, is_admin

log = logging.getLogger(__name__)


class WorkspaceAdmins:
    """Whether a Slack user is an admin or owner of their workspace.

    Answers are cached per (team, user) for `ttl` seconds; a failed lookup counts as
    "not an admin" and is not cached, so the next upload asks again."""

    def __init__(
        self,
        ttl: float = 300.0,
        max_users: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_users = max_users
        self.clock = clock
        self._known: OrderedDict[tuple[str, str], tuple[float, bool]] = OrderedDict()

    async def check(self, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
        if not user_id:
            return False
        key = (team_id, user_id)
        now = self.clock()
        cached = self._known.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            response = await client.users_info(user=user_id)
            user = response.get("user") or {}
        except Exception as exc:  # Slack down, missing scope, unknown user: no admin
            log.warning("users.info failed for admin check: %s", type(exc).__name__)
            return False
        admin = bool(user.get("is_admin") or user.get("is_owner"))
        self._known[key] = (now + self.ttl, admin)
        self._known.move_to_end(key)
        while len(self._known) > self.max_users:
            self._known.popitem(last=False)
        return admin

    async def vouch(self, client: AsyncWebClient, actor: Actor, admins: Collection[str]) -> Actor:
        """The actor, marked a platform admin when Slack says they run the workspace
        (asked only of those `admins` (LEARNLOOP_ADMINS) does not already name)."""
        if is_admin(actor, admins):
            return actor
        if await self.check(client, actor.team_id, actor.user_id):
            return replace(actor, platform_admin=True)
        return actor
