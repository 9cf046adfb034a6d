"""The `Catalog` port over the index: documents, their chunks, removal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.domain.material import ChunkView, DocumentInfo

if TYPE_CHECKING:
    from bot.adapters.search import Retrieval
    from retrieval.types import DocumentRecord


def _info(d: DocumentRecord) -> DocumentInfo:
    return DocumentInfo(
        d.doc_id, d.source, d.title, d.version, d.audiences, d.chunks, d.ingested_at
    )


class IndexCatalog:
    def __init__(self, rt: Callable[[], Retrieval], original: Callable[[str], str | None]) -> None:
        self._rt = rt  # opened (and its model loaded) on first use
        self._original = original

    def documents(self) -> list[DocumentInfo]:
        return [_info(d) for d in self._rt().store.documents()]

    def chunks(self, doc_id: str) -> list[ChunkView]:
        store = self._rt().store
        live = {d.doc_id: d for d in store.documents()}.get(doc_id)
        if live is None:
            return []
        found = [
            (int(meta.get("index", 0)), cid, text, meta)
            for cid, text, meta, _ in store.chunks_of([doc_id])
            if meta.get("version") == live.version
        ]
        return [
            ChunkView(
                cid,
                live.source,
                live.title,
                str(meta.get("section") or ""),
                text,
                tuple(str(meta.get("audience", "everyone")).split(",")),
            )
            for _, cid, text, meta in sorted(found, key=lambda f: f[0])
        ]

    def remove(self, source: str) -> DocumentInfo | None:
        removed = self._rt().store.remove(source)
        return None if removed is None else _info(removed)

    def original(self, source: str) -> str | None:
        return self._original(source)
