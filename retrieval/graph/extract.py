"""Structural concept extraction: what the material's own shape says its concepts are.

Headings and their hierarchy, definition lists and glossary lines, defined terms
("X is a ..."), code identifiers and commands, and key phrases (YAKE) become concepts,
merged by `concept_key`; relations come from the hierarchy (part_of), co-occurrence in
chunks weighted by PMI (related_to), explicit references (see_also) and definitions that
use other defined concepts or "before you ..." wording (prerequisite_of). No model: it
runs on the CPU default in a fraction of the ingestion time.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from typing import Any

from retrieval.graph.model import Concept, DocumentGraph, Relation, concept_key
from retrieval.keyword import compounds
from retrieval.types import Chunk, ParsedDocument

# Headings every page of a kind repeats: as concepts they would tie unrelated pages.
GENERIC_HEADINGS = frozenset(
    "name synopsis description options examples example notes note see also overview "
    "introduction summary configuration discussion bugs author authors reporting "
    "contents table of contents faq references git hooks environment variables files "
    "return value exit status".split()
) | frozenset({"see also", "table of contents", "exit status", "return value"})
_NOT_NAMES = frozenset(
    "it this that these those there here each everything nothing something which what "
    "who he she they we you i one all both either neither anything such other the "
    "default result output example".split()
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`\"'(\[])|\n+")
_DEFINED = re.compile(
    r"^(?:(?:An?|The)\s+)?([A-Z`\"][\w`\"'./ -]{0,48}?[\w`\"])\s+"
    r"(?:is|are|means|refers to|stands for)\s+(?:a|an|the|one|any|used|what|when)\b"
)
_GLOSSARY = re.compile(
    r"^\s*(?:[-*+]\s+)?(?:\*\*|__)?([A-Za-z`][\w` ./-]{0,48}?)(?:\*\*|__)?"
    r"\s*(?::|\u2014|\u2013| - )\s+(\S.{15,})$"
)
_BOLD_TERM = re.compile(r"^\s*(?:[-*+]\s+)?(?:\*\*|__)(.{1,50}?)(?:\*\*|__)")
_BACKTICK = re.compile(r"`([^`\n]{2,60})`")
_MANREF = re.compile(r"\b([a-z][\w.-]*)\(\d\)")
# a long command-line option in running text (`--dry-run`): unambiguous even once
_OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?![\w-])")
_SEE = re.compile(r"\b(?:see(?: also)?|refer to|described in|documented in)\b([^.;\n]{1,80})", re.I)
_BEFORE = re.compile(
    r"\bbefore (?:you |they |we |anyone )?([^,.;:]{3,80})[,;:]\s*([^.]{3,160})", re.I
)
_BRACKETS = re.compile(r"\[[^\]]*\]|<[^>]*>|\([^)]*\)|\.\.\.|…")
_TERM_LINE = 70
# Names in running text: capitalised words not opening a sentence (Expense Portal,
# PagerDuty, Okta), acronyms (VPN, DNS) and CamelCase.
_ENTITY = re.compile(
    r"(?<=[a-z,;:(] )((?:[A-Z][\w-]*[a-z0-9][\w-]*|[A-Z]{2,})(?: [A-Z][\w-]+){0,3})"
)
_ACRONYM = re.compile(r"\b[A-Z][A-Z0-9]{1,6}\b")


@dataclass
class _Draft:
    name: str
    kind: str
    description: str = ""
    order: int = 1 << 30  # where it is defined (chunk index), for prerequisite_of
    section: str = ""  # the heading it was defined under
    aliases: set[str] = field(default_factory=set)
    mentions: set[int] = field(default_factory=set)


_RANK = {"term": 0, "entity": 1, "identifier": 2, "section": 3, "document": 4, "keyphrase": 5}


class StructuralExtractor:
    """Concepts and relations of one document, from its structure and text."""

    def __init__(self, keyphrases_per_section: int = 4, related_per_concept: int = 5) -> None:
        self.keyphrases_per_section = keyphrases_per_section
        self.related_per_concept = related_per_concept

    def extract(self, doc: ParsedDocument, chunks: Sequence[Chunk]) -> DocumentGraph:
        drafts: dict[str, _Draft] = {}

        def add(
            name: str,
            kind: str,
            description: str = "",
            order: int = 1 << 30,
            section: str = "",
            aliases: Iterable[str] = (),
        ) -> str | None:
            name = " ".join(name.strip().strip("`*_\"'").split())
            key = concept_key(name)
            if not _good_name(name, key):
                return None
            draft = drafts.get(key)
            if draft is None:
                draft = drafts[key] = _Draft(name, kind, section=section)
            elif _RANK[kind] < _RANK[draft.kind]:
                draft.kind, draft.name = kind, name
            if description and (not draft.description or order < draft.order):
                draft.description, draft.order = _sentence(description), order
                draft.section = section or draft.section
            draft.aliases.update(a for a in aliases if a and a != draft.name)
            return key

        first_chunk = _first_chunks(chunks)
        relations: dict[tuple[str, str, str], float] = {}
        title_key = add(doc.title, "document") if doc.title else None
        if title_key is not None:
            drafts[title_key].mentions.update(range(len(chunks)))

        # headings: concepts, part_of their parent, mentioned by the chunks under them
        section_key: dict[str, str | None] = {}
        for section in doc.sections:
            parent = title_key
            for depth in range(1, len(section.heading_path) + 1):
                heading = section.heading_path[depth - 1]
                if heading.lower().strip() in GENERIC_HEADINGS:
                    continue
                path = " › ".join(section.heading_path[:depth])
                key = add(heading, "section", order=first_chunk.get(path, 1 << 30))
                if key is None:
                    continue
                for c in chunks:
                    if c.section == path or c.section.startswith(path + " › "):
                        drafts[key].mentions.add(c.index)
                if parent is not None and parent != key:
                    relations[(key, parent, "part_of")] = 1.0
                parent = key
            section_key[section.name] = parent

        for chunk in chunks:
            where = section_key.get(chunk.section)
            for name, aliases, description in _definitions(chunk.text):
                add(name, "term", description, chunk.index, chunk.section, aliases)
            for sentence in _SENTENCE.split(chunk.text):
                if (m := _DEFINED.match(sentence.strip())) is not None:
                    add(m.group(1), "term", sentence, chunk.index, chunk.section)
            for code in _BACKTICK.findall(chunk.text):
                add(code, "identifier")
            for option in _OPTION.findall(chunk.text):
                add(option, "identifier")
            for ref in _MANREF.findall(chunk.text):
                key = add(ref, "identifier")
                if key is not None and where is not None:
                    relations[(where, key, "see_also")] = 1.0
            for name in _ENTITY.findall(chunk.text):
                add(name, "entity")
            for name in _ACRONYM.findall(chunk.text):
                add(name, "entity")
        counts: dict[str, int] = defaultdict(int)
        for chunk in chunks:
            for name in compounds(chunk.text):
                counts[name] += 1
        for name, n in counts.items():
            if n >= 2 and (name.startswith("-") or "." in name or "-" in name):
                add(name, "identifier")
        for section in doc.sections:
            for phrase in _keyphrases(section.text, self.keyphrases_per_section):
                add(phrase, "keyphrase")

        # mentions: every chunk that names a concept (name or alias, whole words)
        surfaces = {
            form: k
            for k, d in drafts.items()
            for s in (d.name, *d.aliases)
            for form in _forms(s.lower())
        }
        pattern = _alternation(surfaces)
        for chunk in chunks:
            if pattern is None:
                break
            for m in pattern.finditer(chunk.text.lower()):
                drafts[surfaces[m.group(1)]].mentions.add(chunk.index)
        for key, draft in drafts.items():
            if draft.kind == "term" and draft.section in section_key:
                owner = section_key[draft.section]
                if owner is not None and owner != key:
                    relations[(key, owner, "part_of")] = 1.0

        keys = [k for k, d in drafts.items() if d.mentions]
        _cooccurrence(drafts, keys, len(chunks), self.related_per_concept, relations)
        _references(chunks, drafts, surfaces, pattern, section_key, relations)
        _prerequisites(chunks, drafts, surfaces, pattern, relations)

        kept = set(keys)
        concepts = tuple(
            Concept(
                key=k,
                name=drafts[k].name,
                kind=drafts[k].kind,
                description=drafts[k].description,
                aliases=tuple(sorted(drafts[k].aliases)),
                mentions=tuple(sorted(drafts[k].mentions)),
            )
            for k in keys
        )
        edges = tuple(
            Relation(s, t, kind, round(w, 4))
            for (s, t, kind), w in relations.items()
            if s in kept and t in kept and s != t
        )
        return DocumentGraph(concepts, edges)


def _good_name(name: str, key: str) -> bool:
    if not key or len(name) > 60 or len(name) < 2:
        return False
    if name.lower() in _NOT_NAMES or not re.search(r"[A-Za-z]", name):
        return False
    return len(name.split()) <= 6


def _sentence(text: str, limit: int = 300) -> str:
    """The defining sentence: the first one, at most `limit` characters."""
    first = _SENTENCE.split(text.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


def _first_chunks(chunks: Sequence[Chunk]) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in chunks:
        out.setdefault(c.section, c.index)
    return out


def _definitions(text: str) -> Iterable[tuple[str, tuple[str, ...], str]]:
    """(name, aliases, description) of definition-list items and glossary lines.

    A definition list parses as paragraphs of one to four short term lines (`-a`,
    `--all`) followed by their description (retrieval.parse.html.definition_list)."""
    for paragraph in re.split(r"\n\s*\n", text):
        lines = [line.strip() for line in paragraph.strip().split("\n") if line.strip()]
        terms: list[str] = []
        for line in lines:
            cleaned = " ".join(_BRACKETS.sub(" ", line).split()).strip(" |=,")
            is_term = (
                len(line) <= _TERM_LINE
                and not line.endswith((".", ":", ";", ","))
                and 0 < len(cleaned) <= 40
                and len(cleaned.split()) <= 4
            )
            if is_term and len(terms) < 4 and len(lines) > len(terms) + 1:
                terms.append(cleaned)
                continue
            break
        rest = " ".join(lines[len(terms) :])
        if terms and len(rest) >= 30:
            name = max(terms, key=len)
            yield name, tuple(t for t in terms if t != name), rest
            continue
        for line in lines:
            m = _GLOSSARY.match(line) or None
            if m is not None and len(m.group(1).split()) <= 5 and not m.group(1).islower():
                yield m.group(1), (), m.group(2)
            elif (b := _BOLD_TERM.match(line)) is not None:
                yield b.group(1), (), line[b.end() :].strip(" :-\u2013\u2014")


@lru_cache(maxsize=1)
def _yake() -> Any:
    import yake

    return yake.KeywordExtractor(lan="en", n=3, top=8, dedupLim=0.7)


def _keyphrases(text: str, top: int) -> list[str]:
    """The section's key phrases (YAKE), each found whole in one line of the text."""
    if len(text) < 80 or top <= 0:
        return []
    lowered = text.lower()
    out: list[str] = []
    for phrase, _score in _yake().extract_keywords(text):
        if len(out) == top:
            break
        if phrase.lower() in lowered and not any(ch.isdigit() for ch in phrase):
            out.append(phrase)
    return out


