"""Quizzes and progress in a Teams personal chat, over real HTTP (tests/teams_server.py)
with a real LearningService over SQLite and a fixed clock; and the pure card renderers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.adapters.store import database_url, open_store
from bot.adapters.store.access import AccessRepository
from bot.adapters.store.quiz import QuizRepository
from bot.adapters.teams.conversations import ConversationStore
from bot.adapters.teams.settings import TeamsSettings
from bot.domain.conversation import friendly
from bot.domain.labels import bar
from bot.domain.quiz import Passage, QuizItem, TopicProgress
from bot.services.learning import LearningService, Outcome, Progress, Question, Summary
from bot.surfaces.teams.app import build_teams_app
from bot.surfaces.teams.quiz import NO_QUIZ, PERSONAL_ONLY, QUIZ_OVER
from bot.surfaces.teams.render import (
    BAR_CELLS,
    QUIZ_ANSWER_VERB,
    QUIZ_STOP_VERB,
    progress_card,
    question_card,
    result_card,
    summary_card,
)
from tests.teams_server import CONVERSATIONS, TeamsHarness
from tests.unit.test_learning import Clock, visible
from tests.unit.test_teams import stack  # noqa: F401 (the fixture)

# --- the flow through the endpoint ------------------------------------------------------


@pytest.fixture
def learning(tmp_path):
    engine, sessions = open_store(database_url("", tmp_path / "learning"))
    clock = Clock()
    service = LearningService(
        QuizRepository(sessions), AccessRepository(sessions), visible, questions=3, clock=clock
    )
    yield service, clock
    engine.dispose()


@pytest.fixture
def teams(stack, learning, tmp_path):  # noqa: F811 (the fixture)
    settings = TeamsSettings(update_seconds=0.0, reply_seconds=10.0)
    store = ConversationStore(tmp_path / "conversations")
    with TeamsHarness(lambda: build_teams_app(stack[0], settings, store, learning[0])) as running:
        yield running


def texts(card) -> list[str]:
    return [block.get("text", "") for block in card["body"]]


def buttons(card) -> list[dict]:
    """Every Action.Execute on a card: the option rows in the body, then the card's own."""
    found = [a for block in card["body"] if block["type"] == "ActionSet" for a in block["actions"]]
    return found + list(card.get("actions") or [])


def options(card) -> list[dict]:
    return [b for b in buttons(card) if b["verb"] == QUIZ_ANSWER_VERB]


class Chat:
    """Alice's personal chat: what she writes and presses, and the cards that come back."""

    def __init__(self, teams: TeamsHarness, service: LearningService, clock: Clock) -> None:
        self.teams, self.service, self.clock = teams, service, clock
        self.seen = 0

    def new(self, count: int = 1) -> list:
        """The next `count` messages the bot posted (all in the personal chat)."""
        want = self.seen + count
        sent = self.teams.capture.wait_for(
            lambda s: s[self.seen : want] if len(s) >= want else None, f"{count} message(s)"
        )
        self.seen = want
        assert all(s.method == "POST" and s.conversation == CONVERSATIONS["personal"] for s in sent)
        return sent

    def write(self, text: str):
        status, _ = self.teams.post(self.teams.activity(text))
        assert status == 201
        (reply,) = self.new()
        return reply

    def press(self, button: dict, *, follow: int = 0):
        """An Action.Execute press: the card that replaces the pressed one, and the
        `follow` messages sent after it."""
        self.clock.now += timedelta(seconds=5)
        status, body = self.teams.post(
            self.teams.invoke(button["data"], kind="personal", verb=button["verb"])
        )
        assert status == 200 and body["statusCode"] == 200
        assert body["type"] == "application/vnd.microsoft.card.adaptive"
        later = self.new(follow) if follow else []
        return body["value"], later

    def correct(self, card) -> int:
        item = self.service.repo.item(options(card)[0]["data"]["item_id"])
        return item.correct


@pytest.fixture
def chat(teams, learning):
    return Chat(teams, *learning)


