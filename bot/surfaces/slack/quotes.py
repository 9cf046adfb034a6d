"""Quotes from the material as Block Kit: each a quote block (code kept preformatted)
with a context line linking its source. Posted before the model's text."""

from __future__ import annotations

from bot.domain.grounded import QUOTES_LEAD, Quoted
from bot.domain.sentences import is_code
from bot.surfaces.slack.render import SECTION_LIMIT, Block, clip, source_line

RICH_TEXT_LIMIT = 3000  # Slack's limit on a rich text element's text


def quote_blocks(event: Quoted) -> list[Block]:
    blocks: list[Block] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"*{QUOTES_LEAD}*"}]}
    ]
    for quote, source in zip(event.quotes, event.sources, strict=True):
        kind = "rich_text_preformatted" if is_code(quote.text) else "rich_text_quote"
        text = quote.text.strip("`\n") if kind == "rich_text_preformatted" else quote.text
        text = " ".join(text.split()) if kind == "rich_text_quote" else text
        blocks.append(
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": kind,
                        "elements": [{"type": "text", "text": clip(text, RICH_TEXT_LIMIT)}],
                    }
                ],
            }
        )
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": clip(source_line(source), SECTION_LIMIT)}],
            }
        )
    return blocks


def quote_fallback_text(event: Quoted) -> str:
    """The notification text of the quotes message (Slack shows it where blocks cannot be)."""
    first = " ".join(event.quotes[0].text.split()) if event.quotes else ""
    return clip(f"{QUOTES_LEAD} {first}", 300)
