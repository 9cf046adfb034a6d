"""Ingest fuzz benchmark: prints figures, asserts nothing (not in CI).

Generates malformed files of every supported type (mutated valid files, corrupted Office
parts, truncations, random bytes, and a few bombs), runs them as one ingest job through
the worker's own code (`worker.ingest.run_ingest`: claim, lease, groups of four, progress
rows in a SQLite job store) into an embedded Chroma, once with the sandboxed parser and
once parsing in-process, and reports:
- crashes: exceptions out of the job, or a job not done (goal 0);
- partial index states: a catalog record whose chunks or pieces are missing, or chunks of
  a version the catalog does not name (goal 0);
- peak memory of the job process and of the parsing children;
- throughput (files/s) of the sandboxed run against the in-process one (goal >= 0.8),
  the two taking turns slice by slice so that both see the same machine load.

Usage: python benchmarks/ingest_fuzz_bench.py [--files 1000] [--seed 17] [--workers 2] [--slices 10]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import resource
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' document builders

from bot.adapters.store import JobRepository, database_url, open_store  # noqa: E402
from bot.bootstrap import build_retrieval_from, limit_blas_threads  # noqa: E402
from bot.domain.jobs import JobStatus  # noqa: E402
from retrieval.embedding import Embedder, resolve_embedding_path  # noqa: E402
from retrieval.ingest import InlineParser  # noqa: E402
from retrieval.parse.limits import MiB, ParseLimits  # noqa: E402
from retrieval.parse.sandbox import SandboxParser  # noqa: E402
from retrieval.store import CATALOG, CHUNKS, GENERATION_ID, PIECES  # noqa: E402
from tests.bombs import billion_laughs_docx, markup_bomb_html, zip_bomb_docx  # noqa: E402
from tests.docs import make_docx, make_pdf, make_pptx  # noqa: E402
from tests.images import encoded, text_image  # noqa: E402
from worker.ingest import run_ingest  # noqa: E402

MD = b"""# Onboarding guide

Welcome to the team.

## Laptops
Ask IT for a laptop on your first day. Use `ssh-keygen -t ed25519` for keys.

