"""A document's graph as metadata of its concept records in Chroma, and back."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from retrieval.graph.model import Concept, DocumentGraph, Relation


def to_metadata(graph: DocumentGraph) -> list[dict[str, Any]]:
    """Metadata per concept, in order; each concept carries its outgoing relations."""
    out: dict[str, list[list[Any]]] = defaultdict(list)
    for r in graph.relations:
        out[r.source].append([r.target, r.kind, r.weight])
    return [
        {
            "key": c.key,
            "name": c.name,
            "kind": c.kind,
            "description": c.description,
            "aliases": json.dumps(list(c.aliases)),
            "mentions": json.dumps(list(c.mentions)),
            "relations": json.dumps(out.get(c.key, [])),
        }
        for c in graph.concepts
    ]


def from_metadata(metas: Iterable[dict[str, Any]]) -> DocumentGraph:
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


def has_structure(meta: dict[str, Any]) -> bool:
    """Whether a concept record carries its concept (not only its vector's place)."""
    return "name" in meta


def position(record_id: str, meta: dict[str, Any]) -> int:
    """A concept record's place in its document's concepts: recorded, or else (records
    from before positions were) the end of its id, `doc_id:version:c<n>`."""
    if "position" in meta:
        return int(str(meta["position"]))
    return int(record_id.rsplit(":c", 1)[1])
