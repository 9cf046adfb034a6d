"""How a grounded answer reads: quotes first, then only the model's sentences a passage
backs, each citing that passage; the quotes stand in when nothing the model said holds up."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.answering import Source
from bot.domain.grounding import Quote, Verdict
from bot.domain.sentences import is_code

QUOTES_LEAD = "From the training material:"
NOT_COVERED_LEAD = (
    "The model found no direct answer to that in the training material. The closest passages say:"
)
# The answer message's words when the quotes above it are the answer (not repeated).
QUOTES_STAND = (
    "The quotes above are the answer from the training material "
    "(none of the model's own sentences could be checked against it)."
)
NOT_COVERED_STAND = (
    "The model found no direct answer to that in the training material; "
    "the closest passages are quoted above."
)
NOTHING_CHECKED = (
    "I could not check an answer against the training material, so I won't guess. "
    "The passages consulted are listed below."
)
# The model's own "not covered" (the system prompt asks it to say so in these words).
_NOT_COVERED = re.compile(
    r"\b(?:does(?: not|n't) (?:cover|answer|mention|say|contain|include|provide)"
    r"|(?:is|are) not (?:covered|mentioned|addressed)"
    r"|no (?:information|mention|details?) (?:about|on|of|regarding)"
    r"|not (?:covered|mentioned|addressed) in)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Quoted:
    """The first event of a grounded answer: passage sentences, verbatim, with the source
    each comes from (`sources[i]` is the passage of `quotes[i]`)."""

    quotes: tuple[Quote, ...]
    sources: tuple[Source, ...]


def quoted(quotes: Sequence[Quote], sources: Sequence[Source]) -> Quoted:
    return Quoted(tuple(quotes), tuple(sources[q.passage] for q in quotes))


def says_not_covered(text: str) -> bool:
    """The model's text says the material does not answer the question."""
    return _NOT_COVERED.search(text) is not None


def released(verdict: Verdict, sources: Sequence[Source], first: bool) -> str:
    """A supported sentence as shown: its verified citation appended, code on its own lines."""
    if verdict.passage is None:
        return ""
    n = sources[verdict.passage].n
    if is_code(verdict.sentence):
        return f"\n{verdict.sentence}\n[{n}]"
    return f"{'' if first else ' '}{verdict.sentence} [{n}]"


def quotes_text(event: Quoted) -> str:
    """The quotes as plain markdown, each citing its passage."""
    return "\n".join(
        f"> {' '.join(q.text.split()) if not is_code(q.text) else q.text} [{s.n}]"
        for q, s in zip(event.quotes, event.sources, strict=True)
    )


def fallback_text(event: Quoted, model_declined: bool) -> str:
    """The answer when none of the model's sentences is backed by a passage."""
    if not event.quotes:
        return NOTHING_CHECKED
    lead = NOT_COVERED_LEAD if model_declined else QUOTES_LEAD
    return f"{lead}\n{quotes_text(event)}"


def stand_in_note(event: Quoted, model_declined: bool) -> str:
    """What the answer message says when its quotes are the answer ("" without quotes)."""
    if not event.quotes:
        return ""
    return NOT_COVERED_STAND if model_declined else QUOTES_STAND


def cited_sources(
    verdicts: Sequence[Verdict], event: Quoted, sources: Sequence[Source]
) -> tuple[Source, ...]:
    """Passages that back a shown sentence, then those quoted, in prompt order."""
    used = {sources[v.passage].n for v in verdicts if v.supported and v.passage is not None}
    used |= {s.n for s in event.sources}
    return tuple(s for s in sources if s.n in used)
