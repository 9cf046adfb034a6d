"""Signing in to the web console: one-time links, sessions, and the admin action log; and
the questions posted there, waiting for their answer stream."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta

from bot.domain.conversation import Actor, is_admin
from bot.domain.errors import NotAllowed, RateLimited, SignInRefused
from bot.domain.jobs import utcnow
from bot.domain.ports import AdminLog, PendingQuestions, SignInLinks, WebSessions
from bot.domain.web import (
    LINK_LIFETIME,
    LINK_WINDOW,
    AdminAction,
    WebSession,
    digest,
    new_secret,
    rate_limited,
    sign_in_url,
)

log = logging.getLogger(__name__)


class WebSignIn:
    """Links for chat users (at most `LINKS_PER_WINDOW` per window each), sessions that act
    as them, and the record of what admins do in the console."""

    def __init__(
        self,
        links: SignInLinks,
        sessions: WebSessions,
        actions: AdminLog,
        *,
        base_url: str,
        admins: Collection[str] = (),
        session_lifetime: timedelta = timedelta(hours=12),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.links = links
        self.sessions = sessions
        self.actions = actions
        self.base_url = base_url
        self.admins = frozenset(admins)
        self.session_lifetime = session_lifetime
        self.clock = clock

    async def link(self, actor: Actor) -> str:
        """A one-time sign-in URL for `actor`, valid for ten minutes."""
        now = self.clock()
        recent = await asyncio.to_thread(self.links.links_since, actor.key, now - LINK_WINDOW)
        if rate_limited(recent):
            log.info("sign-in link refused (rate limit) user=%s", actor.key)
            raise RateLimited(f"{actor.key} asked for {recent} links in 10 minutes")
        token = new_secret()
        await asyncio.to_thread(self.links.add_link, digest(token), actor, now + LINK_LIFETIME)
        log.info("sign-in link issued user=%s", actor.key)
        return sign_in_url(self.base_url, token)

    async def redeem(self, token: str) -> tuple[str, WebSession]:
        """(the new session's id, the session) for an unused, unexpired link."""
        now = self.clock()
        actor = await asyncio.to_thread(self.links.take_link, digest(token), now) if token else None
        if actor is None:
            raise SignInRefused("the sign-in link is unknown, used or expired")
        session_id = new_secret()
        session = WebSession(
            actor.platform, actor.user_id, actor.team_id, new_secret(), now + self.session_lifetime
        )
        await asyncio.to_thread(self.sessions.add_session, digest(session_id), session)
        await asyncio.to_thread(self.sessions.forget_expired, now)  # sign-ins are rare
        log.info("web session opened user=%s", actor.key)
        return session_id, session

    async def session(self, session_id: str) -> WebSession | None:
        if not session_id:
            return None
        return await asyncio.to_thread(self.sessions.session, digest(session_id), self.clock())

    async def sign_out(self, session_id: str) -> None:
        await asyncio.to_thread(self.sessions.end_session, digest(session_id))

    def is_admin(self, actor: Actor) -> bool:
        return is_admin(actor, self.admins)

    async def record(self, actor: Actor, what: str, detail: str = "") -> None:
        action = AdminAction(actor.key, what, detail, self.clock())
        await asyncio.to_thread(self.actions.record, action)
        log.info("admin action who=%s what=%s", actor.key, what)

    async def recent_actions(self, actor: Actor, limit: int = 200) -> list[AdminAction]:
        if not self.is_admin(actor):
            raise NotAllowed(f"{actor.key} is not an admin")
        return list(await asyncio.to_thread(self.actions.recent, limit))


class WebQuestions:
    """A question posted in the console is held in the store until its asker opens the
    answer stream (EventSource can only GET): once, within `lifetime`, on any replica."""

    def __init__(
        self,
        store: PendingQuestions,
        *,
        lifetime: timedelta = timedelta(minutes=2),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.lifetime = lifetime
        self.clock = clock

    async def hold(self, actor: Actor, conversation: str, question: str) -> str:
        """The id the stream is opened with (a secret: only its hash is stored)."""
        ask_id = new_secret()
        expires = self.clock() + self.lifetime
        await asyncio.to_thread(
            self.store.add_question, digest(ask_id), actor.key, conversation, question, expires
        )
        return ask_id

    async def take(self, actor: Actor, ask_id: str) -> tuple[str, str] | None:
        """(conversation, question) for its asker, once; None otherwise."""
        if not ask_id:
            return None
        return await asyncio.to_thread(
            self.store.take_question, digest(ask_id), actor.key, self.clock()
        )
