"""What the graph needs from storage: owned by retrieval/, implemented by a store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np


class ConceptSource(Protocol):
    """Reads the concept records of documents (all versions; the reader keeps the one the
    catalog names, exactly as for chunks, so chunks and graph never mix versions)."""

    def concepts_of(
        self, doc_ids: Sequence[str]
    ) -> Iterator[tuple[str, str, dict[str, Any], np.ndarray]]: ...
