"""The Slack app over HTTP: real signed requests with Slack's payload shapes into the
running app, a local fake of Slack's Web API, the chat service over a SQLite store, a
fake broker and fake model ports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiohttp import ClientSession
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.slack.settings import SlackSettings
from bot.adapters.store import (
    FeedbackRepository,
    JobRepository,
    make_engine,
)
from bot.adapters.store.access import AccessRepository
from bot.adapters.store.threads import ThreadRepository
from bot.domain.answering import Source
from bot.domain.conversation import HELP, friendly
from bot.domain.errors import ModelUnavailable
from bot.domain.feedback import Feedback
from bot.domain.jobs import FEEDBACK, INGEST
from bot.domain.ports import Findings, Retriever
from bot.services.chat import ChatService
from bot.services.grounding import Grounder
from bot.surfaces.slack.app import build_slack_app
from bot.surfaces.slack.once import MemoryOnce
from bot.surfaces.slack.render import CORRECT, DOWN, UP
from bot.surfaces.slack.server import start_http
from tests.fakes import FakeChatModel, FakeRetriever
from tests.slack_server import (
    SECRET,
    TOKEN,
    FakeSlack,
    action_body,
    command_body,
    event_body,
    mention,
    message,
    post,
    view_submission_body,
)
from tests.unit.test_chat import unreachable_threads

SOURCES = (
    Source(1, "handbook.md", "Handbook", "Handbook › Leave", "Leave is 25 days.", "https://x/h"),
    Source(2, "faq.md", "FAQ", "FAQ › Holidays", "Public holidays are extra."),
)
REPLY = "Full-time staff get 25 days of leave a year [1], plus public holidays [2]."


class InlineSender:
    """The broker port, run inline: feedback is stored as the worker's task stores it;
    ingest messages are recorded."""

    def __init__(self, feedback: FeedbackRepository) -> None:
        self.feedback = feedback
        self.sent: list[tuple[str, list, float]] = []

    def send(self, name, args, *, expires):
        self.sent.append((name, args, expires))
        if name == FEEDBACK:
            self.feedback.add(Feedback.from_message(args[0]))


@dataclass
class Bot:
    slack: FakeSlack
    url: str
    http: ClientSession
    chat: ChatService
    retriever: Retriever
    model: FakeChatModel
    sender: InlineSender
    access: AccessRepository
    feedback: FeedbackRepository
    jobs: JobRepository

    async def event(self, event: dict, event_id: str = "", **kw) -> int:
        status, _ = await post(self.http, self.url, event_body(event, event_id), **kw)
        return status

    def streams(self, method: str = "chat.stopStream"):
        return self.slack.named(method)


@asynccontextmanager
async def running(
    make_app,
    *,
    reply: str = REPLY,
    error: Exception | None = None,
    findings=None,
    model: FakeChatModel | None = None,
    threads: ThreadRepository | None = None,
    store: tuple[Engine, sessionmaker[Session]] | None = None,
    grounder: Grounder | None = None,
    retriever: Retriever | None = None,
) -> AsyncIterator[Bot]:
    retriever = retriever or FakeRetriever(findings or Findings(True, SOURCES, ()))
    given = {"threads": threads, "store": store, "grounder": grounder}
    app = make_app(
        admins="slack:UADMIN",
        max_upload_mb=10_000 / 2**20,  # 10,000 bytes
        job_expires_seconds=600,
        retriever=retriever,
        model=model or FakeChatModel(reply, error=error),
        sender=lambda app: InlineSender(app.feedback),
        **{name: part for name, part in given.items() if part is not None},
    )
    chat = app.chat
    slack = await FakeSlack().start()
    settings = SlackSettings(
        bot_token=TOKEN,
        signing_secret=SECRET,
        api_url=slack.api_url,
        stream_buffer_chars=16,
        stream_interval=0,
        update_interval=0,
    )
    once = MemoryOnce(60)
    runner, port = await start_http(
        build_slack_app(chat, settings, once), "127.0.0.1", 0, signing_secret=SECRET
    )
    try:
        async with ClientSession() as http:
            yield Bot(
                slack,
                f"http://127.0.0.1:{port}/slack/events",
                http,
                chat,
                retriever,
                app.model,
                app.sender,
                app.access,
                app.feedback,
                app.job_records,
            )
    finally:
        await runner.cleanup()
        await slack.stop()
        await once.aclose()


def run(coro):
    return asyncio.run(coro)


def answer_id_of(stop_call) -> str:
    (actions,) = [b for b in stop_call.params["blocks"] if b["type"] == "actions"]
    values = {e["action_id"]: e["value"] for e in actions["elements"]}
    assert set(values) == {UP, DOWN, CORRECT} and len(set(values.values())) == 1
    return values[UP]


def test_forged_signature_and_stale_timestamp_get_401(make_app):
    async def scenario():
        async with running(make_app) as bot:
            forged = SECRET[::-1]
            assert await bot.event(mention("hi", "1.1"), secret=forged) == 401
            assert await bot.event(mention("hi", "1.2"), timestamp=1_000_000_000) == 401
            assert await bot.event(mention("hi", "1.3")) == 200
            await bot.slack.wait_for(lambda: bot.streams())
            assert len(bot.retriever.questions) == 1  # only the genuine one was answered

    run(scenario())


def test_events_are_acknowledged_before_bolt_runs_anything(make_app):
    """Slack's 3-second deadline: the ack waits on no middleware and no listener."""

    async def scenario():
        async with running(make_app) as bot:
            # Bolt's authorization calls auth.test before anything else: held, nothing of
            # Bolt's can have finished when the acks arrive
            held = bot.slack.hold["auth.test"] = asyncio.Event()
            first = bot.event(mention("How long is leave?", "300.1"))
            second = bot.event(mention("And sick leave?", "300.2"))
            assert await asyncio.wait_for(asyncio.gather(first, second), 10) == [200, 200]
            await bot.slack.wait_for(lambda: bot.slack.named("auth.test"))
            assert not bot.streams()
            held.set()  # then both are answered, in their threads
            await bot.slack.wait_for(lambda: len(bot.streams()) == 2)
            threads = {c.params["thread_ts"] for c in bot.streams("chat.startStream")}
            assert threads == {"300.1", "300.2"}
            # what is not an event still goes through Bolt: a forged one is refused
            assert await bot.event(mention("hi", "300.3"), secret=SECRET[::-1]) == 401

    run(scenario())


