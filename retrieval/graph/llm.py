"""An LLM extractor: entities and typed relations per chunk, under a JSON schema.

Used when an external model server (vLLM) is configured; any OpenAI-compatible server
that honours `response_format` of type `json_schema` works. The model's output is only a
proposal: it is validated (schema, names that occur in the chunk, known relation kinds)
and merged into the structural graph, never trusted on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from retrieval.graph.model import Concept, DocumentGraph, Relation, concept_key
from retrieval.types import Chunk, ParsedDocument

log = logging.getLogger(__name__)


class _Entity(BaseModel):
    name: str = Field(max_length=60)
    description: str = Field(default="", max_length=300)


class _Link(BaseModel):
    source: str = Field(max_length=60)
    target: str = Field(max_length=60)
    kind: Literal["part_of", "related_to", "see_also", "prerequisite_of"]


class Extraction(BaseModel):
    """What the model is asked for, per chunk."""

    entities: list[_Entity] = Field(default_factory=list, max_length=12)
    relations: list[_Link] = Field(default_factory=list, max_length=12)


SCHEMA = Extraction.model_json_schema()
PROMPT = (
    "List the concepts (tools, terms, procedures, policies) this passage names, each with a "
    "one-sentence description taken from the passage, and the relations between them "
    "(part_of, related_to, see_also, prerequisite_of). Use names exactly as written.\n\n"
    "Section: {section}\nPassage:\n{text}"
)


class LLMExtractor:
    """Entities and relations from a chat model, validated against each chunk's text."""

    def __init__(self, client: Any, model: str, max_tokens: int = 384) -> None:
        self.client = client  # an openai.OpenAI (or compatible) client
        self.model = model
        self.max_tokens = max_tokens
        self.failures = 0  # chunks whose reply was not valid under the schema

    def extract(self, doc: ParsedDocument, chunks: Sequence[Chunk]) -> DocumentGraph:
        concepts: dict[str, Concept] = {}
        relations: dict[tuple[str, str, str], Relation] = {}
        for chunk in chunks:
            found = self._ask(chunk)
            if found is None:
                continue
            lowered = chunk.text.lower()
            names: dict[str, str] = {}
            for entity in found.entities:
                name = " ".join(entity.name.split())
                key = concept_key(name)
                if not key or name.lower() not in lowered:
                    continue  # a name the passage does not contain is the model's invention
                names[name.lower()] = key
                known = concepts.get(key)
                mentions = tuple(sorted({*(known.mentions if known else ()), chunk.index}))
                description = (known.description if known else "") or entity.description
                concepts[key] = Concept(key, name, "entity", description, (), mentions)
            for link in found.relations:
                a = names.get(" ".join(link.source.split()).lower())
                b = names.get(" ".join(link.target.split()).lower())
                if a and b and a != b:
                    relations[(a, b, link.kind)] = Relation(a, b, link.kind)
        return DocumentGraph(tuple(concepts.values()), tuple(relations.values()))

    def _ask(self, chunk: Chunk) -> Extraction | None:
        try:
            reply = self.client.chat.completions.create(
                model=self.model,
                messages=[
                    {
                        "role": "user",
                        "content": PROMPT.format(section=chunk.section, text=chunk.text),
                    }
                ],
                max_tokens=self.max_tokens,
                temperature=0,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": "concepts", "schema": SCHEMA},
                },
            )
            return Extraction.model_validate_json(reply.choices[0].message.content or "")
        except ValidationError:
            self.failures += 1
            log.info("graph extraction: chunk %d's reply failed the schema", chunk.index)
            return None


class CombinedExtractor:
    """The structural graph with other extractors' concepts and relations merged in."""

    def __init__(self, *extractors: Any) -> None:
        self.extractors = extractors

    def extract(self, doc: ParsedDocument, chunks: Sequence[Chunk]) -> DocumentGraph:
        return merge([e.extract(doc, chunks) for e in self.extractors])


def merge(graphs: Sequence[DocumentGraph]) -> DocumentGraph:
    """One document's graphs as one: concepts by key (first name, kind and description
    win; mentions and aliases add up), relations deduplicated."""
    concepts: dict[str, Concept] = {}
    relations: dict[tuple[str, str, str], Relation] = {}
    for graph in graphs:
        for c in graph.concepts:
            known = concepts.get(c.key)
            if known is None:
                concepts[c.key] = c
                continue
            concepts[c.key] = Concept(
                key=c.key,
                name=known.name,
                kind=known.kind,
                description=known.description or c.description,
                aliases=tuple(sorted({*known.aliases, *c.aliases} - {known.name})),
                mentions=tuple(sorted({*known.mentions, *c.mentions})),
            )
        for r in graph.relations:
            relations.setdefault((r.source, r.target, r.kind), r)
    return DocumentGraph(tuple(concepts.values()), tuple(relations.values()))
