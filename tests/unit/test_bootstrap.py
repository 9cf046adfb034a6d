"""The composition root: each part is built once, on first use, and replaceable by name."""

from __future__ import annotations

import asyncio

import pytest

from bot.bootstrap import PARTS, build_app
from bot.domain.conversation import Actor, Place
from bot.domain.ports import Findings
from bot.settings import Settings
from tests.fakes import FakeChatModel, FakeRetriever


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path, database_url="")


def test_store_commands_build_no_model(settings):
    """`learnloop access grant` and `jobs` reach the store and the queue only."""
    app = build_app(settings)
    app.access.grant("slack", "U1", "hr")
    assert app.jobs is app.jobs  # built once
    assert app.access.user_groups("slack", "U1") == {"hr"}
    assert app.loads == {}
    assert not {"embedder", "retrieval", "model", "model_server"} & set(vars(app))
    app.close()


def test_services_share_one_of_each_part(settings):
    retriever = FakeRetriever(Findings(False, (), ("parking",)))
    app = build_app(settings, retriever=retriever, model=FakeChatModel("unused"))
    assert app.chat.answers is app.answers
    assert app.answers.retriever is retriever
    assert app.chat.access is app.learning.learners is app.access
    assert app.chat.jobs is app.jobs
    assert app.store is app.store  # one engine, one sessionmaker

    async def ask() -> list[object]:
        return [e async for e in app.chat.ask(Actor("slack", "U1"), Place("slack", "D1"), "hi")]

    events = asyncio.run(ask())
    assert events[-1].answer.refused  # the fake retriever found nothing relevant
    assert app.loads == {}  # a refusal loads no model and starts no server
    app.close()


def test_unknown_parts_are_refused(settings):
    with pytest.raises(TypeError, match="no part named chatt"):
        build_app(settings, chatt=object())
    assert {"chat", "learning", "reports", "jobs", "embedder", "model"} <= PARTS


def test_the_answer_length_setting_reaches_the_model(settings):
    from inference.settings import InferenceSettings
    from tests.fakes import FakeChatModel as Model

    asked: list[int] = []

    class Recording(Model):
        def stream(self, messages, max_tokens):
            asked.append(max_tokens)
            return super().stream(messages, max_tokens)

    from bot.domain.answering import Source

    leave = Source(1, "leave.md", "Leave", "", "Leave is 25 days a year.")
    retriever = FakeRetriever(Findings(True, (leave,), ()))
    app = build_app(
        settings,
        inference_settings=InferenceSettings(answer_tokens=48),
        retriever=retriever,
        model=Recording("Leave is 25 days."),
        grounder=None,
    )
    asyncio.run(app.answers.ask("How long is leave?"))
    assert asked == [48]
    app.close()
