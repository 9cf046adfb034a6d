"""Worker benchmark: prints figures, asserts nothing.

Ingest throughput of the same files (the git corpus, one job per file, as uploads arrive)
through the queue (real Redis broker, PostgreSQL job store, Chroma server) with 1 and 2
`learnloop worker` processes, against in-process `Ingestor.ingest_paths` into the same
kind of Chroma server. Workers are started and warmed before the clock starts; the clock
stops when the last job row says done.

Usage: python benchmarks/worker_bench.py [--files 26] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' helpers that find or start Redis, PostgreSQL, Chroma

from bot.bootstrap import (  # noqa: E402
    build_app,
    build_retrieval_from,
    limit_blas_threads,
)
from bot.domain.jobs import JobStatus  # noqa: E402
from bot.settings import Settings  # noqa: E402
from retrieval.embedding import Embedder, resolve_embedding_path  # noqa: E402
from tests.conftest import stop, wait_until  # noqa: E402
from tests.services import (  # noqa: E402
    chroma_server,
    postgres_database,
    redis_database,
    start_worker,
)

CORPUS = ROOT / "tests" / "data" / "corpus"


def in_process(files: list[Path], work: Path) -> tuple[float, int]:
    limit_blas_threads()
    embedder = Embedder(resolve_embedding_path(""))
    embedder.embed(["warm up"])
    with chroma_server(work / "chroma-inproc") as url:
        rt = build_retrieval_from(embedder, url=url)
        started = time.perf_counter()
        reports = rt.ingestor.ingest_paths(files)
        elapsed = time.perf_counter() - started
    return elapsed, sum(r.chunks for r in reports if r.ok)


def queued(files: list[Path], workers: int, work: Path, redis: str, pg: str) -> tuple[float, int]:
    data = work / f"data-{workers}"
    with chroma_server(work / f"chroma-{workers}") as chroma:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEARNLOOP_")}
        env.update(
            LEARNLOOP_DATA_DIR=str(data),
            LEARNLOOP_DATABASE_URL=pg,
            LEARNLOOP_BROKER_URL=redis,
            LEARNLOOP_CHROMA_URL=chroma,
        )
        procs = [
            start_worker(env, work / f"worker-{workers}-{n}.log", "ingest,notify")
            for n in range(workers)
        ]
        app = build_app(Settings(data_dir=data, database_url=pg, broker_url=redis))
        service = app.jobs
        try:
            started = time.perf_counter()
            ids = [asyncio.run(service.enqueue_ingest([f])).id for f in files]

            def all_done() -> bool:
                return all(service.jobs.get(i).status is JobStatus.DONE for i in ids)

            wait_until(all_done, timeout=1800, what="all jobs", interval=0.1)
            elapsed = time.perf_counter() - started
            chunks = sum(service.jobs.get(i).result["chunks"] for i in ids)
        finally:
            app.close()
            for proc in procs:
                stop(proc)
    return elapsed, chunks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=26)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    files = sorted(CORPUS.glob("*.html"))[: args.files]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        material = work / "material"
        material.mkdir()
        for f in files:
            shutil.copy(f, material / f.name)
        paths = sorted(material.iterdir())
        base_s, base_chunks = in_process(paths, work)
        print(f"{len(paths)} files, {base_chunks} chunks; {os.cpu_count()} CPU cores")
        print(f"in-process      {base_s:7.2f} s  {base_chunks / base_s:7.1f} chunks/s  ratio 1.00")
        with redis_database() as redis, postgres_database() as pg:
            for n in (int(w) for w in args.workers.split(",")):
                elapsed, chunks = queued(paths, n, work, redis, pg)
                assert chunks == base_chunks, (chunks, base_chunks)
                print(
                    f"queue {n} worker{'s' if n > 1 else ' '} {elapsed:7.2f} s  "
                    f"{chunks / elapsed:7.1f} chunks/s  ratio {base_s / elapsed:.2f}"
                )


if __name__ == "__main__":
    main()
