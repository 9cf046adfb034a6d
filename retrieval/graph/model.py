"""The graph's nouns: one document's concepts and the relations between them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import Stemmer

RELATION_KINDS = ("part_of", "related_to", "see_also", "prerequisite_of")
CONCEPT_KINDS = ("document", "section", "term", "identifier", "keyphrase", "entity")

_ARTICLE = re.compile(r"^(the|a|an)\s+")
_QUOTES = "\"'`\u201c\u201d\u2018\u2019"
_EDGES = re.compile(rf"^[\s{_QUOTES}*_(\[]+|[\s{_QUOTES}*_)\].,:;!?]+$")


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def concept_key(name: str) -> str:
    """The name concepts merge by: lower case, no quoting or article, each word stemmed
    ("The Expense Portals" and "expense portal" are one concept; "--all" stays itself)."""
    text = _EDGES.sub("", " ".join(name.lower().split()))
    text = _ARTICLE.sub("", text)
    words = text.split(" ")
    stem = _stemmer().stemWord
    return " ".join(stem(w) if w.isalpha() else w for w in words if w)


@dataclass(frozen=True)
class Concept:
    key: str  # concept_key(name): the merge key across documents
    name: str
    kind: str
    description: str = ""  # its defining passage in this document, if any
    aliases: tuple[str, ...] = ()
    mentions: tuple[int, ...] = ()  # indexes of this document's chunks that mention it


@dataclass(frozen=True)
class Relation:
    source: str  # concept keys
    target: str
    kind: str  # one of RELATION_KINDS
    weight: float = 1.0


@dataclass(frozen=True)
class DocumentGraph:
    """One document's part of the graph: it is published, replaced and deleted with the
    document's chunks, under the same version."""

    concepts: tuple[Concept, ...] = ()
    relations: tuple[Relation, ...] = field(default=())

    def concept(self, key: str) -> Concept | None:
        return next((c for c in self.concepts if c.key == key), None)

    def related(self, kind: str) -> set[tuple[str, str]]:
        return {(r.source, r.target) for r in self.relations if r.kind == kind}


DESCRIPTION_WORDS = 24


def concept_text(concept: Concept) -> str:
    """What is embedded for a concept: its name, then the start of what defines it. The
    start carries the meaning, and embedding cost grows with length: whole defining
    passages made concept vectors most of the graph's share of ingestion time."""
    if not concept.description:
        return concept.name
    words = concept.description.split()
    return f"{concept.name}: {' '.join(words[:DESCRIPTION_WORDS])}"
