"""The `Material` port over the index: passages to ask about, and the catalog's current
state that banked quiz items are checked against."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.domain.quiz import Live, Passage

if TYPE_CHECKING:
    from bot.adapters.search import Retrieval


class CatalogMaterial:
    """The material as the quiz sees it: passages to ask about, and the catalog's current
    state, against which banked items are checked each time they are shown."""

    def __init__(self, rt: Retrieval | Callable[[], Retrieval]) -> None:
        # a callable defers opening the index (and loading its model) to the first use
        self._rt = rt

    @property
    def rt(self) -> Retrieval:
        if callable(self._rt):
            self._rt = self._rt()
        return self._rt

    def passages(
        self, audiences: Sequence[str] | None, topic: str = "", limit: int | None = 200
    ) -> list[Passage]:
        """Material for these audiences (all of it for None), at most `limit` passages."""
        return material_passages(self.rt, topic, audiences, limit)

    def documents(self) -> dict[str, Live]:
        return {d.doc_id: Live(d.version, d.audiences) for d in self.rt.store.documents()}

    def texts(self, doc_id: str) -> frozenset[str]:
        """The chunk texts of the document's current version."""
        live = self.documents().get(doc_id)
        return frozenset(
            text
            for _, text, meta, _ in self.rt.store.chunks_of([doc_id])
            if live is not None and meta.get("version") == live.version
        )


def material_passages(
    rt: Retrieval,
    topic: str = "",
    audiences: Sequence[str] | None = None,
    limit: int | None = 200,
) -> list[Passage]:
    """Passages to ask about: those matching `topic`, else every chunk, documents interleaved
    so a short quiz covers several documents. Each carries its document's id, version and
    audience, so an item made from it is banked for exactly that audience."""
    docs = {d.doc_id: d for d in rt.store.documents()}
    if topic:
        found = rt.searcher.search(topic, k=min(limit or 20, 20), audiences=audiences)
        passages = []
        for p in found.passages:
            doc_id, version, _ = p.chunk_id.split(":", 2)
            doc = docs.get(doc_id)
            if doc is None or doc.version != version or not p.text:
                continue  # replaced or deleted since the search's snapshot
            passages.append(
                Passage(p.text, p.source, p.section or p.title, version, doc.audiences, doc_id)
            )
        return passages
    per_doc: list[list[Passage]] = []
    allowed = set(audiences) if audiences is not None else None
    for doc in docs.values():
        if allowed is not None and not allowed & set(doc.audiences):
            continue
        chunks = [
            Passage(
                text,
                doc.source,
                str(meta.get("section") or doc.title),
                doc.version,
                doc.audiences,
                doc.doc_id,
            )
            for _, text, meta, _ in rt.store.chunks_of([doc.doc_id])
            if meta.get("version") == doc.version  # not a version being written or dropped
        ]
        per_doc.append(chunks)
    interleaved = [p for group in _zip_longest(per_doc) for p in group]
    return interleaved[:limit]


def _zip_longest(groups: list[list[Passage]]) -> list[list[Passage]]:
    depth = max((len(g) for g in groups), default=0)
    return [[g[i] for g in groups if i < len(g)] for i in range(depth)]
