"""An answer as Slack Block Kit: the text, numbered sources, feedback buttons; quiz
questions, their outcomes and a learner's progress.

Pure functions held to Slack's limits (a section's text at most 3,000 characters, a
message at most 50 blocks, a button value at most 2,000 characters)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.domain.answering import Answer, Source, message_text
from bot.domain.labels import bar, where

if TYPE_CHECKING:
    from bot.domain.quiz import Passage, TopicProgress
    from bot.services.learning import Outcome, Progress, Question, Summary

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
VALUE_LIMIT = 2000
MODAL_TEXT_LIMIT = 3000

UP, DOWN, CORRECT = "feedback_up", "feedback_down", "feedback_correct"
CORRECTION_VIEW = "learnloop_correction"
CORRECTION_BLOCK, CORRECTION_INPUT = "correction", "text"
QUIZ_ANSWER = "quiz_answer_"  # + the option's index: quiz_answer_0 .. quiz_answer_3
QUIZ_STOP = "quiz_stop"
QUIZ_BLOCK = "quiz"
BUTTON_TEXT_LIMIT = 75
LETTERS = "ABCDEFGH"
BAR_CELLS = 5
MAX_TOPICS = 25  # progress lists at most this many topics

Block = dict[str, Any]


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escape(text: str) -> str:
    """Slack's mrkdwn control characters, escaped (titles are not trusted markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def source_line(source: Source) -> str:
    label = escape(source.title or source.source)
    if source.section and source.section != source.title:
        label = f"{label} › {escape(source.section.split(' › ')[-1])}"
    if source.url:
        label = f"<{source.url}|{label.replace('|', '¦')}>"
    return f"[{source.n}] {label}"


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_LIMIT)}}


def text_sections(text: str) -> list[Block]:
    """A long text split into sections under the limit, on line breaks where possible."""
    blocks, rest = [], text.strip()
    while rest:
        cut = len(rest) if len(rest) <= SECTION_LIMIT else rest.rfind("\n", 0, SECTION_LIMIT)
        if cut <= 0:
            cut = SECTION_LIMIT
        blocks.append(section(rest[:cut]))
        rest = rest[cut:].lstrip("\n")
    return blocks


def sources_blocks(answer: Answer) -> list[Block]:
    shown = answer.citations or answer.consulted
    if not shown:
        return []
    heading = "*Sources*" if answer.citations else "*Consulted* (nothing cited directly)"
    return [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": heading}]},
        *(section(source_line(s)) for s in shown),
    ]


def feedback_buttons(answer_id: str) -> Block:
    value = clip(answer_id, VALUE_LIMIT)

    def button(text: str, action_id: str) -> Block:
        return {
            "type": "button",
            "text": {"type": "plain_text", "text": text, "emoji": True},
            "action_id": action_id,
            "value": value,
        }

    return {
        "type": "actions",
        "block_id": "feedback",
        "elements": [
            button("👍", UP),
            button("👎", DOWN),
            button("Suggest a correction", CORRECT),
        ],
    }


def answer_blocks(
    answer: Answer, answer_id: str, *, with_text: bool = True, before: Sequence[Block] = ()
) -> list[Block]:
    """The final message; `with_text=False` when the text was already streamed above;
    `before`: blocks that lead it (the quotes, where they have no message of their own)."""
    body = [*before, *text_sections(message_text(answer))] if with_text else [*before]
    extras = sources_blocks(answer)
    buttons = feedback_buttons(answer_id)
    room = MAX_BLOCKS - 1 - len(body)
    if room < len(extras):  # keep the buttons; drop the sources that do not fit
        extras = extras[: max(room, 0)]
    return [*body[: MAX_BLOCKS - 1], *extras, buttons]


def notice_blocks(text: str) -> list[Block]:
    return text_sections(text)[:MAX_BLOCKS]


