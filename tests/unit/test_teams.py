"""The Teams bot over real HTTP: Activity JSON POSTed to /api/messages, replies captured
by a local stand-in for Bot Service's connector API (tests/teams_server.py); the chat
service runs over a real SQLite store with fake model ports and a fake broker."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
from dataclasses import replace

import pytest

from bot.adapters.store import FeedbackRepository, JobRepository
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.notify import TeamsNotifier
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.answering import Source
from bot.domain.conversation import Place
from bot.domain.errors import ModelUnavailable
from bot.domain.feedback import Feedback
from bot.domain.jobs import FEEDBACK, INGEST, JobStatus
from bot.domain.ports import Findings
from bot.services.chat import ChatService
from bot.surfaces.teams.app import build_teams_app
from tests.fakes import FakeChatModel, FakeRetriever
from tests.teams_server import CONVERSATIONS, TeamsHarness
from tests.unit.test_jobs_service import FakeSender

SOURCES = (
    Source(
        1, "handbook.md", "Handbook", "Handbook › Leave", "Leave is 25 days.", "https://wiki/leave"
    ),
    Source(2, "policy.md", "Policy", "Policy › Holidays", "Public holidays are extra."),
)
REPLY = "Leave is 25 days a year [1], public holidays come on top [2]."
ADMIN = "aad-admin"


class WorkerSender(FakeSender):
    """The fake broker, with the feedback task done at once (as a worker would)."""

    def __init__(self, jobs: JobRepository, feedback: FeedbackRepository) -> None:
        super().__init__(jobs)
        self.feedback = feedback

    def send(self, name, args, *, expires):
        super().send(name, args, expires=expires)
        if name == FEEDBACK:
            self.feedback.add(Feedback.from_message(args[0]))


class SlowModel(FakeChatModel):
    """Writes one word every `delay` seconds."""

    def __init__(self, reply: str, delay: float) -> None:
        super().__init__(reply)
        self.delay = delay

    async def stream(self, messages, max_tokens):
        async for piece in super().stream(messages, max_tokens):
            await asyncio.sleep(self.delay)
            yield piece


@pytest.fixture
def stack(make_app):
    """The chat service, the broker (feedback stored at once) and the feedback store."""
    app = make_app(
        admins=f"teams:{ADMIN}",
        max_upload_mb=10_000 / 2**20,  # 10,000 bytes
        job_expires_seconds=600,
        retriever=FakeRetriever(Findings(True, SOURCES, ())),
        model=FakeChatModel(REPLY),
        sender=lambda app: WorkerSender(app.job_records, app.feedback),
    )
    return app.chat, app.sender, app.feedback


def harness(chat: ChatService, tmp_path, **settings) -> TeamsHarness:
    values = {"update_seconds": 0.0, "reply_seconds": 10.0, **settings}
    teams = TeamsSettings(**values)
    store = ConversationStore(tmp_path / "conversations")
    return TeamsHarness(lambda: build_teams_app(chat, teams, store))


@pytest.fixture
def teams(stack, tmp_path):
    with harness(stack[0], tmp_path) as running:
        yield running


def answer_id_of(card) -> str:
    return card["actions"][0]["data"]["answer_id"]


def texts(card) -> list[str]:
    return [block.get("text", "") for block in card["body"]]


def test_a_channel_mention_is_answered_in_its_thread_with_a_card(teams, stack):
    chat, _, feedback = stack
    status, _ = teams.post(teams.activity("How long is leave?", kind="channel", mention=True))
    assert status == 201
    capture = teams.capture
    final = capture.wait_for(lambda sent: [s for s in sent if s.cards], "the answer card")[0]

    first = capture.sent[0]  # the "working on it" reply, in the thread of the mention
    assert first.method == "POST" and first.conversation == CONVERSATIONS["channel"]
    assert first.activity_id == "1700000000001" and "Looking through" in first.body["text"]
    assert final.method == "PUT" and final.activity_id == "reply-1"  # edited in place
    (card,) = final.cards
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    body = texts(card)
    assert body[0].startswith("Leave is 25 days")
    assert "[1] [Handbook › Leave](https://wiki/leave)" in body
    assert "[2] Policy › Holidays" in body
    up, down, correct = card["actions"]
    answer_id = answer_id_of(card)
    assert (up["type"], up["title"], up["verb"]) == ("Action.Execute", "👍", "feedback")
    assert up["data"] == {"answer_id": answer_id, "rating": "up"}
    assert (down["title"], down["data"]["rating"]) == ("👎", "down")
    assert correct["title"] == "Suggest a correction"
    (text_input,) = correct["card"]["body"]
    assert text_input["type"] == "Input.Text" and text_input["id"] == "correction"
    assert correct["card"]["actions"][0]["data"] == {"answer_id": answer_id, "rating": "correction"}

    record = feedback.answer(answer_id)  # the answer as shown, recorded for feedback
    assert record.question == "How long is leave?"  # the mention was stripped
    assert record.learner == "teams:aad-alice" and record.platform == "teams"
    # the thread is the mention's reply chain in the channel: follow-ups need no mention
    assert asyncio.run(chat.follows_up(Place("teams", "19:general@thread.tacv2", "1700000000001")))


def test_channel_messages_without_a_mention_are_left_to_people(teams):
    status, _ = teams.post(teams.activity("lunch?", kind="channel"))
    assert status == 201  # replies are sent before the request completes: none came
    assert teams.capture.sent == []


def test_a_personal_question_streams_then_ends_with_the_final_message(teams):
    status, _ = teams.post(teams.activity("How long is leave?"))
    assert status == 201
    sent = teams.capture.wait_for(
        lambda sent: sent if any(s.body["type"] == "message" for s in sent) else None,
        "the final message",
    )
    typing, final = sent[:-1], sent[-1]
    assert all(s.method == "POST" and s.body["type"] == "typing" for s in typing)
    informative, *updates = typing
    first = {"type": "streaminfo", "streamType": "informative", "streamSequence": 1}
    assert informative.stream == first  # no streamId yet: its id becomes the stream's
    assert "Looking through" in informative.body["text"]
    stream_id = "reply-1"  # the id of the first send
    assert len(updates) >= 2
    sequences = [u.stream["streamSequence"] for u in updates]
    assert sequences == list(range(2, 2 + len(updates)))  # rising, after the informative 1
    for update in updates:
        assert update.stream["streamId"] == stream_id
        assert update.stream["streamType"] == "streaming"
        assert update.body["channelData"]["streamId"] == stream_id
    grown = [u.body["text"] for u in updates]
    assert all(b.startswith(a) for a, b in itertools.pairwise(grown))  # whole text so far
    assert final.stream == {"type": "streaminfo", "streamId": stream_id, "streamType": "final"}
    assert final.body["text"].startswith("Leave is 25 days")
    (card,) = final.cards
    assert "[2] Policy › Holidays" in texts(card) and answer_id_of(card)
    assert not any(t.startswith("Leave is") for t in texts(card))  # the text is the message's


def test_updates_are_throttled_and_stop_when_the_person_presses_stop(stack, tmp_path):
    chat = stack[0]
    with harness(chat, tmp_path, update_seconds=3600) as teams:
        teams.post(teams.activity("How long is leave?"))
        sent = teams.capture.wait_for(
            lambda s: s if any(x.body["type"] == "message" for x in s) else None, "final"
        )
        # within the interval only the informative update went before the final message
        assert [s.stream["streamType"] for s in sent] == ["informative", "final"]
    with harness(chat, tmp_path) as teams:
        teams.capture.refuse_streaming = True  # 403 ContentStreamNotAllowed
        status, _ = teams.post(teams.activity("How long is leave?"))
        assert status == 201  # the request completed: the stream ended, nothing else sent
        assert [s.stream["streamType"] for s in teams.capture.sent] == ["informative"]


def test_a_slow_answer_continues_proactively_after_the_request_returns(stack, tmp_path, caplog):
    caplog.set_level("INFO", logger="bot.surfaces.teams")
    chat = stack[0]
    chat.answers.model = SlowModel("Leave is 25 days [1].", delay=0.3)  # about 1.5 s
    with harness(chat, tmp_path, reply_seconds=0.2) as teams:
        status, _ = teams.post(teams.activity("How long is leave?", kind="channel", mention=True))
        assert status == 201
        assert not any(s.cards for s in teams.capture.sent)  # the request did not wait for it
        (final,) = teams.capture.wait_for(
            lambda sent: [s for s in sent if s.cards], "the proactive answer"
        )
        assert final.method == "PUT" and final.activity_id == "reply-1"
        assert texts(final.cards[0])[0].startswith("Leave is 25 days")
    assert "answer continues proactively" in caplog.text  # through continue_conversation


def test_feedback_invoke_returns_a_thank_you_card_and_the_feedback_is_stored(teams, stack):
    _, _, feedback = stack
    teams.post(teams.activity("How long is leave?", kind="channel", mention=True))
    (final,) = teams.capture.wait_for(lambda sent: [s for s in sent if s.cards], "answer")
    answer_id = answer_id_of(final.cards[0])

    status, body = teams.post(teams.invoke({"answer_id": answer_id, "rating": "up"}))
    assert status == 200
    assert body["statusCode"] == 200 and body["type"] == "application/vnd.microsoft.card.adaptive"
    shown = texts(body["value"])
    assert shown[0].startswith("Leave is 25 days") and "👍" in shown[-1]
    assert "actions" not in body["value"]  # the buttons are replaced by the thanks

    status, body = teams.post(
        teams.invoke({"answer_id": answer_id, "rating": "correction", "correction": "It is 30."})
    )
    assert status == 200 and "correction" in texts(body["value"])[-1]

    events = sorted(feedback.events(answer_id), key=lambda e: e.rating, reverse=True)
    assert [(e.rating, e.correction) for e in events] == [("up", ""), ("correction", "It is 30.")]
    up = events[0]
    assert up.learner == "teams:aad-alice" and up.platform == "teams"
    assert up.question == "How long is leave?" and up.passages[0]["source"] == "handbook.md"


def test_feedback_on_an_unknown_answer_gets_a_gentle_card(teams, stack):
    status, body = teams.post(teams.invoke({"answer_id": "gone", "rating": "down"}))
    assert status == 200 and "couldn't find that answer" in texts(body["value"])[0]
    status, body = teams.post(teams.invoke({"answer_id": "gone", "rating": "correction"}))
    assert status == 200 and "Write the correction" in texts(body["value"])[0]
    assert stack[2].events() == []


def test_an_admins_file_is_downloaded_and_queued_with_a_reply(teams, stack, tmp_path):
    _, sender, _ = stack
    teams.capture.files["guide.md"] = b"# Guide\n\nLeave is 25 days.\n"
    status, _ = teams.post(teams.file("guide.md", user=ADMIN))
    assert status == 201
    (reply,) = teams.capture.wait_for(lambda sent: sent, "the upload reply")
    ((name, (job_id,), _),) = sender.sent
    assert name == INGEST and f"job {job_id}" in reply.body["text"]
    job = sender.jobs.get(job_id)
    assert job.status is JobStatus.QUEUED and job.requested_by == f"teams:{ADMIN}"
    assert (job.reply_to.platform, job.reply_to.channel) == ("teams", CONVERSATIONS["personal"])
    (saved,) = (tmp_path / "uploads").rglob("guide.md")
    assert saved.read_bytes() == teams.capture.files["guide.md"]

    # the worker's notifier finds the conversation and posts the summary proactively
    store = ConversationStore(tmp_path / "conversations")
    notifier = TeamsNotifier(TeamsSettings(), store)
    result = {"documents": 1, "chunks": 2, "skipped": 0, "files": {}}
    notifier.progress(replace(job, status=JobStatus.RUNNING))
    notifier.finished(replace(job, status=JobStatus.DONE, progress_done=1, result=result))
    progress, summary = teams.capture.wait_for(
        lambda sent: sent[1:3] if len(sent) >= 3 else None, "the progress and summary"
    )
    assert progress.body["text"] == "Ingesting: 0 of 1 file(s) done."
    assert summary.method == "POST" and summary.conversation == CONVERSATIONS["personal"]
    assert summary.activity_id == ""  # a new message in the chat
    assert "Ingested 1 document(s), 2 chunk(s)" in summary.body["text"]


def test_non_admins_files_and_bad_files_are_refused_and_nothing_is_queued(teams, stack):
    _, sender, _ = stack
    teams.capture.files["guide.md"] = b"# Guide\n"
    teams.capture.files["tool.exe"] = b"MZ"
    teams.post(teams.file("guide.md", user="aad-alice"))
    (refusal,) = teams.capture.wait_for(lambda sent: sent, "the refusal")
    assert "Only LearnLoop admins" in refusal.body["text"]
    teams.post(teams.file("tool.exe", user=ADMIN))
    bad = teams.capture.wait_for(lambda sent: sent[1:], "the bad file reply")[0]
    assert "can't add that file" in bad.body["text"] and "tool.exe" in bad.body["text"]
    teams.post(teams.file("missing.md", user=ADMIN))  # an expired link
    gone = teams.capture.wait_for(lambda sent: sent[2:], "the download failure")[0]
    assert "share it again" in gone.body["text"]
    assert sender.sent == []


def test_a_model_outage_becomes_a_friendly_message(teams, stack):
    chat = stack[0]
    chat.answers.model = FakeChatModel(error=ModelUnavailable("connection refused"))
    status, _ = teams.post(teams.activity("How long is leave?"))
    assert status == 201
    sent = teams.capture.wait_for(
        lambda sent: sent if any(s.body["type"] == "message" for s in sent) else None, "error"
    )
    assert (
        sent[-1].body["text"] == "I can't reach my language model right now. Please try again soon."
    )
    assert "connection refused" not in json.dumps([s.body for s in sent])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", "I answer questions from your company's training material"),
        # this app has no learning service (the chat processes always have one): the help
        ("quiz me on git", "I answer questions from your company's training material"),
        ("progress", "I answer questions from your company's training material"),
    ],
)
def test_help_quiz_and_progress_reply_in_a_personal_chat(teams, text, expected):
    teams.post(teams.activity(text))
    (reply,) = teams.capture.wait_for(lambda sent: sent, "the reply")
    assert reply.body["type"] == "message" and reply.body["text"].startswith(expected)


def _forged_token() -> str:
    def part(data) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    header = {"alg": "RS256", "typ": "JWT", "kid": "forged"}
    claims = {"iss": "https://api.botframework.com", "aud": "app-id", "exp": 4102444800}
    return f"{part(header)}.{part(claims)}.{part('not-a-signature')}"


def test_with_an_app_id_unauthenticated_and_forged_requests_are_refused(stack, tmp_path):
    settings = {"MICROSOFT_APP_ID": "app-id", "MICROSOFT_APP_PASSWORD": "s3cret-value"}
    with harness(stack[0], tmp_path, **settings) as teams:
        status, _ = teams.post(teams.activity("help"))
        assert status == 401
        forged = {"Authorization": f"Bearer {_forged_token()}"}
        status, _ = teams.post(teams.activity("help"), headers=forged)
        assert status in (401, 403)
        status, _ = teams.post(teams.invoke({"answer_id": "x", "rating": "up"}), headers=forged)
        assert status in (401, 403)
        assert teams.capture.sent == []  # refused before any handler ran
    assert stack[2].events() == []
