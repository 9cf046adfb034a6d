"""Web console sign-in: one-time links, expiry, the rate limit, sessions, the admin log
(the service over the real SQLite store)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest

from bot.adapters.store.web import WebRepository
from bot.domain.conversation import Actor
from bot.domain.errors import NotAllowed, RateLimited, SignInRefused
from bot.domain.jobs import utcnow
from bot.domain.web import digest, parse_user
from bot.services.web import WebSignIn

ALICE = Actor("slack", "U1", "T1")


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture
def signin(store):
    records = WebRepository(store)
    clock = Clock()
    service = WebSignIn(
        records,
        records,
        records,
        base_url="https://learn.example.com/",
        admins={"slack:U9"},
        clock=clock,
    )
    return service, clock, records


def token_of(url: str) -> str:
    assert url.startswith("https://learn.example.com/signin?token=")
    return parse_qs(urlparse(url).query)["token"][0]


def test_a_link_opens_one_session_and_only_once(signin):
    service, _, records = signin
    token = token_of(asyncio.run(service.link(ALICE)))
    session_id, session = asyncio.run(service.redeem(token))
    assert session.actor == ALICE and len(session.csrf) >= 32
    assert asyncio.run(service.session(session_id)) == session
    with pytest.raises(SignInRefused):
        asyncio.run(service.redeem(token))  # used
    # only hashes are stored: neither the token nor the session id opens anything itself
    assert records.session(session_id, utcnow()) is None
    assert records.session(digest(session_id), utcnow()) == session


def test_an_expired_link_and_an_expired_session_are_refused(signin):
    service, clock, _ = signin
    token = token_of(asyncio.run(service.link(ALICE)))
    clock.now += timedelta(minutes=10, seconds=1)
    with pytest.raises(SignInRefused):
        asyncio.run(service.redeem(token))
    session_id, _ = asyncio.run(service.redeem(token_of(asyncio.run(service.link(ALICE)))))
    clock.now += timedelta(hours=12, seconds=1)
    assert asyncio.run(service.session(session_id)) is None
    with pytest.raises(SignInRefused):
        asyncio.run(service.redeem("not-a-token"))


def test_link_requests_are_rate_limited_per_user(signin):
    service, clock, _ = signin
    for _ in range(5):
        asyncio.run(service.link(ALICE))
    with pytest.raises(RateLimited):
        asyncio.run(service.link(ALICE))
    asyncio.run(service.link(Actor("slack", "U2")))  # someone else is not held back
    clock.now += timedelta(minutes=10, seconds=1)
    asyncio.run(service.link(ALICE))


def test_signing_out_ends_the_session(signin):
    service, _, _ = signin
    session_id, _ = asyncio.run(service.redeem(token_of(asyncio.run(service.link(ALICE)))))
    asyncio.run(service.sign_out(session_id))
    assert asyncio.run(service.session(session_id)) is None


def test_admin_actions_are_recorded_and_readable_by_admins_only(signin):
    service, _, _ = signin
    admin = Actor("slack", "U9")
    asyncio.run(service.record(admin, "delete", "guide.md (3 chunks)"))
    asyncio.run(service.record(admin, "upload", "faq.md"))
    actions = asyncio.run(service.recent_actions(admin))
    assert [(a.who, a.what) for a in actions] == [("slack:U9", "upload"), ("slack:U9", "delete")]
    with pytest.raises(NotAllowed):
        asyncio.run(service.recent_actions(ALICE))


def test_users_named_for_links():
    assert parse_user("slack:U123") == Actor("slack", "U123")
    assert parse_user("alice") == Actor("cli", "alice")
    assert parse_user("alice").platform_admin is False  # the session vouches, not the name
    with pytest.raises(ValueError, match="not a user"):
        parse_user("mastodon:bob")


def test_expired_sessions_are_dropped_at_the_next_sign_in(signin, store):
    from sqlalchemy import func, select

    from bot.adapters.store.models import WebSessionRow

    service, clock, _ = signin
    asyncio.run(service.redeem(token_of(asyncio.run(service.link(ALICE)))))
    clock.now += timedelta(hours=13)
    asyncio.run(service.redeem(token_of(asyncio.run(service.link(ALICE)))))
    with store() as db:
        assert db.scalar(select(func.count()).select_from(WebSessionRow)) == 1
