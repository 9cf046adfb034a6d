"""An answer as a Teams Adaptive Card: the text, numbered sources, feedback actions.

Pure functions returning card JSON. `Action.Execute` (Universal Actions) needs schema
1.4; its invoke comes back with `verb` and `data`, and the card the bot returns replaces
this one for the person who pressed it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.core.answering import Answer, Source

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
    body = [text_block(answer.text)] if with_text else []
    return card(body + sources_blocks(answer), feedback_actions(answer_id))


def feedback_card(answer_text: str, passages: Iterable[Mapping[str, Any]], rating: str) -> Card:
    """What replaces the answer card for the person who rated it: the answer, its
    sources as recorded, and a thank-you instead of the buttons."""
    lines = [
        f"[{p.get('n', i + 1)}] {_plain(str(p.get('section') or p.get('source') or ''))}"
        for i, p in enumerate(passages)
    ]
    body = [text_block(answer_text)]
    if lines:
        body.append(text_block("Sources", weight="Bolder", size="Small", spacing="Medium"))
        body += [text_block(line, size="Small", spacing="None") for line in lines]
    body.append(text_block(RATED.get(rating, RATED["up"]), isSubtle=True, spacing="Medium"))
    return card(body)


def notice_card(text: str) -> Card:
    return card([text_block(text)])