def _forms(name: str) -> tuple[str, ...]:
    """A name as written and in its other number (laptops / laptop)."""
    if not name[-1:].isalpha() or len(name) < 4:
        return (name,)
    return (
        (name, name[:-1]) if name.endswith("s") and not name.endswith("ss") else (name, name + "s")
    )


def _alternation(surfaces: dict[str, str]) -> re.Pattern[str] | None:
    if not surfaces:
        return None
    names = sorted(surfaces, key=len, reverse=True)
    body = "|".join(re.escape(n) for n in names)
    return re.compile(rf"(?<![\w-])({body})(?![\w-])")


def _cooccurrence(
    drafts: dict[str, _Draft],
    keys: list[str],
    n_chunks: int,
    per_concept: int,
    relations: dict[tuple[str, str, str], float],
) -> None:
    """related_to: concepts that share chunks more often than chance (positive PMI)."""
    topical = [k for k in keys if drafts[k].kind not in ("document", "section")]
    if n_chunks < 2:
        return
    by_chunk: dict[int, list[str]] = defaultdict(list)
    for k in topical:
        for c in drafts[k].mentions:
            by_chunk[c].append(k)
    together: dict[tuple[str, str], int] = defaultdict(int)
    for members in by_chunk.values():
        for a, b in combinations(sorted(members), 2):
            together[(a, b)] += 1
    best: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (a, b), n_ab in together.items():
        pmi = math.log(n_ab * n_chunks / (len(drafts[a].mentions) * len(drafts[b].mentions)))
        if pmi > 0:
            best[a].append((pmi, b))
            best[b].append((pmi, a))
    for a, scored in best.items():
        for pmi, b in sorted(scored, reverse=True)[:per_concept]:
            s, t = min(a, b), max(a, b)
            relations[(s, t, "related_to")] = max(relations.get((s, t, "related_to"), 0.0), pmi)


