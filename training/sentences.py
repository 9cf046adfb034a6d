"""Sentence and term rules used to turn a passage into questions and grounded answers."""

from __future__ import annotations

import re

# Hand-written because the maintained splitters need downloaded models (nltk punkt, spaCy);
# material sentences are short and well punctuated, so a boundary rule is enough.
_BOUNDARY = re.compile(r"(?<=[.!?])\s+(?=[\"'“(`A-Z0-9-])|\n+")
# "A branch is a movable pointer...": a term, then is/are and an article, or means/refers to
_DEFINITION = re.compile(
    r"^(?:(?P<article>a|an|the)\s+)?(?P<term>[A-Za-z][\w\s'’-]{1,50}?)\s+"
    r"(?:(?:is|are)\s+(?:a|an|the)\s|means\s|refers to\s)",
    re.IGNORECASE,
)
_TERM_LINE = re.compile(r"^(?:--?[\w][\w-]*(?:=\S+)?|`[^`]{2,40}`|[\w.-]{2,40}\(\d\))$")
_CODE_TERM = re.compile(r"`([^`]{2,40})`|(?<![\w-])(--[a-z][\w-]{2,30})")
_GENERIC_HEADINGS = frozenset(
    {"name", "synopsis", "see also", "git", "description", "notes", "options", "examples"}
)
_VAGUE_SUBJECTS = frozenset({"this", "that", "it", "these", "those", "there", "which", "all"})


def sentences(text: str) -> list[str]:
    """Non-empty sentences (and lines) of a passage, whitespace tidied."""
    parts = (re.sub(r"\s+", " ", p).strip() for p in _BOUNDARY.split(text))
    return [p for p in parts if len(p) >= 3]


def with_citation(sentence: str, n: int) -> str:
    """`sentence` with its marker before the final punctuation: "Do this [2]."."""
    body = sentence.rstrip()
    if body and body[-1] in ".!?:;":
        return f"{body[:-1].rstrip()} [{n}]{body[-1]}"
    return f"{body} [{n}]."


def definitions(text: str) -> list[tuple[str, list[str]]]:
    """(term, its explanation sentences) from "X is ..." sentences and term-then-text lines."""
    found: list[tuple[str, list[str]]] = []
    lines = [line.strip() for line in text.splitlines()]
    for i, line in enumerate(lines):
        if _TERM_LINE.match(line):
            body = next((b for b in lines[i + 1 :] if b and not _TERM_LINE.match(b)), "")
            if len(body) >= 20:
                found.append((line.strip("`"), sentences(body)[:2]))
    for sentence in sentences(text):
        match = _DEFINITION.match(sentence)
        term = match.group("term").split() if match else []
        if match and len(term) <= 5 and term[0].lower() not in _VAGUE_SUBJECTS:
            article = (match.group("article") or "").lower()
            found.append((f"{article} {' '.join(term)}".strip(), [sentence]))
    return found


def key_terms(text: str) -> list[str]:
    """Code-like terms a question can be about (`x`, --option), in order of appearance."""
    terms = [a or b for a, b in _CODE_TERM.findall(text)]
    return list(dict.fromkeys(terms))


def heading(section: str) -> str:
    """The innermost heading of a section path, or "" when it says nothing specific."""
    last = section.split(" › ")[-1].strip() if section else ""
    return "" if last.lower() in _GENERIC_HEADINGS or len(last) < 3 else last