def test_mention_streams_a_threaded_answer_with_sources_and_buttons(make_app):
    async def scenario():
        async with running(make_app) as bot:
            assert await bot.event(mention("How long is leave?", "100.1")) == 200
            (stop,) = await bot.slack.wait_for(lambda: bot.streams())
            (start,) = bot.streams("chat.startStream")
            appends = bot.streams("chat.appendStream")
            assert start.params["channel"] == "C1" and start.params["thread_ts"] == "100.1"
            assert start.params["recipient_user_id"] == "U1"
            assert start.params["recipient_team_id"] == "T1"
            assert appends, "the answer arrives in pieces"
            streamed = "".join(
                c["text"] for call in (start, *appends, stop) for c in call.params.get("chunks", [])
            )
            assert streamed.strip() == REPLY
            blocks = json.dumps(stop.params["blocks"], ensure_ascii=False)
            assert "[1] <https://x/h|Handbook › Leave>" in blocks and "[2] FAQ › Holidays" in blocks
            answer_id = answer_id_of(stop)
            record = await bot.chat.jobs.answer(answer_id)
            assert record.question == "How long is leave?" and record.model == "fake-model"
            assert bot.retriever.questions == [("How long is leave?", ("everyone",))]

    run(scenario())


def test_thread_follow_up_is_answered_without_a_mention_with_the_earlier_turn(make_app):
    async def scenario():
        async with running(make_app) as bot:
            await bot.event(mention("How long is leave?", "100.1"))
            await bot.slack.wait_for(lambda: bot.streams())
            # a reply in a thread the bot never answered is none of its business
            await bot.event(message("unrelated", "300.2", channel="C1", thread="300.1"))
            await bot.event(message("And for part-timers?", "100.2", channel="C1", thread="100.1"))
            await bot.slack.wait_for(lambda: len(bot.streams()) == 2)
            start = bot.streams("chat.startStream")[-1]
            assert start.params["thread_ts"] == "100.1"
            prompt = bot.model.prompts[-1]
            assert any("How long is leave?" in m["content"] for m in prompt)
            assert [q for q, _ in bot.retriever.questions] == [
                "How long is leave?",
                "And for part-timers?",
            ]

    run(scenario())


