"""A document's graph as records of the concept collection, and back."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from retrieval.graph.model import Concept, DocumentGraph, Relation


def to_records(graph: DocumentGraph) -> list[tuple[str, dict[str, Any]]]:
    """(text, metadata) per concept; each concept carries its outgoing relations."""
    out: dict[str, list[list[Any]]] = defaultdict(list)
    for r in graph.relations:
        out[r.source].append([r.target, r.kind, r.weight])
    return [
        (
            c.name,
            {
                "key": c.key,
                "name": c.name,
                "kind": c.kind,
                "description": c.description,
                "aliases": json.dumps(list(c.aliases)),
                "mentions": json.dumps(list(c.mentions)),
                "relations": json.dumps(out.get(c.key, [])),
            },
        )
        for c in graph.concepts
    ]


def from_records(metas: Iterable[dict[str, Any]]) -> DocumentGraph:
    concepts: list[Concept] = []
    relations: list[Relation] = []
    for meta in metas:
        key = str(meta["key"])
        concepts.append(
            Concept(
                key=key,
                name=str(meta.get("name", key)),
                kind=str(meta.get("kind", "keyphrase")),
                description=str(meta.get("description", "")),
                aliases=tuple(json.loads(str(meta.get("aliases", "[]")))),
                mentions=tuple(int(i) for i in json.loads(str(meta.get("mentions", "[]")))),
            )
        )
        for target, kind, weight in json.loads(str(meta.get("relations", "[]"))):
            relations.append(Relation(key, str(target), str(kind), float(weight)))
    return DocumentGraph(tuple(concepts), tuple(relations))
