"""How soon a search sees a change to the index (HybridSearcher's freshness contract).

A write made in this process is seen by the very next search; one made by another
process is seen once `LEARNLOOP_INDEX_CHECK_MS` has passed since the searcher last read
the catalog's generation token. A hand-driven clock makes the bound exact.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from bot.adapters.search import Retrieval
from bot.bootstrap import build_retrieval_from
from retrieval.search import HybridSearcher
from retrieval.settings import RetrievalSettings
from tests.conftest import run_cli

pytestmark = pytest.mark.integration

GUIDE = b"# Release guide\n\n## Tagging\nPush release tags with --follow-tags.\n"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def searcher_with(embedder, chroma_server: str, clock: Clock, check_ms: int) -> Retrieval:
    rs = RetrievalSettings.model_construct(index_check_ms=check_ms)
    rt = build_retrieval_from(embedder, url=chroma_server, rs=rs)
    assert rt.searcher.check_interval == check_ms / 1000  # the setting is wired through
    searcher = HybridSearcher(rt.store, embedder, check_interval=check_ms / 1000, clock=clock)
    return replace(rt, searcher=searcher)


def sources(rt, query: str = "--follow-tags") -> set[str]:
    return {p.source for p in rt.searcher.search(query, k=3).passages}


def test_another_process_ingest_is_seen_within_the_check_interval(
    embedder, chroma_server, tmp_path
):
    clock = Clock()
    here = searcher_with(embedder, chroma_server, clock, check_ms=2000)
    here.store.remove("freshness.md")
    assert "freshness.md" not in sources(here)  # reads the generation token at t=0

    (tmp_path / "freshness.md").write_bytes(GUIDE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
    env.update(LEARNLOOP_DATA_DIR=str(tmp_path / "data"), LEARNLOOP_CHROMA_URL=chroma_server)
    run_cli(env, "ingest", str(tmp_path / "freshness.md"))  # another process writes

    clock.now += 1.999  # inside the interval: the round trip is skipped, the index is older
    assert "freshness.md" not in sources(here)
    clock.now += 0.001  # the interval has passed: the next search reads the token again
    assert "freshness.md" in sources(here)

    run_cli(env, "delete", "freshness.md")
    clock.now += 2.0
    assert "freshness.md" not in sources(here)


def test_a_write_in_this_process_is_seen_by_the_next_search(embedder, chroma_server):
    clock = Clock()  # never advanced: only this process's own writes can refresh
    here = searcher_with(embedder, chroma_server, clock, check_ms=3_600_000)
    other = searcher_with(embedder, chroma_server, clock, check_ms=3_600_000)
    for rt in (here, other):
        rt.store.remove("same-process.md")
    assert "same-process.md" not in sources(here)

    # Written through another store (another client) of this process, as a worker thread
    # of the bot would.
    other.ingestor.ingest_bytes("same-process.md", GUIDE)
    assert "same-process.md" in sources(here)
    assert "same-process.md" in sources(other)

    here.store.remove("same-process.md")
    assert "same-process.md" not in sources(other)