def _found(text: str, pattern: re.Pattern[str] | None, surfaces: dict[str, str]) -> set[str]:
    if pattern is None:
        return set()
    return {surfaces[m.group(1)] for m in pattern.finditer(text.lower())}


def _references(
    chunks: Sequence[Chunk],
    drafts: dict[str, _Draft],
    surfaces: dict[str, str],
    pattern: re.Pattern[str] | None,
    section_key: dict[str, str | None],
    relations: dict[tuple[str, str, str], float],
) -> None:
    """see_also: "see X", "refer to X", and a SEE ALSO section, from where they stand."""
    defined_in = {d.order: k for k, d in drafts.items() if d.kind == "term"}
    for chunk in chunks:
        source = defined_in.get(chunk.index) or section_key.get(chunk.section)
        if chunk.section.lower().endswith("see also"):
            targets = _found(chunk.text, pattern, surfaces)
        else:
            targets = set()
            for m in _SEE.finditer(chunk.text):
                targets |= _found(m.group(1), pattern, surfaces)
        for target in targets:
            if source is not None and target != source:
                relations[(source, target, "see_also")] = 1.0


def _prerequisites(
    chunks: Sequence[Chunk],
    drafts: dict[str, _Draft],
    surfaces: dict[str, str],
    pattern: re.Pattern[str] | None,
    relations: dict[tuple[str, str, str], float],
) -> None:
    """prerequisite_of: a defined concept used in another's definition and defined before
    it (or not here: elsewhere); and "before you <B>, <A>" wording."""
    definable = {k for k, d in drafts.items() if d.kind in ("term", "identifier", "entity")}
    for key, draft in drafts.items():
        if not draft.description:
            continue
        for used in _found(draft.description, pattern, surfaces) & definable:
            if used != key and drafts[used].order <= draft.order:
                relations[(used, key, "prerequisite_of")] = 1.0
    named = {k for k, d in drafts.items() if d.kind != "document"}
    for chunk in chunks:
        for m in _BEFORE.finditer(chunk.text):
            for later in _found(m.group(1), pattern, surfaces) & named:
                for first in _found(m.group(2), pattern, surfaces) & named:
                    if first != later:
                        relations[(first, later, "prerequisite_of")] = 1.0