def test_a_quiz_asks_grades_explains_and_summarises(chat):
    question = chat.write("quiz").cards[0]
    assert texts(question)[0] == "Question 1 of 3"
    picks = options(question)
    assert len(picks) == 4 and all(p["type"] == "Action.Execute" for p in picks)
    session_id, item_id = picks[0]["data"]["session_id"], picks[0]["data"]["item_id"]
    assert [p["data"] for p in picks] == [
        {"session_id": session_id, "item_id": item_id, "picked": i} for i in range(4)
    ]
    assert [p["title"][:3] for p in picks] == ["A. ", "B. ", "C. ", "D. "]
    (stop,) = question["actions"]
    assert (stop["title"], stop["verb"]) == ("Stop quiz", QUIZ_STOP_VERB)
    item = chat.service.repo.item(item_id)

    # the right pick: ✅, the explanation and the citation; the next question follows
    result, (following,) = chat.press(picks[item.correct], follow=1)
    shown = texts(result)
    assert shown[0] == "Question 1 of 3" and shown[2].startswith("✅")
    assert item.explanation in shown
    assert f"Source: {item.passage.source} › {item.passage.section}" in shown
    assert not buttons(result)  # answered: no buttons to press twice
    second = following.cards[0]
    assert texts(second)[0] == "Question 2 of 3"

    # a wrong pick: ❌, what was picked and the right answer
    right = chat.correct(second)
    wrong = (right + 1) % 4
    result, (following,) = chat.press(options(second)[wrong], follow=1)
    item2 = chat.service.repo.item(options(second)[0]["data"]["item_id"])
    shown = texts(result)
    assert shown[2] == f"❌ Not quite: you picked {item2.options[wrong]}"
    assert f"The answer: {item2.options[right]}" in shown

    # the last question: its result, then the summary as a new message
    third = following.cards[0]
    assert texts(third)[0] == "Question 3 of 3"
    result, (summary,) = chat.press(options(third)[chat.correct(third)], follow=1)
    assert texts(result)[0] == "Question 3 of 3" and texts(result)[2].startswith("✅")
    assert texts(summary.cards[0])[0] == "Quiz done! You got 2 of 3."

    # progress shows the answers, a bar per topic and the plan, the weak topic first
    progress = chat.write("progress").cards[0]
    shown = texts(progress)
    assert "Answered 3, 2 right." in shown
    topic_lines = [t for t in shown if t[:1] in "▰▱" and " right" in t]
    assert len(topic_lines) == 3
    assert f"▱▱▱▱▱ {item2.passage.source} › {item2.passage.section}: 0 of 1 right" in shown
    (plan,) = [t for t in shown if t.startswith("Next: ")]
    assert plan.startswith(f"Next: {item2.passage.source} › {item2.passage.section}")


def test_an_old_button_gets_a_gentle_card_and_the_current_question(chat):
    first = chat.write("quiz").cards[0]
    pick = options(first)[chat.correct(first)]
    chat.press(pick, follow=1)
    card, (again,) = chat.press(pick, follow=1)  # the same button once more
    assert texts(card) == [friendly("stale_question")]
    assert texts(again.cards[0])[0] == "Question 2 of 3"  # where the learner is now

    newer = chat.write("quiz me").cards[0]  # a new quiz replaces the old one
    card, (again,) = chat.press(options(first)[0], follow=1)
    assert texts(card) == [friendly("stale_question")]
    assert options(again.cards[0])[0]["data"] == options(newer)[0]["data"]
    card, (again,) = chat.press(first["actions"][0], follow=1)  # the old quiz's Stop
    assert texts(card) == [friendly("stale_question")]
    result, _ = chat.press(options(newer)[chat.correct(newer)], follow=1)
    assert texts(result)[2].startswith("✅")  # the newer quiz still runs

    card, _ = chat.press({"verb": QUIZ_ANSWER_VERB, "data": {"picked": "x"}}, follow=1)
    assert texts(card) == [friendly("stale_question")]  # a malformed press: no error


def test_stop_by_button_and_by_text_gives_the_summary_so_far(chat):
    first = chat.write("quiz").cards[0]
    _, (second,) = chat.press(options(first)[chat.correct(first)], follow=1)
    card, later = chat.press(second.cards[0]["actions"][0])  # Stop quiz
    assert texts(card)[0] == "Quiz stopped. You got 1 of 1 answered (3 in the quiz)."
    assert later == [] and chat.teams.capture.sent[chat.seen :] == []
    card, _ = chat.press(options(second.cards[0])[0], follow=0)  # after the stop
    assert texts(card) == [QUIZ_OVER]

    chat.write("quiz")
    summary = chat.write("Stop")
    assert texts(summary.cards[0])[0].startswith("Quiz stopped. You got 0 of 0 answered")
    assert chat.write("stop").body["text"] == NO_QUIZ


def test_quiz_on_a_topic_uses_only_that_material_and_no_material_is_friendly(chat):
    question = chat.write("quiz me on git-stash").cards[0]
    assert texts(question)[0] == "Question 1 of 1"
    item = chat.service.repo.item(options(question)[0]["data"]["item_id"])
    assert item.passage.source == "stash.md" and "▁▁▁▁▁" in texts(question)[1]
    assert chat.write("quiz me on kubernetes").body["text"] == friendly("no_material")
    assert chat.write("progress").cards  # the progress card with nothing answered yet


