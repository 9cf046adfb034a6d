"""The indexed material as training passages: every live chunk, with its audiences and
document version (restricted ones too: the dataset builder needs them to prove no leak)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from training.examples import Passage

if TYPE_CHECKING:
    from retrieval.store import ChunkStore


def catalog_passages(store: ChunkStore) -> list[Passage]:
    """Each document's chunks of its live version, in document order."""
    out: list[Passage] = []
    for doc in sorted(store.documents(), key=lambda d: d.source):
        chunks = sorted(
            (int(meta.get("index", 0)), text, meta)
            for _, text, meta, _ in store.chunks_of([doc.doc_id])
            if meta.get("version") == doc.version and text
        )
        out += [
            Passage(
                source=doc.source,
                title=doc.title,
                section=str(meta.get("section") or ""),
                text=text,
                audiences=tuple(doc.audiences),
                doc_version=doc.version,
            )
            for _, text, meta in chunks
        ]
    return out
