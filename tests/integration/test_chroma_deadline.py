"""A Chroma server that accepts and never answers (a real `chroma run` behind a proxy
that stops forwarding): the asker hears in one plain sentence, within 30 s, that the
material cannot be reached, and the search thread is free again for the next question."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest

from bot.adapters.search import SearchRetriever
from bot.bootstrap import build_retrieval_from
from bot.domain.conversation import friendly
from retrieval.errors import IndexUnavailable
from retrieval.settings import RetrievalSettings
from retrieval.store import connect
from tests.proxy import Proxy
from tests.slack_server import mention
from tests.unit.test_slack_app import running

pytestmark = pytest.mark.integration

DEADLINE = 2.0


@pytest.fixture
def stalling_chroma(chroma_server):
    proxy = Proxy(urlparse(chroma_server).port or 8000)
    yield proxy, f"http://127.0.0.1:{proxy.port}"
    proxy.cut()


def test_a_search_against_a_chroma_that_never_answers_is_told_in_one_sentence(
    make_app, embedder, stalling_chroma
):
    proxy, url = stalling_chroma
    settings = RetrievalSettings(chroma_url=url, chroma_timeout_seconds=DEADLINE, index_check_ms=0)
    retriever = SearchRetriever(build_retrieval_from(embedder, url=url, rs=settings).searcher)

    async def scenario():
        async with running(make_app, retriever=retriever) as bot:
            assert await bot.event(mention("How long is leave?", "500.1")) == 200
            await bot.slack.wait_for(lambda: bot.streams(), within=30, what="the first answer")
            proxy.stall()
            began = time.monotonic()
            assert await bot.event(mention("And sick leave?", "500.2")) == 200
            told = await bot.slack.wait_for(
                lambda: [t for t in bot.slack.texts("C1") if t == friendly("index_unavailable")],
                within=30,
                what="the sentence",
            )
            assert time.monotonic() - began < 30
            assert told == ["I can't reach the training material right now. Please try again soon."]

    asyncio.run(scenario())


def test_connecting_to_a_chroma_that_never_answers_fails_within_the_deadline(stalling_chroma):
    proxy, url = stalling_chroma
    proxy.stall()
    began = time.monotonic()
    pool = ThreadPoolExecutor(1)  # without a deadline it would wait (until the proxy goes)
    try:
        attempt = pool.submit(connect, url=url, timeout=DEADLINE)
        with pytest.raises(IndexUnavailable, match="did not answer within 2s"):
            attempt.result(timeout=30)
    finally:
        pool.shutdown(wait=False)
    assert time.monotonic() - began < 2 * DEADLINE