def test_in_a_channel_quiz_and_progress_point_to_the_personal_chat(teams):
    teams.post(teams.activity("quiz", kind="channel", mention=True))
    (reply,) = teams.capture.wait_for(lambda sent: sent, "the reply")
    assert reply.body["text"] == PERSONAL_ONLY and not reply.cards


# --- pure pieces ----------------------------------------------------------------------

PASSAGE = Passage("Use git-stash to set aside local changes.", "stash.md", "git-stash › Usage")
ITEM = QuizItem(
    "Fill in the blank (Usage): Use _____ to set aside local changes.",
    ("git-stash", "git-clean", "git-commit", "git-rebase"),
    0,
    "The material says: “Use git-stash to set aside local changes.”",
    PASSAGE,
)


def test_the_question_card_numbers_marks_reviews_and_keeps_long_options_readable():
    card = question_card(Question("s1", ITEM, 2, 5, review=True))
    assert texts(card)[:2] == [
        "Question 2 of 5 (review)",
        "Fill in the blank (Usage): Use ▁▁▁▁▁ to set aside local changes.",
    ]
    assert [b["title"] for b in options(card)] == [
        "A. git-stash",
        "B. git-clean",
        "C. git-commit",
        "D. git-rebase",
    ]
    assert card["actions"] == [
        {
            "type": "Action.Execute",
            "title": "Stop quiz",
            "verb": QUIZ_STOP_VERB,
            "data": {"session_id": "s1"},
        }
    ]
    long = QuizItem("Q?", ("x" * 80, "b", "c", "d"), 1, "e", PASSAGE)
    card = question_card(Question("s1", long, 1, 1))
    first = options(card)[0]["title"]
    assert len(first) == 60 and first.endswith("…")
    assert f"A. {'x' * 80}" in texts(card)  # the full text above the buttons
    json.dumps(card)


def test_result_and_summary_cards():
    nxt = Question("s1", ITEM, 3, 5)
    right = result_card(Outcome(True, ITEM, 0, nxt, None))
    assert texts(right) == [
        "Question 2 of 5",
        ITEM.question.replace("_____", "▁▁▁▁▁"),
        "✅ Right: git-stash",
        ITEM.explanation,
        "Source: stash.md › git-stash › Usage",
    ]
    wrong = result_card(Outcome(False, ITEM, 2, None, Summary(1, 5, 5)))
    assert texts(wrong)[0] == "Question 5 of 5"
    assert texts(wrong)[2:4] == ["❌ Not quite: you picked git-commit", "The answer: git-stash"]
    assert "actions" not in right and "actions" not in wrong
    assert texts(summary_card(Summary(4, 5, 5)))[0] == "Quiz done! You got 4 of 5."
    stopped = summary_card(Summary(1, 2, 5, stopped=True))
    assert texts(stopped)[0] == "Quiz stopped. You got 1 of 2 answered (5 in the quiz)."


def test_the_progress_card_has_counts_bars_and_the_plan():
    assert [bar(x, BAR_CELLS) for x in (0, 0.2, 0.5, 1.0, 1.7)] == [
        "▱▱▱▱▱",
        "▰▱▱▱▱",
        "▰▰▱▱▱",
        "▰▰▰▰▰",
        "▰▰▰▰▰",
    ]
    strong = TopicProgress("git.md", "Stash", 8, 8)  # mastery 0.8
    weak = TopicProgress("git.md", "Rebase", 2, 0)
    new = TopicProgress("hr.md", "hr.md", 0, 0)
    card = progress_card(Progress([strong, weak, new], [weak, new], 2, 10, 8))
    assert texts(card) == [
        "Your progress",
        "Answered 10, 8 right.",
        "2 review(s) due: say *quiz* to start.",
        "Topics",
        "▰▰▰▰▱ git.md › Stash: 8 of 8 right",
        "▱▱▱▱▱ git.md › Rebase: 0 of 2 right",
        "1 topic(s) not started yet.",
        "Next: 2 due review(s); git.md › Rebase; hr.md",
    ]
    empty = progress_card(Progress([], [], 0, 0, 0))
    assert texts(empty)[1:] == ["You haven't answered any questions yet.", "No reviews due."]


def test_reminders_are_switched_off_and_on_in_the_personal_chat(chat):
    from bot.domain.conversation import REMINDERS_SET

    learner = chat.service.learners.learner_id("teams", "aad-alice")
    assert chat.write("reminders off").body["text"] == REMINDERS_SET[False]
    assert chat.service.learners.reminder_state(learner)[0] is False
    assert chat.write("Reminders on!").body["text"] == REMINDERS_SET[True]
    assert chat.service.learners.reminder_state(learner)[0] is True