def test_after_a_restart_the_thread_is_still_followed_up_with_its_earlier_turn(make_app):
    async def scenario():
        async with running(make_app) as before:
            await before.event(mention("How long is leave?", "100.1"))
            await before.slack.wait_for(lambda: before.streams())
        # a new process (a restart, or another replica) on the same database
        async with running(make_app) as after:
            await after.event(
                message("And for part-timers?", "100.2", channel="C1", thread="100.1")
            )
            await after.slack.wait_for(lambda: after.streams())
            assert after.streams("chat.startStream")[-1].params["thread_ts"] == "100.1"
            prompt = after.model.prompts[-1]
            assert any("How long is leave?" in m["content"] for m in prompt)

    run(scenario())


def test_with_thread_memory_unreachable_a_reply_needs_a_mention_which_still_works(
    make_app, tmp_path, caplog
):
    async def scenario():
        async with running(make_app, threads=unreachable_threads(tmp_path)) as bot:
            await bot.event(mention("How long is leave?", "100.1"))
            await bot.slack.wait_for(lambda: bot.streams())
            await bot.event(message("And for part-timers?", "100.2", channel="C1", thread="100.1"))
            await bot.event(mention("What about part-timers?", "100.3", thread="100.1"))
            await bot.slack.wait_for(lambda: len(bot.streams()) == 2)
            # the plain reply was left alone (events are handled in order), the mention answered
            assert [q for q, _ in bot.retriever.questions] == [
                "How long is leave?",
                "What about part-timers?",
            ]
            assert not bot.slack.texts("C1")  # no error told to anyone

    with caplog.at_level("WARNING", logger="bot.services.chat"):
        run(scenario())
    assert any("follow-up check skipped" in r.getMessage() for r in caplog.records)


def test_a_retried_event_and_a_mention_seen_as_two_events_are_answered_once(make_app):
    async def scenario():
        async with running(make_app) as bot:
            event = mention("How long is leave?", "100.1")
            assert await bot.event(event, "Ev1") == 200
            retry = {"x-slack-retry-num": "1", "x-slack-retry-reason": "http_timeout"}
            assert await bot.event(event, "Ev1", headers=retry) == 200
            # the same mention, in a thread, also comes as a plain message event
            in_thread = mention("And part-timers?", "100.5", thread="100.1")
            await bot.event(in_thread, "Ev2")
            await bot.event(
                message(in_thread["text"], "100.5", channel="C1", thread="100.1"), "Ev3"
            )
            await bot.slack.wait_for(lambda: len(bot.streams()) == 2)
            await bot.event(mention("flush", "100.9"), "Ev4")  # handled after the others
            await bot.slack.wait_for(lambda: len(bot.streams()) == 3)
            asked = [q for q, _ in bot.retriever.questions]
            # each once; the first two were in flight together, in either order
            assert sorted(asked[:2]) == ["And part-timers?", "How long is leave?"]
            assert asked[2:] == ["flush"]

    run(scenario())


def test_dm_questions_and_help_and_without_learning_quiz_words_get_help(make_app):
    async def scenario():
        async with running(make_app) as bot:
            await bot.event(message("help", "10.1"))
            await bot.event(message("quiz me on leave", "10.2"))
            await bot.event(message("progress", "10.3"))
            await bot.slack.wait_for(lambda: len(bot.slack.texts("D1")) == 3)
            # this app has no learning service (the chat processes always have one)
            assert bot.slack.texts("D1") == [HELP, HELP, HELP]
            await bot.event(message("How long is leave?", "10.4"))
            (stop,) = await bot.slack.wait_for(lambda: bot.streams())
            (start,) = bot.streams("chat.startStream")
            assert start.params["thread_ts"] == "10.4"
            assert "recipient_user_id" not in start.params  # not needed in a DM
            answer_id_of(stop)

    run(scenario())


