"""An answer as Slack Block Kit: the text, numbered sources, feedback buttons.

Pure functions held to Slack's limits (a section's text at most 3,000 characters, a
message at most 50 blocks, a button value at most 2,000 characters)."""

from __future__ import annotations

from typing import Any

from bot.core.answering import Answer, Source

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
VALUE_LIMIT = 2000
MODAL_TEXT_LIMIT = 3000

UP, DOWN, CORRECT = "feedback_up", "feedback_down", "feedback_correct"
CORRECTION_VIEW = "learnloop_correction"
CORRECTION_BLOCK, CORRECTION_INPUT = "correction", "text"

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


def answer_blocks(answer: Answer, answer_id: str, *, with_text: bool = True) -> list[Block]:
    """The final message; `with_text=False` when the text was already streamed above."""
    body = text_sections(answer.text) if with_text else []
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
