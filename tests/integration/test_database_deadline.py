"""A database that stops answering (a real PostgreSQL behind a proxy that accepts and
never forwards) or a statement that hangs: the asker hears in one plain sentence, within
30 s, that the database is not reachable, and the bot goes on acknowledging events."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy import text

from bot.adapters.store import database_url, make_engine, open_store
from bot.adapters.store.db import unbounded
from bot.domain.conversation import friendly
from bot.domain.errors import StoreUnavailable
from tests.proxy import Proxy
from tests.slack_server import mention
from tests.unit.test_slack_app import running

pytestmark = pytest.mark.integration

DEADLINE = 2.0  # LEARNLOOP_DATABASE_TIMEOUT_SECONDS
NO_DATA_DIR = Path()  # the database URL is given


@pytest.fixture
def stalling_postgres(postgres_url):
    open_store(database_url(postgres_url, NO_DATA_DIR))[0].dispose()  # migrated, directly
    address = urlparse(postgres_url)
    proxy = Proxy(address.port or 5432)
    yield proxy, postgres_url.replace(f":{address.port}/", f":{proxy.port}/")
    proxy.cut()


def test_a_bot_whose_database_never_answers_tells_the_asker_in_one_sentence(
    make_app, stalling_postgres
):
    proxy, url = stalling_postgres
    store = open_store(database_url(url, NO_DATA_DIR), timeout=DEADLINE)

    async def scenario():
        async with running(make_app, store=store) as bot:
            try:
                assert await bot.event(mention("How long is leave?", "600.1")) == 200
                await bot.slack.wait_for(lambda: bot.streams(), within=30, what="the first answer")
                proxy.stall()  # the pooled connection's next ping is never answered
                began = time.monotonic()
                assert await bot.event(mention("And sick leave?", "600.2")) == 200
                told = await bot.slack.wait_for(
                    lambda: [
                        t for t in bot.slack.texts("C1") if t == friendly("store_unavailable")
                    ],
                    within=30,
                    what="the sentence",
                )
                assert time.monotonic() - began < 30
                assert told == ["My database is not reachable right now. Please try again soon."]
                # the process lives on: the next event is acknowledged at once, and it too is
                # told (a new connection to the silent server fails within the deadline)
                began = time.monotonic()
                assert await bot.event(mention("Still there?", "600.3")) == 200
                assert time.monotonic() - began < 1
                await bot.slack.wait_for(
                    lambda: len([t for t in bot.slack.texts("C1") if t == told[0]]) == 2,
                    within=30,
                    what="the second sentence",
                )
            finally:  # frees a thread still waiting on the silent server (without the deadline)
                proxy.cut()

    try:
        asyncio.run(scenario())
    finally:
        store[0].dispose()


def test_connecting_to_a_database_that_never_answers_fails_within_the_deadline(
    stalling_postgres,
):
    proxy, url = stalling_postgres
    proxy.stall()
    engine = make_engine(database_url(url, NO_DATA_DIR), DEADLINE)
    pool = ThreadPoolExecutor(1)
    began = time.monotonic()
    try:
        attempt = pool.submit(lambda: engine.connect().close())
        with pytest.raises(StoreUnavailable, match="unreachable"):
            attempt.result(timeout=30)
        assert time.monotonic() - began < 2 * DEADLINE
    finally:
        proxy.cut()
        pool.shutdown(wait=True)
        engine.dispose()


def test_a_statement_that_hangs_is_cut_off_at_the_deadline(postgres_url):
    engine = make_engine(database_url(postgres_url, NO_DATA_DIR), DEADLINE)
    try:
        with engine.connect() as conn:
            began = time.monotonic()
            with pytest.raises(StoreUnavailable):
                conn.execute(text("SELECT pg_sleep(:s)"), {"s": DEADLINE + 5})
            assert DEADLINE - 0.5 < time.monotonic() - began < DEADLINE + 1
            conn.rollback()
            assert conn.execute(text("SELECT 1")).scalar() == 1  # the server cancelled it
    finally:
        engine.dispose()


def test_a_lock_held_by_another_connection_is_given_up_at_the_deadline(postgres_url):
    engine = make_engine(database_url(postgres_url, NO_DATA_DIR), DEADLINE)

    def count() -> None:
        with engine.connect() as waiter:
            waiter.execute(text("SELECT count(*) FROM jobs"))

    pool = ThreadPoolExecutor(1)
    try:
        with engine.begin() as holder:  # released on leaving, whatever happened
            holder.execute(text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
            began = time.monotonic()
            with pytest.raises(StoreUnavailable):
                pool.submit(count).result(timeout=DEADLINE + 5)
            assert time.monotonic() - began < DEADLINE + 1
    finally:
        pool.shutdown(wait=True)
        engine.dispose()


def test_migrations_are_not_cut_off(postgres_url):
    """A migration of a big table may take longer than the deadline."""
    engine = make_engine(database_url(postgres_url, NO_DATA_DIR), DEADLINE)
    try:
        with engine.begin() as conn, unbounded(conn):
            conn.execute(text("SELECT pg_sleep(:s)"), {"s": DEADLINE + 1.5})
        with engine.connect() as conn, pytest.raises(StoreUnavailable):  # bounded again
            conn.execute(text("SELECT pg_sleep(:s)"), {"s": DEADLINE + 5})
    finally:
        engine.dispose()
