"""Documents' knowledge graphs (retrieval/graph/ports.py's `GraphStore`) in the SQL store
every process shares: one row per concept, in the document's order, and per relation,
each under its document's version. Chroma keeps the concept vectors."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, delete, insert, select
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.store.models import GraphConceptRow, GraphRelationRow
from retrieval.graph.model import Concept, DocumentGraph, Relation
from retrieval.graph.ports import GraphKey

_CONCEPTS = cast(Table, GraphConceptRow.__table__)
_RELATIONS = cast(Table, GraphRelationRow.__table__)
_BATCH = 500  # documents per read: well under every driver's limit on parameters


class SqlGraphStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def put(self, doc_id: str, version: str, graph: DocumentGraph) -> None:
        """Replace this version's graph in one transaction (one executemany per table)."""
        base = {"doc_id": doc_id, "version": version}
        with self._sessions.begin() as session:
            for table in (_CONCEPTS, _RELATIONS):
                session.execute(
                    delete(table).where(table.c.doc_id == doc_id, table.c.version == version)
                )
            if graph.concepts:
                session.execute(
                    insert(_CONCEPTS),
                    [
                        {
                            **base,
                            "position": n,
                            "key": c.key,
                            "name": c.name,
                            "kind": c.kind,
                            "description": c.description,
                            "aliases": list(c.aliases),
                            "mentions": list(c.mentions),
                        }
                        for n, c in enumerate(graph.concepts)
                    ],
                )
            if graph.relations:
                session.execute(
                    insert(_RELATIONS),
                    [
                        {
                            **base,
                            "position": n,
                            "source": r.source,
                            "target": r.target,
                            "kind": r.kind,
                            "weight": r.weight,
                        }
                        for n, r in enumerate(graph.relations)
                    ],
                )

    def graphs(self, keys: Sequence[GraphKey]) -> dict[GraphKey, DocumentGraph]:
        wanted = set(keys)
        doc_ids = sorted({doc_id for doc_id, _ in wanted})
        concepts: dict[GraphKey, list[Concept]] = defaultdict(list)
        relations: dict[GraphKey, list[Relation]] = defaultdict(list)
        with self._sessions() as session:
            for start in range(0, len(doc_ids), _BATCH):
                part = doc_ids[start : start + _BATCH]
                for row in session.execute(_ordered(_CONCEPTS, part)):
                    key = (row.doc_id, row.version)
                    if key in wanted:
                        concepts[key].append(
                            Concept(
                                key=row.key,
                                name=row.name,
                                kind=row.kind,
                                description=row.description,
                                aliases=tuple(row.aliases),
                                mentions=tuple(int(i) for i in row.mentions),
                            )
                        )
                for row in session.execute(_ordered(_RELATIONS, part)):
                    key = (row.doc_id, row.version)
                    if key in wanted:
                        relations[key].append(
                            Relation(row.source, row.target, row.kind, float(row.weight))
                        )
        return {
            key: DocumentGraph(tuple(concepts.get(key, ())), tuple(relations.get(key, ())))
            for key in wanted
            if key in concepts or key in relations
        }

    def drop(self, doc_id: str, keep: str | None) -> None:
        with self._sessions.begin() as session:
            for table in (_CONCEPTS, _RELATIONS):
                where = [table.c.doc_id == doc_id]
                if keep is not None:
                    where.append(table.c.version != keep)
                session.execute(delete(table).where(*where))


def _ordered(table: Table, doc_ids: list[str]) -> Select[Any]:
    return (
        select(table)
        .where(table.c.doc_id.in_(doc_ids))
        .order_by(table.c.doc_id, table.c.version, table.c.position)
    )
