"""Quotes from the material for Teams: Markdown for the growing message, and card blocks
(each quote in an emphasised container with its source) for the final card."""

from __future__ import annotations

from typing import Any

from bot.domain.answering import Answer
from bot.domain.grounded import QUOTES_LEAD, Quoted
from bot.domain.sentences import is_code
from bot.surfaces.teams.render import source_line, text_block


def _flat(text: str) -> str:
    return text if is_code(text) else " ".join(text.split())


def quotes_markdown(event: Quoted) -> str:
    """The quotes as the first text of a streamed or edited reply."""
    if not event.quotes:
        return ""
    lines = [f"**{QUOTES_LEAD}**"]
    for quote, source in zip(event.quotes, event.sources, strict=True):
        lines.append(f"> {_flat(quote.text)}\n\n_{source_line(source)}_")
    return "\n\n".join(lines) + "\n\n"


def quote_blocks(answer: Answer) -> list[dict[str, Any]]:
    """The answer's quotes for its card, each above its source."""
    if not answer.quotes:
        return []
    blocks: list[dict[str, Any]] = [
        text_block(QUOTES_LEAD, weight="Bolder", size="Small", spacing="Medium")
    ]
    for quote, source in zip(answer.quotes, answer.quoted_sources, strict=True):
        code = is_code(quote.text)
        blocks.append(
            {
                "type": "Container",
                "style": "emphasis",
                "items": [
                    text_block(
                        quote.text.strip("`\n") if code else _flat(quote.text),
                        **({"fontType": "Monospace"} if code else {"isSubtle": False}),
                    ),
                    text_block(source_line(source), size="Small", isSubtle=True, spacing="None"),
                ],
            }
        )
    return blocks
