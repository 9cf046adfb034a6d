"""What the graph needs from storage: owned by retrieval/, implemented by a store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from retrieval.graph.model import DocumentGraph

GraphKey = tuple[str, str]  # (doc_id, version)


class GraphStore(Protocol):
    """Where documents' graphs (concepts, in order, and relations) live, per version.

    A document's concept vectors stay in Chroma, matched to its concepts by position: a
    store gives each version's concepts back in the order `put` got them. Versions are
    kept until dropped, so a reader can always ask for exactly the version the catalog
    names (the one written before the switch, or the one still live during it)."""

    def put(self, doc_id: str, version: str, graph: DocumentGraph) -> None:
        """Store (or replace) the graph of this version of the document."""
        ...

    def graphs(self, keys: Sequence[GraphKey]) -> dict[GraphKey, DocumentGraph]:
        """The stored graphs of these versions; a version with none stored is absent."""
        ...

    def drop(self, doc_id: str, keep: str | None) -> None:
        """Delete the document's graphs except version `keep` (None: all of them)."""
        ...
