"""How the surfaces name where something comes from and how much of it is learned."""

from __future__ import annotations

from collections.abc import Callable

BAR_CELLS = 10


def _same(text: str) -> str:
    return text


def where(source: str, section: str, escape: Callable[[str], str] = _same) -> str:
    """A passage, quiz item or topic's place: "source › section", or the source alone
    when the section is missing or repeats it; `escape` is each surface's own."""
    if source and section and section != source:
        return f"{escape(source)} › {escape(section)}"
    return escape(source or section)


def bar(share: float, cells: int = BAR_CELLS) -> str:
    """A share from 0 to 1 as a bar of filled and empty cells: ▰▰▰▱▱▱▱▱▱▱."""
    filled = max(0, min(cells, round(share * cells)))
    return "▰" * filled + "▱" * (cells - filled)