### Passwords
Use the password manager for every account.
"""
HTML = (
    b"<html><head><title>Parking</title></head><body><nav>Home | About</nav>"
    b"<div role='main'><h1>Parking</h1><p>Welcome.</p><h2>Bikes</h2>"
    b"<p>Bike racks are behind building C.</p><dl><dt>--rack</dt><dd>Row B</dd></dl>"
    b"</div><footer>(c) ACME</footer></body></html>"
)


def seeds() -> dict[str, bytes]:
    return {
        ".md": MD,
        ".txt": MD.replace(b"#", b""),
        ".html": HTML,
        ".docx": make_docx(
            "Travel",
            [
                ("h1", "Trains"),
                ("p", "Book second class."),
                ("h2", "Hotels"),
                ("p", "Nightly cap 150 EUR."),
            ],
        ),
        ".pptx": make_pptx("Security", [("Badges", "Wear your badge."), ("Visitors", "Sign in.")]),
        ".pdf": make_pdf("Safety", [("Fire exits", "Marked in green."), ("Alarms", "Leave.")]),
        ".png": encoded(text_image("Visitors sign in at reception.", 20, 420)),
        ".jpg": encoded(text_image("Badges are worn visibly.", 20, 420), "JPEG"),
        ".webp": encoded(text_image("Fire exits are marked in green.", 20, 420), "WEBP"),
    }


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One of: flipped bytes, truncation, inserted noise, a repeated slice, zeroed run."""
    buf = bytearray(data)
    op = rng.randrange(5)
    if op == 0:
        for _ in range(rng.randint(1, 40)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif op == 1:
        del buf[rng.randrange(1, len(buf)) :]
    elif op == 2:
        at = rng.randrange(len(buf))
        buf[at:at] = rng.randbytes(rng.randint(1, 400))
    elif op == 3:
        start = rng.randrange(len(buf))
        piece = buf[start : start + rng.randint(1, 64)]
        buf[start:start] = piece * rng.randint(2, 2000)
    else:
        start = rng.randrange(len(buf))
        buf[start : start + rng.randint(1, 200)] = b"\0" * rng.randint(1, 200)
    return bytes(buf)


def mutate_part(rng: random.Random, data: bytes) -> bytes:
    """A valid zip whose one XML part is mutated: reaches the Office parsers' insides."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = [n for n in source.namelist() if n.endswith(".xml")]
    victim = rng.choice(names)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            part = source.read(name)
            target.writestr(name, mutate(rng, part) if name == victim else part)
    return out.getvalue()


def generate(folder: Path, count: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    base = seeds()
    hostile = {
        ".docx": [zip_bomb_docx(256 * MiB), billion_laughs_docx()],
        ".html": [markup_bomb_html(4 * MiB)],
    }
    kinds: Counter[str] = Counter()
    suffixes = sorted(base)
    for n in range(count):
        suffix = suffixes[n % len(suffixes)]
        roll = rng.random()
        if roll < 0.03 and suffix in hostile:
            data, kind = rng.choice(hostile[suffix]), "bomb"
        elif roll < 0.10:
            data, kind = rng.randbytes(rng.randint(1, 30_000)), "random"
        elif suffix in {".docx", ".pptx"} and roll < 0.55:
            data, kind = mutate_part(rng, base[suffix]), "part"
        else:
            data, kind = mutate(rng, base[suffix]), "bytes"
        kinds[kind] += 1
        (folder / f"{n:04d}{suffix}").write_bytes(data)
    return kinds


def partial_states(client: Any) -> int:
    """Catalog records whose chunks or pieces are not all there, plus orphan chunks."""
    catalog = client.get_collection(CATALOG).get(include=["metadatas"])
    live = {
        i: m
        for i, m in zip(catalog["ids"], catalog["metadatas"], strict=True)
        if i != GENERATION_ID
    }
    chunks = client.get_collection(CHUNKS).get(include=["metadatas"])
    pieces = client.get_collection(PIECES).get(include=["metadatas"])
    per_version = Counter((m["doc_id"], m["version"]) for m in chunks["metadatas"])
    with_pieces = {(m["doc_id"], m["version"]) for m in pieces["metadatas"]}
    bad = 0
    for doc_id, meta in live.items():
        key = (doc_id, meta["version"])
        if per_version[key] != meta["chunks"] or (meta["chunks"] and key not in with_pieces):
            bad += 1
    bad += sum(1 for key in per_version if key[0] not in live or live[key[0]]["version"] != key[1])
    return bad


class Lane:
    """One way of parsing (sandboxed or in-process), with its own index and job store."""

    def __init__(self, name: str, parser: Any, embedder: Embedder, work: Path) -> None:
        self.name = name
        self.rt = build_retrieval_from(embedder, path=work / "chroma")
        self.rt.ingestor.parser = parser
        _, sessions = open_store(database_url("", work / "data"))
        self.jobs = JobRepository(sessions)
        self.seconds = 0.0
        self.files = 0
        self.crashes = 0
        self.statuses: Counter[str] = Counter()
        self.codes: Counter[str] = Counter()

    def run(self, files: list[Path]) -> None:
        """One ingest job of these files, timed and added to the lane's totals."""
        payload = {
            "files": [{"path": str(f), "source": f.name} for f in files],
            "audiences": ["everyone"],
        }
        job = self.jobs.create("ingest", payload, total=len(files))
        started = time.perf_counter()
        try:
            done = run_ingest(self.jobs, self.rt.ingestor, job.id, "bench", 600)
            if done is None or done.status is not JobStatus.DONE:
                self.crashes += 1
        except Exception as exc:  # a crash is what this counts
            print(f"  crash: {type(exc).__name__}: {exc}")
            self.crashes += 1
            done = None
        self.seconds += time.perf_counter() - started
        self.files += len(files)
        results = done.result["files"].values() if done else []
        self.statuses.update(f["status"] for f in results)
        self.codes.update(f["code"] for f in results if f["code"])

    def show(self) -> None:
        print(
            f"{self.name}: {self.seconds:.1f} s, {self.files / self.seconds:.2f} files/s, "
            f"crashes {self.crashes}, partial index states {partial_states(self.rt.store._client)}",
            flush=True,
        )
        print(f"  statuses {dict(self.statuses)}  codes {dict(self.codes)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slices", type=int, default=10, help="interleaved rounds (ABBA)")
    args = parser.parse_args()
    limit_blas_threads()
    embedder = Embedder(resolve_embedding_path(""))
    embedder.embed(["warm up"])
    print(f"load average at start: {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        work = Path(tmp)
        corpus = work / "files"
        corpus.mkdir()
        kinds = generate(corpus, args.files, args.seed)
        files = sorted(corpus.iterdir())
        print(f"{len(files)} files: {dict(kinds)}", flush=True)
        sandbox = SandboxParser(ParseLimits(), workers=args.workers)
        sandbox.parse("warm.md", MD)  # the pool starts before the clock, as in a worker
        boxed = Lane("sandboxed", sandbox, embedder, work / "sandboxed")
        inline = Lane("in-process", InlineParser(), embedder, work / "inline")
        # The two lanes take turns slice by slice (A B, then B A, ...), so a change in the
        # machine's load during the run falls on both alike and the ratio stays fair.
        size = -(-len(files) // args.slices)
        for i in range(args.slices):
            part = files[i * size : (i + 1) * size]
            for lane in (boxed, inline) if i % 2 == 0 else (inline, boxed):
                lane.run(part)
            print(f"  slice {i + 1}/{args.slices} done, load {os.getloadavg()[0]:.1f}", flush=True)
        sandbox.close()
        boxed.show()
        inline.show()
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"throughput ratio sandboxed / in-process: "
        f"{(boxed.files / boxed.seconds) / (inline.files / inline.seconds):.2f}"
    )
    print(f"load average at end: {os.getloadavg()}")
    print(
        f"peak RSS: this process {self_peak:.0f} MiB (model and index; the in-process run "
        f"parses here too), parsing children {sandbox.peak_rss / MiB:.0f} MiB "
        f"(limit {ParseLimits().memory_bytes / MiB:.0f} MiB)"
    )


if __name__ == "__main__":
    main()
