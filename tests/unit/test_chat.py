"""The chat service every adapter calls: audiences, thread memory, answer records,
feedback and uploads, over a real SQLite store, a fake broker and fake model ports."""

from __future__ import annotations

import asyncio

import pytest

from bot.chat import Answered, ChatService, ThreadMemory
from bot.core.answering import Source
from bot.core.chat import Actor, Place, audiences_for, friendly, parse_command
from bot.core.errors import NotAllowed, UnknownAnswer, UnsupportedUpload
from bot.core.ports import Findings
from bot.jobs import JobPolicy, JobService
from bot.queue import FEEDBACK
from bot.service import AnswerService
from bot.store import FeedbackRepository, JobRepository, database_url, open_store
from bot.store.access import AccessRepository
from tests.fakes import FakeChatModel, FakeRetriever
from tests.unit.test_jobs_service import FakeSender

SOURCES = (Source(1, "handbook.md", "Handbook", "Handbook › Leave", "Leave is 25 days."),)
ALICE = Actor("slack", "U1", "T1")
ADMIN = Actor("slack", "UADMIN", "T1")


def test_channel_answers_use_channel_audiences_and_dms_the_askers():
    channel = Place("slack", "C1", "1.0")
    dm = Place("slack", "D1", direct=True)
    assert audiences_for(channel, {"eng"}, {"hr"}) == ("eng", "everyone")
    assert audiences_for(dm, {"eng"}, {"hr"}) == ("everyone", "hr")
    assert audiences_for(channel, (), ()) == ("everyone",)


@pytest.mark.parametrize(
    ("text", "kind", "rest"),
    [
        ("help", "help", ""),
        ("Quiz me on git", "quiz", "me on git"),
        ("progress", "progress", ""),
        ("ask what is leave?", "ask", "what is leave?"),
        ("What is leave?", "ask", "What is leave?"),
        ("   ", "help", ""),
        ("quizzes are hard?", "ask", "quizzes are hard?"),
    ],
)
def test_commands_are_a_leading_word_else_a_question(text, kind, rest):
    command = parse_command(text)
    assert (command.kind, command.text) == (kind, rest)


def test_error_codes_become_friendly_words():
    assert "language model" in friendly("model_unavailable")
    assert "admins" in friendly("not_allowed")
    assert friendly("unsupported_upload", "x.exe: unsupported").endswith("x.exe: unsupported")
    assert "went wrong" in friendly("no-such-code")


def test_thread_memory_is_bounded_in_threads_and_turns():
    memory = ThreadMemory(max_threads=2, max_turns=4)
    a, b, c = (Place("slack", "C", t) for t in ("1", "2", "3"))
    for i in range(3):
        memory.add(a, f"q{i}", f"a{i}")
    assert [t.text for t in memory.turns(a)] == ["q1", "a1", "q2", "a2"]
    memory.add(b, "q", "a")
    memory.add(c, "q", "a")
    assert not memory.knows(a) and memory.knows(b) and memory.knows(c)
    memory.add(Place("slack", "C"), "no thread", "kept nowhere")
    assert not memory.knows(Place("slack", "C"))


@pytest.fixture
def chat(tmp_path):
    engine, sessions = open_store(database_url("", tmp_path))
    jobs_repo = JobRepository(sessions)
    sender = FakeSender(jobs_repo)
    jobs = JobService(
        jobs_repo,
        FeedbackRepository(sessions),
        sender,
        upload_dir=tmp_path / "uploads",
        policy=JobPolicy(expires_seconds=600),
        closers=(engine.dispose,),
    )
    access = AccessRepository(sessions)
    retriever = FakeRetriever(Findings(True, SOURCES, ()))
    model = FakeChatModel("Leave is 25 days [1].")
    service = ChatService(
        AnswerService(retriever, model),
        jobs,
        access,
        admins={ADMIN.key},
        max_upload_bytes=1000,
    )
    yield service, retriever, model, sender, access
    jobs.close()


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
    assert service.follows_up(place)

    collect(service.ask(ALICE, place, "And for part-timers?"))
    prompt = model.prompts[-1]
    assert any("How long is leave?" in m["content"] for m in prompt)  # earlier turn passed

    collect(service.ask(ALICE, Place("slack", "D1", direct=True), "Leave?"))
    assert retriever.questions[-1][1] == ("everyone", "hr")

    record = asyncio.run(service.jobs.answer(answered.answer_id))
    assert record.question == "How long is leave?" and record.learner == "slack:U1"
    assert record.passages[0]["source"] == "handbook.md" and record.model == "fake-model"


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
