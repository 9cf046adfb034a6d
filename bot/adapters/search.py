"""The `Retriever` port over retrieval/'s hybrid search (errors translated)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from bot.domain.answering import Source
from bot.domain.errors import IndexUnavailable
from bot.domain.ports import Findings
from retrieval.errors import RetrievalError
from retrieval.search import HybridSearcher
from retrieval.types import SearchResult

if TYPE_CHECKING:
    from retrieval.embedding import Embedder
    from retrieval.ingest import Ingestor
    from retrieval.store import ChunkStore


@dataclass(frozen=True)
class Retrieval:
    """The index and what reads and writes it, built once per process by `build_app`."""

    store: ChunkStore
    embedder: Embedder
    ingestor: Ingestor
    searcher: HybridSearcher


class SearchRetriever:
    """Searches off the event loop, on a few threads of their own (default one).

    A search is mostly the query's embedding, done on one core (`Embedder.query_threads`:
    on cores shared with the inference server, more only wait on each other); more search
    threads would contend for the GIL with the event loop, which must stay free to
    acknowledge Slack and Teams within their deadlines. A burst of questions queues here,
    in order, instead of starving the loop; `LEARNLOOP_SEARCH_THREADS` raises the count
    where cores are plentiful."""

    def __init__(self, searcher: HybridSearcher, threads: int = 1) -> None:
        self.searcher = searcher
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="search")

    def warm_up(self) -> Future[None]:
        """Load the model and the index on the search thread, so the first question does
        not pay for it (it queues behind the warm-up instead of doing the work twice)."""
        return self._pool.submit(self.searcher.warm)

    async def find(self, question: str, audiences: Sequence[str], k: int) -> Findings:
        loop = asyncio.get_running_loop()
        search = partial(self.searcher.search, question, k, list(audiences))
        try:
            result = await loop.run_in_executor(self._pool, search)
        except RetrievalError as exc:
            raise IndexUnavailable(exc.message) from exc
        return findings_of(result)


def findings_of(result: SearchResult) -> Findings:
    sources = tuple(
        Source(n, p.source, p.title, p.section, p.text, p.url, p.version, p.audiences, p.chunk_id)
        for n, p in enumerate(result.passages, start=1)
    )
    return Findings(result.relevant, sources, result.topics)
