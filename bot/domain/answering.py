"""Rules of a trustworthy answer: the prompt, citation checking, refusals.

The embedded model is tiny and will invent things if let, so trust comes from these rules:
the model sees numbered passages and is asked to cite them as [n]; only citations to
passages it was given survive; when it cites nothing valid, the sources are shown as
"consulted", not "cited"; when search judged nothing relevant, the model is not called.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.grounding import Quote

SYSTEM_PROMPT = (
    "You are LearnLoop, a workplace training assistant. Answer the employee's question "
    "using only the numbered passages from the training material. Cite the passages you "
    "use with their numbers in square brackets, like [1] or [2]. Be brief and concrete: "
    "two to four sentences. If the passages do not answer the question, say that the "
    "training material does not cover it."
)
# recorded with every answer; training/prompt.py computes the same from its copy
PROMPT_VERSION = hashlib.sha256(SYSTEM_PROMPT.encode()).hexdigest()[:12]

_CITATION = re.compile(r"\[(\d{1,3})\]")


@dataclass(frozen=True)
class Source:
    """A passage given to the model, numbered from 1 in prompt order."""

    n: int
    source: str
    title: str
    section: str
    text: str
    url: str = ""
    version: str = ""  # the document version it came from
    audiences: tuple[str, ...] = ("everyone",)  # who may see it
    chunk_id: str = ""  # where the console's citation links point (/source/<chunk_id>)


@dataclass(frozen=True)
class Turn:
    role: str  # "user" | "assistant"
    text: str


@dataclass(frozen=True)
class Answer:
    text: str
    refused: bool
    citations: tuple[Source, ...] = ()  # passages the answer cites (validated)
    consulted: tuple[Source, ...] = ()  # passages given, shown when nothing valid is cited
    given: tuple[Source, ...] = ()  # every passage the model saw, in prompt order
    topics: tuple[str, ...] = ()  # for a refusal: the closest topics the material covers
    model: str = ""
    meta: dict[str, float] = field(default_factory=dict)
    quotes: tuple[Quote, ...] = ()  # passage sentences shown first, verbatim
    quoted_sources: tuple[Source, ...] = ()  # the passage of each quote
    raw_text: str = ""  # what the model wrote, before grounding ("" when it was not asked)
    grounded: bool = False  # the text holds only sentences a passage backs
    # What the answer message says where the quotes, shown above it, are the answer
    # (its `text` keeps them, for the record, the evaluation and the thread's memory).
    note: str = ""


def message_text(answer: Answer) -> str:
    """The text of the answer message, which follows its quotes."""
    return answer.note or answer.text


def build_messages(
    question: str, sources: Sequence[Source], history: Sequence[Turn] = ()
) -> list[dict[str, str]]:
    """Fixed instructions first, passages in a deterministic order, the question last
    (so vLLM's prefix cache reuses the instructions across every request)."""
    passages = "\n\n".join(
        f"[{s.n}] {s.title}{' › ' + s.section if s.section else ''}\n{s.text}" for s in sources
    )
    messages = [{"role": "system", "content": SYSTEM_PROMPT}]
    messages += [{"role": t.role, "content": t.text} for t in history]
    messages.append({"role": "user", "content": f"Passages:\n{passages}\n\nQuestion: {question}"})
    return messages


def cited_numbers(text: str) -> list[int]:
    """The [n] markers in an answer, in order of first appearance."""
    return list(dict.fromkeys(int(m) for m in _CITATION.findall(text)))


def check_citations(text: str, sources: Sequence[Source]) -> tuple[str, tuple[Source, ...]]:
    """Drop markers that name no given passage; return the cleaned text and the cited sources."""
    by_number = {s.n: s for s in sources}

    def keep(match: re.Match[str]) -> str:
        return match.group(0) if int(match.group(1)) in by_number else ""

    cleaned = re.sub(r"[ \t]{2,}", " ", _CITATION.sub(keep, text)).strip()
    return cleaned, tuple(by_number[n] for n in cited_numbers(cleaned))


def finish_answer(text: str, sources: Sequence[Source], model: str = "") -> Answer:
    cleaned, cited = check_citations(text, sources)
    return Answer(
        text=cleaned,
        refused=False,
        citations=cited,
        consulted=() if cited else tuple(sources),
        given=tuple(sources),
        model=model,
    )


def refusal(topics: Sequence[str]) -> Answer:
    if topics:
        listed = "; ".join(topics)
        text = (
            "The training material does not cover that, so I won't guess. "
            f"The closest topics it does cover: {listed}."
        )
    else:
        text = "The training material does not cover that, so I won't guess."
    return Answer(text=text, refused=True, topics=tuple(topics))


def bound_history(
    turns: Sequence[Turn], max_tokens: int, count: Callable[[str], int]
) -> list[Turn]:
    """The most recent turns that fit in `max_tokens`, oldest first; whole turns only."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns):
        cost = count(turn.text)
        if used + cost > max_tokens:
            break
        kept.append(turn)
        used += cost
    return list(reversed(kept))


def rough_tokens(text: str) -> int:
    """A tokenizer-free estimate (about four characters a token for English)."""
    return max(1, len(text) // 4)