def test_channel_answers_never_use_material_the_channel_may_not_see(make_app):
    async def scenario():
        async with running(make_app) as bot:
            bot.access.grant("slack", "U1", "hr")  # the asker may see hr material ...
            bot.access.set_channel_groups("slack", "C2", ["eng"])
            await bot.event(mention("What is the salary band?", "1.1"))  # C1: no mapping
            await bot.event(mention("What is the salary band?", "1.2", channel="C2"))
            await bot.event(message("What is the salary band?", "1.3"))  # ... in a DM
            await bot.slack.wait_for(lambda: len(bot.streams()) == 3)
            seen = sorted(audiences for _, audiences in bot.retriever.questions)
            assert seen == [("eng", "everyone"), ("everyone",), ("everyone", "hr")]

    run(scenario())


def test_refusal_names_the_closest_topics(make_app):
    findings = Findings(False, (), ("Annual leave", "Expenses"))

    async def scenario():
        async with running(make_app, findings=findings) as bot:
            await bot.event(mention("Who won the cup?", "1.1"))
            (stop,) = await bot.slack.wait_for(lambda: bot.streams())
            text = "".join(
                c["text"]
                for call in bot.slack.named(
                    "chat.startStream", "chat.appendStream", "chat.stopStream"
                )
                for c in call.params.get("chunks", [])
            )
            assert "does not cover" in text and "Annual leave; Expenses" in text
            assert bot.model.prompts == []  # refused without a model call
            answer_id_of(stop)

    run(scenario())


def test_model_down_tells_the_thread_instead_of_going_silent(make_app):
    async def scenario():
        error = ModelUnavailable("connection refused")
        async with running(make_app, error=error) as bot:
            await bot.event(mention("How long is leave?", "100.1"))
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("C1"))
            assert text == friendly("model_unavailable")
            (call,) = bot.slack.named("chat.postMessage")
            assert call.params["thread_ts"] == "100.1"

    run(scenario())


def test_database_down_tells_the_thread_so(make_app, tmp_path):
    """Audiences, records and thread turns all live in the store: with it unreachable the
    asker hears that, not a generic error."""
    engine = make_engine(f"sqlite:///{tmp_path}/missing/learnloop.db")
    down = (engine, sessionmaker(engine))

    async def scenario():
        async with running(make_app, store=down) as bot:
            await bot.event(mention("How long is leave?", "100.1"))
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("C1"))
            assert text == friendly("store_unavailable")

    run(scenario())


class DyingModel(FakeChatModel):
    """Writes a few words, then loses its connection."""

    async def stream(self, messages, max_tokens):
        self.prompts.append(messages)
        for word in ("Full-time", "staff", "get", "25", "days", "of", "leave"):
            yield word + " "
        raise ModelUnavailable("connection reset mid-answer")


def test_model_failing_mid_answer_closes_the_stream_and_says_so(make_app):
    async def scenario():
        async with running(make_app, model=DyingModel()) as bot:
            await bot.event(mention("How long is leave?", "100.1"))
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("C1"))
            assert text == friendly("model_unavailable")
            assert bot.streams("chat.startStream") and len(bot.streams()) == 1  # closed
            assert "blocks" not in bot.streams()[0].params  # no buttons on a broken answer

    run(scenario())


def test_streaming_refused_falls_back_to_post_and_update(make_app):
    async def scenario():
        async with running(make_app) as bot:
            bot.slack.refuse.add("chat.startStream")
            await bot.event(mention("How long is leave?", "100.1"))
            await bot.slack.wait_for(
                lambda: any("blocks" in c.params for c in bot.slack.named("chat.update"))
            )
            (posted,) = bot.slack.named("chat.postMessage")
            assert posted.params["thread_ts"] == "100.1"
            final = bot.slack.named("chat.update")[-1]
            assert final.params["ts"] == "1002.000100"  # the posted message, updated
            assert final.params["blocks"][0]["text"]["text"] == REPLY
            answer_id_of(final)

    run(scenario())


