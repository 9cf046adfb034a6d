"""Build the git documentation corpus's index into a folder, in a process of its own.

    python -m tests.corpus_index DEST

The `corpus` fixture runs this once per test run; every xdist worker copies the result.
A process that exits has written everything Chroma holds (a copy of a live client's
folder might miss what it has not flushed)."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.bootstrap import build_retrieval_from, limit_blas_threads
from retrieval.embedding import Embedder, resolve_embedding_path

DATA = Path(__file__).resolve().parent / "data"


def main(dest: Path) -> int:
    limit_blas_threads()
    rt = build_retrieval_from(Embedder(resolve_embedding_path("")), path=dest)
    failed = [r for r in rt.ingestor.ingest_paths([DATA / "corpus"]) if not r.ok]
    if failed:
        print(f"corpus documents not ingested: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
