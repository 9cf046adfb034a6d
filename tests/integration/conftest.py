from __future__ import annotations

import pytest

from bot.adapters.search import Retrieval
from bot.bootstrap import build_retrieval_from
from tests.conftest import DATA

pytestmark = pytest.mark.integration


@pytest.fixture
def retrieval(tmp_path, embedder) -> Retrieval:
    """A fresh embedded Chroma index in a temporary data dir, with the real model."""
    return build_retrieval_from(embedder, path=tmp_path / "chroma")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, embedder) -> Retrieval:
    """The git documentation corpus of tests/data, ingested once per session."""
    rt = build_retrieval_from(embedder, path=tmp_path_factory.mktemp("corpus") / "chroma")
    reports = rt.ingestor.ingest_paths([DATA / "corpus"])
    assert all(r.ok for r in reports), [r for r in reports if not r.ok]
    return rt
