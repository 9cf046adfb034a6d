"""Quizzes and progress in Slack: real signed requests into the running app, the fake
Slack Web API, and a real learning service over SQLite with a fixed clock; plus the
Block Kit renderers on their own."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import ClientSession

from bot.adapters.slack.settings import SlackSettings
from bot.adapters.store.access import AccessRepository
from bot.domain.conversation import Actor, friendly
from bot.domain.labels import bar
from bot.domain.ports import Findings
from bot.domain.quiz import Passage, QuizItem, TopicProgress
from bot.services.learning import LearningService, Outcome, Progress, Question, Summary
from bot.surfaces.slack.app import build_slack_app
from bot.surfaces.slack.handlers_quiz import NOTHING_TO_STOP, OVER, SENT_TO_DM
from bot.surfaces.slack.once import MemoryOnce
from bot.surfaces.slack.render import (
    BUTTON_TEXT_LIMIT,
    QUIZ_ANSWER,
    QUIZ_STOP,
    home_view,
    outcome_blocks,
    progress_blocks,
    question_blocks,
    stopped_blocks,
    summary_blocks,
)
from bot.surfaces.slack.server import start_http
from tests.fakes import FakeChatModel, FakeRetriever
from tests.slack_server import (
    SECRET,
    TEAM,
    TOKEN,
    Call,
    FakeSlack,
    action_body,
    command_body,
    event_body,
    mention,
    message,
    post,
)
from tests.unit.test_learning import Clock, visible

ALICE = Actor("slack", "U1", TEAM)


@dataclass
class Bot:
    slack: FakeSlack
    url: str
    http: ClientSession
    learning: LearningService
    clock: Clock
    _ts: int = 0

    async def event(self, event: dict) -> int:
        status, _ = await post(self.http, self.url, event_body(event))
        return status

    async def say(self, text: str) -> None:
        """A DM from U1."""
        self._ts += 1
        assert await self.event(message(text, f"10.{self._ts}")) == 200

    async def press(self, call: Call, action_id: str, value: str) -> None:
        """U1 presses a button on the message `call` posted."""
        blocks = call.params.get("blocks") or []
        body = action_body(
            action_id,
            value,
            channel=str(call.params["channel"]),
            block_id="quiz",
            message_ts=self.ts_of(call),
            blocks=blocks,
        )
        status, _ = await post(self.http, self.url, body, form=True)
        assert status == 200

    @staticmethod
    def ts_of(call: Call) -> str:
        return str(call.result["ts"])

    def questions(self, channel: str = "D1") -> list[Call]:
        return [
            c
            for c in self.slack.named("chat.postMessage")
            if c.params.get("channel") == channel and buttons(c)
        ]

    async def question(self, n: int, channel: str = "D1") -> Call:
        found = await self.slack.wait_for(
            lambda: len(self.questions(channel)) >= n, what=f"question {n}"
        )
        assert found
        return self.questions(channel)[n - 1]

    async def updates(self, n: int) -> Call:
        await self.slack.wait_for(
            lambda: len(self.slack.named("chat.update")) >= n, what=f"update {n}"
        )
        return self.slack.named("chat.update")[n - 1]

    async def posted(self, text: str, method: str = "chat.postMessage") -> Call:
        def seen():
            return [c for c in self.slack.named(method) if text in _dump(c.params)]

        return (await self.slack.wait_for(seen, what=repr(text)))[0]


def _dump(params) -> str:
    return json.dumps(params, ensure_ascii=False)


def buttons(call: Call) -> dict[str, str]:
    """action_id -> value of the quiz buttons on a posted message."""
    return {
        e["action_id"]: e["value"]
        for b in call.params.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
    }


@asynccontextmanager
async def running(make_app) -> AsyncIterator[Bot]:
    clock = Clock()
    app = make_app(
        max_upload_mb=10_000 / 2**20,  # 10,000 bytes
        job_expires_seconds=600,
        retriever=FakeRetriever(Findings(True, (), ())),
        model=FakeChatModel("unused"),
        sender=None,  # nothing is queued in these tests
        learning=lambda app: LearningService(
            app.quiz_items, app.access, visible, questions=3, clock=clock
        ),
    )
    chat, learning = app.chat, app.learning
    slack = await FakeSlack().start()
    settings = SlackSettings(bot_token=TOKEN, signing_secret=SECRET, api_url=slack.api_url)
    once = MemoryOnce(60)
    slack_app = build_slack_app(chat, settings, once, learning=learning)
    runner, port = await start_http(slack_app, "127.0.0.1", 0, signing_secret=SECRET)
    try:
        async with ClientSession() as http:
            yield Bot(slack, f"http://127.0.0.1:{port}/slack/events", http, learning, clock)
    finally:
        await runner.cleanup()
        await slack.stop()
        await once.aclose()


def run(coro):
    return asyncio.run(coro)


async def pick(bot: Bot, call: Call, right: bool) -> tuple[QuizItem, int]:
    """Press the right (or a wrong) option of the question `call` posted."""
    current = await bot.learning.current(ALICE)
    assert current is not None
    values = buttons(call)
    assert json.loads(values[f"{QUIZ_ANSWER}0"])["item_id"] == current.item.id
    picked = current.item.correct if right else (current.item.correct + 1) % 4
    bot.clock.now += timedelta(seconds=5)
    await bot.press(call, f"{QUIZ_ANSWER}{picked}", values[f"{QUIZ_ANSWER}{picked}"])
    return current.item, picked


# --- the flows over HTTP ------------------------------------------------------------


def test_a_dm_quiz_asks_grades_explains_cites_and_sums_up(make_app):
    async def scenario():
        async with running(make_app) as bot:
            await bot.say("quiz")
            first = await bot.question(1)
            assert "Question 1 of 3" in _dump(first.params["blocks"])
            values = buttons(first)
            assert set(values) == {f"{QUIZ_ANSWER}{i}" for i in range(4)} | {QUIZ_STOP}
            value = json.loads(values[f"{QUIZ_ANSWER}2"])
            assert set(value) == {"session_id", "item_id", "picked"} and value["picked"] == 2

            item, _ = await pick(bot, first, right=True)
            update = await bot.updates(1)
            assert update.params["channel"] == "D1" and update.params["ts"] == Bot.ts_of(first)
            shown = _dump(update.params["blocks"])
            assert "✅" in shown and item.options[item.correct] in shown
            assert item.explanation.split("“")[0] in shown  # the explanation
            assert f"{item.passage.source} › {item.passage.section}" in shown  # the citation
            assert not buttons(update)  # answered: no buttons left

            second = await bot.question(2)
            assert "Question 2 of 3" in _dump(second.params["blocks"])
            item, picked = await pick(bot, second, right=False)
            shown = _dump((await bot.updates(2)).params["blocks"])
            assert "❌" in shown and "✅" not in shown
            assert f"You picked *{item.options[picked]}*" in shown
            assert f"the answer is *{item.options[item.correct]}*" in shown

            third = await bot.question(3)
            bot.slack.refuse.add("chat.update")  # the outcome cannot be shown: still go on
            await pick(bot, third, right=True)
            await bot.updates(3)
            bot.slack.refuse.clear()
            summary = await bot.posted("You got 2 of 3")
            assert summary.params["channel"] == "D1"
            assert len(bot.questions()) == 3  # no fourth question

            # progress now counts the quiz: answered/right, a bar per topic, the plan
            await bot.say("progress")
            progress = await bot.posted("Your progress")
            shown = _dump(progress.params["blocks"])
            assert "*Answered:* 3" in shown and "*Right:* 2" in shown
            assert "▰" in shown and "▱" in shown and "*Next:*" in shown
            assert "No reviews due" in shown  # the missed item comes back in minutes

            bot.clock.now += timedelta(hours=1)
            await bot.say("progress")
            await bot.posted("1 review due")

            # a button of the finished quiz: a gentle note, nothing to re-post
            await bot.press(first, f"{QUIZ_ANSWER}0", buttons(first)[f"{QUIZ_ANSWER}0"])
            await bot.posted(OVER, "chat.postEphemeral")
            assert len(bot.questions()) == 3

    run(scenario())


def test_an_old_button_gets_a_gentle_note_and_the_current_question(make_app):
    async def scenario():
        async with running(make_app) as bot:
            await bot.say("quiz")
            old = await bot.question(1)
            await bot.say("quiz")  # a new quiz replaces the first
            await bot.question(2)
            current = await bot.learning.current(ALICE)
            await bot.press(old, f"{QUIZ_ANSWER}0", buttons(old)[f"{QUIZ_ANSWER}0"])
            note = await bot.posted(friendly("stale_question"), "chat.postEphemeral")
            assert note.params["user"] == "U1" and note.params["channel"] == "D1"
            again = await bot.question(3)  # the current question, posted again
            assert json.loads(buttons(again)[f"{QUIZ_ANSWER}0"])["item_id"] == current.item.id
            assert not bot.slack.named("chat.update")  # the old message is left alone
            assert await bot.learning.current(ALICE) == current  # nothing was graded

            # a double press on a question just answered: the note, no duplicate question
            await pick(bot, again, right=True)
            await bot.question(4)
            await bot.press(again, f"{QUIZ_ANSWER}0", buttons(again)[f"{QUIZ_ANSWER}0"])
            await bot.slack.wait_for(lambda: len(bot.slack.named("chat.postEphemeral")) == 2)
            await asyncio.sleep(0.2)
            assert len(bot.questions()) == 4

    run(scenario())


def test_stop_by_button_or_word_gives_the_score_so_far(make_app):
    async def scenario():
        async with running(make_app) as bot:
            await bot.say("quiz")
            await pick(bot, await bot.question(1), right=True)
            second = await bot.question(2)
            await bot.press(second, QUIZ_STOP, buttons(second)[QUIZ_STOP])
            await bot.posted("You got 1 of 1")
            stopped = await bot.updates(2)  # 1: the first answer; 2: the stopped question
            assert stopped.params["ts"] == bot.ts_of(second) and not buttons(stopped)
            assert "_Stopped_" in _dump(stopped.params["blocks"])
            assert await bot.learning.current(ALICE) is None

            await bot.say("quiz")
            await bot.question(3)
            await bot.say("stop")
            await bot.posted("Quiz stopped. You got 0 of 0")
            await bot.say("stop")  # nothing left to stop
            await bot.posted(NOTHING_TO_STOP)

    run(scenario())


def test_reminders_are_switched_off_and_on_in_a_dm(make_app, store):  # the same database
    from bot.domain.conversation import REMINDERS_SET

    async def scenario():
        async with running(make_app) as bot:
            await bot.say("reminders off")
            await bot.posted(REMINDERS_SET[False])
            access = AccessRepository(store)
            learner = access.learner_id(ALICE.platform, ALICE.user_id)
            assert access.reminder_state(learner)[0] is False
            await bot.say("reminders on")
            await bot.posted(REMINDERS_SET[True])
            assert access.reminder_state(learner)[0] is True

    run(scenario())


def test_quiz_on_a_topic_and_no_material(make_app):
    async def scenario():
        async with running(make_app) as bot:
            await bot.say("quiz me on git-stash")
            await bot.question(1)
            current = await bot.learning.current(ALICE)
            assert current.item.passage.source == "stash.md"
            await bot.say("quiz me on kubernetes")
            await bot.posted(friendly("no_material"))

    run(scenario())


def test_learn_quiz_opens_the_dm_and_learn_progress_answers_privately(make_app):
    async def scenario():
        async with running(make_app) as bot:
            hook = f"{bot.slack.url}/response/1"
            body = command_body("quiz", hook, channel="C1")
            status, text = await post(bot.http, bot.url, body, form=True)
            assert status == 200 and not text  # acknowledged at once, nothing posted in C1
            (opened,) = await bot.slack.wait_for(lambda: bot.slack.named("conversations.open"))
            assert opened.params["users"] == "U1"
            await bot.question(1, channel="D1")
            await bot.posted(SENT_TO_DM, "response_url")

            body = command_body("progress", hook, channel="C1")
            status, _ = await post(bot.http, bot.url, body, form=True)
            assert status == 200
            reply = await bot.posted("Your progress", "response_url")
            assert reply.params["response_type"] == "ephemeral"
            assert "*Answered:* 0" in _dump(reply.params["blocks"])

            # a mention in a channel: the quiz goes to the DM, the thread is told
            assert await bot.event(mention("quiz", "300.1")) == 200
            await bot.question(2, channel="D1")
            note = await bot.posted(SENT_TO_DM)
            assert note.params["channel"] == "C1" and note.params["thread_ts"] == "300.1"

    run(scenario())


def test_the_home_tab_shows_progress(make_app):
    async def scenario():
        async with running(make_app) as bot:
            event = {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home"}
            assert await bot.event(event) == 200
            (publish,) = await bot.slack.wait_for(lambda: bot.slack.named("views.publish"))
            assert publish.params["user_id"] == "U1"
            assert publish.params["view"]["type"] == "home"
            assert "Your progress" in _dump(publish.params["view"])

    run(scenario())


# --- the renderers ------------------------------------------------------------------

PASSAGE = Passage("Use git-stash to set aside local changes.", "stash.md", "Stash")
ITEM = QuizItem(
    "Fill in the blank: Use _____ to set aside local changes.",
    ("git-stash", "git-clean", "git-commit", "git-<rebase>"),
    0,
    "The material says: “Use git-stash to set aside local changes.”",
    PASSAGE,
)


def test_question_blocks_have_four_answer_buttons_and_stop():
    blocks = question_blocks(Question("s1", ITEM, 2, 5, review=True))
    assert (
        "*Question 2 of 5*" in blocks[0]["text"]["text"] and "review" in blocks[0]["text"]["text"]
    )
    (actions,) = [b for b in blocks if b["type"] == "actions"]
    elements = actions["elements"]
    assert [e["action_id"] for e in elements] == [f"{QUIZ_ANSWER}{i}" for i in range(4)] + [
        QUIZ_STOP
    ]
    assert elements[3]["text"]["text"] == "D. git-<rebase>"  # plain text: not escaped
    assert json.loads(elements[1]["value"]) == {"session_id": "s1", "item_id": ITEM.id, "picked": 1}
    assert elements[4]["value"] == "s1"

    long = QuizItem("Q?", tuple(f"option {i} " + "x" * 100 for i in range(4)), 0, "e", PASSAGE)
    blocks = question_blocks(Question("s1", long, 1, 1))
    labels = [e["text"]["text"] for e in blocks[-1]["elements"]]
    assert all(len(label) <= BUTTON_TEXT_LIMIT for label in labels)
    assert "x" * 100 in json.dumps(blocks)  # the full options are listed in the text


def test_outcome_and_summary_blocks():
    right = outcome_blocks(Outcome(True, ITEM, 0, None, None))
    text = json.dumps(right, ensure_ascii=False)
    assert "✅" in text and "stash.md › Stash" in text and "The material says" in text
    assert all(b["type"] != "actions" for b in right)
    wrong = json.dumps(outcome_blocks(Outcome(False, ITEM, 3, None, None)), ensure_ascii=False)
    assert "❌" in wrong and "You picked *git-&lt;rebase&gt;*" in wrong
    assert "the answer is *git-stash*" in wrong

    done = json.dumps(summary_blocks(Summary(2, 3, 3)))
    assert "You got 2 of 3" in done and "stopped" not in done
    assert "You got 1 of 2" in json.dumps(summary_blocks(Summary(1, 2, 5, stopped=True)))
    stopped = stopped_blocks(question_blocks(Question("s1", ITEM, 1, 3)))
    assert all(b["type"] != "actions" for b in stopped) and "_Stopped_" in json.dumps(stopped)


def test_progress_blocks_show_counts_bars_and_the_plan():
    weak = TopicProgress("stash.md", "Stash", 3, 1)
    strong = TopicProgress("clean.md", "Clean", 3, 3)
    unseen = TopicProgress("commit.md", "Commit", 0, 0)
    progress = Progress([strong, weak, unseen], [weak, unseen], 2, 6, 4)
    text = json.dumps(progress_blocks(progress), ensure_ascii=False)
    assert "*Answered:* 6" in text and "*Right:* 4 (67%)" in text and "2 reviews due" in text
    assert f"`{bar(strong.mastery, 5)}` clean.md › Clean · 3/3 right" in text
    assert "commit.md › Commit · not yet quizzed" in text
    assert "*Next:* stash.md › Stash → commit.md › Commit" in text
    assert re.search(r"`[▰▱]{5}` clean.md", text)  # five cells in Slack
    assert home_view(progress)["type"] == "home"

    many = Progress([TopicProgress(f"d{i}.md", "", 0, 0) for i in range(200)], [], 0, 0, 0)
    blocks = progress_blocks(many)
    assert len(blocks) <= 50 and "175 more topics" in json.dumps(blocks)
    empty = json.dumps(progress_blocks(Progress([], [], 0, 0, 0)))
    assert "No material" in empty and "No reviews due" in empty