def test_thumbs_up_is_stored_and_a_stale_answer_gets_a_gentle_message(make_app):
    async def scenario():
        async with running(make_app) as bot:
            await bot.event(mention("How long is leave?", "100.1"))
            (stop,) = await bot.slack.wait_for(lambda: bot.streams())
            answer_id = answer_id_of(stop)
            status, _ = await post(bot.http, bot.url, action_body(UP, answer_id), form=True)
            assert status == 200
            await bot.slack.wait_for(lambda: bot.feedback.events(answer_id))
            (stored,) = bot.feedback.events(answer_id)
            assert stored.rating == "up" and stored.question == "How long is leave?"
            assert stored.passages[0]["source"] == "handbook.md"
            await bot.slack.wait_for(lambda: bot.slack.named("chat.postEphemeral"))

            await post(bot.http, bot.url, action_body(DOWN, "no-such-answer"), form=True)
            await bot.slack.wait_for(lambda: len(bot.slack.named("chat.postEphemeral")) == 2)
            thanks, stale = bot.slack.named("chat.postEphemeral")
            assert "👍" in thanks.params["text"] and thanks.params["user"] == "U1"
            assert stale.params["text"] == friendly("unknown_answer")

    run(scenario())


def test_correction_modal_submission_is_stored(make_app):
    async def scenario():
        async with running(make_app) as bot:
            await bot.event(mention("How long is leave?", "100.1"))
            (stop,) = await bot.slack.wait_for(lambda: bot.streams())
            answer_id = answer_id_of(stop)
            await post(bot.http, bot.url, action_body(CORRECT, answer_id), form=True)
            (opened,) = await bot.slack.wait_for(lambda: bot.slack.named("views.open"))
            view = opened.params["view"]
            assert opened.params["trigger_id"] == "trigger-1" and view["type"] == "modal"
            body = view_submission_body(view["private_metadata"], "It is 30 days since 2025.")
            status, _ = await post(bot.http, bot.url, body, form=True)
            assert status == 200
            (stored,) = await bot.slack.wait_for(lambda: bot.feedback.events(answer_id))
            assert stored.rating == "correction"
            assert stored.correction == "It is 30 days since 2025."
            (thanks,) = await bot.slack.wait_for(lambda: bot.slack.named("chat.postEphemeral"))
            assert thanks.params["channel"] == "C1" and thanks.params["thread_ts"] == "100.1"

    run(scenario())


def test_slash_command_acks_at_once_and_answers_privately(make_app):
    async def scenario():
        async with running(make_app) as bot:
            hook = f"{bot.slack.url}/response/abc"
            status, text = await post(bot.http, bot.url, command_body("help", hook), form=True)
            assert status == 200 and json.loads(text)["text"] == HELP
            status, text = await post(bot.http, bot.url, command_body("quiz", hook), form=True)
            assert json.loads(text)["text"] == HELP  # no learning service in this app
            body = command_body("ask How long is leave?", hook)
            status, text = await post(bot.http, bot.url, body, form=True)
            assert status == 200 and text == ""
            (reply,) = await bot.slack.wait_for(lambda: bot.slack.named("response_url"))
            assert reply.params["response_type"] == "ephemeral"
            assert reply.params["blocks"][0]["text"]["text"] == REPLY
            assert bot.retriever.questions == [("How long is leave?", ("everyone",))]

    run(scenario())


def file_share(file: dict, user: str, ts: str = "500.1") -> dict:
    shared = {k: file[k] for k in ("id", "name", "size", "mimetype", "url_private_download")}
    return message("", ts, user=user, subtype="file_share", files=[shared])


def test_non_admin_upload_is_refused_and_nothing_is_queued(make_app):
    async def scenario():
        async with running(make_app) as bot:
            file = bot.slack.add_file("F1", "guide.md", b"# Guide\n\nLeave is 25 days.\n")
            await bot.event(file_share(file, "U1"))
            await bot.event(
                {
                    "type": "file_shared",
                    "file_id": "F1",
                    "user_id": "U1",
                    "channel_id": "D1",
                    "ts": "500.2",
                }
            )
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("D1"))
            assert text == friendly("not_allowed")
            assert bot.slack.named("download") == [] and bot.sender.sent == []

    run(scenario())