def correction_modal(private_metadata: str, answer_text: str = "") -> dict[str, Any]:
    """The "Suggest a correction" modal; `private_metadata` names the answer and place."""
    blocks: list[Block] = []
    if answer_text:
        blocks.append(section(f"*The answer was:*\n{answer_text}"))
    blocks.append(
        {
            "type": "input",
            "block_id": CORRECTION_BLOCK,
            "label": {"type": "plain_text", "text": "What should it say?"},
            "element": {
                "type": "plain_text_input",
                "action_id": CORRECTION_INPUT,
                "multiline": True,
                "max_length": MODAL_TEXT_LIMIT,
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": CORRECTION_VIEW,
        "private_metadata": clip(private_metadata, 3000),
        "title": {"type": "plain_text", "text": "Suggest a correction"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


# --- quizzes and progress -----------------------------------------------------------


def _button(text: str, action_id: str, value: str) -> Block:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": clip(text, BUTTON_TEXT_LIMIT), "emoji": True},
        "action_id": action_id,
        "value": clip(value, VALUE_LIMIT),
    }


def citation(passage: Passage) -> str:
    """Where an item comes from: "source › section"."""
    return where(passage.source, passage.section, escape)


def question_text(question: Question) -> str:
    """The notification / fallback text of a question message."""
    return f"Question {question.number} of {question.total}: {question.item.question}"


def question_blocks(question: Question) -> list[Block]:
    """One question: its number, the text, a button per option and a Stop button."""
    item = question.item
    heading = f"*Question {question.number} of {question.total}*"
    if question.review:
        heading += "  ·  🔁 _review_"
    labels = [f"{LETTERS[i]}. {option}" for i, option in enumerate(item.options)]
    body = escape(item.question)
    if any(len(label) > BUTTON_TEXT_LIMIT for label in labels):  # the buttons clip: list them
        body += "\n" + "\n".join(f"*{escape(label)}*" for label in labels)
    buttons = [
        _button(
            label,
            f"{QUIZ_ANSWER}{i}",
            json.dumps({"session_id": question.session_id, "item_id": item.id, "picked": i}),
        )
        for i, label in enumerate(labels)
    ]
    buttons.append(_button("Stop", QUIZ_STOP, question.session_id))
    return [
        section(heading),
        *text_sections(body)[: MAX_BLOCKS - 2],
        {"type": "actions", "block_id": QUIZ_BLOCK, "elements": buttons},
    ]


def outcome_text(outcome: Outcome) -> str:
    item = outcome.item
    if outcome.correct:
        return f"✅ Right: {item.options[item.correct]}"
    return f"❌ Not quite: the answer is {item.options[item.correct]}"


def outcome_blocks(outcome: Outcome) -> list[Block]:
    """The answered question, without buttons: right or wrong, the explanation, the source."""
    item = outcome.item
    right = escape(item.options[item.correct])
    if outcome.correct:
        verdict = f"✅ *Right!* The answer is *{right}*."
    else:
        picked = escape(item.options[outcome.picked])
        verdict = f"❌ *Not quite.* You picked *{picked}*; the answer is *{right}*."
    return [
        *text_sections(escape(item.question))[:10],
        section(verdict),
        *text_sections(escape(item.explanation))[:10],
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": f"📖 {citation(item.passage)}"}],
        },
    ]


def summary_text(summary: Summary) -> str:
    if summary.stopped:
        return f"Quiz stopped. You got {summary.correct} of {summary.asked}."
    return f"Quiz done! You got {summary.correct} of {summary.total}."


def summary_blocks(summary: Summary) -> list[Block]:
    hint = "Say *progress* to see your plan, or *quiz* for another round."
    return [section(f"*{summary_text(summary)}*"), section(hint)]


def stopped_blocks(blocks: list[Block]) -> list[Block]:
    """A question message once its quiz was stopped: the same, without buttons."""
    kept = [b for b in blocks if b.get("type") != "actions"][: MAX_BLOCKS - 1]
    return [*kept, {"type": "context", "elements": [{"type": "mrkdwn", "text": "_Stopped_"}]}]


def topic_label(topic: TopicProgress) -> str:
    return where(topic.source, topic.section, escape)


def topic_line(topic: TopicProgress) -> str:
    seen = f"{topic.correct}/{topic.seen} right" if topic.seen else "not yet quizzed"
    return f"`{bar(topic.mastery, BAR_CELLS)}` {topic_label(topic)} · {seen}"


def progress_text(progress: Progress) -> str:
    return (
        f"Your progress: {progress.right} of {progress.answered} answered right, "
        f"{progress.due} reviews due."
    )


def progress_blocks(progress: Progress) -> list[Block]:
    """Counts, reviews due, a mastery bar per topic, and the plan."""
    share = f" ({round(100 * progress.right / progress.answered)}%)" if progress.answered else ""
    counts = f"*Answered:* {progress.answered}   *Right:* {progress.right}{share}"
    due = (
        f"🔁 *{progress.due} review{'s' if progress.due != 1 else ''} due:* say *quiz* to start."
        if progress.due
        else "No reviews due."
    )
    blocks: list[Block] = [section("*Your progress*"), section(f"{counts}\n{due}")]
    if progress.topics:
        shown = progress.topics[:MAX_TOPICS]
        lines = [topic_line(t) for t in shown]
        if len(progress.topics) > len(shown):
            lines.append(f"_… and {len(progress.topics) - len(shown)} more topics_")
        blocks += [section("*Topics*"), *text_sections("\n".join(lines))[:20]]
    else:
        blocks.append(section("No material to learn from yet."))
    if progress.plan:
        steps = " → ".join(topic_label(t) for t in progress.plan)
        blocks.append(section(f"*Next:* {steps}"))
    return blocks[:MAX_BLOCKS]


def home_view(progress: Progress) -> dict[str, Any]:
    """The App Home tab: the learner's progress."""
    return {"type": "home", "blocks": progress_blocks(progress)}
