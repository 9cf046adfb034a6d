"""Teams Adaptive Cards: an answer (text, numbered sources, feedback actions), quiz
questions, their results and summaries, and a learner's progress.

Pure functions returning card JSON. `Action.Execute` (Universal Actions) needs schema
1.4; its invoke comes back with `verb` and `data`, and the card the bot returns replaces
this one for the person who pressed it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from bot.domain import labels
from bot.domain.answering import Answer, Source, message_text

if TYPE_CHECKING:
    from bot.services.learning import Outcome, Progress, Question, Summary

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
VERSION = "1.4"
FEEDBACK_VERB = "feedback"
CORRECTION_INPUT = "correction"
CORRECTION_LIMIT = 3000
RATED = {
    "up": "Thanks for the 👍: it tells me this answer helped.",
    "down": "Thanks for the 👎: I'll learn from it.",
    "correction": "Thanks for the correction: it will be reviewed and used to improve me.",
}

Card = dict[str, Any]


def card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> Card:
    result: Card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": VERSION,
        "body": body,
    }
    if actions:
        result["actions"] = actions
    return result


def text_block(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _plain(text: str) -> str:
    """Titles are not trusted markup: keep them from opening a Markdown link."""
    return text.replace("[", "(").replace("]", ")")


def source_line(source: Source) -> str:
    label = _plain(source.title or source.source)
    if source.section and source.section != source.title:
        label = f"{label} › {_plain(source.section.split(' › ')[-1])}"
    if source.url:
        label = f"[{label}]({source.url.replace(')', '%29')})"
    return f"[{source.n}] {label}"


def sources_blocks(answer: Answer) -> list[dict[str, Any]]:
    shown = answer.citations or answer.consulted
    if not shown:
        return []
    heading = "Sources" if answer.citations else "Consulted (nothing cited directly)"
    blocks = [text_block(heading, weight="Bolder", size="Small", spacing="Medium")]
    blocks += [text_block(source_line(s), size="Small", spacing="None") for s in shown]
    return blocks


def feedback_actions(answer_id: str) -> list[dict[str, Any]]:
    def execute(title: str, rating: str) -> dict[str, Any]:
        return {
            "type": "Action.Execute",
            "title": title,
            "verb": FEEDBACK_VERB,
            "data": {"answer_id": answer_id, "rating": rating},
        }

    correction = card(
        [
            {
                "type": "Input.Text",
                "id": CORRECTION_INPUT,
                "label": "What should the answer say?",
                "isMultiline": True,
                "isRequired": True,
                "errorMessage": "Write the correction first.",
                "maxLength": CORRECTION_LIMIT,
            }
        ],
        [execute("Send correction", "correction")],
    )
    return [
        execute("👍", "up"),
        execute("👎", "down"),
        {"type": "Action.ShowCard", "title": "Suggest a correction", "card": correction},
    ]


def answer_card(answer: Answer, answer_id: str, *, with_text: bool = True) -> Card:
    """The final answer; `with_text=False` when the message's own text already holds it
    (the last message of a Teams stream)."""
    from bot.surfaces.teams.quotes import quote_blocks  # it builds on this module's blocks

    body = [text_block(message_text(answer))] if with_text else []
    return card(quote_blocks(answer) + body + sources_blocks(answer), feedback_actions(answer_id))


def feedback_card(answer_text: str, passages: Iterable[Mapping[str, Any]], rating: str) -> Card:
    """What replaces the answer card for the person who rated it: the answer, its
    sources as recorded, and a thank-you instead of the buttons."""
    lines = [
        f"[{p.get('n', i + 1)}] {_plain(str(p.get('section') or p.get('source') or ''))}"
        for i, p in enumerate(passages)
        if p.get("shown", True)  # answers record every passage given; show the shown ones
    ]
    body = [text_block(answer_text)]
    if lines:
        body.append(text_block("Sources", weight="Bolder", size="Small", spacing="Medium"))
        body += [text_block(line, size="Small", spacing="None") for line in lines]
    body.append(text_block(RATED.get(rating, RATED["up"]), isSubtle=True, spacing="Medium"))
    return card(body)


def notice_card(text: str) -> Card:
    return card([text_block(text)])


# --- quizzes and progress (personal chat) ---------------------------------------------

QUIZ_ANSWER_VERB = "quizAnswer"
QUIZ_STOP_VERB = "quizStop"
QUIZ_VERBS = (QUIZ_ANSWER_VERB, QUIZ_STOP_VERB)
LETTERS = "ABCDEFGH"
OPTION_TITLE_LIMIT = 60
BAR_CELLS = 5
TOPICS_SHOWN = 10
_BLANK = re.compile(r"_{3,}")


def _quiz_text(text: str) -> str:
    """A cloze blank ("_____") would be read as Markdown emphasis: show a drawn line."""
    return _BLANK.sub("▁▁▁▁▁", text)


def where(source: str, section: str) -> str:
    """A topic or a citation: "source › section" (bot.domain.labels), as plain text."""
    return labels.where(source, section, _plain)


def _execute(title: str, verb: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Action.Execute", "title": title, "verb": verb, "data": data}


def _option_title(index: int, option: str) -> str:
    title = f"{LETTERS[index]}. {option.strip()}"
    if len(title) > OPTION_TITLE_LIMIT:
        title = title[: OPTION_TITLE_LIMIT - 1].rstrip() + "…"
    return title


def question_card(question: Question) -> Card:
    """One question: its number, the question, a button per option (one per row, so long
    options stay readable) and a Stop button. The pick comes back as `data.picked`."""
    item = question.item
    heading = f"Question {question.number} of {question.total}"
    if question.review:
        heading += " (review)"
    body = [
        text_block(heading, weight="Bolder", size="Small", isSubtle=True),
        text_block(_quiz_text(item.question), size="Medium", spacing="Small"),
    ]
    titles = [_option_title(i, option) for i, option in enumerate(item.options)]
    full = [f"{LETTERS[i]}. {option.strip()}" for i, option in enumerate(item.options)]
    if titles != full:  # a shortened button: every option in full above the buttons
        body += [text_block(_quiz_text(option), spacing="None") for option in full]
    for i, title in enumerate(titles):
        data = {"session_id": question.session_id, "item_id": item.id, "picked": i}
        body.append(
            {
                "type": "ActionSet",
                "spacing": "Small",
                "actions": [_execute(title, QUIZ_ANSWER_VERB, data)],
            }
        )
    stop = _execute("Stop quiz", QUIZ_STOP_VERB, {"session_id": question.session_id})
    return card(body, [stop])


def result_card(outcome: Outcome) -> Card:
    """What replaces a question card once answered: right or wrong, the pick, the right
    answer, the explanation and where in the material it comes from."""
    item = outcome.item
    picked, right = item.options[outcome.picked], item.options[item.correct]
    body = []
    if outcome.next is not None:
        number, total = outcome.next.number - 1, outcome.next.total
    elif outcome.summary is not None:
        number, total = outcome.summary.asked, outcome.summary.total
    else:
        number = total = 0
    if number:
        heading = f"Question {number} of {total}"
        body.append(text_block(heading, weight="Bolder", size="Small", isSubtle=True))
    body.append(text_block(_quiz_text(item.question), spacing="Small"))
    if outcome.correct:
        body.append(text_block(f"✅ Right: {_quiz_text(right)}", weight="Bolder"))
    else:
        body.append(text_block(f"❌ Not quite: you picked {_quiz_text(picked)}", weight="Bolder"))
        body.append(text_block(f"The answer: {_quiz_text(right)}", spacing="None"))
    body.append(text_block(_quiz_text(item.explanation)))
    body.append(
        text_block(
            f"Source: {where(item.passage.source, item.passage.section)}",
            size="Small",
            isSubtle=True,
        )
    )
    return card(body)


def summary_card(summary: Summary) -> Card:
    if summary.stopped:
        heading = f"Quiz stopped. You got {summary.correct} of {summary.asked}"
        heading += f" answered ({summary.total} in the quiz)."
    else:
        heading = f"Quiz done! You got {summary.correct} of {summary.total}."
    return card(
        [
            text_block(heading, weight="Bolder", size="Medium"),
            text_block(
                "Say *quiz* for another round, or *progress* to see your plan.", isSubtle=True
            ),
        ]
    )


def progress_card(progress: Progress) -> Card:
    """Answers so far, reviews due, a mastery bar per topic quizzed, and what to learn next."""
    body = [text_block("Your progress", weight="Bolder", size="Medium")]
    if progress.answered:
        body.append(
            text_block(f"Answered {progress.answered}, {progress.right} right.", spacing="Small")
        )
    else:
        body.append(text_block("You haven't answered any questions yet.", spacing="Small"))
    due = (
        f"{progress.due} review(s) due: say *quiz* to start." if progress.due else "No reviews due."
    )
    body.append(text_block(due, spacing="None"))
    seen = [t for t in progress.topics if t.seen]
    if seen:
        body.append(text_block("Topics", weight="Bolder", size="Small", spacing="Medium"))
        body += [
            text_block(
                f"{labels.bar(t.mastery, BAR_CELLS)} {where(t.source, t.section)}: "
                f"{t.correct} of {t.seen} right",
                spacing="None",
            )
            for t in seen[:TOPICS_SHOWN]
        ]
        if len(seen) > TOPICS_SHOWN:
            body.append(text_block(f"… and {len(seen) - TOPICS_SHOWN} more.", spacing="None"))
    unseen = len(progress.topics) - len(seen)
    if unseen:
        body.append(text_block(f"{unseen} topic(s) not started yet.", isSubtle=True))
    steps = [f"{progress.due} due review(s)"] if progress.due else []
    steps += [where(t.source, t.section) for t in progress.plan]
    if steps:
        body.append(text_block(f"Next: {'; '.join(steps)}", spacing="Medium"))
    return card(body)