def test_admin_upload_is_downloaded_with_the_token_and_queued(make_app):
    async def scenario():
        async with running(make_app) as bot:
            data = b"# Leave policy\n\nFull-time staff get 25 days of leave.\n"
            file = bot.slack.add_file("F2", "leave.md", data)
            await bot.event(file_share(file, "UADMIN"))
            # the same upload also arrives as file_shared: one job, one reply
            await bot.event(
                {
                    "type": "file_shared",
                    "file_id": "F2",
                    "user_id": "UADMIN",
                    "channel_id": "D1",
                    "ts": "500.2",
                }
            )
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("D1"))
            (download,) = bot.slack.named("download")
            assert download.headers["Authorization"] == f"Bearer {TOKEN}"
            ((name, (job_id,), _),) = [s for s in bot.sender.sent if s[0] == INGEST]
            assert name == INGEST and f"`{job_id}`" in text and "leave.md" in text
            job = bot.jobs.get(job_id)
            assert job.requested_by == "slack:UADMIN" and job.reply_to.channel == "D1"
            assert job.reply_to.thread == "500.1"
            assert bot.slack.named("users.info") == []  # LEARNLOOP_ADMINS: no need to ask

    run(scenario())


def test_workspace_admins_and_owners_may_upload_and_are_looked_up_once(make_app):
    async def scenario():
        async with running(make_app) as bot:
            bot.slack.admins.add("UWSADMIN")
            bot.slack.owners.add("UOWNER")
            shares = [("F5", "UWSADMIN", "501.1"), ("F6", "UWSADMIN", "502.1")]
            shares.append(("F7", "UOWNER", "503.1"))
            for n, (file_id, user, ts) in enumerate(shares, 1):
                file = bot.slack.add_file(file_id, f"{file_id}.md", b"# Leave\n\n25 days.\n")
                await bot.event(file_share(file, user, ts))
                await bot.slack.wait_for(lambda n=n: len(bot.slack.texts("D1")) == n)
            assert all("queued" in text for text in bot.slack.texts("D1"))
            jobs = [bot.jobs.get(s[1][0]) for s in bot.sender.sent if s[0] == INGEST]
            assert sorted(job.requested_by for job in jobs) == [
                "slack:UOWNER",
                "slack:UWSADMIN",
                "slack:UWSADMIN",
            ]
            asked = [c.params["user"] for c in bot.slack.named("users.info")]
            assert sorted(asked) == ["UOWNER", "UWSADMIN"]  # the second upload: cached

    run(scenario())


def test_users_info_failing_means_no_admin_and_a_polite_refusal(make_app):
    async def scenario():
        async with running(make_app) as bot:
            bot.slack.admins.add("UWSADMIN")
            bot.slack.refuse.add("users.info")
            file = bot.slack.add_file("F8", "guide.md", b"# Guide\n")
            await bot.event(file_share(file, "UWSADMIN"))
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("D1"))
            assert text == friendly("not_allowed")
            assert bot.slack.named("users.info")  # it asked, Slack said no
            assert bot.slack.named("download") == [] and bot.sender.sent == []

    run(scenario())


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("tool.exe", b"MZ", "tool.exe"),
        ("huge.md", b"x" * 20_000, "larger than"),
    ],
)
def test_bad_uploads_are_named_and_never_downloaded(make_app, name, data, expected):
    async def scenario():
        async with running(make_app) as bot:
            file = bot.slack.add_file("F3", name, data)
            await bot.event(file_share(file, "UADMIN"))
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("D1"))
            assert text.startswith(friendly("unsupported_upload")) and expected in text
            assert bot.slack.named("download") == [] and bot.sender.sent == []

    run(scenario())


def test_failed_download_is_reported(make_app):
    async def scenario():
        async with running(make_app) as bot:
            file = bot.slack.add_file("F4", "gone.md", b"# Gone\n")
            del bot.slack.downloads["F4"]
            await bot.event(file_share(file, "UADMIN"))
            (text,) = await bot.slack.wait_for(lambda: bot.slack.texts("D1"))
            assert "couldn't download gone.md" in text and bot.sender.sent == []

    run(scenario())
