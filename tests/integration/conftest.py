from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest
from filelock import FileLock

from bot.adapters.search import Retrieval
from bot.adapters.store import database_url
from bot.bootstrap import build_retrieval_from
from tests.conftest import ROOT

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> Iterator[str]:
    """The SQL store's URL, once on SQLite and once on real PostgreSQL: a database of its
    own per test, so migrations start from empty."""
    if request.param == "sqlite":
        yield database_url("", tmp_path / "data")
        return
    from tests.services import postgres_database

    with postgres_database() as pg:
        yield database_url(pg, tmp_path)


@pytest.fixture
def retrieval(tmp_path, embedder) -> Retrieval:
    """A fresh embedded Chroma index in a temporary data dir, with the real model."""
    return build_retrieval_from(embedder, path=tmp_path / "chroma")


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, embedder, worker_id) -> Retrieval:
    """The git documentation corpus of tests/data, indexed once per test run: the first
    xdist worker to need it builds it (in a process of its own), each works on a copy."""
    base = tmp_path_factory.getbasetemp()
    shared = (base if worker_id == "master" else base.parent) / "corpus-index"
    with FileLock(f"{shared}.lock"):
        if not (shared / "built").is_file():
            shutil.rmtree(shared, ignore_errors=True)
            build = [sys.executable, "-m", "tests.corpus_index", str(shared / "chroma")]
            done = subprocess.run(build, cwd=ROOT, capture_output=True, text=True, timeout=1200)
            assert done.returncode == 0, done.stderr[-3000:]
            (shared / "built").touch()
    path = tmp_path_factory.mktemp("corpus") / "chroma"
    shutil.copytree(shared / "chroma", path)
    return build_retrieval_from(embedder, path=path)
