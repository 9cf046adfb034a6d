"""The chat service every adapter calls: audiences, thread memory, answer records,
feedback and uploads, over a real SQLite store, a fake broker and fake model ports."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy.orm import sessionmaker

from bot.adapters.store import (
    database_url,
    make_engine,
    open_store,
)
from bot.adapters.store.threads import ThreadRepository
from bot.domain.answering import Source
from bot.domain.conversation import Actor, Place, audiences_for, friendly
from bot.domain.errors import NotAllowed, UnknownAnswer, UnsupportedUpload
from bot.domain.jobs import FEEDBACK
from bot.domain.ports import Findings
from bot.services.chat import Answered, ChatService
from tests.fakes import FakeChatModel, FakeRetriever
from tests.unit.test_jobs_service import FakeSender
from tests.unit.test_report_chart import Records

SOURCES = (Source(1, "handbook.md", "Handbook", "Handbook › Leave", "Leave is 25 days."),)
ALICE = Actor("slack", "U1", "T1")
ADMIN = Actor("slack", "UADMIN", "T1")


def test_channel_answers_use_channel_audiences_and_dms_the_askers():
    channel = Place("slack", "C1", "1.0")
    dm = Place("slack", "D1", direct=True)
    assert audiences_for(channel, {"eng"}, {"hr"}) == ("eng", "everyone")
    assert audiences_for(dm, {"eng"}, {"hr"}) == ("everyone", "hr")
    assert audiences_for(channel, (), ()) == ("everyone",)


def test_error_codes_become_friendly_words():
    assert "language model" in friendly("model_unavailable")
    assert "admins" in friendly("not_allowed")
    assert friendly("unsupported_upload", "x.exe: unsupported").endswith("x.exe: unsupported")
    assert "went wrong" in friendly("no-such-code")


@pytest.fixture
def chat(make_app):
    retriever = FakeRetriever(Findings(True, SOURCES, ()))
    model = FakeChatModel("Leave is 25 days [1].")
    app = make_app(
        admins=ADMIN.key,
        max_upload_mb=1000 / 2**20,  # 1000 bytes
        job_expires_seconds=600,
        retriever=retriever,
        model=model,
        sender=lambda app: FakeSender(app.job_records),
    )
    return app.chat, retriever, model, app.sender, app.access


def collect(stream):
    async def run():
        return [event async for event in stream]

    return asyncio.run(run())


def test_answers_are_recorded_and_threads_remembered(chat):
    service, retriever, model, _sender, access = chat
    access.set_channel_groups("slack", "C1", ["eng"])
    access.grant("slack", "U1", "hr")
    place = Place("slack", "C1", "100.1")
    events = collect(service.ask(ALICE, place, "How long is leave?"))
    answered = events[-1]
    assert isinstance(answered, Answered) and "".join(events[:-1]).strip()
    assert retriever.questions[-1] == ("How long is leave?", ("eng", "everyone"))  # not hr
    assert asyncio.run(service.follows_up(place))

    collect(service.ask(ALICE, place, "And for part-timers?"))
    prompt = model.prompts[-1]
    assert any("How long is leave?" in m["content"] for m in prompt)  # earlier turn passed

    collect(service.ask(ALICE, Place("slack", "D1", direct=True), "Leave?"))
    assert retriever.questions[-1][1] == ("everyone", "hr")

    record = asyncio.run(service.jobs.answer(answered.answer_id))
    assert record.question == "How long is leave?" and record.learner == "slack:U1"
    assert record.passages[0]["source"] == "handbook.md" and record.model == "fake-model"


def replica(make_app, **kw) -> tuple[ChatService, FakeChatModel]:
    """The chat service as one bot process builds it: its own app on the shared database
    (`kw`: ChatService options that no setting holds, such as `thread_turns`)."""
    model = FakeChatModel("Leave is 25 days [1].")
    chat = {"chat": lambda app: ChatService(app.answers, app.jobs, app.access, app.threads, **kw)}
    app = make_app(
        retriever=FakeRetriever(Findings(True, SOURCES, ())),
        model=model,
        jobs=lambda app: Records(app.sessions),
        **(chat if kw else {}),
    )
    return app.chat, model


def unreachable_threads(tmp_path) -> ThreadRepository:
    """Thread memory over a database that cannot be opened (as when it is down)."""
    return ThreadRepository(sessionmaker(make_engine(f"sqlite:///{tmp_path}/missing/x.db")))


def test_another_replica_or_a_restart_follows_up_the_thread_with_its_turns(make_app, tmp_path):
    url = database_url("", tmp_path)
    first, _ = replica(make_app)
    second, model = replica(make_app)  # another replica behind the load balancer, or a restart
    place = Place("slack", "C1", "100.1")
    assert not asyncio.run(second.follows_up(place))
    collect(first.ask(ALICE, place, "How long is leave?"))
    assert asyncio.run(second.follows_up(place))
    assert not asyncio.run(second.follows_up(Place("slack", "C1", "100.2")))  # another thread
    assert not asyncio.run(second.follows_up(Place("slack", "C1")))  # no thread at all

    collect(second.ask(ALICE, place, "And for part-timers?"))
    history = [(m["role"], m["content"]) for m in model.prompts[-1][1:-1]]
    assert history == [("user", "How long is leave?"), ("assistant", "Leave is 25 days [1].")]
    collect(first.ask(ALICE, Place("slack", "D1", direct=True), "Leave?"))  # no thread: kept
    assert ThreadRepository(open_store(url)[1]).turns("slack:D1:", 10) == []  # nowhere


def test_a_thread_keeps_and_passes_only_its_last_turns(make_app, tmp_path):
    url = database_url("", tmp_path)
    service, model = replica(make_app, thread_turns=4)
    place = Place("slack", "C1", "100.1")
    for i in range(4):
        collect(service.ask(ALICE, place, f"question {i}?"))
    asked = [m["content"] for m in model.prompts[-1][1:-1] if m["role"] == "user"]
    assert asked == ["question 1?", "question 2?"]  # the two before, not question 0
    kept = ThreadRepository(open_store(url)[1]).turns(place.thread_key, 100)
    assert [t.text for t in kept if t.role == "user"] == ["question 2?", "question 3?"]


def test_with_thread_memory_unreachable_replies_are_not_follow_ups_and_asks_still_answer(
    make_app, tmp_path, caplog
):
    model = FakeChatModel("Leave is 25 days [1].")
    service = make_app(
        retriever=FakeRetriever(Findings(True, SOURCES, ())),
        model=model,
        jobs=lambda app: Records(app.sessions),
        threads=unreachable_threads(tmp_path),
    ).chat
    place = Place("slack", "C1", "100.1")
    with caplog.at_level(logging.WARNING, logger="bot.services.chat"):
        assert not asyncio.run(service.follows_up(place))
        events = collect(service.ask(ALICE, place, "How long is leave?"))
    assert isinstance(events[-1], Answered)  # answered, without the thread's context
    assert [m["role"] for m in model.prompts[-1]] == ["system", "user"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and all("OperationalError" in w for w in warnings)
    assert not any("leave" in w.lower() for w in warnings)  # no employee's words in logs


def test_feedback_carries_the_answer_it_rates(chat):
    service, _, _, sender, _ = chat
    answered = collect(service.ask(ALICE, Place("slack", "C1", "1"), "How long is leave?"))[-1]
    event = asyncio.run(service.feedback(ALICE, answered.answer_id, "correction", "It is 30."))
    name, (message,), _ = sender.sent[-1]
    assert name == FEEDBACK and message["id"] == event.id
    assert message["question"] == "How long is leave?" and message["correction"] == "It is 30."
    assert message["passages"][0]["text"] == "Leave is 25 days."
    with pytest.raises(UnknownAnswer):
        asyncio.run(service.feedback(ALICE, "nope", "up"))


def test_only_admins_upload_and_bad_files_are_refused_before_anything_is_queued(chat):
    service, _, _, sender, _ = chat
    place = Place("slack", "D9", direct=True)
    with pytest.raises(NotAllowed):
        asyncio.run(service.upload(ALICE, place, "guide.md", b"# Guide"))
    with pytest.raises(UnsupportedUpload, match="unsupported file type"):
        asyncio.run(service.upload(ADMIN, place, "tool.exe", b"MZ"))
    with pytest.raises(UnsupportedUpload, match="larger than"):
        asyncio.run(service.upload(ADMIN, place, "big.md", b"x" * 2000))
    with pytest.raises(UnsupportedUpload, match="empty"):
        asyncio.run(service.upload(ADMIN, place, "empty.md", b""))
    assert sender.sent == []
    job = asyncio.run(service.upload(ADMIN, place, "guide.md", b"# Guide\nText.", ("sales",)))
    assert job.requested_by == "slack:UADMIN" and job.payload["audiences"] == ["sales"]
    assert job.reply_to.channel == "D9" and job.reply_to.platform == "slack"
